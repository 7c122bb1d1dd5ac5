"""Broken kernels derived from the compiler baseline must be rejected, with a diff that says why.

Each mutation is chosen by a fixed rule from the baseline text, so the test is stable, and
each is one an agent plausibly makes: a constant from the wrong FP SRAM slot, a stride typed
wrong, the last tile of the output loop skipped, an input load dropped, an input read one
HBM row off, a normalisation or reciprocal left out. A rule that picks a site where the
change happens to be harmless is a defect of the rule, so it fails here instead of passing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import pytest

from kernelcraft.platforms.plena.baseline import generate
from kernelcraft.platforms.plena.evaluation import Evaluation, PreparedInstance, evaluate, prepare
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import all_tasks

PLENA_PLATFORM = get_platform("plena")

PLENA_TASKS = [task.id for task in all_tasks() if PLENA_PLATFORM.supports(task)]
MATTERING_FP_SLOTS = {2, 3, 4, 5, 6, 7}  # inv_hidden, one, gelu_c1, inv_sqrt_dhead, gelu_c3, half
RESCALE_OPS = ("S_RECI_FP", "V_RECI_V", "V_MUL_VF")
VRAM_WRITERS = re.compile(r"^(M_\w+_WO|V_(?!RED_)\w+|H_PREFETCH_V|S_MAP_V_FP)$")


# ---------------------------------------------------------------------------- program text


def _op(line: str) -> str:
    code = line.split(";", 1)[0].strip()
    return code.split()[0] if code else ""


def _operands(line: str) -> list[str]:
    code = line.split(";", 1)[0].strip()
    return [x.strip() for x in code.split(None, 1)[1].split(",")] if " " in code else []


def _with_operands(line: str, operands: list[str]) -> str:
    return f"{_op(line)} {', '.join(operands)}  ; mutated"


def _first(lines: list[str], ops: tuple[str, ...]) -> int | None:
    return next((i for i, line in enumerate(lines) if _op(line) in ops), None)


def _enclosing_loops(lines: list[str], index: int) -> list[int]:
    """Line numbers of the C_LOOP_START lines around `index`, outermost first."""
    stack: list[int] = []
    for i, line in enumerate(lines[:index]):
        if _op(line) == "C_LOOP_START":
            stack.append(i)
        elif _op(line) == "C_LOOP_END":
            stack.pop()
    return stack


def _setter_of(lines: list[str], index: int, register: str) -> int:
    """The nearest earlier `S_ADDI_INT register, gp0, imm` (how the baseline loads constants)."""
    for i in range(index - 1, -1, -1):
        ops = _operands(lines[i])
        if _op(lines[i]) == "S_ADDI_INT" and ops[0] == register and ops[1] == "gp0":
            return i
    raise AssertionError(f"no S_ADDI_INT sets {register} before line {index}")


# ---------------------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutant:
    source: str
    what: str


Rule = Callable[[list[str], PreparedInstance], Mutant | None]


def wrong_fp_constant(lines: list[str], inst: PreparedInstance) -> Mutant | None:
    """The first load of a constant that matters reads 1.0 instead (0.5 when it was 1.0)."""
    for i, line in enumerate(lines):
        if _op(line) == "S_LD_FP" and int(_operands(line)[2]) in MATTERING_FP_SLOTS:
            ops = _operands(line)
            slot = int(ops[2])
            ops[2] = "7" if slot == 3 else "3"
            return _replace(lines, i, _with_operands(line, ops), f"line {i}: FP slot {slot} -> {ops[2]}")
    return None


def wrong_stride(lines: list[str], inst: PreparedInstance) -> Mutant | None:
    """The first row stride set for a strided transfer is doubled."""
    for i, line in enumerate(lines):
        if _op(line) == "C_SET_STRIDE_REG":
            s = _setter_of(lines, i, _operands(line)[0])
            ops = _operands(lines[s])
            ops[2] = str(2 * int(ops[2]))
            return _replace(lines, s, _with_operands(lines[s], ops), f"line {s}: row stride doubled")
    return None


def skipped_tile(lines: list[str], inst: PreparedInstance) -> Mutant | None:
    """The outermost loop around the last VRAM write runs one iteration fewer (or, when that write
    is in no loop with more than one iteration, the write is deleted)."""
    last = max(i for i, line in enumerate(lines) if VRAM_WRITERS.match(_op(line)))
    for start in _enclosing_loops(lines, last):
        ops = _operands(lines[start])
        if int(ops[1]) > 1:
            what = f"line {start}: loop of {ops[1]} iterations runs {int(ops[1]) - 1}"
            ops[1] = str(int(ops[1]) - 1)
            return _replace(lines, start, _with_operands(lines[start], ops), what)
    return _replace(lines, last, "", f"line {last}: {_op(lines[last])} deleted")


def dropped_load(lines: list[str], inst: PreparedInstance) -> Mutant | None:
    """The first matrix (else vector) prefetch from HBM is deleted: the memory it fills is
    still poison when first read, whatever later loads reuse it."""
    i = _first(lines, ("H_PREFETCH_M",))
    i = _first(lines, ("H_PREFETCH_V",)) if i is None else i
    return None if i is None else _replace(lines, i, "", f"line {i}: {_op(lines[i])} deleted")


def shifted_input(lines: list[str], inst: PreparedInstance) -> Mutant | None:
    """The first input base address points one HBM row (one row stride of that tensor) too far."""
    bases = {t.base: t for t in inst.layout.tensors}
    for i, line in enumerate(lines):
        if _op(line) == "C_SET_ADDR_REG":
            register = _operands(line)[2]
            try:
                s = _setter_of(lines, i, register)
            except AssertionError:
                # The peephole pass dropped the set-up of a register still at its initial 0.
                tensor = bases.get(0)
                if tensor is None:
                    continue
                setter = f"S_ADDI_INT {register}, gp0, {tensor.shape[-1]}  ; mutated"
                return _replace(lines, i, setter + "\n" + line, f"line {i}: {tensor.name} base + 1 row")
            ops = _operands(lines[s])
            tensor = bases.get(int(ops[2]))
            if tensor is None:
                continue
            ops[2] = str(tensor.base + tensor.shape[-1])
            return _replace(lines, s, _with_operands(lines[s], ops), f"line {s}: {tensor.name} base + 1 row")
    return None


def missing_rescale(lines: list[str], inst: PreparedInstance) -> Mutant | None:
    """The first reciprocal or scale-by-scalar instruction is deleted."""
    i = _first(lines, RESCALE_OPS)
    return None if i is None else _replace(lines, i, "", f"line {i}: {_op(lines[i])} deleted")


def _replace(lines: list[str], index: int, new: str, what: str) -> Mutant:
    return Mutant("\n".join(lines[:index] + [new] + lines[index + 1 :]) + "\n", what)


RULES: dict[str, Rule] = {
    "wrong_fp_constant": wrong_fp_constant,
    "wrong_stride": wrong_stride,
    "skipped_tile": skipped_tile,
    "dropped_load": dropped_load,
    "shifted_input": shifted_input,
    "missing_rescale": missing_rescale,
}


# ---------------------------------------------------------------------------- checks


@cache
def _instance(task_id: str, config: str) -> PreparedInstance:
    return prepare(task_id, config, seed=0, profile="normal", poison=True)


@cache
def _baseline_lines(task_id: str, config: str) -> tuple[str, ...]:
    return tuple(generate(task_id, config).splitlines())


def _bad_rows(ev: Evaluation) -> int:
    return sum(1 for row in ev.diff.rows if row.mismatched)


def _localised(ev: Evaluation) -> bool:
    """The diff shows where the hole is: elements never written, some rows right and some wrong,
    or (a skipped column block or K step) every wrong row only partly wrong."""
    bad = [row for row in ev.diff.rows if row.mismatched]
    partly = bool(bad) and all(row.mismatched < row.count for row in bad)
    return ev.diff.untouched > 0 or 0 < len(bad) < len(ev.diff.rows) or partly


def _check(task_id: str, config: str, kind: str) -> None:
    inst = _instance(task_id, config)
    mutant = RULES[kind](list(_baseline_lines(task_id, config)), inst)
    if mutant is None:
        pytest.skip(f"the {task_id} baseline has no site for {kind}")
    ev = evaluate(mutant.source, inst)
    context = f"{task_id} {config} {kind} ({mutant.what}): {ev.format_summary()}"
    assert ev.diff is not None, context
    assert not ev.correct, "mutation was accepted: " + context
    assert ev.match_rate < 1.0 or ev.fault is not None, context
    if ev.fault is None:
        assert ev.diff.first_mismatch is not None and _bad_rows(ev) > 0, context
    if kind == "skipped_tile":
        assert _localised(ev), (
            "the diff does not localise the skipped tile: " + context + "\n" + ev.format_rows()
        )
    if kind == "dropped_load":
        # Under poison, whatever the lost load should have filled is still NaN.
        assert ev.diff.untouched > 0, "a dropped load leaves no trace in the diff: " + context


# Tasks whose C1 baseline must offer a site for each rule (a baseline rewrite that loses one
# should be noticed, not silently skipped).
# Softmax loads only -inf (to start the row maximum), which is not a constant that matters:
# softmax is invariant to the shift.
NO_CONSTANTS = {"relu", "gemv", "gemm", "batch_matmul", "linear", "rope"}
EXPECTED_SITES = {
    "wrong_fp_constant": set(PLENA_TASKS) - NO_CONSTANTS - {"softmax"},
    "missing_rescale": set(PLENA_TASKS) - NO_CONSTANTS,
}


def test_every_task_has_the_expected_mutation_sites():
    for kind, expected in EXPECTED_SITES.items():
        have = {t for t in PLENA_TASKS if RULES[kind](list(_baseline_lines(t, "C1")), _instance(t, "C1"))}
        assert have >= expected, f"{kind}: no site in {sorted(expected - have)}"
    for kind in ("wrong_stride", "skipped_tile", "dropped_load", "shifted_input"):
        missing = [
            t for t in PLENA_TASKS if RULES[kind](list(_baseline_lines(t, "C1")), _instance(t, "C1")) is None
        ]
        assert not missing, f"{kind}: no site in {missing}"


@pytest.mark.parametrize("task_id", PLENA_TASKS)
def test_unmutated_baseline_passes_the_same_instance(task_id):
    ev = evaluate("\n".join(_baseline_lines(task_id, "C1")), _instance(task_id, "C1"))
    assert ev.correct, ev.format_summary()


@pytest.mark.parametrize("kind", list(RULES))
@pytest.mark.parametrize("task_id", PLENA_TASKS)
def test_mutated_baseline_is_rejected_c1(task_id, kind):
    _check(task_id, "C1", kind)


@pytest.mark.slow
@pytest.mark.parametrize("config", ["C2", "C3"])
@pytest.mark.parametrize("kind", list(RULES))
@pytest.mark.parametrize("task_id", PLENA_TASKS)
def test_mutated_baseline_is_rejected_larger_configs(task_id, kind, config):
    _check(task_id, config, kind)
