"""The public validation points of the reference notes (aie-ml.md 5.7)."""

from __future__ import annotations

import numpy as np

from kernelcraft.platforms.aie import numerics as nx
from kernelcraft.platforms.aie.config import DEFAULT_CONFIG
from kernelcraft.platforms.aie.machine import new_machine
from kernelcraft.platforms.base import RunLimits

from .aie_helpers import BASE, build, get, put, put_bf16, tiled, untiled
from .gemm32_kernel import IN0, IN1, OUT, kernel

# Peano's output for one aie::mmul<4,8,4,bf16,bf16,accfloat> MAC (scalable-analyses/xdna src/bf16_mac.s,
# llvm-aie 70ac20b), as aie-ml.md 2.2 quotes it: p0 = A (4x8 bf16), p1 = B (8x4 bf16), p2 = C (4x4 fp32).
PEANO_BF16_MAC = """
bf16_mac:
    nopb ; nopa ; nops ; nopx ; mov p3, p0 ; nopv
    vldb  wl0, [p0, #0] ; mov p0, p1
    vlda  wl2, [p1, #0] ; paddb [p0], #32 ; padds [p3], #32
    vlda  wh0, [p3, #0] ; vldb wh2, [p0, #0]
    vlda  amhh0, [p2, #32]
    vlda  amhl0, [p2, #0]
    nop
    nop
    nop
    mova  r0, #28
    vmac.f bmh0, bmh0, x0, x2, r0
    nop
    nop
    ret   lr
    nop                                 // delay slot 5
    nop                                 // delay slot 4
    vst   amhh0, [p2, #32]              // delay slot 3
    vst   amhl0, [p2, #0]               // delay slot 2
    nop                                 // delay slot 1
"""


def test_peano_bf16_mac_listing_is_correct_with_no_hazards():
    from kernelcraft.platforms.aie.assembler import assemble

    result = assemble(PEANO_BF16_MAC)
    assert result.program is not None
    assert [d for d in result.diagnostics] == []  # no static hazard warning either
    m = new_machine(DEFAULT_CONFIG)
    rng = np.random.default_rng(3)
    a = nx.to_bf16_values(rng.standard_normal((4, 8)))
    b = nx.to_bf16_values(rng.standard_normal((8, 4)))
    c = rng.standard_normal((4, 4)).astype(np.float32)
    put_bf16(m, BASE, a)
    put_bf16(m, BASE + 0x4000, b)
    put(m, BASE + 0x8000, c)
    out = m.call(result.program, 0, {"p0": BASE, "p1": BASE + 0x4000, "p2": BASE + 0x8000}, RunLimits())
    assert out.fault is None
    assert m.hazards == {}
    got = get(m, BASE + 0x8000, 64, np.float32).reshape(4, 4)
    np.testing.assert_allclose(got, c + a.astype(np.float64) @ b, rtol=1e-6, atol=1e-6)
    # 14 bundles to ret, then its 5 delay slots: 19 cycles, one vmac.f.
    assert out.cycles == 19 and m.stats.mac_ops == 1


def test_gemm_32x32x32_issues_256_vmac_in_about_288_cycles():
    program = build(kernel())
    m = new_machine(DEFAULT_CONFIG)
    rng = np.random.default_rng(1)
    a = nx.to_bf16_values(rng.standard_normal((32, 32)))
    b = nx.to_bf16_values(rng.standard_normal((32, 32)))
    c = rng.standard_normal((32, 32)).astype(np.float32)
    put_bf16(m, IN0, tiled(a, 4, 8))
    put_bf16(m, IN1, tiled(b, 8, 4))
    put(m, OUT, tiled(c, 4, 4))
    out = m.call(program, 0, {"p0": IN0, "p1": IN1, "p2": OUT, "p3": OUT}, RunLimits())
    assert out.fault is None
    got = untiled(get(m, OUT, 4096, np.float32), 32, 32, 4, 4)
    np.testing.assert_allclose(got, c + a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4)
    assert m.stats.mac_ops == 256
    assert m.stats.stall_bank == 0  # in0, in1 and out sit in three different logical banks
    # The public kernel takes 288 bundles (warm-up 49, loop 3 x 64, cool-down 47); ours starts its
    # vmac stream after a 22-bundle warm-up instead of half-rate warm-up MACs and ends 5 later.
    assert 280 <= out.cycles <= 300, out.cycles
    assert program.size_bytes <= 16 * 1024


def test_gemm_kernel_with_conflicting_buffers_pays_stalls():
    """Put in1 in in0's logical bank: every bundle loading both then stalls one cycle."""
    program = build(kernel())
    m = new_machine(DEFAULT_CONFIG)
    rng = np.random.default_rng(2)
    a = nx.to_bf16_values(rng.standard_normal((32, 32)))
    b = nx.to_bf16_values(rng.standard_normal((32, 32)))
    put_bf16(m, IN0, tiled(a, 4, 8))
    same_bank = IN0 + 0x1000
    put_bf16(m, same_bank, tiled(b, 8, 4))
    put(m, OUT, np.zeros((32, 32), np.float32))
    out = m.call(program, 0, {"p0": IN0, "p1": same_bank, "p2": OUT, "p3": OUT}, RunLimits())
    assert out.fault is None
    got = untiled(get(m, OUT, 4096, np.float32), 32, 32, 4, 4)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4)
    # 128 in0 loads (4 per k-step); all but the very first share their bundle, and so their
    # memory cycle, with an in1 load: one stall cycle each (aie-ml.md 5.4.3, AM020 ch.4).
    assert m.stats.stall_bank == 127
    assert out.cycles == 293 + 127
