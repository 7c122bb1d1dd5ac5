"""Types every platform shares: diagnostics, faults and run limits.

Errors are values: the assembler returns diagnostics, the simulator returns a fault, and
tools, CLI and agent all render the same objects.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Literal

MAX_SHOWN_TEXT = 120  # characters of the offending text a formatted diagnostic shows


@dataclass(frozen=True)
class Diagnostic:
    """One assembler finding, pointing at the source text that caused it."""

    line: int  # 1-based; 0 when not tied to a line
    column: int  # 1-based; 0 when not tied to a column
    message: str
    text: str = ""  # the offending source text
    hint: str = ""
    severity: Literal["error", "warning"] = "error"

    def format(self) -> str:
        where = f"line {self.line}" + (f":{self.column}" if self.column else "")
        out = f"{where}: {self.severity}: {self.message}"
        if self.text:
            text = self.text if len(self.text) <= MAX_SHOWN_TEXT else self.text[:MAX_SHOWN_TEXT] + "..."
            out += f"  [{text}]"
        if self.hint:
            out += f"\n    hint: {self.hint}"
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fault:
    """Why a run stopped early: where, on which instruction, and the state that matters."""

    kind: str  # e.g. "address", "alignment", "operand", "loop_cap", "instruction_limit", "wall_time"
    message: str
    pc: int | None = None
    instruction: str = ""
    line: int | None = None  # source line of the faulting instruction
    state: dict[str, Any] = field(default_factory=dict)

    pc_format: ClassVar[str] = ""  # "#x" where pcs are byte addresses, shown in hex

    def where(self) -> str:
        """" at pc N (line L): instruction", or "" when the fault has no pc."""
        if self.pc is None:
            return ""
        where = f" at pc {self.pc:{self.pc_format}}"
        if self.line:
            where += f" (line {self.line})"
        if self.instruction:
            where += f": {self.instruction}"
        return where

    def state_items(self) -> list[str]:
        return [f"{k}={v}" for k, v in self.state.items()]

    def format(self) -> str:
        out = f"{self.kind} fault{self.where()}\n    {self.message}"
        if self.state:
            out += "\n    state: " + ", ".join(self.state_items())
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunLimits:
    """Bounds the simulator enforces so that no kernel can hang a run."""

    max_instructions: int = 20_000_000  # dynamic instructions in one run
    wall_time_s: float = 120.0


def errors_only(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == "error"]
