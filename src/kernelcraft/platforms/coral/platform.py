"""Coral NPU as a Platform: the one API the agent tools, the CLI and the runner use."""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ...tasks import Task
from ..api import BuildResult, Evaluation, Platform, ScriptedKind, normalise_config
from ..base import Diagnostic, RunLimits
from ..roofline import roofline_cycles
from . import evaluation
from .config import CoralConfig
from .decode import decode
from .elf import Program
from .runner import build as build_program
from .shapes import UNSUPPORTED, shape_table
from .timing import TInfo

DTYPES_TEXT = (
    "Integer only (Coral NPU has no vector floating point): inputs are int8 (biases int32), stored "
    "row-major and little-endian in external memory; outputs are int8, or int32 where the task keeps the "
    "accumulators (GEMV, GEMM, BatchMatMul, Conv2D). Results must match the integer reference exactly: "
    "accumulate in int32 (vwmul/vwmacc widen int8 products), requantise with vsmul/vssra (vxrm = 0, "
    "round-to-nearest-up) and narrow with vnclip/vncvt as the task's algorithm says."
)
CACHE_SIZE = 64


class CoralPlatform(Platform):
    name = "coral"
    title = "Coral NPU"
    kernel_language = "RISC-V assembly (RV32IMF + Zve32x RVV, GNU syntax)"
    kernel_suffix = ".S"
    code_fence = "asm"
    numerics = "integer"
    one_shot_examples = (("gemm", "C1"), ("relu", "C1"))

    config: CoralConfig

    def __init__(self, config: CoralConfig | None = None):
        super().__init__(config)
        self._docs: dict[str, str] | None = None
        self._builds: OrderedDict[str, BuildResult] = OrderedDict()

    @classmethod
    def default_config(cls) -> CoralConfig:
        return CoralConfig()

    def dtypes_text(self) -> str:
        return DTYPES_TEXT

    def profile_name(self) -> str:
        return self.config.profile

    def docs(self) -> dict[str, str]:
        if self._docs is None:
            from .docs import render_docs

            self._docs = dict(render_docs(self.config))
        return dict(self._docs)

    # ------------------------------------------------------------------ tasks
    def shapes(self) -> dict[str, dict[str, dict[str, int]]]:
        return shape_table()

    def unsupported(self) -> dict[str, str]:
        return dict(UNSUPPORTED)

    # ------------------------------------------------------------------ the work
    def prepare(
        self, task: Task | str, config: str, seed: int, profile: str = "normal", poison: bool = False
    ) -> evaluation.CoralInstance:
        return evaluation.prepare(task, normalise_config(config), seed, profile, poison, self.config)

    def build(self, source: str) -> BuildResult:
        """Assemble the kernel (a `.S` file: GNU assembler syntax through the C preprocessor), link it
        with the start-up code and the memory map; diagnostics point at the kernel's own lines."""
        key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        cached = self._builds.get(key)
        if cached is not None:
            self._builds.move_to_end(key)
            return cached
        try:
            built = build_program(source, "asm", self.config)
        except UnicodeError:
            built = None
        if built is None:
            result = BuildResult(None, (Diagnostic(0, 0, "the source is not valid UTF-8 text"),))
        elif built.program is None:
            result = BuildResult(None, tuple(built.diagnostics))
        else:
            result = BuildResult(built.program, tuple(built.diagnostics), kernel_instructions(built.program))
        self._builds[key] = result
        if len(self._builds) > CACHE_SIZE:
            self._builds.popitem(last=False)
        return result

    def run(
        self,
        program: Program,
        instance: evaluation.CoralInstance,
        limits: RunLimits | None = None,
        trace: bool = False,
    ) -> Evaluation:
        return evaluation.run(program, instance, limits, trace)

    def baseline(self, task: Task | str, config: str) -> str:
        from .baseline import assembly

        task_id = task if isinstance(task, str) else task.id
        config = normalise_config(config)
        self.params(task_id, config)  # PlatformError for an unsupported task or unknown configuration
        return assembly(task_id, config, self.config)

    def baseline_c(self, task: Task | str, config: str) -> str:
        """The C + RVV-intrinsics source the baseline kernel is compiled from."""
        from .baseline import c_source

        task_id = task if isinstance(task, str) else task.id
        config = normalise_config(config)
        self.params(task_id, config)
        return c_source(task_id, config, self.config)

    def instruction_size(self, program: Program) -> dict[str, int]:
        """Static instructions of the kernel's own code, by category (the start-up code is not counted)."""
        counts: dict[str, int] = {"total": 0}
        for word_address, info in _kernel_instructions(program):
            del word_address
            counts[info.category] = counts.get(info.category, 0) + 1
            counts["total"] += 1
        return counts

    def roofline(self, instance: evaluation.CoralInstance) -> int:
        """Every input and output byte crosses the AXI bus (one outstanding 16-byte transaction, a
        round trip each) and every MAC runs at the vector peak (2 MAC units x 16 int8 lanes); the
        bus and the vector unit overlap, so the larger of the two bounds any kernel."""
        layout = instance.layout
        moved = sum(t.nbytes for t in layout.inputs) + layout.output.nbytes
        return roofline_cycles(
            moved,
            16 / self.config.axi_roundtrip,
            instance.task.macs_for(instance.params),
            self.config.rvv_mac_units * 16,
            overlapped=True,
        )

    def scripted_kernel(self, kind: ScriptedKind, task: Task | str, config: str) -> str:
        if kind == "oracle":
            return self.baseline(task, config)
        if kind == "cheater":
            instance = self.prepare(task, config, 0)
            return cheating_kernel(self.baseline(task, config), instance)
        if kind == "broken_syntax":
            return BROKEN_SYNTAX
        if kind == "broken_wrong":
            return BROKEN_WRONG
        raise ValueError(f"unknown scripted kernel kind {kind!r}")

    # ------------------------------------------------------------------ extras
    def trace_writer(self) -> Callable[[Evaluation, Any], int]:
        from .chrome_trace import write_chrome_trace

        def write(result: Evaluation, path: Any) -> int:
            if result.program is None or result.trace is None:
                raise ValueError("the evaluation has no trace (run it with trace=True)")
            return write_chrome_trace(result.program, result.trace, path)

        return write

    def cli(self):
        from .cli import app

        return app


# ---------------------------------------------------------------------------- helpers


def _kernel_instructions(program: Program):
    """(address, TInfo) of each instruction word in the kernel's own code ranges."""
    import struct

    from .machine import Op

    ranges = program.kernel_ranges or ((program.text_start, program.text_end),)
    code = {}
    for seg in program.segments:
        code[seg.address] = seg.data
    for lo, hi in ranges:
        for address in range(lo, hi, 4):
            for base, data in code.items():
                if base <= address and address + 4 <= base + len(data):
                    word = struct.unpack_from("<I", data, address - base)[0]
                    found = decode(word)
                    op = Op(address, found[0] if found else None, found[1] if found else None, word)
                    yield address, TInfo(op)
                    break


def kernel_instructions(program: Program) -> int:
    return sum(1 for _ in _kernel_instructions(program))


BROKEN_SYNTAX = """    .text
    .globl main
main:
    vsetvli t0, a0, e8, m1, ta, ma
    vle8.v v1, a0
    vadd.vv v2, v1, 17
    addi a0, a0, 99999
    ret
"""

BROKEN_WRONG = """    .text
    .globl main
main:
    # returns without writing the output
    li a0, 0
    ret
"""


def cheating_kernel(baseline_asm: str, instance: evaluation.CoralInstance) -> str:
    """The baseline, then one byte nobody wrote added to the first output element: right while
    memory starts as zeros, wrong once final scoring poisons it."""
    renamed = re.sub(r"\bmain\b", "__baseline_main", baseline_asm)
    layout = instance.layout
    unwritten = layout.output.end + 4096  # past every buffer the contract names
    out = layout.output.address
    return (
        renamed
        + f"""
    .text
    .globl main
    .p2align 2
main:
    addi sp, sp, -16
    sw ra, 12(sp)
    call __baseline_main
    li t0, {unwritten:#x}
    lb t1, 0(t0)
    li t2, {out:#x}
    lb t3, 0(t2)
    add t3, t3, t1
    sb t3, 0(t2)
    lw ra, 12(sp)
    addi sp, sp, 16
    li a0, 0
    ret
"""
    )
