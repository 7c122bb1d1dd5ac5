"""MXFP8 (OCP microscaling): E4M3 elements sharing one E8M0 power-of-two scale per block.

HBM holds every tensor as all its element bytes followed by all its scale bytes (one scale
byte per `block` elements), which is what SCALE_REG addressing assumes. Conversions go
through ml_dtypes so rounding (round-to-nearest-even) and special values are the standard
ones, not hand-rolled.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

E4M3 = ml_dtypes.float8_e4m3fn
BF16 = ml_dtypes.bfloat16
E4M3_MAX = 448.0
E4M3_EMAX = 8  # exponent of the largest E4M3 binade (448 = 1.75 * 2**8)
SCALE_BIAS = 127
SCALE_NAN = 0xFF


def quantize_blocks(values: np.ndarray, block: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Quantise a flat array (length a multiple of `block`) to (element bytes, scale bytes).

    The shared scale is 2**(floor(log2(amax)) - 8), so the block's largest magnitude lands in
    E4M3's top binade; elements that round above 448 saturate. A block containing NaN gets
    the NaN scale; an all-zero block gets the smallest scale.
    """
    x = np.asarray(values, dtype=np.float32).reshape(-1, block)
    with np.errstate(invalid="ignore", over="ignore"):
        amax = np.max(np.abs(x), axis=1)
        has_nan = np.isnan(x).any(axis=1)
        _, exp = np.frexp(np.where(np.isfinite(amax) & (amax > 0), amax, 1.0).astype(np.float32))
        scale_exp = np.clip(exp.astype(np.int32) - 1 - E4M3_EMAX, -SCALE_BIAS, SCALE_BIAS)
        scale_exp = np.where(amax > 0, scale_exp, -SCALE_BIAS)
        scale_exp = np.where(np.isinf(amax), SCALE_BIAS, scale_exp)
        scaled = x * np.ldexp(np.float32(1.0), -scale_exp)[:, None].astype(np.float32)
        scaled = np.clip(scaled, -E4M3_MAX, E4M3_MAX)
    elements = scaled.astype(E4M3).view(np.uint8).reshape(-1)
    scales = (scale_exp + SCALE_BIAS).astype(np.uint8)
    scales[has_nan] = SCALE_NAN
    return elements, scales


# Byte -> value tables: an MX decode is then two lookups and one multiply, exact as the
# ml_dtypes conversions they are built from (a test checks every byte against ml_dtypes).
_E4M3_VALUES = np.arange(256, dtype=np.uint8).view(E4M3).astype(np.float32)
with np.errstate(over="ignore"):  # byte 0xFF (2**128) overflows; it is the NaN scale anyway
    _SCALE_VALUES = np.ldexp(np.float32(1.0), np.arange(256, dtype=np.int32) - SCALE_BIAS).astype(np.float32)
_SCALE_VALUES[SCALE_NAN] = np.nan


def dequantize_blocks(elements: np.ndarray, scales: np.ndarray, block: int = 8) -> np.ndarray:
    """Inverse of quantize_blocks: float32 values (exactly representable in BF16)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return dequantize_unchecked(elements, scales, block)


def dequantize_unchecked(elements: np.ndarray, scales: np.ndarray, block: int = 8) -> np.ndarray:
    """dequantize_blocks without its floating-point error context (the simulator sets its own)."""
    elems = _E4M3_VALUES[elements].reshape(-1, block)
    return (elems * _SCALE_VALUES[scales][:, None]).reshape(-1)


def mx_roundtrip(values: np.ndarray, block: int = 8) -> np.ndarray:
    """The values the hardware sees after a tensor is stored to HBM as MXFP8 (float64 out)."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    e, s = quantize_blocks(flat.astype(np.float32), block)
    return dequantize_blocks(e, s, block).astype(np.float64).reshape(np.shape(values))


def to_bf16(values: np.ndarray) -> np.ndarray:
    """Round to BF16 (nearest-even), returned as float64 for reference maths."""
    return np.asarray(values, dtype=np.float32).astype(BF16).astype(np.float64)


def tensor_nbytes(numel: int, block: int = 8) -> int:
    """HBM footprint of an MXFP8 tensor: elements plus one scale byte per block."""
    return numel + numel // block
