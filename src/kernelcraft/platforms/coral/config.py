"""Coral NPU hardware configuration: one frozen, validated dataclass.

Every address, size, latency and capacity the toolchain, the simulator, the timing model and
the generated docs use comes from here, and each field has its source in SOURCES (printed
next to the number in the hardware doc). The defaults are the Feb-2026 RTL (`RvvCoreMiniAxi`
with the automatic LMUL reduction, the 8-entry retirement buffer and the every-other-cycle
fetch); `CoralConfig.oct2025()` switches those back to the Oct-2025 tree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

RTL_O = "google-coral/coralnpu@f330094"  # Oct-2025 public snapshot
RTL_F = "google-coral/coralnpu history to 2026-02-17 (fork julianmb-g/coralnpu@d4ee9bf)"


@dataclass(frozen=True)
class CoralConfig:
    # ------------------------------------------------------------------ memory map
    itcm_base: int = 0x0000_0000
    itcm_size: int = 8 * 1024
    dtcm_base: int = 0x0001_0000
    dtcm_size: int = 32 * 1024
    ext_base: int = 0x2000_0000
    ext_size: int = 4 * 1024 * 1024
    stack_size: int = 2048  # bytes of DTCM reserved for the stack by our linker script

    # ------------------------------------------------------------------ vector unit
    vlen: int = 128  # bits per vector register
    elen: int = 32

    # ------------------------------------------------------------------ RTL version switches
    fetch_every_other_cycle: bool = True  # Feb 2026 "decouple fetch path"
    retirement_buffer: int = 8  # entries; 0 = none (Oct 2025)
    lmul_reduction: bool = True  # Feb 2026 automatic LMUL reduction at vset time
    vsetvli_x0_bug: bool = False  # Oct 2025: vsetvli rd!=x0, rs1=x0 set vl to 0

    # ------------------------------------------------------------------ scalar core
    dispatch_width: int = 4
    fetch_line_bytes: int = 16
    instruction_buffer: int = 8
    alu_latency: int = 1
    mul_latency: int = 2
    lsu_queue: int = 4
    registered_operand_extra: int = 1  # LSU base, jalr target, store data read the registered scoreboard
    branch_redirect_fetch: int = 2  # cycles from a mispredicted branch's dispatch to the refetch
    divider_base: int = 2  # div/rem: base + significant bits of the dividend
    fpu_latency: int = 4  # add/mul/fma/convert/compare; one float op in flight
    fpu_divsqrt_latency: int = 14
    csr_latency: int = 1

    # ------------------------------------------------------------------ load/store slot
    scalar_load_slot_cycles: int = 4  # one scalar load per 4 cycles through the single slot
    scalar_load_use: int = 3  # from dequeue to the register write (consumer dispatch)
    scalar_store_slot_cycles: int = 2
    vector_load_overhead: int = 3  # per register: RVV handshake + load update + write back
    vector_store_overhead: int = 2  # per register: data from RVV + acknowledge
    vector_mem_instruction_overhead: int = 1  # dequeue, once per instruction
    axi_roundtrip: int = 3  # cycles per single-beat AXI transaction to external memory

    # ------------------------------------------------------------------ RVV back end
    rvv_command_queue: int = 16
    rvv_queue_capacity_cap: int = 8  # the front end reports at most this much capacity
    rvv_front_end_delay: int = 3  # scalar dispatch to RVV dispatch (front-end reg, decode)
    rvv_decode_insts: int = 2
    rvv_decode_uops: int = 6
    rvv_uop_queue: int = 16
    rvv_dispatch_uops: int = 3
    rvv_vrf_read_ports: int = 6
    rvv_rob: int = 8
    rvv_retire_uops: int = 4
    rvv_alu_units: int = 2
    rvv_alu_latency: int = 2
    rvv_mac_units: int = 2
    rvv_mac_latency: int = 3
    rvv_pmtrdt_latency: int = 2
    rvv_to_scalar_extra: int = 2  # vmv.x.s / vcpop / vfirst: RVV retire to the scalar write port

    clock_ghz: float = 1.0

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid Coral configuration: " + "; ".join(problems))

    def _problems(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _BOOLS:
                if not isinstance(value, bool):
                    yield f"{f.name} must be true or false"
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                yield f"{f.name} must be a number"
            elif value < 0 or (value == 0 and f.name not in _MAY_BE_ZERO):
                yield f"{f.name} must be positive"
        if self.vlen != 128 or self.elen != 32:
            yield "the simulator implements VLEN=128 and ELEN=32 only"
        regions = sorted(
            [
                (self.itcm_base, self.itcm_size, "ITCM"),
                (self.dtcm_base, self.dtcm_size, "DTCM"),
                (self.ext_base, self.ext_size, "external memory"),
            ]
        )
        for (b1, s1, n1), (b2, _s2, n2) in zip(regions, regions[1:], strict=False):
            if b1 + s1 > b2:
                yield f"{n1} overlaps {n2}"
        for name in ("itcm_base", "dtcm_base", "ext_base", "itcm_size", "dtcm_size", "ext_size"):
            if getattr(self, name) % 16:
                yield f"{name} must be a multiple of 16"
        if self.stack_size >= self.dtcm_size:
            yield "stack_size must leave room in DTCM"
        if self.retirement_buffer and self.retirement_buffer < self.dispatch_width:
            yield "the retirement buffer must hold at least one dispatch group"

    # ------------------------------------------------------------------ presets
    @classmethod
    def feb2026(cls, **overrides: Any) -> CoralConfig:
        return cls(**overrides)

    @classmethod
    def oct2025(cls, **overrides: Any) -> CoralConfig:
        base = dict(
            fetch_every_other_cycle=False, retirement_buffer=0, lmul_reduction=False, vsetvli_x0_bug=True
        )
        base.update(overrides)
        return cls(**base)

    def with_(self, **changes: Any) -> CoralConfig:
        return replace(self, **changes)

    @property
    def profile(self) -> str:
        feb = (self.fetch_every_other_cycle, bool(self.retirement_buffer), self.lmul_reduction)
        if feb == (True, True, True) and not self.vsetvli_x0_bug:
            return "feb2026"
        if feb == (False, False, False) and self.vsetvli_x0_bug:
            return "oct2025"
        return "custom"

    @property
    def vlenb(self) -> int:
        return self.vlen // 8

    @property
    def itcm_end(self) -> int:
        return self.itcm_base + self.itcm_size

    @property
    def dtcm_end(self) -> int:
        return self.dtcm_base + self.dtcm_size

    @property
    def ext_end(self) -> int:
        return self.ext_base + self.ext_size

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_BOOLS = {"fetch_every_other_cycle", "lmul_reduction", "vsetvli_x0_bug"}
_MAY_BE_ZERO = {"itcm_base", "retirement_buffer", "registered_operand_extra", "rvv_to_scalar_extra"}

_INF = "inferred from the RTL by hand (reference notes, not measured on the RTL)"

# Where every number comes from; the hardware doc prints these next to the values.
SOURCES: dict[str, str] = {
    "itcm_base": (
        f"{RTL_O} hdl/chisel/src/coralnpu/Core.scala (EmitCore memory regions); toolchain/coralnpu_tcm.ld"
    ),
    "itcm_size": f"{RTL_O} README.md (8 KB ITCM); toolchain/coralnpu_tcm.ld ITCM LENGTH = 8K",
    "dtcm_base": f"{RTL_O} toolchain/coralnpu_tcm.ld DTCM ORIGIN = 0x10000",
    "dtcm_size": f"{RTL_O} README.md (32 KB DTCM); toolchain/coralnpu_tcm.ld DTCM LENGTH = 32K",
    "ext_base": f"{RTL_O} coralnpu_test_utils/core_mini_axi_interface.py ext_mem_base = 0x20000000",
    "ext_size": f"{RTL_F} toolchain/coralnpu_tcm.ld.tpl EXTMEM LENGTH = 4096K",
    "stack_size": "our choice, because the repo's 0x80-byte default stack is too small for compiled C at -O2",
    "vlen": f"{RTL_O} hdl/verilog/rvv/inc/rvv_backend_define.svh (VLEN 128); vlenb CSR reads 16",
    "elen": f"{RTL_O} README.md rv32imf_zve32x (Zve32x: ELEN = 32)",
    "fetch_every_other_cycle": (
        f"{RTL_F} commit bf1c5c2 'Decouple fetch path' (UncachedFetch.scala blockNewFetch on fetchData.valid)"
    ),
    "retirement_buffer": (
        f"{RTL_F} commit 7de68de RetirementBuffer.scala, retirementBufferSize = 8 (Parameters.scala)"
    ),
    "lmul_reduction": f"{RTL_F} commit 53f15ae RvvFrontEnd.sv REDUCE_LMUL",
    "vsetvli_x0_bug": f"{RTL_O} RvvFrontEnd.sv (fixed by bfdc6eb on 2025-10-20)",
    "dispatch_width": f"{RTL_O} Decode.scala DispatchV2 (instructionLanes = 4)",
    "fetch_line_bytes": f"{RTL_O} UncachedFetch.scala (fetchDataBits = 128)",
    "instruction_buffer": f"{RTL_O} UncachedFetch.scala window = 2 * fetchInstrSlots",
    "alu_latency": f"{RTL_O} doc/microarch/microarch.md latency table (ALU 1)",
    "mul_latency": f"{RTL_O} doc/microarch/microarch.md (MLU 2); Mlu.scala 3-stage pipeline",
    "lsu_queue": f"{RTL_O} Decode.scala lsuQueueCapacity; Lsu.scala LsuV2 op queue of 4",
    "registered_operand_extra": (
        f"{RTL_O} Decode.scala usesRs1Regd (jalr, LSU base) / usesRs2Regd (store data) read the registered "
        "scoreboard"
    ),
    "branch_redirect_fetch": (
        f"{RTL_F} UncachedFetch.scala: the redirect blocks fetch in its cycle, the target is fetched from "
        f"the registered pc next cycle; {_INF}"
    ),
    "divider_base": f"{RTL_O} Dvu.scala (1 bit per cycle after a CLZ skip); {_INF}",
    "fpu_latency": (
        f"{RTL_O} float/FloatCore.scala (fpnew_top PipeRegs = 3, one instruction held at a time); {_INF}"
    ),
    "fpu_divsqrt_latency": (
        f"{RTL_O} float/FloatCore.scala (fpnew_divsqrt_th_32, iterative 10-20 cycles); our choice of 14 "
        "within that range"
    ),
    "csr_latency": f"{RTL_O} Csr.scala (single-cycle CSR access)",
    "scalar_load_slot_cycles": (
        f"{RTL_O} Lsu.scala LsuV2/LsuSlot state machine: dequeue, request, data, write back; {_INF}"
    ),
    "scalar_load_use": f"{RTL_O} Lsu.scala LsuSlot: register write 3 cycles after dequeue; {_INF}",
    "scalar_store_slot_cycles": f"{RTL_O} Lsu.scala LsuSlot: store request then idle; {_INF}",
    "vector_load_overhead": (
        f"{RTL_O} Lsu.scala LsuSlot rvv2lsu wait, load update, lsu2rvv write back (n + 3 per register); "
        f"{_INF}"
    ),
    "vector_store_overhead": (
        f"{RTL_O} Lsu.scala LsuSlot store data from RVV, acknowledge (n + 2 per register); {_INF}"
    ),
    "vector_mem_instruction_overhead": f"{RTL_O} Lsu.scala op-queue dequeue; {_INF}",
    "axi_roundtrip": (
        f"{RTL_O} coralnpu_test_utils/core_mini_axi_interface.py memory-model coroutines (about 3 cycles "
        f"request to response); {_INF}; tunable"
    ),
    "rvv_command_queue": f"{RTL_O} rvv_backend_define.svh CQ_DEPTH 16",
    "rvv_queue_capacity_cap": (
        f"{RTL_O} RvvCore.scala queue capacity min(free entries, 8) minus last cycle's accepted"
    ),
    "rvv_front_end_delay": f"{RTL_O} RvvFrontEnd.sv (1 register stage) + decode + dispatch; {_INF}",
    "rvv_decode_insts": f"{RTL_O} rvv_backend_decode.sv (2 instructions per cycle)",
    "rvv_decode_uops": f"{RTL_O} rvv_backend_define.svh NUM_DE_UOP 6",
    "rvv_uop_queue": f"{RTL_O} rvv_backend_define.svh UQ_DEPTH 16",
    "rvv_dispatch_uops": f"{RTL_O} rvv_backend_define.svh NUM_DP_UOP 3",
    "rvv_vrf_read_ports": f"{RTL_O} rvv_backend_config.svh ISSUE_3_READ_PORT_6; dispatch_structure_hazard.sv",
    "rvv_rob": f"{RTL_O} rvv_backend_define.svh ROB_DEPTH 8",
    "rvv_retire_uops": f"{RTL_O} rvv_backend_define.svh NUM_RT_UOP 4",
    "rvv_alu_units": f"{RTL_O} rvv_backend_alu.sv (2 ALU units)",
    "rvv_alu_latency": (
        f"{RTL_O} rvv_backend_alu_unit.sv (result at the RS head, ROB write at the end of the cycle); {_INF}"
    ),
    "rvv_mac_units": f"{RTL_O} rvv_backend_mulmac.sv (2 MUL/MAC units)",
    "rvv_mac_latency": f"{RTL_O} rvv_backend_mac_unit.sv (2 pipeline stages); {_INF}",
    "rvv_pmtrdt_latency": (
        f"{RTL_O} rvv_backend_pmtrdt.svh ('the latency of all instructions is 2-cycles'); single unit"
    ),
    "rvv_to_scalar_extra": f"{RTL_O} RvvCore.scala scalar write-back through the shared async port; {_INF}",
    "clock_ghz": (
        "our choice for showing cycles as time (the cocotb clock is 800 MHz, which does not change cycle "
        "counts)"
    ),
}
