"""The integer forms: fixed-point primitives, tables, and references that track the float math."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernelcraft.tasks import PROFILES, get_task
from kernelcraft.tasks import quantized as q

INTEGER_TASKS = (
    "relu",
    "silu",
    "gelu",
    "softmax",
    "rmsnorm",
    "gemv",
    "gemm",
    "batch_matmul",
    "linear",
    "conv2d",
    "depthwise_conv",
    "conv_block",
    "ffn",
)
SMALL = {
    "relu": {"R": 2, "H": 16},
    "silu": {"R": 2, "H": 16},
    "gelu": {"R": 2, "H": 16},
    "softmax": {"R": 3, "H": 64},
    "rmsnorm": {"R": 3, "H": 64},
    "gemv": {"M": 8, "N": 16},
    "gemm": {"M": 4, "K": 8, "N": 8},
    "batch_matmul": {"B": 2, "M": 4, "K": 8, "N": 8},
    "linear": {"M": 4, "K": 32, "N": 8},
    "conv2d": {"H": 6, "Cin": 3, "Cout": 4, "k": 3},
    "depthwise_conv": {"H": 6, "C": 4, "k": 3},
    "conv_block": {"H": 6, "Cin": 3, "Cout": 4, "k": 3},
    "ffn": {"N": 4, "H": 32, "I": 64},
}


def test_smul_rounds_half_up_and_saturates_only_at_the_corner():
    assert q.smul(1 << 30, 1 << 30) == 1 << 29
    assert q.smul(3, 1 << 30) == 2  # 1.5 rounds up
    assert q.smul(-3, 1 << 30) == -1  # -1.5 rounds up (towards +inf), unlike TFLM's reference
    assert q.smul(-(1 << 31), -(1 << 31)) == (1 << 31) - 1


def test_rshift_rounds_half_up():
    assert list(q.rshift(np.array([5, 6, 7, -5, -6, -7]), 1)) == [3, 3, 4, -2, -3, -3]
    assert q.rshift(7, 0) == 7


def test_quantize_multiplier_reproduces_the_real_scale():
    for real in (0.3, 1e-3, 2.5e-5, 0.999):
        m, s = q.quantize_multiplier(real)
        assert 1 << 30 <= m < 1 << 31 and s >= 0
        assert m * 2.0 ** -(31 + s) == pytest.approx(real, rel=1e-6)


def test_requantize_tracks_the_real_product():
    acc = np.arange(-100000, 100000, 997)
    m, s = q.quantize_multiplier(0.0007)
    got = q.requantize(acc, m, s, 3)
    want = np.clip(np.round(acc * 0.0007) + 3, -128, 127)
    assert np.abs(got - want).max() <= 1


@pytest.mark.parametrize("fn", ["silu", "gelu"])
def test_activation_tables_are_the_functions_on_the_grid(fn):
    table = q.activation_table(fn).astype(float)
    x = np.arange(-128, 128) / 16
    ref = (
        x / (1 + np.exp(-x))
        if fn == "silu"
        else np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    )
    assert np.abs(table / 16 - np.clip(ref, -8, 127 / 16)).max() <= 1 / 32 + 1e-12


def test_exp_table_is_monotone_and_ends_at_one():
    e = q.exp_table().astype(int)
    assert e[255] == 32767 and (np.diff(e) >= 0).all() and e[0] >= 0


def test_softmax_sums_to_one_in_output_units():
    task = get_task("softmax")
    p = {"R": 5, "H": 64}
    x = task.make_inputs_for(p, 1, "normal", "integer")
    y = task.reference(x, p, "integer").astype(int) + 128
    probs = np.exp(x["x"] / 32.0)
    probs /= probs.sum(-1, keepdims=True)
    assert np.abs(y / 256 - probs).max() < 2 / 256
    assert np.abs(y.sum(-1) - 256).max() <= 64 // 2


def test_rmsnorm_is_32_x_over_rms():
    task = get_task("rmsnorm")
    p = {"R": 4, "H": 128}
    x = task.make_inputs_for(p, 2, "normal", "integer")
    y = task.reference(x, p, "integer")
    xf = x["x"].astype(float)
    ref = np.clip(32 * xf / np.sqrt((xf**2).mean(-1, keepdims=True) + 1), -128, 127)
    assert np.abs(y - ref).max() <= 1.01


def test_rmsnorm_needs_power_of_two_rows():
    with pytest.raises(ValueError):
        q.rmsnorm_constants({"R": 1, "H": 96})


def test_depthwise_and_convblock_against_float_math():
    task = get_task("depthwise_conv")
    p = SMALL["depthwise_conv"]
    v = task.make_inputs_for(p, 3, "normal", "integer")
    c = q.depthwise_constants(p)
    from kernelcraft.tasks.conv import depthwise_same

    acc = (
        depthwise_same(v["x"].astype(float) + c["input_offset"], v["w"].astype(float))
        + v["bias"][:, None, None]
    )
    scale = c["multiplier"][:, None, None] * 2.0 ** -(31 + c["shift"])
    ref = np.clip(np.round(acc * scale), -128, 127)
    assert np.abs(task.reference(v, p, "integer") - ref).max() <= 1


@pytest.mark.parametrize("task_id", INTEGER_TASKS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_integer_form_draws_and_computes_in_every_profile(task_id, profile):
    task = get_task(task_id)
    form = task.integer
    p = SMALL[task_id]
    inputs = task.make_inputs_for(p, 7, profile, "integer")
    for spec in form.input_specs:
        assert inputs[spec.name].dtype == np.dtype(spec.dtype)
    out = task.reference(inputs, p, "integer")
    assert out.dtype == np.dtype(form.output_dtype) and out.shape == task.output_shape_for(p, "integer")
    again = task.reference(task.make_inputs_for(p, 7, profile, "integer"), p, "integer")
    assert (out == again).all()
    assert form.algorithm and isinstance(form.constants(p), dict)


def test_int8_outputs_use_the_range():
    # Requantisation scales aim at outputs that neither vanish nor saturate (normal profile).
    for task_id in ("linear", "depthwise_conv", "ffn"):
        task = get_task(task_id)
        p = SMALL[task_id]
        out = task.reference(task.make_inputs_for(p, 0, "normal", "integer"), p, "integer").astype(float)
        assert 15 < out.std() < 80, (task_id, out.std())
