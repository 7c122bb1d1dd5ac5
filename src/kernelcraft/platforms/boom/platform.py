"""RISC-V BOOM as a Platform: the CPU case study's target, on rvsim's out-of-order core.

Kernels are RV64GC assembly (GNU syntax, through the C preprocessor) defining a C-callable
`kernel`; zig's clang and lld build them with our start-up code; rvsim runs them on the BOOM
preset; the baseline is each task's C compiled at -O2. Only the ten CPU tasks run here.
"""

from __future__ import annotations

from typing import Any

from ...tasks import Task, all_tasks, get_task
from ..api import BuildResult, Evaluation, Platform, PlatformError, ScriptedKind, normalise_config
from ..base import RunLimits
from ..roofline import roofline_cycles
from . import evaluation, layout, program
from .baselines import baseline_assembly
from .config import DEFAULT_CONFIG, BoomConfig
from .docs import render_docs
from .expert import EXPERT_KERNELS
from .scripted import BROKEN_SYNTAX, BROKEN_WRONG, cheating_kernel

DTYPES_TEXT = (
    "The CPU tasks are integer: inputs and outputs are arrays of int8..int64 / uint8..uint64 "
    "(little-endian, packed, row-major) or a returned integer in a0. Arithmetic is exact two's "
    "complement at the width the task states (32-bit results wrap as addw/mulw do, 64-bit as "
    "add/mul do); the output must equal the reference exactly."
)
UNSUPPORTED_REASON = (
    "BOOM runs only the CPU case study's ten tasks (the paper's Table 10), not the ML operators"
)


class BoomPlatform(Platform):
    name = "boom"
    title = "RISC-V BOOM"
    kind = "processor"
    kernel_language = "RISC-V RV64GC assembly (GNU syntax)"
    kernel_suffix = ".S"
    code_fence = "asm"
    numerics = "integer"
    one_shot_examples = (("vvadd", "C1"), ("dotprod", "C1"))

    config: BoomConfig

    def __init__(self, config: BoomConfig | None = None):
        super().__init__(config)
        self._docs: dict[str, str] | None = None

    @classmethod
    def default_config(cls) -> BoomConfig:
        return DEFAULT_CONFIG

    def dtypes_text(self) -> str:
        return DTYPES_TEXT

    def docs(self) -> dict[str, str]:
        if self._docs is None:
            self._docs = render_docs(self.config)
        return dict(self._docs)

    def profile_name(self) -> str | None:
        return f"{self.config.preset}boom"

    # ------------------------------------------------------------------ tasks
    def shapes(self) -> dict[str, dict[str, dict[str, int]]]:
        return {
            task.id: {name: dict(params) for name, params in task.default_configs.items()}
            for task in all_tasks()
            if task.id in layout.CONTRACTS and task.has_form("integer")
        }

    def unsupported(self) -> dict[str, str]:
        return {task.id: UNSUPPORTED_REASON for task in all_tasks() if task.id not in layout.CONTRACTS}

    # ------------------------------------------------------------------ the work
    def prepare(
        self, task: Task | str, config: str, seed: int, profile: str = "normal", poison: bool = False
    ) -> evaluation.BoomInstance:
        task = get_task(task) if isinstance(task, str) else task
        name = normalise_config(config)
        return evaluation.prepare(task, name, seed, profile, poison, self.params(task, name))

    def build(self, source: str) -> BuildResult:
        built, diagnostics = program.build(source)
        size = built.instruction_counts()["total"] if built is not None else None
        return BuildResult(built, diagnostics, size)

    def run(
        self,
        program: program.Program,
        instance: evaluation.BoomInstance,
        limits: RunLimits | None = None,
        trace: bool = False,
    ) -> Evaluation:
        return evaluation.run(program, instance, self.config, limits, trace)

    def baseline(self, task: Task | str, config: str) -> str:
        task_id = task if isinstance(task, str) else task.id
        self.params(task_id, config)  # PlatformError for a cell BOOM does not run
        return baseline_assembly(task_id)

    def instruction_size(self, program: program.Program) -> dict[str, int]:
        return program.instruction_counts()

    def roofline(self, instance: evaluation.BoomInstance) -> int:
        """Bytes every correct kernel must load or store, at one 8-byte access per memory pipe per
        cycle, after one DRAM latency (the caches start cold); nothing else is assumed."""
        return roofline_cycles(
            layout.touched_bytes(instance.layout),
            8.0 * self.config.mem_iq.issue_width,
            0,
            0.0,
            latency_cycles=self.config.dram_latency,
        )

    def expert_kernel(self, task: Task | str, config: str) -> str:
        """The hand-written assembly kernel for a cell (expert.py): correct, and usually faster."""
        task_id = task if isinstance(task, str) else task.id
        self.params(task_id, config)
        return EXPERT_KERNELS[task_id]

    def scripted_kernel(self, kind: ScriptedKind, task: Task | str, config: str) -> str:
        task = get_task(task) if isinstance(task, str) else task
        self.params(task, config)
        if kind == "oracle":
            return baseline_assembly(task.id)
        if kind == "cheater":
            return cheating_kernel(baseline_assembly(task.id), task.id, task.integer.output_dtype)
        if kind == "broken_syntax":
            return BROKEN_SYNTAX
        if kind == "broken_wrong":
            return BROKEN_WRONG
        raise PlatformError(f"unknown scripted kernel kind {kind!r}")

    # ------------------------------------------------------------------ extras
    def cli(self) -> Any:
        from .cli import app

        return app
