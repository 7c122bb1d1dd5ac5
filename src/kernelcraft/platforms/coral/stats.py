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
    "fetch": "the next instruction is not fetched yet: fetch brings one 16-byte line (4 instructions) "
    "every other cycle, and starts again at the target of every taken branch or jump",
    "branch": "refetch after a mispredicted branch, any jalr (ret included) or fence.i: 3 bubbles",
    "scoreboard": "an x or f register operand is not ready: the result of an ALU op, multiply, CSR read, "
    "vsetvli or vector-to-scalar move (vmv.x.s, vcpop.m, vfirst.m: 6-7 cycles) still on its way; "
    "load/store addresses, store data and jalr targets need one cycle more",
    "lsu": "the 4-entry load/store queue is full because the single load/store slot is busy with "
    "earlier scalar or vector accesses, or a scalar load's result from the DTCM is not back yet",
    "external_memory": "a scalar load's result from external memory (an AXI round trip) is not back yet",
    "rvv_queue": "the vector unit cannot take another instruction this cycle: it accepts min(free "
    "entries of its 16-entry command queue, 8) minus those it accepted the cycle before",
    "vector_config": "a vector load/store cannot dispatch in the cycle after any vector instruction "
    "(arithmetic included, not only vsetvli) or after a vsetvli earlier in the same cycle: the RTL's "
    "config interlock; it rarely costs time, because the load/store slot is usually still busy",
    "retirement": "all 8 retirement-buffer entries hold unfinished instructions; a vector instruction "
    "keeps its entry until its last uop retires, so this is the scalar core waiting for the vector "
    "unit (loads in the load/store slot, uops in the 8-uop reorder buffer)",
    "unit": "the multiplier (one multiply per cycle), the divider or the FPU is busy, or their result "
    "is not ready",
    "serialise": "a CSR access, fence or mpause waits for the core to drain (retirement buffer empty, "
    "load/store unit idle)",
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
