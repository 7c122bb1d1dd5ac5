"""Numerics: bf16 flush-to-zero, the aie/ieee accumulation modes, rounding modes, SRS/UPS."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.aie import numerics as nx
from kernelcraft.platforms.aie.config import AieConfig

from .aie_helpers import BASE, get, get_bf16, put, put_bf16, ret, run

MAC = """
kernel:
    vlda wl0, [p0, #0] ; vldb wh0, [p0, #32]
    vlda wl2, [p1, #0] ; vldb wh2, [p1, #32]
    vlda amll0, [p2, #0]
    vlda amlh0, [p2, #32] ; movxm r0, #{cfg}
    nop
    nop
    nop
    nop
    {op}
    nop
    nop
    nop
    nop
    nop
    vst amll0, [p2, #64]
    vst amlh0, [p2, #96]
"""


def _mac(a, b, acc, cfg: int, op: str = "vmac.f bml0, bml0, x0, x2, r0", fp: str = "aie"):
    def setup(m):
        put_bf16(m, BASE, a)
        put_bf16(m, BASE + 0x4000, b)
        put(m, BASE + 0x8000, np.asarray(acc, np.float32))

    m, out, _ = run(
        ret(MAC.format(cfg=cfg, op=op)),
        {"p0": BASE, "p1": BASE + 0x4000, "p2": BASE + 0x8000},
        AieConfig(fp_mode=fp),
        setup,
    )
    assert out.fault is None, out.fault
    assert m.hazards == {}
    return get(m, BASE + 0x8000 + 64, 64, np.float32).astype(np.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matrix_mac_matches_numpy_in_ieee_mode_and_the_alignment_bound_in_aie_mode(seed):
    """ieee: the exact sum rounded once. aie: each of the 9 terms (8 products, the accumulator)
    is rounded to 23 fraction bits below the largest term's leading bit, so the error is at most
    9 half-quanta of the largest term plus the final rounding: one ulp of the largest term, not
    of the result, which under cancellation can be many of the result's ulps (the reference's
    '<= 1 ulp' [INF] holds relative to the largest term)."""
    rng = np.random.default_rng(seed)
    a = nx.to_bf16_values(rng.standard_normal((4, 8)) * 3)
    b = nx.to_bf16_values(rng.standard_normal((8, 4)))
    c = rng.standard_normal((4, 4)).astype(np.float32)
    exact = c.astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    ieee = _mac(a, b, c, 28, fp="ieee").reshape(4, 4)
    np.testing.assert_array_equal(ieee, exact.astype(np.float32).astype(np.float64))
    aie = _mac(a, b, c, 28, fp="aie").reshape(4, 4)
    terms = np.concatenate([(a[:, None, :] * b.T[None, :, :]).reshape(16, 8), c.reshape(16, 1)], axis=1)
    largest = np.abs(terms).max(axis=1).reshape(4, 4)
    quantum = 2.0 ** (np.floor(np.log2(largest)) - 23)
    bound = 9 * quantum / 2 + np.spacing(np.abs(exact).astype(np.float32)) / 2
    assert np.all(np.abs(aie - exact) <= bound)
    assert np.any(aie != ieee)  # the two modes do differ in the last bits


def test_aie_alignment_rounds_small_terms_to_the_largest_exponent():
    """acc = 1.0 plus two products of 0.625 * 2^-23: aligned to 1.0's exponent with 23 fraction bits
    each product rounds to 2^-23 (so 1 + 2^-22); summed exactly in IEEE the 1.25 ulp rounds to 1 ulp."""
    a = np.zeros(32, np.float32)
    b = np.zeros(32, np.float32)
    a[0], a[16] = 0.625, 0.625
    b[0], b[16] = 2.0**-23, 2.0**-23
    acc = np.zeros(16, np.float32)
    acc[0] = 1.0
    aie = _mac(a, b, acc, 60, fp="aie")
    ieee = _mac(a, b, acc, 60, fp="ieee")
    assert aie[0] == 1 + 2.0**-22
    assert ieee[0] == 1 + 2.0**-23


def test_elementwise_mode_pairs_lane_i_with_lane_i_plus_16():
    rng = np.random.default_rng(5)
    a = nx.to_bf16_values(rng.standard_normal(32))
    b = nx.to_bf16_values(rng.standard_normal(32))
    got = _mac(a, b, np.zeros(16), 60 | 1, op="vmul.f bml0, x0, x2, r0")
    want = a[:16].astype(np.float64) * b[:16] + a[16:].astype(np.float64) * b[16:]
    np.testing.assert_allclose(got, want, rtol=2e-7)


def test_zero_acc_bit_ignores_the_accumulator():
    a = np.ones(32, np.float32)
    b = np.ones(32, np.float32)
    got = _mac(a, b, np.full(16, 100.0), 61)
    assert np.all(got == 2.0)


def test_bf16_denormals_flush_to_zero_on_input_and_output():
    bits = np.array([0x0001, 0x8040, 0x3F80], np.uint16)  # denormal, negative denormal, 1.0
    vals = nx.bf16_to_f32(bits)
    assert vals[0] == 0 and vals[1] == 0 and np.signbit(vals[1]) and vals[2] == 1.0
    tiny = np.array([1e-39, -1e-39, 1e-30], np.float32)  # fp32 subnormals become signed zero
    out = nx.f32_to_bf16(tiny)
    assert out[0] == 0 and out[1] == 0x8000 and out[2] != 0
    # A MAC whose exact result is an fp32 subnormal returns zero.
    assert nx.accumulate(np.array([[1e-20 * 1e-20]]), "aie")[0] == 0


@pytest.mark.parametrize(
    "mode, value, expected",
    [
        # 1 + 2^-8 lies halfway between bf16 1.0 and 1 + 2^-7 (UG1603 rounding mode names).
        (12, 1 + 2**-8, 1.0),  # conv_even: tie to even
        (13, 1 + 2**-8, 1 + 2**-7),  # conv_odd
        (0, 1 + 2**-8, 1.0),  # floor
        (1, 1 + 2**-9, 1 + 2**-7),  # ceil
        (0, -(1 + 2**-9), -(1 + 2**-7)),  # floor of a negative goes down
        (2, -(1 + 2**-9), -1.0),  # sym_floor: toward zero
        (9, -(1 + 2**-8), -1.0),  # pos_inf: tie toward +inf
        (8, -(1 + 2**-8), -(1 + 2**-7)),  # neg_inf: tie toward -inf
        (11, 1 + 2**-8, 1 + 2**-7),  # sym_inf: tie away from zero
        (10, 1 + 2**-8, 1.0),  # sym_zero: tie toward zero
    ],
)
def test_fp32_to_bf16_rounding_modes(mode, value, expected):
    out = nx.bf16_to_f32(nx.f32_to_bf16(np.array([value], np.float32), mode))
    assert out[0] == np.float32(expected)


def test_vconv_uses_crrnd_set_to_conv_even_by_the_harness():
    src = ret("""
kernel:
    vlda amll0, [p0, #0]
    vlda amlh0, [p0, #32]
    nop
    nop
    nop
    nop
    nop
    nop
    vconv.bf16.fp32 wl1, bml0
    nop
    vst wl1, [p1, #0]
""")
    x = np.full(16, 1 + 2**-8, np.float32)
    x[1] = 1 + 3 * 2**-8  # halfway between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6
    m, out, _ = run(src, {"p0": BASE, "p1": BASE + 0x100}, setup=lambda m: put(m, BASE, x))
    got = get_bf16(m, BASE + 0x100, 16)
    assert got[0] == 1.0 and got[1] == 1 + 2**-6


@pytest.mark.parametrize(
    "values, shift, rnd, sat, bits, expected",
    [
        ([40, -40, 24, -24], 4, 12, 1, 8, [2, -2, 2, -2]),  # 2.5 -> 2, 1.5 -> 2 (ties to even)
        ([40, -40], 4, 11, 1, 8, [3, -3]),  # sym_inf: ties away from zero
        ([40, -40], 4, 0, 1, 8, [2, -3]),  # floor
        ([40, -40], 4, 2, 1, 8, [2, -2]),  # sym_floor (toward zero)
        ([300, -300], 0, 12, 1, 8, [127, -128]),  # saturate
        ([300, -300], 0, 12, 0, 8, [44, -44]),  # crSat 0 wraps
        ([-300], 0, 12, 3, 8, [-127]),  # symmetric saturation
    ],
)
def test_srs(values, shift, rnd, sat, bits, expected):
    assert list(nx.srs(np.array(values), shift, bits, True, rnd, sat)) == expected


def test_vsrs_and_vups_round_trip_on_the_machine():
    src = ret("""
kernel:
    vlda wl0, [p0, #0] ; vldb wh0, [p0, #32] ; mov s0, #3
    mov s1, #0
    nop
    nop
    nop
    nop
    nop
    nop
    vups.s32.d16 cm0, x0, s0
    nop
    nop
    vsrs.d16.s32 x1, cm0, s0
    nop
    nop
    nop
    vst wl1, [p1, #0]
    vst wh1, [p1, #32]
""")
    x = np.arange(-16, 16, dtype=np.int16) * 1000
    m, out, _ = run(src, {"p0": BASE, "p1": BASE + 0x100}, setup=lambda m: put(m, BASE, x))
    assert out.fault is None and m.hazards == {}
    assert list(get(m, BASE + 0x100, 64, np.int16)) == list(x)


def test_integer_int8_matmul_mode():
    src = ret(
        MAC.format(cfg=776, op="vmac cm0, cm0, x0, x2, r0")
        .replace(
            "vlda amll0, [p2, #0]\n    vlda amlh0, [p2, #32] ; movxm r0, #776", "movxm r0, #776\n    vclr cm0"
        )
        .replace(
            "vst amll0, [p2, #64]\n    vst amlh0, [p2, #96]",
            "vst amll0, [p2, #64]\n    vst amlh0, [p2, #96]\n    vst amhl0, [p2, #128]\n    vst "
            "amhh0, [p2, #160]",
        )
    )
    rng = np.random.default_rng(7)
    a = rng.integers(-128, 128, (4, 8)).astype(np.int8)
    b = rng.integers(-128, 128, (8, 8)).astype(np.int8)

    def setup(m):
        put(m, BASE, a)
        put(m, BASE + 0x4000, b)

    m, out, _ = run(src, {"p0": BASE, "p1": BASE + 0x4000, "p2": BASE + 0x8000}, setup=setup)
    assert out.fault is None
    got = get(m, BASE + 0x8000 + 64, 128, np.int32).reshape(4, 8)
    np.testing.assert_array_equal(got, a.astype(np.int32) @ b.astype(np.int32))


def test_unsupported_mac_config_is_a_fault_with_a_hint():
    src = ret(MAC.format(cfg=5, op="vmac.f bml0, bml0, x0, x2, r0"))
    m, out, _ = run(src, {"p0": BASE, "p1": BASE + 0x4000, "p2": BASE + 0x8000})
    assert out.fault is not None and out.fault.kind == "operand"
    assert "28" in out.fault.message
