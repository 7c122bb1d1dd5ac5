"""Hardware loops run in batches (loops.py) end exactly as the step-by-step run ends: memory,
registers, counts, cycles, faults, limits, warnings and traces, on bodies built to trip a
wrong batch (rows read after an earlier iteration wrote them, rows written twice, registers
that alias, loops that fault or hit a limit part-way)."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.base import RunLimits
from kernelcraft.platforms.plena import loops, semantics
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG
from kernelcraft.platforms.plena.machine import MemoryImage, run

from .plena_helpers import const
from .same_runs import assert_same_stats_and_fault

VLEN = DEFAULT_CONFIG.vlen
ROWS = 700  # VRAM rows given values by the image


def _image(seed: int = 0, poison: bool = False) -> MemoryImage:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=ROWS * VLEN) * rng.choice([1e-3, 1.0, 1e3], size=ROWS * VLEN)
    values[rng.integers(0, values.size, 20)] = rng.choice([np.inf, -np.inf, np.nan, 0.0, -0.0], 20)
    fp = np.array([0.0, 1.5, -2.25, 3e4, 0.125])
    return MemoryImage(vram={0: values}, fpsram={0: fp}, poison=poison)


def _prologue() -> str:
    return "".join(f"S_LD_FP f{i}, gp0, {i}\n" for i in range(1, 5))


def _both(source: str, image_seed: int = 0, limits: RunLimits | None = None, poison: bool = False):
    """(batched run, step-by-step run) of one program."""
    program = assemble(source, DEFAULT_CONFIG)
    assert program.ok, [d.format() for d in program.errors]
    fast = run(program.program, _image(image_seed, poison), limits)
    loops.ENABLED = False  # every loop steps
    try:
        plain = run(program.program, _image(image_seed, poison), limits)
    finally:
        loops.ENABLED = True
    assert plain.machine.loop_batches == 0
    return fast, plain


def _assert_same(fast, plain) -> None:
    assert_same_stats_and_fault(fast, plain)
    a, b = fast.machine, plain.machine
    np.testing.assert_array_equal(a.vram.view(np.uint16), b.vram.view(np.uint16))
    assert (a.g, a.f, a.a, a.jumps, a.next_wall_check) == (b.g, b.f, b.a, b.jumps, b.next_wall_check)
    assert [w.format() for w in fast.warnings] == [w.format() for w in plain.warnings]


def _loop(body: str, count: int, setup: str = "") -> str:
    return _prologue() + setup + f"C_LOOP_START gp7, {count}\n{body}C_LOOP_END gp7\nS_ADDI_INT gp8, gp0, 1\n"


SILU_BODY = (
    "V_SUB_VF gp6, gp1, f0, 0, 1\nV_EXP_V gp6, gp6, 0\nV_ADD_VF gp6, gp6, f1, 0\n"
    f"V_RECI_V gp6, gp6, 0\nV_MUL_VV gp1, gp1, gp6, 0\nS_ADDI_INT gp1, gp1, {VLEN}\n"
)


def test_silu_body_with_a_scratch_row_is_batched_and_matches():
    fast, plain = _both(_loop(SILU_BODY, 16, const("gp6", 40 * VLEN)))
    _assert_same(fast, plain)
    assert fast.machine.loop_batches == 1 and plain.machine.loop_batches == 0
    assert fast.stats.opcode_counts["V_EXP_V"] == 16


def test_nested_loops_batch_the_inner_one_each_outer_iteration():
    body = f"C_LOOP_START gp4, 4\n{SILU_BODY}C_LOOP_END gp4\nS_ADDI_INT gp2, gp2, 1\n"
    src = _prologue() + const("gp6", 50 * VLEN) + f"C_LOOP_START gp3, 6\n{body}C_LOOP_END gp3\n"
    fast, plain = _both(src)
    _assert_same(fast, plain)
    assert fast.machine.loop_batches == 6


def test_long_loops_run_in_several_batches_and_a_remainder():
    n = 2 * loops.BATCH + 37
    body = "V_MUL_VF gp1, gp2, f2, 0\nV_ADD_VV gp3, gp1, gp2, 0\n" + f"S_ADDI_INT gp2, gp2, {VLEN}\n"
    body += f"S_ADDI_INT gp3, gp3, {VLEN}\nS_ADDI_INT gp5, gp5, 3\n"
    fast, plain = _both(_loop(body, n, const("gp1", 2000 * VLEN) + const("gp3", 1000 * VLEN)))
    _assert_same(fast, plain)
    assert fast.machine.loop_batches == 1


@pytest.mark.parametrize(
    "body",
    [
        # An accumulator row: each iteration reads the previous one's write.
        f"V_ADD_VV gp2, gp2, gp1, 0\nS_ADDI_INT gp1, gp1, {VLEN}\n",
        # Writes the next row after the step; the next iteration reads it before writing.
        f"V_MUL_VF gp1, gp1, f1, 0\nS_ADDI_INT gp1, gp1, {VLEN}\nV_ADD_VV gp1, gp1, gp1, 0\n",
        # Reads, before the step, the row the previous iteration wrote after it.
        f"V_SUB_VV gp5, gp1, gp3, 0\nS_ADDI_INT gp1, gp1, {VLEN}\nV_MUL_VF gp1, gp3, f1, 0\n",
    ],
)
def test_bodies_reading_an_earlier_iterations_write_are_not_batched(body):
    fast, plain = _both(_loop(body, 9, const("gp2", 30 * VLEN) + const("gp3", 31 * VLEN)))
    _assert_same(fast, plain)
    assert fast.machine.loop_batches == 0


def test_rows_written_twice_keep_their_last_write():
    # Row i is written after the step by iteration i - 1 and again before it by iteration i;
    # the last iteration's second write stays (a write-back of some iterations only).
    body = f"V_ADD_VF gp1, gp2, f1, 0\nS_ADDI_INT gp1, gp1, {VLEN}\nV_MUL_VF gp1, gp2, f3, 0\n"
    body += f"V_EXP_V gp9, gp2, 0\nV_RECI_V gp9, gp9, 0\nS_ADDI_INT gp2, gp2, {VLEN}\n"
    fast, plain = _both(_loop(body, 7, const("gp1", 20 * VLEN) + const("gp9", 60 * VLEN)))
    _assert_same(fast, plain)
    assert fast.machine.loop_batches == 1


def test_registers_that_alias_at_run_time_fall_back():
    # The scratch row lies inside the rows gp1 walks: batching would be wrong, so it is not.
    fast, plain = _both(_loop(SILU_BODY, 8, const("gp6", 5 * VLEN)))
    _assert_same(fast, plain)
    assert fast.machine.loop_batches == 0


@pytest.mark.parametrize(
    ("setup", "kind"),
    [
        (const("gp1", DEFAULT_CONFIG.vram_elems - 3 * VLEN), "address"),  # runs off VRAM mid-loop
        (const("gp1", 7), "alignment"),
    ],
)
def test_loops_that_fault_part_way_fault_where_the_step_by_step_run_does(setup, kind):
    fast, plain = _both(_loop(SILU_BODY, 8, setup + const("gp6", 40 * VLEN)))
    _assert_same(fast, plain)
    assert fast.fault is not None and fast.fault.kind == kind


@pytest.mark.parametrize("limit", [30, 45, 60, 110])
def test_instruction_limits_inside_a_loop_stop_at_the_same_jump(limit):
    body = f"C_LOOP_START gp4, 5\n{SILU_BODY}C_LOOP_END gp4\n"
    src = _prologue() + const("gp6", 50 * VLEN) + f"C_LOOP_START gp3, 4\n{body}C_LOOP_END gp3\n"
    fast, plain = _both(src, limits=RunLimits(max_instructions=limit))
    _assert_same(fast, plain)
    assert fast.fault is not None and fast.fault.kind == "instruction_limit"


def test_per_iteration_cap_and_short_counts_are_left_to_the_steps():
    for count in (1,):
        fast, plain = _both(_loop(SILU_BODY, count, const("gp6", 40 * VLEN)))
        _assert_same(fast, plain)
        assert fast.machine.loop_batches == 0


def test_an_expired_wall_clock_faults_as_the_step_by_step_run_does():
    src = _loop(SILU_BODY, 3000, const("gp6", 3500 * VLEN))  # the scratch row above the 3000 rows
    fast, plain = _both(src, limits=RunLimits(wall_time_s=0.0))
    _assert_same(fast, plain)
    assert fast.fault is not None and fast.fault.kind == "wall_time"


def test_wall_clock_checks_advance_as_the_jumps_would_advance_them():
    src = _loop(SILU_BODY, 2000, const("gp6", 3000 * VLEN))
    fast, plain = _both(src)
    _assert_same(fast, plain)
    assert fast.machine.loop_batches == 1 and fast.machine.next_wall_check > loops.WALL_CHECK_EVERY
    assert loops.WALL_CHECK_EVERY == semantics.WALL_CHECK_EVERY


def test_poisoned_runs_track_reads_step_by_step_with_the_same_warnings():
    src = _loop(SILU_BODY, 8, const("gp1", 800 * VLEN) + const("gp6", 900 * VLEN))  # rows never written
    fast, plain = _both(src, poison=True)
    _assert_same(fast, plain)
    assert fast.warnings and fast.machine.loop_batches == 0


def test_traced_runs_step_and_give_the_batched_runs_statistics():
    src = _loop(SILU_BODY, 12, const("gp6", 40 * VLEN))
    program = assemble(src, DEFAULT_CONFIG).program
    traced = run(program, _image(), trace=True)
    fast = run(program, _image())
    assert fast.machine.loop_batches == 1 and traced.machine.loop_batches == 0
    assert traced.stats.to_dict() == fast.stats.to_dict()
    assert len(traced.trace) == traced.stats.instructions
    np.testing.assert_array_equal(traced.machine.vram.view(np.uint16), fast.machine.vram.view(np.uint16))


def test_masked_and_other_instructions_keep_a_loop_step_by_step():
    for body in (
        f"V_ADD_VV gp1, gp1, gp1, 1\nS_ADDI_INT gp1, gp1, {VLEN}\n",
        f"V_RED_SUM f1, gp1, 0\nS_ADDI_INT gp1, gp1, {VLEN}\n",
        f"V_ADD_VV gp1, gp1, gp1, 0\nS_ADDI_INT gp1, gp2, {VLEN}\n",
        f"V_ADD_VV gp1, gp1, gp1, 0\nS_ADDI_INT gp1, gp1, {VLEN}\nS_ADDI_INT gp1, gp1, {VLEN}\n",
    ):
        fast, plain = _both(_loop(body, 4, "C_SET_V_MASK_REG gp0\n"))
        _assert_same(fast, plain)
        assert fast.machine.loop_batches == 0


_OPS = ("V_ADD_VV", "V_SUB_VV", "V_MUL_VV", "V_ADD_VF", "V_MUL_VF", "V_MAX_VF", "V_MIN_VF", "V_SUB_VF")


def _random_loop(rng: np.random.Generator) -> str:
    regs = [1, 2, 3, 5]
    # Bases close together (rows shared between registers) or apart (the usual kernel).
    spread = 0 if rng.random() < 0.4 else 160
    setup = "".join(
        const(f"gp{r}", (i * spread + int(rng.integers(0, 48))) * VLEN) for i, r in enumerate(regs)
    )
    body = []
    for _ in range(int(rng.integers(1, 7))):
        d, a, b = (int(x) for x in rng.choice(regs, 3))
        op = str(rng.choice((*_OPS, "V_EXP_V", "V_RECI_V")))
        if op.endswith("_VV"):
            body.append(f"{op} gp{d}, gp{a}, gp{b}, 0")
        elif op.endswith("_V"):
            body.append(f"{op} gp{d}, gp{a}, 0")
        else:
            extra = f", {int(rng.integers(0, 2))}" if op == "V_SUB_VF" else ""
            body.append(f"{op} gp{d}, gp{a}, f{int(rng.integers(0, 5))}, 0{extra}")
    for r in rng.choice(regs, int(rng.integers(0, 3)), replace=False):
        step = int(rng.choice([0, 1, 1, 2, 3])) * VLEN
        body.insert(int(rng.integers(0, len(body) + 1)), f"S_ADDI_INT gp{r}, gp{r}, {step}")
    return _loop("\n".join(body) + "\n", int(rng.integers(1, 40)), setup)


@pytest.mark.parametrize("seed", range(8))
def test_random_loop_bodies_match_the_step_by_step_run(seed):
    rng = np.random.default_rng(seed)
    batched = 0
    for case in range(40):
        fast, plain = _both(_random_loop(rng), image_seed=case)
        _assert_same(fast, plain)
        batched += fast.machine.loop_batches
    assert batched > 0  # the fast path was taken, not only the fallback
