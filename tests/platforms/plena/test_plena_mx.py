"""MXFP8 codec against ml_dtypes' float8_e4m3fn and float8_e8m0fnu used directly."""

from __future__ import annotations

import ml_dtypes
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernelcraft.platforms.plena.mx import dequantize_blocks, mx_roundtrip, quantize_blocks, tensor_nbytes

E4M3 = ml_dtypes.float8_e4m3fn
E8M0 = ml_dtypes.float8_e8m0fnu


def _reference_decode(elements: np.ndarray, scales: np.ndarray) -> np.ndarray:
    values = elements.view(E4M3).astype(np.float64).reshape(-1, 8)
    factors = scales.view(E8M0).astype(np.float64)
    return (values * factors[:, None]).reshape(-1)


def test_decode_every_element_and_scale_byte():
    elements = np.tile(np.arange(256, dtype=np.uint8), 256)
    scales = np.repeat(np.arange(256, dtype=np.uint8), 32)
    got = dequantize_blocks(elements, scales).astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = _reference_decode(elements, scales).astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[scales.repeat(8) == 0xFF]).all()


def test_quantize_exact_values_and_scale():
    block = np.array([448.0, -1.0, 0.5, 0.0, 3.0, -448.0, 2.0**-6, 7.0], dtype=np.float32)
    for shift in (-20, 0, 5, 60):
        x = block * np.float32(2.0**shift)
        elements, scales = quantize_blocks(x)
        assert scales[0].view(E8M0).astype(np.float64) == 2.0**shift
        np.testing.assert_array_equal(elements.view(E4M3).astype(np.float32), block)
        np.testing.assert_array_equal(dequantize_blocks(elements, scales), x)


def test_quantize_rounds_to_nearest_even_through_ml_dtypes():
    x = np.array([1.0, 1.0625, 1.1875, 2.0, 3.0, 5.0, 6.0, 200.0], dtype=np.float32)
    elements, scales = quantize_blocks(x)
    scale = float(scales[0:1].view(E8M0).astype(np.float64)[0])
    assert scale == 2.0**-1  # amax 200 in the binade [128, 256): 2^(7-8)
    np.testing.assert_array_equal(elements, (x / np.float32(scale)).astype(E4M3).view(np.uint8))


def test_saturation_zero_blocks_and_nan():
    x = np.concatenate(
        [
            np.array([479.0, 1.0, 1, 1, 1, 1, 1, 1], np.float32) * 4,  # 479 rounds above 448: saturate
            np.zeros(8, np.float32),
            np.array([np.nan, 1, 2, 3, 4, 5, 6, 7], np.float32),
            np.array([np.inf, 1, 1, 1, 1, 1, 1, 1], np.float32),
        ]
    )
    elements, scales = quantize_blocks(x)
    values = dequantize_blocks(elements, scales)
    assert np.all(np.isfinite(values[:8])) and values[0] == 448.0 * 4  # saturated, never NaN
    assert scales[1] == 0 and np.all(values[8:16] == 0)  # zero block: smallest scale
    assert scales[2] == 0xFF and np.isnan(values[16:24]).all()
    assert scales[3] == 254  # inf block: the largest finite scale
    assert tensor_nbytes(64) == 72


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        st.sampled_from([8, 16, 64]),
        elements=st.floats(-(2.0**100), 2.0**100, allow_nan=False, allow_infinity=False, width=32),
    )
)
def test_quantize_matches_independent_model(x):
    elements, scales = quantize_blocks(x)
    back = dequantize_blocks(elements, scales).astype(np.float64)
    # Independent model: scale = 2^(floor(log2 amax) - 8), E4M3 of x/scale via ml_dtypes.
    for b in range(x.size // 8):
        blk = x[b * 8 : (b + 1) * 8].astype(np.float64)
        amax = np.max(np.abs(blk))
        if amax == 0:
            assert np.all(back[b * 8 : (b + 1) * 8] == 0)
            continue
        exp = max(-127, int(np.floor(np.log2(amax))) - 8)
        scaled = np.clip(blk / 2.0**exp, -448, 448).astype(np.float32).astype(E4M3).astype(np.float64)
        np.testing.assert_array_equal(back[b * 8 : (b + 1) * 8], (scaled * 2.0**exp).astype(np.float32))
    np.testing.assert_array_equal(mx_roundtrip(x), back)
