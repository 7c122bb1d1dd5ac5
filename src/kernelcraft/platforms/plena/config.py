"""PLENA hardware configuration: one frozen, validated dataclass.

Every size, latency and amount the assembler, simulator, timing model and docs use comes
from here, so a design-space experiment is one `PlenaConfig(...)` away and never a
module global.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields


def _is_pow2(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


@dataclass(frozen=True)
class PlenaConfig:
    # Compute geometry (the paper's prompt defaults).
    mlen: int = 64  # matrix tile edge and reduction depth; an MRAM tile is MLEN x MLEN
    vlen: int = 64  # vector width in elements (one VRAM row)
    blen: int = 4  # output block edge of M_MM (BLEN x BLEN accumulator)
    hlen: int = 16  # head width for the per-head (batched) matrix ops and V_MASK granularity
    clock_ghz: float = 1.0

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

    # HBM: an HBM2 stack (8 channels x 32 GB/s) at 1 GHz moves 256 bytes a cycle; an
    # idle random access costs about 100 ns before the first burst returns.
    hbm_bytes: int = 64 * 1024 * 1024
    hbm_bytes_per_cycle: int = 256
    hbm_latency_cycles: int = 100
    hbm_burst_bytes: int = 64
    mx_block: int = 8  # elements sharing one E8M0 scale

    # Matrix-unit pipeline fill added to M_MM/M_TMM/M_BMM/M_BTMM/M_BMV/M_BTMV.
    systolic_overhead_cycles: int = 0

    # Guards.
    max_loop_iteration_instructions: int = 100_000  # dynamic instructions in one loop iteration

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("invalid PLENA configuration: " + "; ".join(problems))

    def _problems(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                yield f"{f.name} must be a number"
            elif value <= 0 and f.name != "systolic_overhead_cycles":
                yield f"{f.name} must be positive"
        for name in ("mlen", "vlen", "blen", "hlen", "mx_block", "hbm_burst_bytes"):
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
    def bmm_scale(self) -> float:
        """Factor folded into every M_BMM/M_BTMM/M_BMV/M_BTMV product: 1/sqrt(HLEN)."""
        return 1.0 / math.sqrt(self.hlen)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PlenaConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown PLENA configuration keys: {', '.join(unknown)}")
        return cls(**data)


DEFAULT_CONFIG = PlenaConfig()
