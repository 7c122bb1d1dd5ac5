"""Preparing a Coral task instance and judging a built program against it.

prepare() draws the integer inputs, computes the exact reference (which never enters
simulated memory), plans the external-memory layout and writes the I/O contract. run()
loads the program, places inputs and constant tables, runs it on the simulator with the
timing model, reads the output back and judges it exactly. With poison, memory nothing
initialises (DTCM, the output buffer, the rest of external memory) starts as a byte
pattern instead of zeros, as an uninitialised SRAM would read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...tasks import Task, get_task
from ..api import Evaluation, PlatformError
from ..base import RunLimits
from ..judging import EXACT, Tolerance, judge
from .config import CoralConfig
from .elf import Program
from .layout import Layout, contract_text, placements, plan
from .runner import release, run_program
from .shapes import UNSUPPORTED, shape_table


@dataclass(frozen=True)
class CoralInstance:
    task: Task
    config_name: str
    seed: int
    profile: str
    params: dict[str, int]
    reference: np.ndarray
    output_shape: tuple[int, ...]
    tolerance: Tolerance
    poisoned: bool
    hw: CoralConfig
    layout: Layout
    inputs: dict[str, np.ndarray] = field(repr=False)
    constants: dict = field(repr=False)

    @property
    def poison(self) -> bool:
        return self.poisoned

    def label(self) -> str:
        shape = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.task.id} {self.config_name} ({shape})"

    def contract_text(self) -> str:
        return contract_text(self.task, self.config_name, self.params, self.layout, self.hw)

    def placements(self) -> list[tuple[int, bytes]]:
        return placements(self.layout, self.inputs, self.constants)


def cell_params(task: Task, config_name: str) -> dict[str, int]:
    if task.id in UNSUPPORTED:
        raise PlatformError(f"task {task.id} is not supported on coral: {UNSUPPORTED[task.id]}")
    table = shape_table().get(task.id)
    if table is None:
        raise PlatformError(f"task {task.id} has no configurations for platform coral")
    if config_name not in table:
        raise PlatformError(
            f"unknown configuration {config_name!r} for task {task.id}; choose one of {', '.join(table)}"
        )
    return dict(table[config_name])


def prepare(
    task: Task | str, config_name: str, seed: int, profile: str, poison: bool, hw: CoralConfig
) -> CoralInstance:
    task = get_task(task) if isinstance(task, str) else task
    params = cell_params(task, config_name)
    inputs = task.make_inputs_for(params, seed, profile, "integer")
    reference = task.reference(inputs, params, "integer")
    layout = plan(task, params, hw)
    constants = task.integer.constants(params) if task.integer.constants else {}
    return CoralInstance(
        task,
        config_name,
        seed,
        profile,
        params,
        reference,
        tuple(reference.shape),
        EXACT,
        poison,
        hw,
        layout,
        inputs,
        constants,
    )


def run(
    program: Program,
    instance: CoralInstance,
    limits: RunLimits | None = None,
    trace: bool = False,
    label: str | None = None,
) -> Evaluation:
    result = run_program(
        program,
        instance.hw,
        placements=instance.placements(),
        limits=limits,
        timing=True,
        poison=instance.poison,
        trace=trace,
        reuse=True,
    )
    out = result.machine.mem
    o = instance.layout.output
    data = np.frombuffer(out.read(o.address, o.nbytes), dtype=o.dtype).reshape(o.shape)
    size = np.dtype(o.dtype).itemsize
    written = out.written_mask(o.address, o.nbytes).reshape(-1, size).all(axis=1).reshape(o.shape)
    data = data.copy()
    release(program, result)  # everything read from the machine is copied out by now
    verdict = judge(
        data,
        instance.reference,
        instance.tolerance,
        row_width=64,
        untouched=~written,
        untouched_meaning="never written by the kernel",
        poisoned=instance.poison,
    )
    ok = result.fault is None
    return Evaluation(
        label or instance.label(),
        ok=ok,
        correct=ok and verdict.all_match,
        match_rate=verdict.match_rate,
        tolerance=instance.tolerance,
        fault=result.fault,
        stats=result.stats,
        diff=verdict.diff,
        mse=verdict.mse,
        max_abs_err=verdict.max_abs_err,
        output=data,
        program=program,
        trace=result.trace,
    )
