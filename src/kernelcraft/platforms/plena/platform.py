"""PLENA as a platform object: the one API the agent tools, the CLI and the runner use."""

from __future__ import annotations

from ...tasks import Task, get_task
from ..base import RunLimits
from . import evaluation
from .assembler import AssemblyResult, Program, assemble
from .config import DEFAULT_CONFIG, PlenaConfig
from .docs import render_docs
from .isa import Unit
from .machine import Execution, MemoryImage, peak_macs_per_cycle, run


class PlenaPlatform:
    name = "plena"

    def __init__(self, config: PlenaConfig = DEFAULT_CONFIG):
        self.config = config

    def assemble(self, source: str) -> AssemblyResult:
        return assemble(source, self.config)

    def execute(
        self, program: Program, image: MemoryImage | None = None, limits: RunLimits | None = None, trace=False
    ) -> Execution:
        return run(program, image, limits, trace=trace)

    def prepare(
        self, task: Task | str, config_name: str, seed: int, profile: str = "normal", poison: bool = False
    ) -> evaluation.PreparedInstance:
        return evaluation.prepare(task, config_name, seed, profile, poison, self.config)

    def evaluate(
        self,
        source_or_program: str | Program,
        instance: evaluation.PreparedInstance,
        limits: RunLimits | None = None,
        trace: bool = False,
    ) -> evaluation.Evaluation:
        return evaluation.evaluate(source_or_program, instance, limits, trace)

    def baseline(self, task: Task | str, config_name: str) -> str:
        """Compiler baseline assembly: ValueError for bad input, NotImplementedError if not lowered yet."""
        from .baseline import generate

        task_id = task if isinstance(task, str) else task.id
        return generate(task_id, config_name, self.config)

    def instruction_size(self, program: Program) -> dict[str, int]:
        """Static instruction counts per unit, in the order the docs list the units."""
        counts = {unit.value: 0 for unit in Unit}
        for ins in program.instructions:
            counts[ins.spec.unit.value] += 1
        return counts

    def roofline_parameters(self) -> dict[str, float | bool]:
        """What a lower bound on any kernel's cycles is built from (see agent.scoring)."""
        return {
            "hbm_bytes_per_cycle": self.config.hbm_bytes_per_cycle,
            "hbm_latency_cycles": self.config.hbm_latency_cycles,
            "peak_macs_per_cycle": peak_macs_per_cycle(self.config),
            "overlapped": False,  # in-order and blocking: DMA never overlaps compute
        }

    def docs(self) -> dict[str, str]:
        """The agent-facing docs (isa, memory_layout, hardware, guidance) for this config."""
        return dict(render_docs(self.config))

    def supports(self, task: Task | str) -> bool:
        return (get_task(task) if isinstance(task, str) else task).supports(self.name)
