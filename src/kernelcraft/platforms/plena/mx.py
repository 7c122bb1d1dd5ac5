"""MXFP8 as PLENA reads and writes it: E4M3 elements sharing one E8M0 scale per block.

HBM holds every tensor as all its element bytes followed by all its scale bytes (one scale
byte per `block` elements), which is what SCALE_REG addressing assumes.

Decoding follows PLENA's element format, which is not OCP's E4M3 (PLENA_Simulator
transactional_emulator/lib/quantize/src/dtype.rs, `FpType::cast`, and its test
`test_e4m3_subnormal`): exponent field 15 is Inf (mantissa 0) or NaN, so the largest finite
element is 1.875 * 2^7 = 240; subnormals are m/8 * 2^-7 (bias 7, no 1 - bias); an E8M0 scale
byte b is 2^(b - 127), except 0, which reads as 0.0, and 255, which reads as +Inf.

Two encoders, both producing only codes that decoder reads as finite numbers:

- "plena" (the default): PLENA's hardware quantiser (PLENA_Simulator lib/quantize/src/tensor.rs
  `QuantTensor::into_bytes` and `minifloat_ieee_quantize_hardware`; the same rule as
  PLENA_Tools plena_quant/mxfp/quantizer.py with common/minifloat.py and hardware_utils.py).
  Per block: scale = 2^floor(log2(amax + 1e-9)); each x/scale gets exponent
  floor(log2(|x| + 1e-9)) clamped to [-7, 7]; its mantissa is truncated to a quarter, then
  rounded half-to-even, then clamped to 0..7 (no carry into the next binade); the clamped
  exponent -7 is the subnormal code, so magnitudes in [2^-7, 2^-6) clamp to 7/8 * 2^-7.
  All arithmetic is FP32 as in the Rust code; log2 is FP32 (computed in float64 and rounded
  to FP32, which is what the correctly rounded log2f returns).
- "ocp": the OCP MX rule applied to PLENA's element format: scale = 2^(floor(log2 amax) - 7)
  so the block maximum lands in the top binade, elements rounded to the nearest PLENA E4M3
  value (ties to the even code), saturating at +-240.

Non-finite inputs (only a kernel's own arithmetic or poisoned memory produce them): NaN is
stored as the NaN code 0x7F / 0xFF so it stays visible (PLENA's Rust quantiser would store
it as 1.0 * scale), and the block's scale ignores it as PLENA's does; +-Inf follows PLENA's
rule (scale 2^127, the Inf element saturates to +-240 * 2^127).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

BF16 = ml_dtypes.bfloat16
ELEMENT_MAX = 240.0  # 1.875 * 2^7: exponent field 14, mantissa 7
ELEMENT_EXP_MAX = 7  # unbiased exponent of the top binade (field 14)
ELEMENT_EXP_MIN = -7  # the subnormal code's exponent (field 0): m/8 * 2^-7
SCALE_BIAS = 127
NAN_CODE = 0x7F  # exponent field 15, mantissa 7 (0xFF with the sign)
QUANTISERS = ("plena", "ocp")
_EPS = np.float32(1e-9)  # PLENA adds it before every log2 (tensor.rs, quantizer.py)


def _element_value(code: int) -> float:
    sign = -1.0 if code & 0x80 else 1.0
    exp, man = (code >> 3) & 0xF, code & 0x7
    if exp == 0:
        return sign * man / 8 * 2.0**ELEMENT_EXP_MIN
    if exp == 15:
        return sign * np.inf if man == 0 else np.nan
    return sign * (1 + man / 8) * 2.0 ** (exp - 7)


def _scale_value(code: int) -> float:
    if code == 0:
        return 0.0
    if code == 255:
        return np.inf
    return 2.0 ** (code - SCALE_BIAS)


# Byte -> value tables: a decode is two lookups and one FP32 multiply, as the emulator does.
ELEMENT_VALUES = np.array([_element_value(c) for c in range(256)], dtype=np.float32)
SCALE_VALUES = np.array([_scale_value(c) for c in range(256)], dtype=np.float32)

# Finite non-negative element values and their codes, for round-to-nearest encoding.
_POS_CODES = np.array([c for c in range(0x78)], dtype=np.uint8)  # fields 0..14, sign 0
_POS_VALUES = ELEMENT_VALUES[_POS_CODES].astype(np.float64)
_ORDER = np.argsort(_POS_VALUES, kind="stable")
_SORTED_VALUES, _SORTED_CODES = _POS_VALUES[_ORDER], _POS_CODES[_ORDER]
_UNIQUE = np.concatenate([[True], np.diff(_SORTED_VALUES) > 0])  # +0 only once
_GRID, _GRID_CODES = _SORTED_VALUES[_UNIQUE], _SORTED_CODES[_UNIQUE]


def log2_floor_f32(x: np.ndarray) -> np.ndarray:
    """floor(log2(x)) with log2 rounded to FP32 first, as FP32 code computes it (x > 0, finite)."""
    return np.floor(np.log2(x.astype(np.float64)).astype(np.float32)).astype(np.int64)


def _round_half_even(x: np.ndarray) -> np.ndarray:
    return np.round(x)  # NumPy rounds halves to even


def plena_element_codes(scaled: np.ndarray) -> np.ndarray:
    """PLENA's minifloat_ieee_quantize_hardware for E4M3 on finite FP32 values (codes, uint8)."""
    v = np.asarray(scaled, dtype=np.float32)
    mag = np.abs(v)
    positive = mag > 0
    safe = np.where(positive, mag + _EPS, np.float32(1.0)).astype(np.float32)
    raw = np.where(positive, log2_floor_f32(safe), 0)
    overflow = raw > ELEMENT_EXP_MAX
    exp = np.clip(raw, ELEMENT_EXP_MIN, ELEMENT_EXP_MAX)
    mant = mag.astype(np.float64) / np.exp2(exp.astype(np.float64))  # exact: a power of two
    normal = exp != ELEMENT_EXP_MIN
    shifted = np.where(normal, (mant - 1.0) * 8.0, mant * 8.0)
    quarter = np.floor(shifted * 4.0) / 4.0
    # The Rust rounding casts with `as u32`, which saturates a negative floor to 0 (a value
    # whose FP32 log2 rounded up to the next integer): floor -1, fraction 0.75 -> 0 + 1.
    rounded = np.where(
        quarter < 0, np.where(quarter - np.floor(quarter) > 0.5, 1.0, 0.0), _round_half_even(quarter)
    )
    man = np.where(overflow, 7, np.clip(rounded, 0, 7)).astype(np.int64)
    sign = (v < 0).astype(np.int64)
    code = (sign << 7) | ((exp + 7) << 3) | man
    return np.where(positive, code, 0).astype(np.uint8)


def _nearest_codes(scaled: np.ndarray) -> np.ndarray:
    """Nearest PLENA E4M3 value to each finite value (ties to the even code), saturating."""
    v = np.asarray(scaled, dtype=np.float64)
    mag = np.minimum(np.abs(v), ELEMENT_MAX)
    hi = np.clip(np.searchsorted(_GRID, mag, side="left"), 1, _GRID.size - 1)
    lo = hi - 1
    d_lo, d_hi = mag - _GRID[lo], _GRID[hi] - mag
    pick_hi = (d_hi < d_lo) | ((d_hi == d_lo) & (_GRID_CODES[hi] % 2 == 0))
    code = np.where(pick_hi, _GRID_CODES[hi], _GRID_CODES[lo]).astype(np.int64)
    code = np.where(mag == 0, 0, code)
    return (np.where(v < 0, 0x80, 0) | code).astype(np.uint8)


def quantize_blocks(
    values: np.ndarray, block: int = 8, quantiser: str = "plena"
) -> tuple[np.ndarray, np.ndarray]:
    """Quantise a flat array (length a multiple of `block`) to (element bytes, scale bytes)."""
    if quantiser not in QUANTISERS:
        raise ValueError(f"unknown MX quantiser {quantiser!r}; choose one of {', '.join(QUANTISERS)}")
    x = np.asarray(values, dtype=np.float32).reshape(-1, block)
    with np.errstate(invalid="ignore", over="ignore", under="ignore", divide="ignore"):
        mag = np.abs(x)
        nan = np.isnan(x)
        amax = np.fmax.reduce(np.where(nan, np.float32(0), mag), axis=1)  # NaN ignored, as PLENA
        nonzero = amax > 0
        finite = np.isfinite(amax)
        if quantiser == "plena":
            safe = np.where(nonzero & finite, amax + _EPS, np.float32(1.0)).astype(np.float32)
            exp = log2_floor_f32(safe)
        else:
            exp = log2_floor_f32(np.where(nonzero & finite, amax, np.float32(1.0))) - ELEMENT_EXP_MAX
        exp = np.where(finite, exp, SCALE_BIAS)
        exp = np.clip(exp, -SCALE_BIAS, SCALE_BIAS)
        scale = np.exp2(exp.astype(np.float64)).astype(np.float32)  # 2^-127 is an FP32 subnormal
        scaled = np.where(nan, np.float32(0), x) / scale[:, None]
        scaled = np.where(np.isinf(scaled), np.copysign(np.float32(ELEMENT_MAX * 2), scaled), scaled)
        codes = plena_element_codes(scaled) if quantiser == "plena" else _nearest_codes(scaled)
    codes = np.where(nan, np.where(np.signbit(x), 0x80 | NAN_CODE, NAN_CODE), codes).astype(np.uint8)
    codes[~nonzero] = np.where(nan[~nonzero], codes[~nonzero], 0)
    scales = np.where(nonzero, exp + SCALE_BIAS, 0).astype(np.uint8)
    return codes.reshape(-1), scales


def dequantize_blocks(elements: np.ndarray, scales: np.ndarray, block: int = 8) -> np.ndarray:
    """Decode as PLENA does: float32 values (each exactly representable in BF16 or rounded
    to it on the write into SRAM)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return dequantize_unchecked(elements, scales, block)


def dequantize_unchecked(elements: np.ndarray, scales: np.ndarray, block: int = 8) -> np.ndarray:
    """dequantize_blocks without its floating-point error context (the simulator sets its own)."""
    elems = ELEMENT_VALUES[elements].reshape(-1, block)
    return (elems * SCALE_VALUES[scales][:, None]).reshape(-1)


def mx_roundtrip(values: np.ndarray, block: int = 8, quantiser: str = "plena") -> np.ndarray:
    """The values the hardware sees after a tensor is stored to HBM as MXFP8 (float64 out)."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    e, s = quantize_blocks(flat.astype(np.float32), block, quantiser)
    return dequantize_blocks(e, s, block).astype(np.float64).reshape(np.shape(values))


def _mx_bf16_bits() -> np.ndarray:
    """BF16 bit pattern of every (scale byte, element byte) pair's decoded value, indexed by
    scale << 8 | element: a prefetch writes SRAM through it with one lookup per element."""
    with np.errstate(over="ignore", invalid="ignore"):
        values = SCALE_VALUES[:, None] * ELEMENT_VALUES[None, :]  # FP32, as dequantize_unchecked
    return values.astype(BF16).view(np.uint16).reshape(-1)


MX_BF16_BITS = _mx_bf16_bits()


def to_bf16(values: np.ndarray) -> np.ndarray:
    """Round to BF16 (nearest-even), returned as float64 for reference maths."""
    return np.asarray(values, dtype=np.float32).astype(BF16).astype(np.float64)


def tensor_nbytes(numel: int, block: int = 8) -> int:
    """HBM footprint of an MXFP8 tensor: elements plus one scale byte per block."""
    return numel + numel // block
