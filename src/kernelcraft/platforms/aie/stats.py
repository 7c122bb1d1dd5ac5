"""Run statistics of the tile: the scored cycles and what a performance engineer acts on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AieStats:
    cycles: int = 0  # scored: kernel cycles summed over calls + per-call overhead
    kernel_cycles: int = 0  # entry to return, summed over calls
    calls: int = 0
    call_overhead_cycles: int = 0
    bundles: int = 0  # dynamic VLIW instructions issued
    operations: int = 0
    mac_ops: int = 0  # vector-unit MAC-family operations (vmul/vmac/vmsc/vadd.f/...)
    slot_ops: dict[str, int] = field(default_factory=dict)  # slot -> operations issued
    loads: int = 0
    stores: int = 0
    stall_bank: int = 0
    stall_interlock: int = 0
    zol_iterations: int = 0
    program_bytes: int = 0
    program_bundles: int = 0
    hazard_reads: int = 0
    dma_in_bytes: int = 0
    dma_out_bytes: int = 0
    dma_cycles: int = 0  # cycles the object FIFOs would need at the documented bandwidth
    pipeline: str = "exposed"

    @property
    def instructions(self) -> int:
        return self.bundles

    @property
    def v_slot_utilisation(self) -> float:
        return self.slot_ops.get("V", 0) / self.kernel_cycles if self.kernel_cycles else 0.0

    @property
    def mac_utilisation(self) -> float:
        return self.mac_ops / self.kernel_cycles if self.kernel_cycles else 0.0

    @property
    def dma_bound(self) -> bool:
        return self.dma_cycles > self.cycles

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["slot_ops"] = dict(self.slot_ops)
        out["instructions"] = self.instructions
        out["v_slot_utilisation"] = round(self.v_slot_utilisation, 4)
        out["mac_utilisation"] = round(self.mac_utilisation, 4)
        out["dma_bound"] = self.dma_bound
        return out

    def summary_lines(self) -> list[str]:
        kc = max(1, self.kernel_cycles)
        stalls = f"bank conflicts {self.stall_bank}"
        if self.pipeline == "interlocked":
            stalls += f", interlock {self.stall_interlock} (interlocked ablation)"
        lines = [
            f"{self.calls} call(s): kernel {self.kernel_cycles} cycles + "
            f"{self.call_overhead_cycles} call overhead; "
            f"{self.bundles} bundles, {self.operations} ops "
            f"({self.operations / max(1, self.bundles):.2f} ops/bundle)",
            f"V slot busy {100 * self.v_slot_utilisation:.1f}% (MAC {100 * self.mac_utilisation:.1f}%); "
            f"loads {self.loads / kc:.2f}/cycle, stores {self.stores / kc:.2f}/cycle; stalls: {stalls}; "
            f"program {self.program_bytes} B in {self.program_bundles} bundles",
        ]
        if self.hazard_reads:
            lines.append(f"{self.hazard_reads} hazard read(s): registers read before their write landed")
        dma = (
            f"DMA (reported, not scored): {self.dma_in_bytes} B in, {self.dma_out_bytes} B out, "
            f"about {self.dma_cycles} cycles at the FIFO bandwidth"
        )
        if self.dma_bound:
            dma += " -- the DMA, not the kernel, would bound this run"
        lines.append(dma)
        return lines
