"""Numerics of the tile: bf16 storage with flush-to-zero, fp32 accumulation in the `aie` or
`ieee` mode, the AIE rounding modes, and integer shift-round-saturate (SRS) / up-shift (UPS).

Sources: AM020 ch.4 "Floating-Point Vector Unit" (no denormals; "all floating-point
additions are done in one go, by aligning all mantissas to the one with the largest
exponent and with 23 bits of fractional bits"); UG1603 "Rounding and Saturation Modes"
for the mode names and hardware indices (as xdna-emu rounding.rs lists them).
"""

from __future__ import annotations

import numpy as np

# crRnd values (hardware indices) -> name.
ROUNDING_MODES: dict[int, str] = {
    0: "floor",
    1: "ceil",
    2: "sym_floor",
    3: "sym_ceil",
    8: "neg_inf",
    9: "pos_inf",
    10: "sym_zero",
    11: "sym_inf",
    12: "conv_even",
    13: "conv_odd",
}
ROUNDING_MEANING: dict[str, str] = {
    "floor": "toward minus infinity (truncate)",
    "ceil": "toward plus infinity",
    "sym_floor": "toward zero",
    "sym_ceil": "away from zero",
    "neg_inf": "to nearest, ties toward minus infinity",
    "pos_inf": "to nearest, ties toward plus infinity",
    "sym_zero": "to nearest, ties toward zero",
    "sym_inf": "to nearest, ties away from zero",
    "conv_even": "to nearest, ties to even (IEEE default, what torch does)",
    "conv_odd": "to nearest, ties to odd",
}
RND_CONV_EVEN = 12
RND_FLOOR = 0

# crSat values.
SATURATION_MODES = {0: "none (wrap)", 1: "saturate", 3: "symmetric saturate"}


# ---------------------------------------------------------------------------- bf16 / fp32


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    """bf16 bit patterns (uint16) -> float32, denormal inputs flushed to signed zero."""
    b = np.asarray(bits, dtype=np.uint16).astype(np.uint32)
    denormal = ((b & 0x7F80) == 0) & ((b & 0x7F) != 0)
    b = np.where(denormal, b & 0x8000, b)
    return (b << 16).view(np.float32)


def _bf16_table() -> np.ndarray:
    bits = np.arange(65536, dtype=np.uint32)
    denormal = ((bits & 0x7F80) == 0) & ((bits & 0x7F) != 0)
    bits = np.where(denormal, bits & 0x8000, bits)
    with np.errstate(invalid="ignore"):
        return (bits << 16).astype(np.uint32).view(np.float32).astype(np.float64)


BF16_F64 = _bf16_table()  # bf16 bit pattern -> its value (denormals flushed), one lookup per lane
_TINY32 = float(np.finfo(np.float32).tiny)


def ftz32(values: np.ndarray) -> np.ndarray:
    """float32 with subnormals flushed to signed zero."""
    v = np.asarray(values, dtype=np.float32)
    bits = v.view(np.uint32)
    sub = ((bits & 0x7F800000) == 0) & ((bits & 0x7FFFFF) != 0)
    if sub.any():
        bits = np.where(sub, bits & 0x80000000, bits)
        return bits.astype(np.uint32).view(np.float32)
    return v


def _round_increment(
    lower: np.ndarray, rem: np.ndarray, half: int, negative: np.ndarray, mode: int
) -> np.ndarray:
    """Whether to add one unit to a truncated magnitude (`lower`, remainder `rem` of 2*half)
    under rounding mode `mode` (a crRnd index; unknown values round to nearest even)."""
    name = ROUNDING_MODES.get(int(mode), "conv_even")
    nonzero = rem != 0
    above, tie = rem > half, rem == half
    if name == "floor":
        return negative & nonzero
    if name == "ceil":
        return ~negative & nonzero
    if name == "sym_floor":
        return np.zeros_like(nonzero)
    if name == "sym_ceil":
        return nonzero
    if name == "neg_inf":
        return above | (tie & negative)
    if name == "pos_inf":
        return above | (tie & ~negative)
    if name == "sym_zero":
        return above
    if name == "sym_inf":
        return above | tie
    odd = (lower & 1) == 1
    if name == "conv_odd":
        return above | (tie & ~odd)
    return above | (tie & odd)


def f32_to_bf16(values: np.ndarray, mode: int = RND_CONV_EVEN) -> np.ndarray:
    """float32 -> bf16 bit patterns (uint16) rounded per crRnd `mode`; results that would be
    denormal flush to signed zero; NaN stays NaN, overflow rounds to infinity."""
    bits = np.asarray(values, dtype=np.float32).reshape(-1).view(np.uint32).astype(np.uint64)
    negative = (bits >> 31) == 1
    mag = bits & 0x7FFFFFFF
    nan = mag > 0x7F800000
    inf = mag == 0x7F800000
    lower = mag >> 16
    rem = mag & 0xFFFF
    inc = _round_increment(lower, rem, 0x8000, negative, mode)
    out = lower + inc.astype(np.uint64)
    out = np.where(inf, 0x7F80, out)
    out = np.where(nan, 0x7FC0, out)
    out = np.where((out & 0x7F80) == 0, 0, out)  # denormal or zero -> zero
    out = out | (negative.astype(np.uint64) << 15)
    out = np.where(nan, 0x7FC0 | (negative.astype(np.uint64) << 15), out)
    return out.astype(np.uint16).reshape(np.shape(values))


def to_bf16_values(values: np.ndarray) -> np.ndarray:
    """Any float array -> the float32 values bf16 storage holds (round to nearest even, FTZ):
    what the harness does when it places task inputs in memory."""
    f32 = np.asarray(values, dtype=np.float32)
    return bf16_to_f32(f32_to_bf16(f32, RND_CONV_EVEN))


# ---------------------------------------------------------------------------- accumulation


def accumulate(terms: np.ndarray, mode: str = "aie", axis: int = -1) -> np.ndarray:
    """Sum each row of `terms` (float64, exact bf16 products plus the fp32 accumulator input)
    to one fp32 value per row.

    aie: every term is aligned to the row's largest exponent with 23 fraction bits below its
    leading bit (round to nearest even), the aligned terms are summed exactly, and the sum is
    rounded once to fp32 (AM020 ch.4). ieee: the terms are summed in float64 and rounded once.
    Results that would be fp32 subnormals flush to zero.
    """
    t = np.asarray(terms, dtype=np.float64)
    with np.errstate(all="ignore"):
        if mode == "aie":
            # Adding then subtracting 1.5 * 2^52 quanta rounds every term to a multiple of the
            # quantum 2^(e - 24) (e from frexp of the row's largest magnitude), nearest even.
            _, exp = np.frexp(np.maximum(t.max(axis=axis), -t.min(axis=axis)))
            shift = np.expand_dims(np.ldexp(1.5, exp + 28), axis)
            aligned = t + shift
            aligned -= shift
            out = aligned.sum(axis=axis).astype(np.float32)
            if not np.isfinite(out).all():
                out = np.where(np.isfinite(t).all(axis=axis), out, t.sum(axis=axis).astype(np.float32))
        else:
            out = t.sum(axis=axis).astype(np.float32)
    if np.abs(out).min() < _TINY32:
        out = ftz32(out)
    return out


# ---------------------------------------------------------------------------- integers


def round_shift(values: np.ndarray, shift: int, mode: int) -> np.ndarray:
    """Arithmetic right shift of int64 `values` by `shift` bits, rounded per crRnd `mode`."""
    v = np.asarray(values, dtype=np.int64)
    if shift <= 0:
        return v << (-shift) if shift < 0 else v
    negative = v < 0
    mag = np.abs(v)
    lower = mag >> shift
    rem = mag & ((1 << shift) - 1)
    inc = _round_increment(lower, rem, 1 << (shift - 1), negative, mode)
    # Magnitude rounding gives the sign-symmetric result; floor/ceil were expressed with the
    # sign already (increment of the magnitude), so they hold for negative values as well.
    out = lower + inc.astype(np.int64)
    return np.where(negative, -out, out)


def saturate(values: np.ndarray, bits: int, signed: bool, sat_mode: int) -> np.ndarray:
    """Fit int64 `values` into `bits`-bit lanes: wrap when crSat is 0, clamp otherwise
    (symmetric clamp for crSat = 3)."""
    v = np.asarray(values, dtype=np.int64)
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        lo, hi = 0, (1 << bits) - 1
    if sat_mode == 0:
        wrapped = v & ((1 << bits) - 1)
        if signed:
            wrapped = np.where(wrapped > hi, wrapped - (1 << bits), wrapped)
        return wrapped
    if sat_mode == 3 and signed:
        lo = -hi
    return np.clip(v, lo, hi)


def srs(values: np.ndarray, shift: int, bits: int, signed: bool, rnd: int, sat: int) -> np.ndarray:
    """Shift-round-saturate integer accumulator lanes to `bits`-bit lanes."""
    return saturate(round_shift(values, shift, rnd), bits, signed, sat)


def ups(values: np.ndarray, shift: int, bits: int, sat: int) -> np.ndarray:
    """Up-shift integer lanes into `bits`-bit accumulator lanes (left shift, saturating per crSat)."""
    return saturate(np.asarray(values, dtype=np.int64) << shift, bits, True, sat)
