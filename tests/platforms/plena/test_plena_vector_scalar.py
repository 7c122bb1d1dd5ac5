"""Vector, scalar and control instructions against NumPy models of their documented effect."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernelcraft.platforms.plena.machine import MemoryImage
from kernelcraft.platforms.plena.mx import BF16

from .plena_helpers import bf16, const, execute

V = 64  # VLEN of the default configuration
RNG = np.random.default_rng(7)


def _rows(*arrays: np.ndarray) -> dict[int, np.ndarray]:
    return {i * V: a for i, a in enumerate(arrays)}


def _row(execution, index: int) -> np.ndarray:
    return execution.machine.vram[index * V : (index + 1) * V].astype(np.float32)


SETUP = "S_ADDI_INT gp1, gp0, 0\nS_ADDI_INT gp2, gp0, 64\nS_ADDI_INT gp3, gp0, 128\nS_LD_FP f1, gp0, 0\n"


@pytest.mark.parametrize(
    ("name", "model"),
    [("V_ADD_VV", np.add), ("V_SUB_VV", np.subtract), ("V_MUL_VV", np.multiply)],
)
@pytest.mark.parametrize("rmask", [0, 1])
def test_vector_binary_ops(name, model, rmask):
    a, b = bf16(RNG.normal(size=V) * 3), bf16(RNG.normal(size=V) * 3)
    src = SETUP + "S_ADDI_INT gp4, gp0, 5\nC_SET_V_MASK_REG gp4\n" + f"{name} gp3, gp1, gp2, {rmask}\n"
    ex = execute(src, MemoryImage(vram=_rows(a, b)))
    full = model(a, b).astype(BF16).astype(np.float32)  # FP32 op, one rounding to BF16
    if rmask:  # heads 0 and 2 enabled (mask 0b0101); disabled heads keep rs1's values
        enabled = np.repeat([True, False, True, False], 16)
        full = np.where(enabled, full, a)
    np.testing.assert_array_equal(_row(ex, 2), full)


def test_sub_vv_is_rs1_minus_rs2():
    ex = execute(
        SETUP + "V_SUB_VV gp3, gp1, gp2\n", MemoryImage(vram=_rows(np.full(V, 5.0), np.full(V, 2.0)))
    )
    assert np.all(_row(ex, 2) == 3.0)


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("V_ADD_VF gp3, gp1, f1, 0", lambda x, s: x + s),
        ("V_SUB_VF gp3, gp1, f1, 0", lambda x, s: x - s),
        ("V_SUB_VF gp3, gp1, f1, 0, 1", lambda x, s: s - x),
        ("V_MUL_VF gp3, gp1, f1, 0", lambda x, s: x * s),
        ("V_MAX_VF gp3, gp1, f1, 0", np.maximum),
        ("V_MIN_VF gp3, gp1, f1, 0", np.minimum),
    ],
)
def test_vector_scalar_ops(text, model):
    x, s = bf16(RNG.normal(size=V) * 4), np.float32(bf16(1.37)[()])
    ex = execute(SETUP + text + "\n", MemoryImage(vram=_rows(x), fpsram={0: [s]}))
    np.testing.assert_array_equal(_row(ex, 2), bf16(model(x, s)))


def test_vector_scalar_masked_keeps_disabled_heads():
    x = bf16(RNG.normal(size=V))
    src = SETUP + "S_ADDI_INT gp4, gp0, 8\nC_SET_V_MASK_REG gp4\nV_MUL_VF gp3, gp1, f1, 1\n"
    ex = execute(src, MemoryImage(vram=_rows(x), fpsram={0: [2.0]}))
    expected = x.copy()
    expected[48:] *= 2
    np.testing.assert_array_equal(_row(ex, 2), expected)


def test_negate_with_f0_and_rorder():
    x = bf16(RNG.normal(size=V))
    ex = execute(SETUP + "V_SUB_VF gp3, gp1, f0, 0, 1\n", MemoryImage(vram=_rows(x)))
    np.testing.assert_array_equal(_row(ex, 2), -x)


def test_exp_clamps_and_reciprocal_of_zero():
    x = bf16(np.concatenate([np.linspace(-5, 5, V - 4), [-200.0, 200.0, 88.0, -88.0]]))
    r = bf16(np.concatenate([np.zeros(2), -np.zeros(2), RNG.normal(size=V - 4)]))
    r[1] = -0.0
    ex = execute(
        SETUP + "V_EXP_V gp3, gp1\nS_ADDI_INT gp4, gp0, 192\nV_RECI_V gp4, gp2\n",
        MemoryImage(vram=_rows(x, r)),
    )
    expected = bf16(np.exp(np.clip(x.astype(np.float32), -88, 88)))
    np.testing.assert_array_equal(_row(ex, 2), expected)
    assert _row(ex, 2)[V - 3] == bf16(math.exp(88.0))  # 200 clamps to 88: finite, not inf
    reci = _row(ex, 3)
    assert reci[0] == np.inf and reci[1] == -np.inf
    np.testing.assert_array_equal(reci[4:], bf16(np.float32(1) / r[4:]))


def test_exp_matches_float32_model_on_every_bf16_value():
    """V_EXP_V over all 65536 BF16 bit patterns equals round_bf16(exp_f32(clamp(x)))."""
    values = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(BF16).astype(np.float32)
    rows = values.reshape(-1, V)
    n = rows.shape[0]
    src = (
        "S_ADDI_INT gp1, gp0, 0\n"
        + f"C_LOOP_START gp2, {n}\nV_EXP_V gp1, gp1\nS_ADDI_INT gp1, gp1, 64\nC_LOOP_END gp2\n"
    )
    ex = execute(src, MemoryImage(vram={0: values}))
    got = ex.machine.vram[: values.size].astype(np.float32)
    with np.errstate(all="ignore"):
        expected = bf16(np.exp(np.clip(values, np.float32(-88), np.float32(88))))
    np.testing.assert_array_equal(got, expected)


def test_reductions_accumulate_and_respect_mask():
    x = bf16(RNG.normal(size=V))
    src = (
        SETUP
        + "S_LD_FP f2, gp0, 1\nV_RED_SUM f2, gp1\nV_RED_SUM f2, gp1\n"  # 10 + 2*sum
        + "S_LD_FP f3, gp0, 2\nV_RED_MAX f3, gp1\n"
        + "S_ADDI_INT gp4, gp0, 2\nC_SET_V_MASK_REG gp4\n"
        + "S_LD_FP f4, gp0, 3\nV_RED_SUM f4, gp1, 1\nS_LD_FP f5, gp0, 2\nV_RED_MAX f5, gp1, 1\n"
        + "V_RED_SUM f0, gp1\n"
    )
    ex = execute(src, MemoryImage(vram=_rows(x), fpsram={0: [0.0, 10.0, -np.inf, 0.0]}))
    f = ex.machine.f
    once = float(bf16(10.0 + np.float32(x.astype(np.float64).sum()))[()])
    assert f[2] == float(bf16(once + np.float32(x.astype(np.float64).sum()))[()])
    assert f[3] == x.max()
    assert f[4] == float(bf16(np.float32(x[16:32].astype(np.float64).sum()))[()])
    assert f[5] == x[16:32].max()
    assert f[0] == 0.0  # writes to f0 are dropped


def test_running_max_keeps_larger_accumulator():
    ex = execute(
        SETUP + "S_LD_FP f2, gp0, 1\nV_RED_MAX f2, gp1\n",
        MemoryImage(vram=_rows(np.zeros(V)), fpsram={1: [5.0]}),
    )
    assert ex.machine.f[2] == 5.0


@pytest.mark.parametrize("k", [0, 1, 17, 63, 64, 1000])
def test_shift_toward_higher_indices(k):
    x = bf16(np.arange(1, V + 1))
    ex = execute(SETUP + f"S_ADDI_INT gp4, gp0, {k}\nV_SHFT_V gp3, gp1, gp4\n", MemoryImage(vram=_rows(x)))
    expected = np.zeros(V, np.float32)
    if k < V:
        expected[k:] = x[: V - k]
    np.testing.assert_array_equal(_row(ex, 2), expected)


@pytest.mark.parametrize(("policy", "n", "k"), [(0, 32, 4), (1, 128, 8)])
def test_topk_router(policy, n, k):
    logits = bf16(RNG.permutation(n) * 0.1 - 3)
    logits[5] = logits[6] = 50.0  # tie: lower index first
    src = (
        f"S_ADDI_INT gp1, gp0, 16\nS_ADDI_INT gp2, gp0, 0\n"
        f"S_ADDI_INT gp3, gp0, 8\nV_TOPK gp1, gp2, gp3, {policy}\n"
    )
    ex = execute(src, MemoryImage(vram={0: logits}))
    order = np.argsort(-logits.astype(np.float64), kind="stable")[:k]
    assert list(order[:2]) == [5, 6]
    weights = np.exp(logits[order] - logits[order].max())
    weights /= weights.sum()
    np.testing.assert_array_equal(ex.machine.intsram[8 : 8 + k], order)
    np.testing.assert_array_equal(ex.machine.fpsram[16 : 16 + k].astype(np.float32), bf16(weights))


def test_map_fpsram_row_into_vram():
    vals = bf16(RNG.normal(size=V + 3))
    ex = execute(
        "S_ADDI_INT gp1, gp0, 128\nS_ADDI_INT gp2, gp0, 1\nS_MAP_V_FP gp1, gp2, 2\n",
        MemoryImage(fpsram={0: vals}),
    )
    np.testing.assert_array_equal(_row(ex, 2), vals[3 : 3 + V])


# ----------------------------------------------------------------------------- scalar FP


@pytest.mark.parametrize(
    ("text", "a", "b", "model"),
    [
        ("S_ADD_FP f3, f1, f2", 1.0, 2.0**-9, lambda a, b: a + b),  # 1 + 2^-9 rounds to 1 in BF16
        ("S_ADD_FP f3, f1, f2", 1.0, 3 * 2.0**-9, lambda a, b: a + b),
        ("S_SUB_FP f3, f1, f2", 3.5, 1.25, lambda a, b: a - b),
        ("S_MUL_FP f3, f1, f2", 1.0078125, 1.0078125, lambda a, b: a * b),
        ("S_MAX_FP f3, f1, f2", -2.0, 0.5, max),
        ("S_EXP_FP f3, f1", 1.5, 0, lambda a, b: math.exp(a)),
        ("S_EXP_FP f3, f1", 100.0, 0, lambda a, b: math.exp(88.0)),
        ("S_RECI_FP f3, f1", 3.0, 0, lambda a, b: 1 / a),
        ("S_RECI_FP f3, f1", 0.0, 0, lambda a, b: math.inf),
        ("S_SQRT_FP f3, f1", 2.0, 0, lambda a, b: math.sqrt(a)),
        ("S_MUL_FP f3, f1, f2", 3e38, 3e38, lambda a, b: math.inf),
    ],
)
def test_scalar_fp_rounds_to_bf16(text, a, b, model):
    ex = execute("S_LD_FP f1, gp0, 0\nS_LD_FP f2, gp0, 1\n" + text + "\n", MemoryImage(fpsram={0: [a, b]}))
    ra, rb = float(bf16(a)[()]), float(bf16(b)[()])
    assert ex.machine.f[3] == float(bf16(np.float32(model(ra, rb)))[()])


def test_scalar_fp_specials_and_f0():
    src = (
        "S_LD_FP f1, gp0, 0\nS_SQRT_FP f2, f1\nS_LD_FP f3, gp0, 1\nS_ADD_FP f0, f3, f3\nS_LD_FP f0, gp0, 1\n"
    )
    ex = execute(src + "S_ST_FP f3, gp0, 7\n", MemoryImage(fpsram={0: [-4.0, 2.5]}))
    assert math.isnan(ex.machine.f[2])
    assert ex.machine.f[0] == 0.0
    assert float(ex.machine.fpsram[7]) == 2.5


# ----------------------------------------------------------------------------- scalar INT


def test_integer_wraparound_and_ops():
    src = (
        "S_LUI_INT gp1, 0x3FFFFF\nS_ADDI_INT gp1, gp1, 0xFFF\n"  # 0xFFFFFFFF
        "S_ADDI_INT gp2, gp1, 2\n"  # wraps to 1
        "S_SUB_INT gp3, gp0, gp2\n"  # 0 - 1 = 0xFFFFFFFF
        "S_ADDI_INT gp4, gp0, 65536\nS_MUL_INT gp5, gp4, gp4\n"  # 2^32 wraps to 0
        "S_ADDI_INT gp6, gp0, 7\nS_MUL_INT gp7, gp6, gp4\nS_ADD_INT gp8, gp1, gp1\n"
    )
    g = execute(src).machine.g
    assert g[1] == 0xFFFFFFFF and g[2] == 1 and g[3] == 0xFFFFFFFF
    assert g[5] == 0 and g[7] == 7 * 65536 and g[8] == 0xFFFFFFFE


@pytest.mark.parametrize("value", [0, 1, (1 << 18) - 1, 1 << 18, 123_456_789, 0xFFFFFFFF, 0x80000000])
def test_lui_addi_build_any_constant(value):
    assert execute(const("gp9", value)).machine.g[9] == value


def test_int_sram_load_store():
    src = (
        "S_ADDI_INT gp1, gp0, 100\nS_ADDI_INT gp2, gp0, 41\n"
        "S_ST_INT gp2, gp1, 5\nS_LD_INT gp3, gp0, 105\nS_LD_INT gp4, gp0, 3\n"
    )
    ex = execute(src, MemoryImage(intsram={3: [99]}))
    assert ex.machine.g[3] == 41 and ex.machine.g[4] == 99 and ex.machine.intsram[105] == 41


def test_control_registers():
    src = (
        "S_ADDI_INT gp1, gp0, 3\nS_ADDI_INT gp2, gp0, 9\n"
        "C_SET_ADDR_REG a2, gp1, gp2\nC_SET_SCALE_REG gp2\n"
        "C_SET_STRIDE_REG gp1\nC_SET_V_MASK_REG gp2\n"
    )
    m = execute(src).machine
    assert m.a[2] == (3 << 32) | 9 and m.scale_reg == 9 and m.stride_reg == 3 and m.vmask == 9


# ----------------------------------------------------------------------------- loops


def test_nested_loops_and_counter_semantics():
    src = (
        "C_LOOP_START gp1, 3\n"
        "C_LOOP_START gp2, 4\nS_ADDI_INT gp3, gp3, 1\nS_ADD_INT gp4, gp4, gp2\nC_LOOP_END gp2\n"
        "S_ADD_INT gp5, gp5, gp1\n"
        "C_LOOP_END gp1\n"
    )
    ex = execute(src)
    g = ex.machine.g
    assert g[3] == 12  # body ran 3 * 4 times
    assert g[4] == 3 * (4 + 3 + 2 + 1)  # the counter counts down from the count to 1
    assert g[5] == 3 + 2 + 1
    assert g[1] == 0 and g[2] == 0  # counters end at 0
    assert ex.stats.instructions == 1 + 3 * (1 + 4 * 3 + 1 + 1)


def test_break_leaves_loop_after_current_iteration():
    src = (
        "C_LOOP_START gp1, 10\nS_ADDI_INT gp2, gp2, 1\nC_BREAK\n"
        "S_ADDI_INT gp3, gp3, 1\nC_LOOP_END gp1\nS_ADDI_INT gp4, gp0, 7\n"
    )
    g = execute(src).machine.g
    assert g[2] == 1 and g[3] == 1 and g[4] == 7 and g[1] == 0


def test_break_inner_loop_only():
    src = (
        "C_LOOP_START gp1, 3\nC_LOOP_START gp2, 5\nS_ADDI_INT gp3, gp3, 1\nC_BREAK\nC_LOOP_END gp2\n"
        "S_ADDI_INT gp4, gp4, 1\nC_LOOP_END gp1\n"
    )
    g = execute(src).machine.g
    assert g[3] == 3 and g[4] == 3


def test_loop_of_one_runs_once():
    assert execute("C_LOOP_START gp1, 1\nS_ADDI_INT gp2, gp2, 1\nC_LOOP_END gp1\n").machine.g[2] == 1


def test_static_cycle_costs_add_up():
    ex = execute(SETUP + "V_RED_SUM f1, gp1\nV_EXP_V gp2, gp1\nV_RECI_V gp2, gp1\n")
    busy = ex.stats.unit_busy_cycles
    assert busy["vector"] == 8 + 1 + 2
    assert busy["scalar"] == 4 and ex.stats.cycles == 15
    assert ex.stats.instruction_mix["vector"] == 3 and ex.stats.opcode_counts["V_RED_SUM"] == 1
