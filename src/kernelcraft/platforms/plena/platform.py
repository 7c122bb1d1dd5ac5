"""PLENA as a Platform: the one API the agent tools, the CLI and the runner use."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ...tasks import Task
from ..api import (
    BuildResult,
    Evaluation,
    ExtensionSet,
    Platform,
    PlatformError,
    ScriptedKind,
    TemplateSpec,
    normalise_config,
)
from ..base import RunLimits
from ..behaviour import AddedInstruction
from ..roofline import roofline_cycles
from . import evaluation
from .assembler import Program, assemble
from .config import DEFAULT_CONFIG, PlenaConfig
from .docs import render_docs
from .isa import InstrSpec, Unit, instruction_table
from .machine import Execution, MemoryImage, peak_macs_per_cycle, run
from .scripted import BROKEN_SYNTAX, BROKEN_WRONG, poisoned_kernel
from .shapes import UNSUPPORTED, shape_table

DTYPES_TEXT = (
    "Inputs are MXFP8 in HBM (E4M3 elements, one shared E8M0 scale per block of 8 elements); "
    "transfers to on-chip memory convert them to BF16. Everything on chip (VRAM, MRAM, FP "
    "registers, FP SRAM) is BF16; vector operations compute in FP32 and round the result to "
    "BF16; matrix products accumulate in FP32 and are rounded to BF16 when written out. The "
    "output is BF16 in VRAM."
)


class PlenaPlatform(Platform):
    name = "plena"
    title = "PLENA"
    kernel_language = "PLENA assembly"
    kernel_suffix = ".s"
    code_fence = "asm"
    numerics = "float"
    one_shot_examples = (("sdpa", "C1"), ("gemm", "C1"))

    config: PlenaConfig

    def __init__(self, config: PlenaConfig | None = None, added: tuple[InstrSpec, ...] = ()):
        super().__init__(config)
        self._docs: dict[str, str] | None = None
        # The instruction set: the base ISA, the configuration's extension sets, and any
        # instructions added at run time (with_instructions).
        self.added = tuple(added)
        self.table = instruction_table(tuple(self.config.extensions), self.added)

    @classmethod
    def default_config(cls) -> PlenaConfig:
        return DEFAULT_CONFIG

    def dtypes_text(self) -> str:
        return DTYPES_TEXT

    def profile_name(self) -> str:
        """The timing profile results are measured under (consistent or emulator)."""
        return self.config.timing_profile

    def docs(self) -> dict[str, str]:
        """The agent-facing docs (isa, memory_layout, hardware, guidance) for this config."""
        if self._docs is None:
            self._docs = dict(render_docs(self.config, self.table))
        return dict(self._docs)

    # ------------------------------------------------------------------ tasks
    def shapes(self) -> dict[str, dict[str, dict[str, int]]]:
        return shape_table()

    def unsupported(self) -> dict[str, str]:
        return dict(UNSUPPORTED)

    # ------------------------------------------------------------------ the work
    def prepare(
        self, task: Task | str, config: str, seed: int, profile: str = "normal", poison: bool = False
    ) -> evaluation.PreparedInstance:
        return evaluation.prepare(task, normalise_config(config), seed, profile, poison, self.config)

    def build(self, source: str) -> BuildResult:
        assembled = assemble(source, self.config, self.table)
        size = len(assembled.program) if assembled.program is not None else None
        return BuildResult(assembled.program, assembled.diagnostics, size)

    def run(
        self,
        program: Program,
        instance: evaluation.PreparedInstance,
        limits: RunLimits | None = None,
        trace: bool = False,
    ) -> Evaluation:
        return evaluation.run(program, instance, limits, trace)

    def execute(
        self, program: Program, image: MemoryImage | None = None, limits: RunLimits | None = None, trace=False
    ) -> Execution:
        """A raw run on a memory image (no task): what `kernelcraft sim` does."""
        return run(program, image, limits, trace=trace)

    def baseline(self, task: Task | str, config: str) -> str:
        """Compiler baseline assembly: ValueError for bad input, NotImplementedError if not lowered yet."""
        from .baseline import generate

        task_id = task if isinstance(task, str) else task.id
        return generate(task_id, normalise_config(config), self.config)

    def instruction_size(self, program: Program) -> dict[str, int]:
        """Static instruction counts per unit, in the order the docs list the units."""
        counts = {unit.value: 0 for unit in Unit}
        for ins in program.instructions:
            counts[ins.spec.unit.value] += 1
        return counts

    def roofline(self, instance: evaluation.PreparedInstance) -> int:
        """Input bytes over HBM bandwidth plus one access latency, plus MACs at the matrix peak;
        summed, because PLENA is in order and blocking (a DMA never overlaps compute)."""
        input_bytes = int(sum(tensor.nbytes for tensor in instance.layout.tensors))
        return roofline_cycles(
            input_bytes,
            self.config.hbm_bytes_per_cycle,
            instance.task.macs_for(instance.params),
            peak_macs_per_cycle(self.config),
            latency_cycles=self.config.hbm_latency_cycles,
            overlapped=False,
        )

    def scripted_kernel(self, kind: ScriptedKind, task: Task | str, config: str) -> str:
        if kind == "oracle":
            return self.baseline(task, config)
        if kind == "cheater":
            return poisoned_kernel(self.baseline(task, config), self.config)
        if kind == "broken_syntax":
            return BROKEN_SYNTAX
        if kind == "broken_wrong":
            return BROKEN_WRONG
        raise ValueError(f"unknown scripted kernel kind {kind!r}")

    # ------------------------------------------------------------------ extras
    def instruction_extensions(self) -> dict[str, ExtensionSet]:
        """The extension sets PLENA defines (extensions.py): the co-design case study's "dllm"."""
        from .extensions import extension_sets

        return extension_sets(self.config)

    def enabled_extensions(self) -> tuple[str, ...]:
        return tuple(self.config.extensions)

    def with_extensions(self, names: Sequence[str]) -> PlenaPlatform:
        """This platform with the named extension sets added to the hardware configuration."""
        from dataclasses import replace

        from .config import EXTENSION_SETS

        unknown = [n for n in names if n not in EXTENSION_SETS]
        if unknown:
            raise PlatformError(
                f"PLENA has no extension set {', '.join(unknown)}; sets: {', '.join(EXTENSION_SETS)}"
            )
        merged = tuple(dict.fromkeys((*self.config.extensions, *names)))
        return PlenaPlatform(replace(self.config, extensions=merged), self.added)

    def with_instructions(self, instructions: Sequence[AddedInstruction]) -> PlenaPlatform:
        """This platform with `instructions` in its ISA: each gets a free opcode and a table
        entry, so the assembler, the simulator (which calls its reference) and the docs have it."""
        from .extensions import added_spec

        base = instruction_table(tuple(self.config.extensions))
        free = base.free_opcodes()
        if len(instructions) > len(free):
            raise ValueError(f"only {len(free)} opcodes are free for new instructions")
        specs = []
        for added, opcode in zip(instructions, free, strict=False):
            name = added.behaviour.mnemonic
            if name in base.by_name:
                raise ValueError(f"{name} is already a PLENA instruction; choose another mnemonic")
            specs.append(added_spec(added, opcode))
        return PlenaPlatform(self.config, tuple(specs))

    def build_key(self, source: str) -> str:
        key = super().build_key(source)
        return f"{key}:{hash(self.added)}" if self.added else key

    def templates(self) -> Mapping[str, TemplateSpec]:
        """Every baseline generator as an editable template (see templates.py)."""
        from .templates import TemplateTable

        return TemplateTable(self.config.to_dict())

    def trace_writer(self) -> Callable[[Evaluation, Any], int]:
        from pathlib import Path

        from .chrome_trace import write_chrome_trace

        def write(result: Evaluation, path: Any) -> int:
            if result.program is None or result.trace is None:
                raise ValueError("the evaluation has no trace (the kernel did not run with tracing)")
            return write_chrome_trace(result.program, result.trace, Path(path))

        return write

    def cli(self):
        from .cli import app

        return app
