"""A small stand-in platform for tool tests: the real PLENA assembler, a rule-based evaluator.

The evaluator decides from the program itself (a V_MUL_VV makes it correct, a V_EXP_V makes
it fault, cycles = 10 per instruction), so each tool's text can be checked for every outcome
without depending on what a real kernel computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernelcraft.platforms.api import BuildResult
from kernelcraft.platforms.base import Fault
from kernelcraft.platforms.plena.assembler import assemble

DOCS = {
    "isa": (
        "# ISA\n\nOverview of the instruction set.\n\n"
        "## Vector instructions\n\n### V_ADD_VV\n\n"
        "V_ADD_VV rd, rs1, rs2, rmask: elementwise add of two VRAM rows.\n\n"
        "### V_EXP_V\n\nV_EXP_V rd, rs1, rmask: elementwise exp, inputs clamped to [-88, 88].\n\n"
        "## Control\n\n### C_LOOP_START\n\nC_LOOP_START gpC, imm: hardware loop, the counter counts down.\n"
    ),
    "memory_layout": (
        "# Memory layout\n\n## Output\n\nThe output lives in VRAM from address 0, column-block-major.\n"
    ),
    "hardware": "# Hardware\n\nVLEN = 64, MLEN = 64, BLEN = 4.\n",
    "guidance": "# Guidance\n\n## Common pitfalls\n\nV_RED_SUM accumulates: zero the register first.\n",
}


@dataclass
class FakeEvaluation:
    correct: bool
    match_rate: float
    cycles: int
    fault: Fault | None = None
    mse: float = 0.0
    max_abs_err: float = 0.0
    stats: dict = field(default_factory=dict)
    diagnostics: tuple = ()

    def format_summary(self) -> str:
        fault = [self.fault.format()] if self.fault else []
        return "\n".join([*fault, f"instructions executed: {self.cycles // 10}"])

    def format_rows(self, max_rows: int = 32) -> str:
        rows = [f"row {i}: max_abs_err={0.0 if self.correct else 1.5}" for i in range(min(4, max_rows))]
        return "\n".join(["per-row comparison:", *rows])


class FakeInstance:
    def __init__(self, poison: bool = False):
        self.poison = poison

    def contract_text(self) -> str:
        return "x is in HBM at 0; write y to VRAM at 0."


class FakePlatform:
    """Duck-types the Platform API parts the tools and scoring use (build, run, sizes, docs)."""

    name = "plena"
    title = "PLENA"
    kind = "accelerator"
    kernel_language = "PLENA assembly"
    kernel_suffix = ".s"
    code_fence = "asm"
    clock_ghz = 1.0

    def __init__(self) -> None:
        self.evaluated = 0
        self.builds = 0

    def build(self, source: str) -> BuildResult:
        self.builds += 1
        assembled = assemble(source)
        size = len(assembled.program) if assembled.program is not None else None
        return BuildResult(assembled.program, assembled.diagnostics, size)

    def run(self, program, instance, limits=None, trace=False) -> FakeEvaluation:
        self.evaluated += 1
        names = [ins.name for ins in program.instructions]
        cycles = 10 * len(names)
        if "V_EXP_V" in names:
            pc = names.index("V_EXP_V")
            fault = Fault(
                "address", "VRAM address out of range", pc=pc, instruction="V_EXP_V gp1, gp1, 0", line=pc + 1
            )
            return FakeEvaluation(False, 0.0, cycles, fault=fault, mse=float("nan"), max_abs_err=float("nan"))
        if "V_MUL_VV" in names:
            return FakeEvaluation(True, 1.0, cycles)
        return FakeEvaluation(False, 0.25, cycles, mse=0.5, max_abs_err=1.5)

    def instruction_size(self, program) -> dict:
        by_unit: dict[str, int] = {}
        for ins in program.instructions:
            unit = ins.name.split("_")[0]
            by_unit[unit] = by_unit.get(unit, 0) + 1
        return {"total": len(program), "by_category": by_unit}

    def docs(self) -> dict[str, str]:
        return dict(DOCS)

    def run_limits(self):
        from kernelcraft.platforms.base import RunLimits

        return RunLimits()

    def dtypes_text(self) -> str:
        return "Inputs are MXFP8 in HBM; everything on chip is BF16."


CORRECT = "S_ADDI_INT gp1, gp0, 64\nV_MUL_VV gp1, gp1, gp1, 0\n"
WRONG = "S_ADDI_INT gp1, gp0, 64\nV_ADD_VV gp1, gp1, gp1, 0\n"
FAULTING = "S_ADDI_INT gp1, gp0, 64\nV_EXP_V gp1, gp1, 0\n"
SYNTAX_ERROR = "S_ADDI_INT gp1, gp0\nV_BOGUS gp1\n"
