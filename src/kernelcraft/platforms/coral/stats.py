"""Run statistics of the Coral timing model: what a kernel writer acts on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STALL_CAUSES = (
    "fetch",
    "branch",
    "scoreboard",
    "lsu",
    "external_memory",
    "rvv_queue",
    "vector_config",
    "retirement",
    "unit",
    "serialise",
)
STALL_TEXT = {
    "fetch": "waiting for instructions from fetch",
    "branch": "refetch after a mispredicted branch or a jalr",
    "scoreboard": "an operand not ready (scalar RAW/WAW)",
    "lsu": "the load/store queue or slot busy",
    "external_memory": "waiting on an external-memory (AXI) access",
    "rvv_queue": "the RVV command queue full",
    "vector_config": "vector load/store behind an RVV instruction or vset (config interlock)",
    "retirement": "the 8-entry retirement buffer full (e.g. behind a long vector load)",
    "unit": "a busy unit (multiplier, divider, FPU)",
    "serialise": "CSR/fence/mpause waiting for the core to drain",
}
CATEGORIES = (
    "scalar_alu",
    "scalar_mul_div",
    "branch_jump",
    "scalar_load",
    "scalar_store",
    "float",
    "csr_system",
    "vset",
    "vector_alu",
    "vector_mac",
    "vector_reduce_permute",
    "vector_load",
    "vector_store",
)


@dataclass
class CoralStats:
    cycles: int
    instructions: int
    stalls: dict[str, int] = field(default_factory=dict)  # dispatch-stall cycles by cause
    mix: dict[str, int] = field(default_factory=dict)  # executed instructions by category
    vector_uops: int = 0
    branch_mispredicts: int = 0
    ext_transactions: int = 0
    profile: str = "feb2026"

    @property
    def ipc(self) -> float:
        return self.instructions / self.cycles if self.cycles else 0.0

    @property
    def vector_instructions(self) -> int:
        return sum(v for k, v in self.mix.items() if k.startswith("vector") or k == "vset")

    @property
    def scalar_instructions(self) -> int:
        return self.instructions - self.vector_instructions

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycles": self.cycles,
            "instructions": self.instructions,
            "ipc": round(self.ipc, 4),
            "stalls": dict(self.stalls),
            "mix": dict(self.mix),
            "vector_instructions": self.vector_instructions,
            "scalar_instructions": self.scalar_instructions,
            "vector_uops": self.vector_uops,
            "branch_mispredicts": self.branch_mispredicts,
            "ext_transactions": self.ext_transactions,
            "profile": self.profile,
        }

    def summary_lines(self) -> list[str]:
        vec = self.vector_instructions
        lines = [
            f"IPC {self.ipc:.2f}; {vec} vector / {self.scalar_instructions} scalar instructions "
            f"({self.vector_uops} vector uops); {self.branch_mispredicts} branch redirects; "
            f"{self.ext_transactions} external-memory transactions"
        ]
        stalls = sorted(((v, k) for k, v in self.stalls.items() if v), reverse=True)
        if stalls:
            total = sum(v for v, _ in stalls)
            parts = [f"{k} {v} ({100 * v / max(self.cycles, 1):.0f}%)" for v, k in stalls[:5]]
            lines.append(f"dispatch stalls {total} cycles: " + ", ".join(parts))
        return lines
