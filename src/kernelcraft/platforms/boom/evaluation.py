"""Preparing a CPU task instance on BOOM and judging a kernel against it.

prepare() draws the task's integer inputs, lays them out (layout.py) and computes the exact
reference; the reference never enters simulated memory. run() adds the instance's memory
image to the built program (no relinking), simulates it on the BOOM preset, reads the
output back and judges it exactly with the platform-neutral judging.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ...tasks import Task, get_task
from ..api import Evaluation, PlatformError
from ..base import Fault, RunLimits
from ..judging import EXACT, Tolerance, judge
from . import elf, layout
from .config import BoomConfig
from .machine import Execution, returned, simulate
from .program import Program
from .runtime import DATA_BASE, STACK_BASE, STACK_TOP

TRAP_NAMES = {
    0: "instruction address misaligned",
    1: "instruction access fault",
    2: "illegal instruction",
    3: "breakpoint",
    4: "load address misaligned",
    5: "load access fault",
    6: "store address misaligned",
    7: "store access fault",
    8: "ecall from U-mode",
    11: "ecall from M-mode",
    12: "instruction page fault",
    13: "load page fault",
    15: "store page fault",
}


@dataclass(frozen=True)
class BoomInstance:
    task: Task
    config_name: str
    seed: int
    profile: str
    params: dict[str, int]
    inputs: dict[str, np.ndarray]
    reference: np.ndarray
    output_shape: tuple[int, ...]
    tolerance: Tolerance
    layout: layout.Layout
    window: bytes
    stack: bytes | None  # the poisoned stack, or None (zeroed memory)
    poisoned: bool

    @property
    def poison(self) -> bool:
        return self.poisoned

    def label(self) -> str:
        shape = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.task.id} {self.config_name} ({shape})"

    def contract_text(self) -> str:
        from .docs import render_contract

        return render_contract(self)

    def segments(self) -> list[elf.Segment]:
        out = [elf.Segment(DATA_BASE, self.window)]
        if self.stack is not None:
            out.append(elf.Segment(STACK_BASE, self.stack))
        return out

    def signature_bounds(self) -> tuple[int, int]:
        return DATA_BASE, DATA_BASE + len(self.window)

    def image(self, program: Program) -> bytes:
        start, end = self.signature_bounds()
        return elf.with_segments(
            program.elf, self.segments(), {"begin_signature": start, "end_signature": end}
        )


def prepare(
    task: Task | str, config_name: str, seed: int, profile: str, poison: bool, params: dict[str, int]
) -> BoomInstance:
    task = get_task(task) if isinstance(task, str) else task
    if not task.has_form("integer") or task.id not in layout.CONTRACTS:
        raise PlatformError(f"task {task.id} is not a CPU task")
    inputs = task.make_inputs_for(params, seed, profile, "integer")
    return prepare_with_inputs(task, config_name, inputs, params, seed, profile, poison)


def prepare_with_inputs(
    task: Task,
    config_name: str,
    inputs: dict[str, np.ndarray],
    params: dict[str, int],
    seed: int = 0,
    profile: str = "custom",
    poison: bool = False,
) -> BoomInstance:
    """An instance on given input values (for tests and hand-made cases); `seed` only seeds the poison."""
    expected = dict(task.inputs_for(params, "integer"))
    dtypes = task.input_dtypes("integer")
    if set(inputs) != set(expected):
        raise PlatformError(f"{task.id} takes inputs {', '.join(expected)}, got {', '.join(inputs)}")
    inputs = {name: np.asarray(inputs[name], dtype=dtypes[name]).reshape(expected[name]) for name in expected}
    reference = task.reference(inputs, params, "integer")
    plan = layout.plan(task.id, params, inputs)
    rng = np.random.default_rng([zlib.crc32(f"poison:{task.id}:{config_name}".encode()), seed & 0xFFFFFFFF])
    window = layout.image(plan, inputs, rng if poison else None)
    stack = rng.integers(0, 256, STACK_TOP - STACK_BASE, dtype=np.uint8).tobytes() if poison else None
    return BoomInstance(
        task,
        config_name,
        seed,
        profile,
        dict(params),
        inputs,
        reference,
        tuple(reference.shape),
        EXACT,
        plan,
        window,
        stack,
        poison,
    )


def fault_of(execution: Execution, program: Program) -> Fault | None:
    """The run's problem as a Fault (pc, instruction, kernel line), or None for a clean exit."""
    if execution.stop == "exit":
        return None
    if execution.stop == "trap" and execution.trap is not None:
        cause = execution.trap["mcause"]
        pc = execution.trap["mepc"]
        name = TRAP_NAMES.get(cause, f"mcause {cause}")
        text = _instruction_at(program, pc)
        line = program.line_at(pc)
        if line:
            where = f"line {line}"
        elif program.kernel_start <= pc < program.kernel_end:
            where = "in your kernel, at data or a directive with no source line"
        else:
            where = "outside your kernel's code"
        message = f"{name} ({where}); mtval = {execution.trap['mtval']:#x}"
        if cause in (5, 7):
            message += ": the address is outside RAM or denied by PMP"
        elif cause in (4, 6):
            message += ": BOOM traps misaligned loads and stores; align to the access size"
        elif cause == 2:
            message += ": not an RV64GC instruction, or a CSR that does not exist"
        return Fault("trap", message, pc, text, line, {"mcause": cause, "mtval": execution.trap["mtval"]})
    kind = {"instruction_limit": "instruction_limit", "wall_time": "wall_time"}.get(execution.stop, "error")
    hint = "; did the kernel return (ret with the ra it was given)?" if kind != "error" else ""
    return Fault(
        kind,
        (execution.message or execution.stop) + hint,
        None,
        "",
        None,
        {"cycles": execution.stats.cycles, "instructions": execution.stats.instructions},
    )


def stray_writes(instance: BoomInstance, read) -> Fault | None:
    """A Fault when the kernel changed input buffers or the gaps between buffers."""
    start = layout.BUFFERS_BASE
    before = np.frombuffer(instance.window, dtype=np.uint8)[start - DATA_BASE :]
    after = np.frombuffer(read(start, len(before)), dtype=np.uint8)
    changed = before != after
    for lo, hi, what in layout.untouchable(instance.layout):
        hits = np.flatnonzero(changed[lo - start : hi - start])
        if hits.size:
            first = lo + int(hits[0])
            return Fault(
                "out_of_bounds",
                f"the kernel wrote {hits.size} byte(s) of {what}, first at {first:#x}; "
                "write only the output and scratch buffers (and your own stack and data)",
                None,
                "",
                None,
                {"address": first, "bytes": int(hits.size)},
            )
    return None


def _instruction_at(program: Program, pc: int) -> str:
    for ins in program.instructions():
        if ins.address == pc:
            return ins.text
    return ""


def run(
    program: Program,
    instance: BoomInstance,
    cfg: BoomConfig,
    limits: RunLimits | None = None,
    trace: bool = False,
) -> Evaluation:
    """Simulate a built kernel on an instance and judge its output; never raises for a bad kernel."""
    execution = simulate(instance.image(program), cfg, limits)
    fault = fault_of(execution, program) or stray_writes(instance, execution.memory.read)
    dtype = instance.task.integer.output_dtype
    output = layout.read_output(
        instance.layout, execution.memory.read, returned(execution.memory)[0], dtype, instance.output_shape
    )
    before = layout.output_poison(instance.layout, instance.window, dtype, instance.output_shape)
    untouched = None
    if before is not None:
        untouched = (output == before) & (instance.reference != before)
    verdict = judge(
        output,
        instance.reference,
        instance.tolerance,
        row_width=64,
        untouched=untouched,
        untouched_meaning="still the value memory held before the run" if before is not None else None,
        poisoned=instance.poison,
    )
    return Evaluation(
        label=instance.label(),
        ok=fault is None,
        correct=fault is None and verdict.all_match,
        match_rate=verdict.match_rate,
        tolerance=instance.tolerance,
        fault=fault,
        stats=execution.stats,
        diff=verdict.diff,
        mse=verdict.mse,
        max_abs_err=verdict.max_abs_err,
        output=output,
        program=program,
        trace=None,  # no trace format yet; the Execution holds a live simulator and cannot be pickled
    )
