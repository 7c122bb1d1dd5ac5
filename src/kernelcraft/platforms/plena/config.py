"""PLENA hardware configuration: frozen, validated dataclasses.

Every size, latency and amount the assembler, simulator, timing model and docs use comes
from here, so a design-space experiment is one `PlenaConfig(...)` away and never a
module global. Where a number comes from is recorded next to it (SOURCES) and printed in
the generated hardware doc.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import ClassVar

TIMING_PROFILES = ("consistent", "emulator")
MX_QUANTISERS = ("plena", "ocp")

_SIM = "AICrossSim/PLENA_Simulator@f0703b2"
_RAM = "CMU-SAFARI/ramulator2@be93be7 src/dram/impl/HBM2.cpp"


# The instruction extension sets a configuration may name; extensions.py defines each (a test
# checks the two lists agree).
EXTENSION_SETS = ("dllm",)


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class HbmConfig:
    """The HBM2 stack behind the DMA instructions, as the public emulator configures Ramulator2.

    Timings are in DRAM clock cycles (tCK); the simulator converts them to core cycles.
    """

    channels: int = 8
    pseudochannels: int = 2
    bankgroups: int = 4
    banks: int = 4  # per bank group
    rows: int = 1 << 15
    columns: int = 1 << 6
    prefetch: int = 2  # internal prefetch (n): columns fetched per access
    channel_width_bits: int = 64
    request_bytes: int = 64  # the emulator's DMA works in 64-byte blocks
    tck_ns: float = 1.0
    nBL: int = 4
    nCL: int = 7
    nRCDRD: int = 7
    nRCDWR: int = 7
    nRP: int = 7
    nRAS: int = 17
    nRC: int = 19
    nRTPL: int = 3
    nWR: int = 8
    nCWL: int = 2
    nCCDS: int = 1
    nCCDL: int = 2
    nRRDS: int = 2
    nWTRS: int = 3
    nFAW: int = 15
    bus_cycles: int = 2  # data-bus occupancy of one access
    act_command_cycles: int = 2
    controller_cycles: int = 4  # request hand-off and return through the controller (calibrated)

    SOURCES: ClassVar[dict[str, str]] = {
        "channels": f"{_SIM} transactional_emulator/src/runner.rs:149 (hbm2_preset(8))",
        "pseudochannels": f"{_RAM}:14 (org preset HBM2_8Gb)",
        "bankgroups": f"{_RAM}:14 (org preset HBM2_8Gb)",
        "banks": f"{_RAM}:14 (org preset HBM2_8Gb)",
        "rows": f"{_RAM}:14 (org preset HBM2_8Gb)",
        "columns": f"{_RAM}:14 (org preset HBM2_8Gb)",
        "prefetch": f"{_RAM}:27 (m_internal_prefetch_size); {_SIM} lib/ramulator/src/raw.rs:94",
        "channel_width_bits": f"{_RAM}:172 (default channel_width); {_SIM} lib/ramulator/src/raw.rs:111",
        "request_bytes": f"{_SIM} lib/memory/src/chunked.rs (64-byte gather/read-modify-write blocks)",
        "tck_ns": f"{_RAM}:19 (HBM2_2Gbps tCK_ps = 1000)",
        "nBL": f"{_RAM}:19 (HBM2_2Gbps)",
        "nCL": f"{_RAM}:19 (HBM2_2Gbps)",
        "nRCDRD": f"{_RAM}:19 (HBM2_2Gbps)",
        "nRCDWR": f"{_RAM}:19 (HBM2_2Gbps)",
        "nRP": f"{_RAM}:19 (HBM2_2Gbps)",
        "nRAS": f"{_RAM}:19 (HBM2_2Gbps)",
        "nRC": f"{_RAM}:19 (HBM2_2Gbps)",
        "nRTPL": f"{_RAM}:19 (HBM2_2Gbps)",
        "nWR": f"{_RAM}:19 (HBM2_2Gbps)",
        "nCWL": f"{_RAM}:19 (HBM2_2Gbps)",
        "nCCDS": f"{_RAM}:19 (HBM2_2Gbps)",
        "nCCDL": f"{_RAM}:19 (HBM2_2Gbps)",
        "nRRDS": f"{_RAM}:19 (HBM2_2Gbps)",
        "nWTRS": f"{_RAM}:19 (HBM2_2Gbps)",
        "nFAW": f"{_RAM}:19 (HBM2_2Gbps)",
        "bus_cycles": f"{_SIM} transactional_emulator/pkgs/ramulator2/hbm_nbl.patch (RD/WR data bus nBL/2)",
        "act_command_cycles": f"{_RAM}:300 (2-cycle ACT command)",
        "controller_cycles": "our choice: calibrated so single and back-to-back H_PREFETCH_V, "
        "H_PREFETCH_M and H_STORE_V land on the public emulator's measured costs",
    }

    DOCS: ClassVar[dict[str, str]] = {
        "channels": "HBM2 channels",
        "pseudochannels": "pseudo-channels per channel (each with its own data bus)",
        "bankgroups": "bank groups per pseudo-channel",
        "banks": "banks per bank group",
        "rows": "rows per bank",
        "columns": "columns per row",
        "prefetch": "internal prefetch: columns moved by one access",
        "channel_width_bits": "pseudo-channel data width in bits",
        "request_bytes": "bytes of one DMA request (a transfer is split into these)",
        "tck_ns": "DRAM clock period in ns",
        "nBL": "burst length (cycles)",
        "nCL": "read latency: RD command to data",
        "nRCDRD": "ACT to RD",
        "nRCDWR": "ACT to WR",
        "nRP": "PRE to ACT",
        "nRAS": "ACT to PRE",
        "nRC": "ACT to ACT, same bank",
        "nRTPL": "RD to PRE",
        "nWR": "write recovery: end of write data to PRE",
        "nCWL": "write latency: WR command to data",
        "nCCDS": "RD to RD, different bank group",
        "nCCDL": "RD to RD, same bank group",
        "nRRDS": "ACT to ACT, different bank group",
        "nWTRS": "end of write data to RD",
        "nFAW": "window holding at most four ACTs per pseudo-channel",
        "bus_cycles": "data-bus cycles one access occupies on its pseudo-channel",
        "act_command_cycles": "command-bus cycles an ACT occupies",
        "controller_cycles": "fixed cycles a transfer spends in the controller and DMA engine",
    }

    def __post_init__(self) -> None:
        problems = [f"hbm.{f.name} must be positive" for f in fields(self) if not getattr(self, f.name) > 0]
        for name in ("channels", "pseudochannels", "bankgroups", "banks", "rows", "columns", "prefetch"):
            if not _is_pow2(getattr(self, name)):
                problems.append(f"hbm.{name} must be a power of two")
        if self.request_bytes % self.access_bytes:
            problems.append("hbm.request_bytes must be a multiple of one access (prefetch x width)")
        for name in ("request_bytes", "access_bytes"):  # the address mapping cuts bit fields
            if not _is_pow2(getattr(self, name)):
                problems.append(f"hbm.{name} must be a power of two")
        if problems:
            raise ValueError("invalid HBM configuration: " + "; ".join(problems))

    @property
    def access_bytes(self) -> int:
        """Bytes one RD/WR moves: internal prefetch x channel width (Ramulator's transfer size)."""
        return self.prefetch * self.channel_width_bits // 8

    @property
    def peak_bytes_per_dram_cycle(self) -> float:
        """Every pseudo-channel's data bus busy all the time."""
        return self.channels * self.pseudochannels * self.access_bytes / self.bus_cycles


@dataclass(frozen=True)
class PlenaConfig:
    # Compute geometry (the paper's prompt defaults).
    mlen: int = 64  # matrix tile edge and reduction depth; an MRAM tile is MLEN x MLEN
    vlen: int = 64  # vector width in elements (one VRAM row)
    blen: int = 4  # output block edge of M_MM (BLEN x BLEN accumulator)
    hlen: int = 16  # head width for the per-head (batched) matrix ops and V_MASK granularity
    clock_ghz: float = 1.0

    # Which cost table the instructions use: "consistent" (every matrix instruction's cost
    # follows from one BLEN x MLEN array) or "emulator" (the public emulator's table).
    timing_profile: str = "consistent"

    # DMA amounts per instruction (as the public emulator's transactional settings).
    prefetch_m_rows: int = 64  # rows of MLEN elements per H_PREFETCH_M (a multiple of MLEN)
    prefetch_v_rows: int = 4  # VRAM rows per H_PREFETCH_V
    store_v_rows: int = 4  # VRAM rows per H_STORE_V

    # On-chip capacities.
    vram_rows: int = 32768  # 32768 rows x 64 BF16 = 4 MiB vector SRAM
    mram_tiles: int = 64  # 64 tiles x 64 x 64 BF16 = 512 KiB matrix SRAM
    fpsram_words: int = 1024  # BF16 scalars
    intsram_words: int = 1024  # u32 scalars

    # Register files.
    gp_regs: int = 16
    fp_regs: int = 8
    addr_regs: int = 8

    # HBM: capacity, MX format and the HBM2 timing model.
    hbm_bytes: int = 64 * 1024 * 1024
    mx_block: int = 8  # elements sharing one E8M0 scale
    mx_quantiser: str = "plena"  # how H_STORE_V (and the task images) encode MXFP8: plena | ocp
    hbm: HbmConfig = field(default_factory=HbmConfig)

    # The factor the per-head matrix ops multiply into every product (the emulator's register
    # file initialises it to 0.25 and no instruction writes it).
    bmm_scale: float = 0.25

    # Emulator profile: pipeline fill added to M_MM/M_TMM/M_BMM/M_BTMM/M_BMV/M_BTMV.
    systolic_overhead_cycles: int = 0

    # Guards.
    max_loop_iteration_instructions: int = 100_000  # dynamic instructions in one loop iteration

    # Instruction extension sets this hardware includes (extensions.py), e.g. ("dllm",).
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid PLENA configuration: " + "; ".join(problems))

    def _problems(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("timing_profile", "mx_quantiser", "hbm", "extensions"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                yield f"{f.name} must be a number"
            elif value <= 0 and f.name != "systolic_overhead_cycles":
                yield f"{f.name} must be positive"
        if self.timing_profile not in TIMING_PROFILES:
            yield f"timing_profile must be one of {', '.join(TIMING_PROFILES)}"
        if self.mx_quantiser not in MX_QUANTISERS:
            yield f"mx_quantiser must be one of {', '.join(MX_QUANTISERS)}"
        if not isinstance(self.hbm, HbmConfig):
            yield "hbm must be an HbmConfig"
        for name in ("mlen", "vlen", "blen", "hlen", "mx_block"):
            if not _is_pow2(getattr(self, name)):
                yield f"{name} must be a power of two"
        if self.vlen != self.mlen:
            yield "vlen must equal mlen (the matrix unit reads whole VRAM rows)"
        if not self.mlen >= self.hlen >= self.blen:
            yield "need mlen >= hlen >= blen"
        if self.prefetch_m_rows % self.mlen:
            yield "prefetch_m_rows must be a multiple of mlen"
        if self.vlen % self.mx_block:
            yield "vlen must be a multiple of mx_block"
        if self.systolic_overhead_cycles < 0:
            yield "systolic_overhead_cycles must be >= 0"
        if not 2 <= self.gp_regs <= 16 or not 2 <= self.fp_regs <= 16 or not 1 <= self.addr_regs <= 16:
            yield "register files hold 2..16 registers (4-bit fields)"
        if not isinstance(self.extensions, tuple) or any(e not in EXTENSION_SETS for e in self.extensions):
            yield f"extensions must be a tuple of extension set names from: {', '.join(EXTENSION_SETS)}"
        elif len(set(self.extensions)) != len(self.extensions):
            yield "extensions names a set twice"

    # Derived sizes.
    @property
    def tile_elems(self) -> int:
        return self.mlen * self.mlen

    @property
    def vram_elems(self) -> int:
        return self.vram_rows * self.vlen

    @property
    def mram_elems(self) -> int:
        return self.mram_tiles * self.tile_elems

    @property
    def heads_per_row(self) -> int:
        """Lanes of the per-head matrix ops (MLEN / HLEN); also V_MASK bits used."""
        return self.mlen // self.hlen

    @property
    def array_macs_per_cycle(self) -> int:
        """The matrix array: BLEN rows of MLEN multipliers (the flattened systolic array)."""
        return self.blen * self.mlen

    @property
    def dram_to_core(self) -> float:
        """Core cycles per DRAM clock cycle."""
        return self.hbm.tck_ns * self.clock_ghz

    @property
    def hbm_bytes_per_cycle(self) -> float:
        """Peak HBM bandwidth in bytes per core cycle (every pseudo-channel's data bus busy)."""
        return self.hbm.peak_bytes_per_dram_cycle / self.dram_to_core

    @property
    def hbm_latency_cycles(self) -> int:
        """A lower bound on any HBM transfer's cycles beyond its bytes / peak bandwidth: the
        controller, one row-hit read (nCL + nBL) and the first access's own bus slot."""
        h = self.hbm
        dram = h.controller_cycles + h.nCL + h.nBL - h.bus_cycles
        return max(0, math.floor(dram * self.dram_to_core))

    @property
    def hbm_burst_bytes(self) -> int:
        return self.hbm.request_bytes

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PlenaConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown PLENA configuration keys: {', '.join(unknown)}")
        values = dict(data)
        if isinstance(values.get("hbm"), dict):
            hbm_known = {f.name for f in fields(HbmConfig)}
            bad = sorted(set(values["hbm"]) - hbm_known)
            if bad:
                raise ValueError(f"unknown HBM configuration keys: {', '.join(bad)}")
            values["hbm"] = HbmConfig(**values["hbm"])
        if isinstance(values.get("extensions"), list):  # JSON has no tuples
            values["extensions"] = tuple(values["extensions"])
        return cls(**values)


DEFAULT_CONFIG = PlenaConfig()
EMULATOR_CONFIG = PlenaConfig(timing_profile="emulator")
