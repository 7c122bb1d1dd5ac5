"""PLENA as a platform object: the one API the agent tools, the CLI and the runner use."""

from __future__ import annotations

import importlib

from ...tasks import Task, get_task
from ..base import RunLimits
from . import evaluation
from .assembler import AssemblyResult, Program, assemble
from .config import DEFAULT_CONFIG, PlenaConfig
from .isa import Unit
from .machine import Execution, MemoryImage, run


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

    def docs(self) -> dict[str, str]:
        try:
            module = importlib.import_module("kernelcraft.platforms.plena.docs")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("kernelcraft.platforms.plena.docs"):
                return {}
            raise
        render = getattr(module, "render_docs", None)
        return dict(render(self.config)) if render else {}

    def supports(self, task: Task | str) -> bool:
        return (get_task(task) if isinstance(task, str) else task).supports(self.name)
