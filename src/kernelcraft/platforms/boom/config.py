"""The BOOM hardware configuration: BOOM v3's published core presets, mapped onto rvsim.

BOOM is configured in Chisel by "config mixins"; riscv-boom's config-mixins.scala defines
one per size (WithNSmallBooms, WithNMediumBooms, WithNLargeBooms, WithNMegaBooms). Each
preset here copies one mixin's numbers, and SOURCES says where each number comes from, so
the hardware doc can print every parameter next to its file and line. Numbers the mixins do
not set come from BOOM's defaults (parameters.scala, the predictor files) or the Chipyard
SoC around the core; the few that no source settles are marked "our choice" with the reason.

The default is LargeBoom: the configuration BOOM's own documentation builds and shows (its
quick start is `make CONFIG=LargeBoomConfig`, docs/index.rst:43; the parameterisation chapter
includes exactly the LargeBoom mixin, docs/sections/parameterization.rst:21-26; the FAQ runs
`simulator-...-LargeBoomConfig`), and the paper ran "BOOM's Verilator-based RTL simulation"
without naming a size, so the documented default is the most likely one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

BOOM_REPO = "riscv-boom/riscv-boom"
BOOM_COMMIT = "b6d98564f04ac1a0eb2678f915d05ca4f74d4d91"  # master, 2025-12-29
MIXINS = "src/main/scala/v3/common/config-mixins.scala"
PARAMS = "src/main/scala/v3/common/parameters.scala"
L2_REPO = "chipsalliance/rocket-chip-inclusive-cache"
L2_COMMIT = "1332d2268ae01b2b311966d53a3ee0d930e83f07"

PRESET_NAMES = ("small", "medium", "large", "mega")
DEFAULT_PRESET = "large"


class BoomConfigError(ValueError):
    """A hardware configuration that cannot describe a BOOM core."""


@dataclass(frozen=True)
class IssueQueue:
    entries: int
    issue_width: int


@dataclass(frozen=True)
class BoomConfig:
    """One BOOM core plus the memory system around it (everything rvsim is told)."""

    preset: str
    fetch_bytes: int  # bytes fetched per cycle (BOOM: fetchWidth 16-bit parcels)
    decode_width: int  # BOOM's coreWidth: decode, rename, dispatch and commit width
    rob_entries: int
    mem_iq: IssueQueue
    int_iq: IssueQueue
    fp_iq: IssueQueue
    int_phys_regs: int
    fp_phys_regs: int
    ldq_entries: int
    stq_entries: int
    max_br_count: int  # branches in flight (one rename snapshot each)
    fetch_buffer_entries: int
    ftq_entries: int
    l1_sets: int
    l1d_ways: int
    l1i_ways: int
    l1d_mshrs: int
    l1d_prefetch: bool  # BOOM's enablePrefetching (a next-line prefetcher)
    # Defaults shared by every preset (BOOM's parameters.scala, predictor files, Chipyard's L2).
    line_bytes: int = 64
    ras_entries: int = 32
    btb_sets: int = 128
    btb_ways: int = 2
    bim_sets: int = 2048
    tage_tables: tuple[tuple[int, int, int], ...] = (
        (128, 2, 7),
        (128, 4, 7),
        (256, 8, 8),
        (256, 16, 8),
        (128, 32, 9),
        (128, 64, 9),
    )  # (sets, history length, tag bits) per table
    tage_u_bit_period: int = 2048
    imul_latency: int = 3
    fma_latency: int = 4
    alu_latency: int = 1
    l1d_latency: int = 2  # rvsim cycles after address generation: a 3-cycle load-to-use hit
    l1i_latency: int = 1
    div_latency: int = 64
    fdiv_latency: int = 21
    pmp_entries: int = 8
    pmp_granularity: int = 4
    l2_kib: int = 512
    l2_ways: int = 8
    l2_latency: int = 20
    dram_latency: int = 80
    clock_mhz: int = 1000
    trap_latency: int = 13  # cycles from a trap to the handler's first fetch
    bus_latency: int = 4  # cycles across the system bus between the L2 and memory
    ram_mib: int = 64
    tlb_entries: int = 8
    misaligned_trap: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.preset not in PRESET_NAMES:
            problems.append(f"preset must be one of {', '.join(PRESET_NAMES)}")
        if self.fetch_bytes not in (8, 16, 32):
            problems.append("fetch_bytes must be 8, 16 or 32")
        if not 1 <= self.decode_width <= 5:
            problems.append("decode_width must be 1..5")
        if self.rob_entries % self.decode_width:
            problems.append("rob_entries must be a multiple of decode_width (BOOM's requirement)")
        if self.int_phys_regs < 32 + self.decode_width or self.fp_phys_regs < 32 + self.decode_width:
            problems.append("physical registers must be at least 32 + decode_width")
        for name in ("ldq_entries", "stq_entries"):
            if getattr(self, name) - 1 <= self.decode_width:
                problems.append(f"{name} must exceed decode_width + 1")
        for name in ("l1_sets", "line_bytes", "btb_sets", "bim_sets"):
            value = getattr(self, name)
            if value <= 0 or value & (value - 1):
                problems.append(f"{name} must be a power of two")
        for name in (
            "l1d_ways",
            "l1i_ways",
            "l1d_mshrs",
            "max_br_count",
            "imul_latency",
            "div_latency",
            "l1d_latency",
            "l2_latency",
            "dram_latency",
            "clock_mhz",
            "pmp_entries",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be positive")
        if not 1 <= self.pmp_entries <= 16:
            problems.append("pmp_entries must be 1..16 (rvsim implements 16)")
        if problems:
            raise BoomConfigError("invalid BOOM configuration: " + "; ".join(problems))

    # ------------------------------------------------------------------ derived numbers
    @property
    def fetch_width(self) -> int:
        """BOOM's fetchWidth: 16-bit parcels per fetch packet."""
        return self.fetch_bytes // 2

    @property
    def fetch_instructions(self) -> int:
        """Full-size (32-bit) instructions per fetch packet: what rvsim's fetch width counts."""
        return self.fetch_bytes // 4

    @property
    def issue_width(self) -> int:
        return self.mem_iq.issue_width + self.int_iq.issue_width + self.fp_iq.issue_width

    @property
    def issue_queue_entries(self) -> int:
        return self.mem_iq.entries + self.int_iq.entries + self.fp_iq.entries

    @property
    def predictor_banks(self) -> int:
        """BOOM splits a fetch packet wider than 8 bytes over two predictor banks (frontend.scala:136)."""
        return 1 if self.fetch_bytes <= 8 else 2

    @property
    def l1d_bytes(self) -> int:
        return self.l1_sets * self.l1d_ways * self.line_bytes

    @property
    def l1i_bytes(self) -> int:
        return self.l1_sets * self.l1i_ways * self.line_bytes

    @property
    def btb_entries(self) -> int:
        """Sets x ways, each way holding one entry per fetch slot."""
        return self.btb_sets * self.btb_ways * self.fetch_width

    @property
    def tage_entries_per_table(self) -> int:
        """rvsim takes one size for every table: the 128-set tables' size, sets x fetch slots."""
        return min(sets for sets, _, _ in self.tage_tables) * self.fetch_width

    @property
    def bim_entries(self) -> int:
        return self.bim_sets * self.fetch_width

    @property
    def clock_ghz(self) -> float:
        return self.clock_mhz / 1000.0

    def with_overrides(self, **changes: Any) -> BoomConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        return f"{self.preset.capitalize()}BOOM ({self.decode_width}-wide)"


def _preset(preset: str, **fields: Any) -> BoomConfig:
    return BoomConfig(preset=preset, **fields)


PRESETS: dict[str, BoomConfig] = {
    "small": _preset(
        "small",
        fetch_bytes=8,
        decode_width=1,
        rob_entries=32,
        mem_iq=IssueQueue(8, 1),
        int_iq=IssueQueue(8, 1),
        fp_iq=IssueQueue(8, 1),
        int_phys_regs=52,
        fp_phys_regs=48,
        ldq_entries=8,
        stq_entries=8,
        max_br_count=8,
        fetch_buffer_entries=8,
        ftq_entries=16,
        l1_sets=64,
        l1d_ways=4,
        l1i_ways=4,
        l1d_mshrs=2,
        l1d_prefetch=False,
        tlb_entries=8,
    ),
    "medium": _preset(
        "medium",
        fetch_bytes=8,
        decode_width=2,
        rob_entries=64,
        mem_iq=IssueQueue(12, 1),
        int_iq=IssueQueue(20, 2),
        fp_iq=IssueQueue(16, 1),
        int_phys_regs=80,
        fp_phys_regs=64,
        ldq_entries=16,
        stq_entries=16,
        max_br_count=12,
        fetch_buffer_entries=16,
        ftq_entries=32,
        l1_sets=64,
        l1d_ways=4,
        l1i_ways=4,
        l1d_mshrs=2,
        l1d_prefetch=False,
        tlb_entries=8,
    ),
    "large": _preset(
        "large",
        fetch_bytes=16,
        decode_width=3,
        rob_entries=96,
        mem_iq=IssueQueue(16, 1),
        int_iq=IssueQueue(32, 3),
        fp_iq=IssueQueue(24, 1),
        int_phys_regs=100,
        fp_phys_regs=96,
        ldq_entries=24,
        stq_entries=24,
        max_br_count=16,
        fetch_buffer_entries=24,
        ftq_entries=32,
        l1_sets=64,
        l1d_ways=8,
        l1i_ways=8,
        l1d_mshrs=4,
        l1d_prefetch=False,
        tlb_entries=16,
    ),
    "mega": _preset(
        "mega",
        fetch_bytes=16,
        decode_width=4,
        rob_entries=128,
        mem_iq=IssueQueue(24, 2),
        int_iq=IssueQueue(40, 4),
        fp_iq=IssueQueue(32, 2),
        int_phys_regs=128,
        fp_phys_regs=128,
        ldq_entries=32,
        stq_entries=32,
        max_br_count=20,
        fetch_buffer_entries=32,
        ftq_entries=40,
        l1_sets=64,
        l1d_ways=8,
        l1i_ways=8,
        l1d_mshrs=8,
        l1d_prefetch=True,
        tlb_entries=32,
    ),
}
DEFAULT_CONFIG = PRESETS[DEFAULT_PRESET]

# Line of each mixin's first parameter, per preset; the rest follow in a fixed order.
_MIXIN_LINES = {
    "small": {
        "class": 85,
        "fetch": 95,
        "decode": 96,
        "rob": 97,
        "mem_iq": 99,
        "int_iq": 100,
        "fp_iq": 101,
        "int_pr": 102,
        "fp_pr": 103,
        "ldq": 104,
        "stq": 105,
        "br": 106,
        "fb": 107,
        "ftq": 108,
        "fpu": 110,
        "dcache": 113,
        "icache": 116,
    },
    "medium": {
        "class": 131,
        "fetch": 141,
        "decode": 142,
        "rob": 143,
        "mem_iq": 145,
        "int_iq": 146,
        "fp_iq": 147,
        "int_pr": 148,
        "fp_pr": 149,
        "ldq": 150,
        "stq": 151,
        "br": 152,
        "fb": 153,
        "ftq": 154,
        "fpu": 156,
        "dcache": 159,
        "icache": 162,
    },
    "large": {
        "class": 177,
        "fetch": 187,
        "decode": 188,
        "rob": 189,
        "mem_iq": 191,
        "int_iq": 192,
        "fp_iq": 193,
        "int_pr": 194,
        "fp_pr": 195,
        "ldq": 196,
        "stq": 197,
        "br": 198,
        "fb": 199,
        "ftq": 200,
        "fpu": 201,
        "dcache": 204,
        "icache": 207,
    },
    "mega": {
        "class": 223,
        "fetch": 233,
        "decode": 234,
        "rob": 235,
        "mem_iq": 237,
        "int_iq": 238,
        "fp_iq": 239,
        "int_pr": 240,
        "fp_pr": 241,
        "ldq": 242,
        "stq": 243,
        "br": 244,
        "fb": 245,
        "prefetch": 246,
        "ftq": 247,
        "fpu": 248,
        "dcache": 251,
        "icache": 254,
    },
}


def sources(preset: str) -> dict[str, str]:
    """Where each BoomConfig field's value comes from, for one preset (file:line at BOOM_COMMIT)."""
    lines = _MIXIN_LINES[preset]

    def mixin(key: str) -> str:
        return f"riscv-boom {MIXINS}:{lines[key]}"

    prefetch = (
        mixin("prefetch") if "prefetch" in lines else f"riscv-boom {PARAMS}:42 (enablePrefetching default)"
    )
    return {
        "fetch_bytes": f"{mixin('fetch')} (fetchWidth 16-bit parcels); {mixin('icache')} (fetchBytes)",
        "decode_width": mixin("decode"),
        "rob_entries": mixin("rob"),
        "mem_iq": mixin("mem_iq"),
        "int_iq": mixin("int_iq"),
        "fp_iq": mixin("fp_iq"),
        "int_phys_regs": mixin("int_pr"),
        "fp_phys_regs": mixin("fp_pr"),
        "ldq_entries": mixin("ldq"),
        "stq_entries": mixin("stq"),
        "max_br_count": mixin("br"),
        "fetch_buffer_entries": mixin("fb"),
        "ftq_entries": mixin("ftq"),
        "l1_sets": f"{mixin('dcache')}; {mixin('icache')}",
        "l1d_ways": mixin("dcache"),
        "l1i_ways": mixin("icache"),
        "l1d_mshrs": mixin("dcache"),
        "l1d_prefetch": prefetch,
        "tlb_entries": f"{mixin('dcache')} (nTLBWays)",
        "fma_latency": f"{mixin('fpu')} (sfmaLatency = dfmaLatency = 4)",
        "line_bytes": "rocket-chip src/main/scala/subsystem/BankedL2Params.scala "
        "(CacheBlockBytes default 64)",
        "ras_entries": f"riscv-boom {PARAMS}:67 (numRasEntries default)",
        "btb_sets": "riscv-boom src/main/scala/v3/ifu/bpd/btb.scala:16",
        "btb_ways": "riscv-boom src/main/scala/v3/ifu/bpd/btb.scala:17",
        "bim_sets": "riscv-boom src/main/scala/v3/ifu/bpd/bim.scala:23",
        "tage_tables": "riscv-boom src/main/scala/v3/ifu/bpd/tage.scala:188-193 (WithTAGELBPD, "
        f"{MIXINS}:437-464, is every preset's predictor)",
        "tage_u_bit_period": "riscv-boom src/main/scala/v3/ifu/bpd/tage.scala:194",
        "imul_latency": f"riscv-boom {PARAMS}:52 (imulLatency default)",
        "alu_latency": "riscv-boom docs/sections/intro-overview/boom-pipeline.rst (single-cycle ALU bypass)",
        "l1d_latency": "riscv-boom docs/sections/memory-system.rst:27-34 (three-stage pipeline: address, "
        "SRAM, way-select) = 3-cycle load-to-use; rvsim adds one address-generation cycle to `latency`",
        "l1i_latency": "our choice: rvsim's default; BOOM's multi-stage fetch is not modelled stage by stage",
        "div_latency": f"our choice: riscv-boom {PARAMS}:81 uses rocket's iterative MulDiv (one quotient "
        "bit per cycle, with early out); rvsim's divider has one fixed latency, so the 64-bit worst case",
        "fdiv_latency": "our choice: rvsim's default (the tasks use no floating point)",
        "pmp_entries": f"riscv-boom {PARAMS}:57 (nPMPs default)",
        "pmp_granularity": f"riscv-boom {PARAMS}:113 (pmpGranularity)",
        "l2_kib": f"{L2_REPO} design/craft/inclusivecache/src/Configs.scala:51 (Chipyard's default L2)",
        "l2_ways": f"{L2_REPO} design/craft/inclusivecache/src/Configs.scala:50",
        "l2_latency": "our choice: the inclusive cache's hit latency is not published; 20 cycles is typical "
        "of a 512 KiB L2",
        "dram_latency": "our choice: Verilator simulations of Chipyard use a simulated DRAM whose latency "
        "depends on the harness; 80 cycles at 1 GHz; the tasks' data fit in the L1/L2",
        "clock_mhz": "our choice: cycles are the score; 1 GHz only converts them to time",
        "trap_latency": "our choice: rvsim's default; BOOM's trap cost (a pipeline flush and redirect at "
        "commit) is not published as a number",
        "bus_latency": "our choice: rvsim's default (Chipyard's TileLink bus latency depends on the SoC)",
        "mispredict": "measured: a loop branching on random data bits against the same loop without "
        "mispredicts, (cycles difference) / (mispredicts difference) = 12.4 on Large",
        "ram_mib": "our choice: room for the program, stack and task data",
        "misaligned_trap": "riscv-boom src/main/scala/v3/lsu/lsu.scala:660-674 (misaligned loads and "
        "stores raise exceptions)",
    }


def preset(name: str) -> BoomConfig:
    key = name.strip().lower().removesuffix("boom")
    if key not in PRESETS:
        raise BoomConfigError(f"unknown BOOM preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    return PRESETS[key]
