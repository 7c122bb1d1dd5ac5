"""MXFP8 as PLENA reads and writes it, against vectors from PLENA's own rules and tests.

Sources: PLENA_Simulator transactional_emulator/lib/quantize/src/dtype.rs (decoding, and its
test_e4m3_subnormal / test_e8m0_scale_decode), lib/quantize/src/tensor.rs (the hardware
quantiser, and its tests), PLENA_Tools plena_quant/mxfp/quantizer.py + common/minifloat.py
+ common/hardware_utils.py (the same quantiser in Python).
"""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kernelcraft.platforms.plena.mx import (
    ELEMENT_VALUES,
    SCALE_VALUES,
    dequantize_blocks,
    mx_roundtrip,
    plena_element_codes,
    quantize_blocks,
    tensor_nbytes,
)


def _f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def test_element_decoding_follows_plena_not_ocp():
    # dtype.rs test_e4m3_subnormal: subnormals are m/8 * 2^-7 (OCP: 2^-6).
    assert ELEMENT_VALUES[0x07] == pytest.approx(0.0068359375, abs=0)
    assert ELEMENT_VALUES[0x87] == -0.0068359375
    assert ELEMENT_VALUES[0x01] == 0.0009765625 and ELEMENT_VALUES[0x04] == 0.00390625
    assert ELEMENT_VALUES[0x38] == 1.0 and ELEMENT_VALUES[0x3F] == 1.875 and ELEMENT_VALUES[0x00] == 0.0
    # Exponent field 15 is Inf (mantissa 0) or NaN (FpType::cast maps it to F32's Inf/NaN);
    # in OCP E4M3 it holds normal values up to 448.
    assert ELEMENT_VALUES[0x78] == np.inf and ELEMENT_VALUES[0xF8] == -np.inf
    assert np.isnan(ELEMENT_VALUES[[0x79, 0x7C, 0x7F, 0xFF]]).all()
    # The largest finite element: field 14, mantissa 7.
    finite = ELEMENT_VALUES[np.isfinite(ELEMENT_VALUES)]
    assert finite.max() == 240.0 == ELEMENT_VALUES[0x77]


def test_every_element_byte_matches_the_field_formula():
    for code in range(256):
        sign = -1.0 if code & 0x80 else 1.0
        e, m = (code >> 3) & 15, code & 7
        got = float(ELEMENT_VALUES[code])
        if e == 15:
            assert math.isinf(got) if m == 0 else math.isnan(got)
        elif e == 0:
            assert got == sign * m / 8 * 2.0**-7
        else:
            assert got == sign * (1 + m / 8) * 2.0 ** (e - 7)


def test_scale_decoding():
    # dtype.rs test_e8m0_scale_decode: 127 -> 1, 124 -> 0.125, 130 -> 8, and 0 -> 0.0 (not 2^-127).
    assert SCALE_VALUES[127] == 1.0 and SCALE_VALUES[124] == 0.125 and SCALE_VALUES[130] == 8.0
    assert SCALE_VALUES[0] == 0.0 and SCALE_VALUES[255] == np.inf
    elements = np.array([0x38, 0x3F, 0x07, 0x00] * 2, np.uint8)
    np.testing.assert_array_equal(
        dequantize_blocks(elements, np.array([130], np.uint8)), [8.0, 15.0, 0.0546875, 0.0] * 2
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        # tensor.rs test_minifloat_quantize_known_values / ..._rounds_fractional_mantissa
        (0.0, 0x00),
        (1.0, 0x38),
        (1.875, 0x3F),
        (-1.0, 0xB8),
        (1.0625, 0x38),
        (1.0859375, 0x38),
        (1.1875, 0x3A),
        (1.328125, 0x3A),  # round-to-nearest would give 0x3B
        (-1.0625, 0xB8),
        (-1.1875, 0xBA),
        # The mantissa is truncated to a quarter before rounding half to even: 2.7 -> 2.5 -> 2.
        (1 + 2.7 / 8, 0x3A),
        (1 + 3.5 / 8, 0x3C),  # a half rounds to even: 3.5 -> 4
        # A mantissa that rounds to 8 is clamped to 7: no carry into the next binade.
        (1.96875, 0x3F),
        (0.984375, 0x37),  # 0.5 * 1.96875: same clamp one binade down
        # Exponent clamped at -7 is the subnormal code: [2^-7, 2^-6) clamps to 7/8 * 2^-7.
        (0.01, 0x07),
        (2.0**-7, 0x07),
        (0.004, 0x04),  # 0.004 * 1024 = 4.096 -> 4
        (2.0**-11, 0x00),  # 0.5 quarter-truncated, rounds half to even: 0
        # Exponents above 7 saturate to the largest value.
        (300.0, 0x77),
        (-1e6, 0xF7),
    ],
)
def test_plena_element_rule(value, code):
    assert int(plena_element_codes(np.array([value], np.float32))[0]) == code


def test_block_scale_and_elements_from_tensor_rs():
    # tensor.rs test_into_bytes_mx_block_scale, with a block of 4.
    elements, scales = quantize_blocks(np.array([0.5, 1.0, 2.0, 4.0], np.float32), block=4)
    assert elements.tolist() == [32, 40, 48, 56] and scales.tolist() == [129]


def test_block_scale_is_the_largest_magnitudes_binade():
    x = np.array([448.0, -3.0, 0.5, 0, 1, 2, 7, 100], np.float32)
    elements, scales = quantize_blocks(x)
    assert scales[0] == 127 + 8  # 2^floor(log2 448)
    assert elements[0] == 0x3E  # 448 / 256 = 1.75
    # amax = 3 -> scale 2^1; every element lands below 2 after scaling.
    elements, scales = quantize_blocks(np.array([3.0, 1, 1, 1, 1, 1, 1, 1], np.float32))
    assert scales[0] == 128 and elements[0] == 0x3C  # 1.5


def test_zero_blocks_and_tiny_blocks_decode_to_zero():
    elements, scales = quantize_blocks(np.zeros(8, np.float32))
    assert scales[0] == 0 and not elements.any()
    # The 1e-9 PLENA adds before log2 dominates tiny blocks: scale 2^-30, elements round to 0.
    elements, scales = quantize_blocks(np.full(8, 2.0**-130, np.float32))
    assert scales[0] == 127 - 30 and not dequantize_blocks(elements, scales).any()


def test_nothing_encoded_reads_as_non_finite():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [rng.normal(size=4096), rng.standard_cauchy(size=4096) * 1e3, [3e38, -3e38, 1e-40, 0] * 2]
    ).astype(np.float32)
    for quantiser in ("plena", "ocp"):
        back = dequantize_blocks(*quantize_blocks(x, quantiser=quantiser))
        assert np.isfinite(back).all(), quantiser
        # Infinities saturate to +-240 * 2^127, which overflows FP32 on the way in: they stay infinite.
        inf = dequantize_blocks(*quantize_blocks(np.array([np.inf, -np.inf, 1, 2, 3, 4, 5, 6], np.float32)))
        assert inf[0] == np.inf and inf[1] == -np.inf
    # Our choice: NaN stays NaN (the NaN code PLENA decodes as NaN); the block's other values
    # are quantised as if it were absent.
    x = np.array([np.nan, 1, 2, 3, 4, 5, 6, 7], np.float32)
    elements, scales = quantize_blocks(x)
    back = dequantize_blocks(elements, scales)
    assert np.isnan(back[0]) and elements[0] == 0x7F
    np.testing.assert_array_equal(back[1:], mx_roundtrip(np.array([0, 1, 2, 3, 4, 5, 6, 7], np.float32))[1:])


def test_ocp_option_targets_plenas_element_format():
    x = np.array([448.0, 479.0, 1, 1, 1, 1, 1, 1], np.float32)
    elements, scales = quantize_blocks(x, quantiser="ocp")
    assert scales[0] == 127 + 1  # 2^(floor(log2 479) - 7): the maximum lands in the top binade
    assert elements[0] == 0x76 and elements[1] == 0x77  # 224 exactly; 239.5 -> 240 (nearest)
    # Round-to-nearest-even where the PLENA rule truncates: 1 + 2.7/8 in the top binade.
    y = np.array([128 * (1 + 2.7 / 8), 200, 0, 0, 0, 0, 0, 0], np.float32)
    assert quantize_blocks(y, quantiser="ocp")[0][0] == 0x73  # mantissa 3
    assert quantize_blocks(y, quantiser="plena")[0][0] == 0x3A  # scale 2^7, mantissa 2
    with pytest.raises(ValueError):
        quantize_blocks(x, quantiser="fp8")


# ----------------------------------------------------------------------------- reference model


def _log2_floor_f32(v: float) -> int:
    """floor(log2 v) where log2 is rounded to FP32, as Rust's f32::log2 returns it."""
    return math.floor(_f32(math.log2(v)))


def _ref_element(v: float) -> int:
    """tensor.rs minifloat_ieee_quantize_hardware for E4M3, written out per value."""
    if v == 0.0:
        return 0
    sign = 1 if v < 0 else 0
    a = abs(v)
    raw = _log2_floor_f32(_f32(a + _f32(1e-9)))
    overflow = raw > 7
    e = min(max(raw, -7), 7)
    mant = a / 2.0**e
    x = (mant - 1.0) * 8 if e != -7 else mant * 8
    q = math.floor(x * 4) / 4
    if q < 0:  # Rust's saturating `as u32` on a negative floor
        r = 1 if q - math.floor(q) > 0.5 else 0
    else:
        fl = math.floor(q)
        frac = q - fl
        r = fl + 1 if frac > 0.5 or (frac == 0.5 and fl % 2) else fl
    m = 7 if overflow else min(max(r, 0), 7)
    return (sign << 7) | ((e + 7) << 3) | m


def _ref_block(block: list[float]) -> tuple[list[int], int]:
    """tensor.rs QuantTensor::into_bytes for one finite block."""
    amax = max(abs(v) for v in block)
    if amax == 0:
        return [0] * len(block), 0
    e = min(max(_log2_floor_f32(_f32(amax + _f32(1e-9))), -127), 127)
    scale = 2.0**e
    return [_ref_element(_f32(v / scale)) for v in block], e + 127


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        st.sampled_from([8, 16, 64]),
        elements=st.floats(-(2.0**60), 2.0**60, allow_nan=False, allow_infinity=False, width=32),
    )
)
def test_quantiser_matches_the_reference_rule_bit_for_bit(x):
    elements, scales = quantize_blocks(x)
    for b in range(x.size // 8):
        want_e, want_s = _ref_block([float(v) for v in x[b * 8 : (b + 1) * 8]])
        assert scales[b] == want_s
        assert elements[b * 8 : (b + 1) * 8].tolist() == want_e
    np.testing.assert_array_equal(mx_roundtrip(x), dequantize_blocks(elements, scales).astype(np.float64))


def test_quantiser_on_normal_and_heavy_tailed_values():
    rng = np.random.default_rng(7)
    for x in (rng.normal(size=2048), rng.standard_t(2, size=2048)):
        x = x.astype(np.float32)
        elements, scales = quantize_blocks(x)
        for b in range(0, x.size // 8, 7):
            want_e, want_s = _ref_block([float(v) for v in x[b * 8 : (b + 1) * 8]])
            assert scales[b] == want_s and elements[b * 8 : (b + 1) * 8].tolist() == want_e


def test_tensor_nbytes():
    assert tensor_nbytes(64) == 72
