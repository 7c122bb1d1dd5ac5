"""Register files of the tile and their aliasing, as AIE2 names them.

Vector registers are 24 granules of 256 bits (wl0, wh0, wl1, ...): xN = wlN:whN (512 bits)
and yN = x(2N):x(2N+1) (1024 bits, y2..y5). Accumulators are 36 granules of 256 bits:
amllN, amlhN, amhlN, amhhN; bmlN = amllN:amlhN, bmhN = amhlN:amhhN (512 bits) and
cmN = bmlN:bmhN (1024 bits). Timing (pending writes, hazards) is tracked per 256-bit
granule, so writing wl0 and reading x0 is a dependence, and writing wl0 and reading wh0
is not.

Every register has one location id in a flat space (scalars first, then vector granules,
then accumulator granules); the machine keeps one "lands at" cycle per location.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

GRANULE = 32  # bytes in a 256-bit register granule
N_X = 12  # x0..x11
N_CM = 9  # cm0..cm8

# Scalar registers in location order, with their width in bits.
_SCALARS: list[tuple[str, int]] = (
    [(f"r{i}", 32) for i in range(32)]
    + [(f"p{i}", 20) for i in range(8)]
    + [(f"m{i}", 20) for i in range(8)]
    + [(f"dn{i}", 20) for i in range(8)]
    + [(f"dj{i}", 20) for i in range(8)]
    + [(f"dc{i}", 20) for i in range(8)]
    + [(f"s{i}", 6) for i in range(4)]
    + [("lc", 32), ("ls", 20), ("le", 20), ("lr", 20), ("sp", 20)]
    + [("crrnd", 4), ("crsat", 2), ("crsrssign", 1), ("crupssign", 1), ("srcarry", 1)]
)
SCALAR_INDEX: dict[str, int] = {name: i for i, (name, _) in enumerate(_SCALARS)}
SCALAR_NAMES: tuple[str, ...] = tuple(name for name, _ in _SCALARS)
SCALAR_MASK: tuple[int, ...] = tuple((1 << bits) - 1 for _, bits in _SCALARS)
N_SCALARS = len(_SCALARS)
CANONICAL = {
    "crrnd": "crRnd",
    "crsat": "crSat",
    "crsrssign": "crSRSSign",
    "crupssign": "crUPSSign",
    "srcarry": "srCarry",
}

VEC_BASE = N_SCALARS  # location of granule 0 of the vector file
ACC_BASE = VEC_BASE + 2 * N_X  # location of granule 0 of the accumulator file
N_LOCATIONS = ACC_BASE + 4 * N_CM


@dataclass(frozen=True)
class Reg:
    """One register operand: its file ("s" scalar, "v" vector, "a" accumulator), first
    index (scalar index or first 256-bit granule), size in granules, and its name."""

    file: str
    index: int
    granules: int
    name: str

    @property
    def cls(self) -> str:
        """Register class, as operand forms name them: r p m dn dj dc s special cr / w x y / am bm cm."""
        return reg_class(self.name)

    @property
    def nbytes(self) -> int:
        return self.granules * GRANULE

    @cached_property
    def locations(self) -> tuple[int, ...]:
        if self.file == "s":
            return (self.index,)
        base = VEC_BASE if self.file == "v" else ACC_BASE
        return tuple(range(base + self.index, base + self.index + self.granules))

    @property
    def byte_offset(self) -> int:
        return self.index * GRANULE

    def __str__(self) -> str:
        return self.name


_VEC_RE = re.compile(r"^(wl|wh|x|y)(\d+)$")
_ACC_RE = re.compile(r"^(amll|amlh|amhl|amhh|bml|bmh|cm)(\d+)$")
_SPECIAL = ("lc", "ls", "le", "lr", "sp")


def reg_class(name: str) -> str:
    name = name.lower()
    m = _VEC_RE.match(name) or _ACC_RE.match(name)
    if m:
        prefix = m.group(1)
        return {
            "wl": "w",
            "wh": "w",
            "amll": "am",
            "amlh": "am",
            "amhl": "am",
            "amhh": "am",
            "bml": "bm",
            "bmh": "bm",
        }.get(prefix, prefix)
    if name in _SPECIAL:
        return "special"
    if name.startswith("cr") or name.startswith("sr"):
        return "cr"
    m = re.match(r"^(r|p|m|dn|dj|dc|s)\d+$", name)
    return m.group(1) if m else "?"


def parse_register(text: str) -> Reg | None:
    """The register a name denotes (case-insensitive), or None when it names none."""
    name = text.strip().lower()
    if name in SCALAR_INDEX:
        return Reg("s", SCALAR_INDEX[name], 1, CANONICAL.get(name, name))
    m = _VEC_RE.match(name)
    if m:
        kind, n = m.group(1), int(m.group(2))
        if kind in ("wl", "wh") and n < N_X:
            return Reg("v", 2 * n + (kind == "wh"), 1, name)
        if kind == "x" and n < N_X:
            return Reg("v", 2 * n, 2, name)
        if kind == "y" and 2 <= n <= 5:
            return Reg("v", 4 * n, 4, name)
        return None
    m = _ACC_RE.match(name)
    if m:
        kind, n = m.group(1), int(m.group(2))
        if n >= N_CM:
            return None
        quarter = {"amll": 0, "amlh": 1, "amhl": 2, "amhh": 3}
        if kind in quarter:
            return Reg("a", 4 * n + quarter[kind], 1, name)
        if kind in ("bml", "bmh"):
            return Reg("a", 4 * n + (2 if kind == "bmh" else 0), 2, name)
        return Reg("a", 4 * n, 4, name)
    return None


def location_name(loc: int) -> str:
    """A readable name for one timing location (a scalar or a 256-bit granule)."""
    if loc < VEC_BASE:
        name = SCALAR_NAMES[loc]
        return CANONICAL.get(name, name)
    if loc < ACC_BASE:
        g = loc - VEC_BASE
        return f"{'wh' if g % 2 else 'wl'}{g // 2}"
    g = loc - ACC_BASE
    return ["amll", "amlh", "amhl", "amhh"][g % 4] + str(g // 4)


def scalar(name: str) -> Reg:
    reg = parse_register(name)
    assert reg is not None and reg.file == "s", name
    return reg


# Class -> what the docs call it, and the names it covers.
CLASS_DOCS: dict[str, tuple[str, str]] = {
    "r": ("r0..r31", "32-bit general-purpose registers"),
    "p": ("p0..p7", "20-bit pointer registers (data-memory byte addresses)"),
    "m": ("m0..m7", "20-bit modifier registers (signed post-increments)"),
    "dn": ("dn0..dn7", "20-bit 2-D counts (inner size of a .2d walk)"),
    "dj": ("dj0..dj7", "20-bit 2-D jumps (outer step of a .2d walk; also [pN, djK] offsets)"),
    "dc": ("dc0..dc7", "20-bit 2-D counters (position in the inner dimension)"),
    "s": ("s0..s3", "6-bit shift registers (SRS/UPS shift amounts)"),
    "special": ("lc ls le lr sp", "loop count, loop start, loop end, link register, stack pointer"),
    "cr": ("crRnd crSat crSRSSign crUPSSign srCarry", "control and status registers"),
    "w": ("wl0..wl11, wh0..wh11", "256-bit vector registers (16 bf16 or 8 fp32/int32 lanes)"),
    "x": ("x0..x11", "512-bit vector registers, xN = wlN:whN (32 bf16 lanes)"),
    "y": ("y2..y5", "1024-bit vector registers, yN = x(2N):x(2N+1)"),
    "am": ("amll0..amhh8", "256-bit accumulator quarters (8 fp32/int32 lanes)"),
    "bm": ("bml0..bmh8", "512-bit accumulators (16 fp32 lanes), bmlN = amllN:amlhN, bmhN = amhlN:amhhN"),
    "cm": ("cm0..cm8", "1024-bit accumulators (32 int32 lanes), cmN = bmlN:bmhN"),
}
