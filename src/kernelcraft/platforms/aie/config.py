"""Hardware configuration of the AIE-ML-like compute tile: one frozen, validated dataclass.

Every size and timing number the assembler, simulator, harness and docs use lives here
(latencies of individual operations live in the instruction table, isa.py). Each field's
source is written next to it in FIELD_SOURCES, which the generated hardware doc prints, so
no number appears without saying where it comes from.

This models an AIE-ML (AIE2, XDNA1) compute tile as public documents describe it. It is a
simulator of our own, not AMD hardware and not AMD's aiesimulator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Literal

PIPELINES = ("exposed", "interlocked")
FP_MODES = ("aie", "ieee")
GENERATIONS = ("aie-ml", "aie2p-scalar")


@dataclass(frozen=True)
class AieConfig:
    clock_ghz: float = 1.0
    # exposed: a read before the write lands sees the old value (as on the hardware) and is
    # reported as a hazard warning; interlocked: an ablation that stalls instead.
    pipeline: Literal["exposed", "interlocked"] = "exposed"
    fp_mode: Literal["aie", "ieee"] = "aie"
    # aie-ml is the default ISA; aie2p-scalar adds the AIE-ML v2 scalar inv/sqrt/invsqrt ops.
    generation: Literal["aie-ml", "aie2p-scalar"] = "aie-ml"

    data_memory_base: int = 0x70000
    data_memory_bytes: int = 64 * 1024
    physical_banks: int = 8
    bank_interleave_bytes: int = 16
    program_memory_bytes: int = 16 * 1024
    vector_access_bytes: int = 32
    load_ports: int = 2
    store_ports: int = 1

    branch_delay_slots: int = 5
    zol_setup_distance: int = 7  # bundles between the last ls/le/lc write and the loop's last bundle
    zol_no_branch_tail: int = 6  # bundles at the end of a ZOL body that may not hold a branch

    # Harness (object FIFOs): what one kernel call costs beyond the kernel's own cycles, and
    # the DMA side reported next to the scored cycles.
    call_overhead_cycles: int = 24
    dma_in_bytes_per_cycle: int = 8  # two S2MM channels x 4 B/cycle
    dma_out_bytes_per_cycle: int = 8  # two MM2S channels x 4 B/cycle
    dma_task_overhead_cycles: int = 15  # per buffer transfer (memory tile to tile)

    # Guards.
    max_calls: int = 200_000

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid AIE configuration: " + "; ".join(problems))

    def _problems(self):
        if self.pipeline not in PIPELINES:
            yield f"pipeline must be one of {', '.join(PIPELINES)}"
        if self.fp_mode not in FP_MODES:
            yield f"fp_mode must be one of {', '.join(FP_MODES)}"
        if self.generation not in GENERATIONS:
            yield f"generation must be one of {', '.join(GENERATIONS)}"
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("pipeline", "fp_mode", "generation"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                yield f"{f.name} must be a number"
            elif value < 0 or (
                value == 0 and f.name not in ("call_overhead_cycles", "dma_task_overhead_cycles")
            ):
                yield f"{f.name} must be positive"
        if self.data_memory_bytes % (self.physical_banks * self.bank_interleave_bytes):
            yield "data_memory_bytes must split evenly over the banks"
        if self.physical_banks % 2:
            yield "physical_banks must be even (banks pair into logical banks)"
        if self.vector_access_bytes != 2 * self.bank_interleave_bytes:
            yield "a vector access must cover exactly the two banks of a logical bank"

    # ------------------------------------------------------------------ derived
    @property
    def data_memory_end(self) -> int:
        return self.data_memory_base + self.data_memory_bytes

    @property
    def logical_banks(self) -> int:
        return self.physical_banks // 2

    @property
    def logical_bank_bytes(self) -> int:
        return self.data_memory_bytes // self.logical_banks

    @property
    def interlocked(self) -> bool:
        return self.pipeline == "interlocked"

    def label(self) -> str:
        """How results name this configuration (the ablations say so)."""
        parts = []
        if self.pipeline != "exposed":
            parts.append(f"pipeline={self.pipeline} (ablation)")
        if self.fp_mode != "aie":
            parts.append(f"fp={self.fp_mode}")
        if self.generation != "aie-ml":
            parts.append(f"generation={self.generation}")
        return ", ".join(parts) or "default (exposed pipeline, aie rounding)"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> AieConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown AIE configuration keys: {', '.join(unknown)}")
        return cls(**data)


DEFAULT_CONFIG = AieConfig()

FIELD_DOCS: dict[str, str] = {
    "clock_ghz": "clock used to show cycles as time",
    "pipeline": (
        "exposed (hardware behaviour) or interlocked (ablation: stall instead of reading stale values)"
    ),
    "fp_mode": "bf16 MAC accumulation: aie (align to the largest exponent, 23 fraction bits) or ieee",
    "generation": "aie-ml (default) or aie2p-scalar (adds the AIE-ML v2 scalar inv/sqrt/invsqrt)",
    "data_memory_base": "first byte address of the tile's own data memory",
    "data_memory_bytes": "data memory size",
    "physical_banks": "single-ported physical banks of data memory",
    "bank_interleave_bytes": "bytes per bank row; bank pairs interleave at this granularity",
    "program_memory_bytes": "program memory size (bundles are 2..16 bytes)",
    "vector_access_bytes": "bytes one vector load or store moves (one 256-bit port)",
    "load_ports": "load units (slots A and B)",
    "store_ports": "store units (slot S)",
    "branch_delay_slots": "bundles executed after every branch, taken or not",
    "zol_setup_distance": "minimum bundles from the last write of ls/le/lc to the loop's last bundle",
    "zol_no_branch_tail": "bundles at the end of a zero-overhead-loop body that may not hold a branch",
    "call_overhead_cycles": "cycles added to each kernel call (lock acquire/release, call, return)",
    "dma_in_bytes_per_cycle": "tile DMA input bandwidth (reported, not scored)",
    "dma_out_bytes_per_cycle": "tile DMA output bandwidth (reported, not scored)",
    "dma_task_overhead_cycles": "fixed DMA cost per buffer transfer (reported, not scored)",
    "max_calls": "kernel calls one task instance may make",
}

FIELD_SOURCES: dict[str, str] = {
    "clock_ghz": (
        "our choice: cycles are the score; DS957 gives 1.0-1.3 GHz for AIE-ML, XDNA1 turbo runs about 1.8 GHz"
    ),
    "pipeline": "AIE2Schedule.td header (Xilinx/llvm-aie): 'AIEngine is an exposed pipeline architecture'",
    "fp_mode": (
        "AM020 ch.4 Floating-Point Vector Unit: additions aligned to the largest "
        "exponent with 23 fraction bits"
    ),
    "generation": "AM020 (AIE-ML) is the default; AM027 documents the AIE-ML v2 scalar functions",
    "data_memory_base": "mlir-aie AIETargetModel.h (AIE2): the core's own memory at 0x70000",
    "data_memory_bytes": "AM020 Functional Overview; UG1603 'AI Engine-ML Memory': 64 KB per tile",
    "physical_banks": "UG1603 'AI Engine-ML Memory': 8 banks of 512 x 128 bit",
    "bank_interleave_bytes": (
        "AM020 Tile Architecture: bank pairs interleaved; bank = 2*addr[15:14] + addr[4] "
        "(xdna-emu banking.rs)"
    ),
    "program_memory_bytes": "AM020 Instruction Fetch and Decode Unit: 16 KB program memory",
    "vector_access_bytes": "AM020 Interfaces: two 256-bit load ports and one 256-bit store port",
    "load_ports": "AM020 Interfaces",
    "store_ports": "AM020 Interfaces",
    "branch_delay_slots": (
        "llvm-aie control-flow.mir (5 NOPs after each branch); xdna-emu branch_delay_slots: 5"
    ),
    "zol_setup_distance": "llvm-aie AIE2InstrInfo.cpp: LoopSetupDistance = 7",
    "zol_no_branch_tail": (
        "our choice (inference): a branch whose delay slots cross the loop end has no defined meaning"
    ),
    "call_overhead_cycles": (
        "our choice: an IRON core loop per call does 3 lock acquires + 3 releases (1 cycle each), "
        "a call and a return (6 cycles each with delay slots) = 18, plus 6 for the loop branch"
    ),
    "dma_in_bytes_per_cycle": (
        "AM020 Tile DMA: 2 S2MM channels, each limited by its 32-bit stream to 4 B/cycle"
    ),
    "dma_out_bytes_per_cycle": "AM020 Tile DMA: 2 MM2S channels, 4 B/cycle each",
    "dma_task_overhead_cycles": (
        "xdna-emu model_builder.rs: BD setup 4 + start 2 + DM latency 5, plus about 4 for the stream hop"
    ),
    "max_calls": "our choice: a guard so that no plan runs away",
}
