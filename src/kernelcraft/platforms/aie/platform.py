"""The AIE-ML-like compute tile as a Platform: what the agent tools, the CLI and the runner use.

An AIE-ML (AIE2 / XDNA1) compute-tile simulator of our own: AIE2-syntax VLIW assembly with
the public slot rules, latencies and numerics. It is not AMD hardware and not AMD's tools.
"""

from __future__ import annotations

from ...tasks import Task
from ..api import BuildResult, Evaluation, Platform, ScriptedKind, normalise_config
from ..base import RunLimits
from . import evaluation
from .assembler import Program, assemble
from .config import DEFAULT_CONFIG, AieConfig
from .scripted import BROKEN_SYNTAX, broken_wrong, cheater
from .shapes import shape_table, unsupported

DTYPES_TEXT = (
    "Inputs and outputs are bf16 in the tile's local memory (the harness rounds the task's inputs to "
    "bf16, round to nearest even). bf16 denormals are flushed to zero. The vector unit multiplies bf16 "
    "and accumulates in fp32 accumulators (AIE-ML aligns all addends of one MAC to the largest exponent "
    "with 23 fraction bits, then normalises once); convert back to bf16 with vconv.bf16.fp32 or "
    "vst.conv.bf16.fp32 (rounded per crRnd, round to nearest even at entry). The scalar unit has no "
    "floating point; exp, reciprocal and square root are built from vector operations."
)
PEAK_MACS_PER_CYCLE = 128  # bf16 4x8x4 per vmac.f (AM020)
LOAD_BYTES_PER_CYCLE = 64  # two 256-bit load ports
STORE_BYTES_PER_CYCLE = 32  # one 256-bit store port


class AiePlatform(Platform):
    name = "aie"
    title = "AMD NPU (AIE-ML-like compute tile, simulated)"
    kernel_language = "AIE2 (AIE-ML) VLIW assembly"
    kernel_suffix = ".s"
    code_fence = "asm"
    numerics = "float"
    one_shot_examples = (("gemm", "C1"), ("linear", "C1"))

    config: AieConfig

    def __init__(self, config: AieConfig | None = None):
        super().__init__(config)
        self._docs: dict[str, str] | None = None

    @classmethod
    def default_config(cls) -> AieConfig:
        return DEFAULT_CONFIG

    def dtypes_text(self) -> str:
        return DTYPES_TEXT

    def profile_name(self) -> str | None:
        return self.config.label()

    def docs(self) -> dict[str, str]:
        if self._docs is None:
            from .docs import render_docs

            self._docs = dict(render_docs(self.config))
        return dict(self._docs)

    # ------------------------------------------------------------------ tasks
    def shapes(self) -> dict[str, dict[str, dict[str, int]]]:
        return shape_table()

    def unsupported(self) -> dict[str, str]:
        return unsupported()

    # ------------------------------------------------------------------ the work
    def prepare(
        self, task: Task | str, config: str, seed: int, profile: str = "normal", poison: bool = False
    ) -> evaluation.AieInstance:
        return evaluation.prepare(task, normalise_config(config), seed, profile, poison, self.config)

    def build(self, source: str) -> BuildResult:
        result = assemble(source, self.config)
        size = len(result.program) if result.program is not None else None
        return BuildResult(result.program, tuple(result.diagnostics), size)

    def run(
        self,
        program: Program,
        instance: evaluation.AieInstance,
        limits: RunLimits | None = None,
        trace: bool = False,
    ) -> Evaluation:
        return evaluation.run(program, instance, limits or self.run_limits(), trace)

    def run_limits(self) -> RunLimits:
        # The largest cells (decoder_t5 C5: about 90 s of simulation on a busy two-core
        # machine) need more than the default 120 s; an endless loop still ends on the
        # instruction limit long before this.
        return RunLimits(wall_time_s=600.0)

    def baseline(self, task: Task | str, config: str) -> str:
        from .baseline import generate

        task_id = task if isinstance(task, str) else task.id
        params = self.params(task_id, config)
        return generate(task_id, params)

    def instruction_size(self, program: Program) -> dict[str, int]:
        counts = {
            "bundles": len(program.bundles),
            "bytes": program.size_bytes,
            "operations": sum(len(b.ops) for b in program.bundles),
        }
        for b in program.bundles:
            for op in b.ops:
                key = f"slot_{op.spec.slot.value}"
                counts[key] = counts.get(key, 0) + 1
        return counts

    def roofline(self, instance: evaluation.AieInstance) -> int:
        """Calls x (per-call overhead + the 6 bundles of a return) plus the largest of: the task's
        MACs at 128 per cycle, its input bytes over the two 256-bit load ports, its output bytes
        over the store port. Every kernel the harness calls pays at least this."""
        calls = sum(stage.n_calls() for stage in instance.plan.stages)
        in_bytes = 2 * sum(int(v.size) for v in instance.inputs.values())
        out_bytes = 2 * int(instance.reference.size)
        macs = instance.task.macs_for(instance.params)
        work = max(
            macs / PEAK_MACS_PER_CYCLE, in_bytes / LOAD_BYTES_PER_CYCLE, out_bytes / STORE_BYTES_PER_CYCLE
        )
        return max(1, int(calls * (self.config.call_overhead_cycles + 6) + work))

    def scripted_kernel(self, kind: ScriptedKind, task: Task | str, config: str) -> str:
        task_id = task if isinstance(task, str) else task.id
        if kind == "oracle":
            return self.baseline(task_id, config)
        if kind == "broken_syntax":
            return BROKEN_SYNTAX
        from .plans import plan_for

        plan = plan_for(task_id, self.params(task_id, config))
        if kind == "cheater":
            return cheater(self.baseline(task_id, config), plan)
        if kind == "broken_wrong":
            return broken_wrong(plan)
        raise ValueError(f"unknown scripted kernel kind {kind!r}")
