"""Seeded input generation and value profiles."""

from __future__ import annotations

import numpy as np

from kernelcraft.tasks import get_task


def make_inputs(task, config: str, seed: int, profile: str = "normal"):
    """The task's inputs at one of its default configurations."""
    return task.make_inputs_for(task.default_configs[config], seed, profile)


def test_same_seed_same_inputs_other_seed_other_inputs():
    task = get_task("ffn")
    a = make_inputs(task, "C2", 11)
    b = make_inputs(task, "C2", 11)
    c = make_inputs(task, "C2", 12)
    assert a.keys() == {"x", "W1", "W2"}
    for name in a:
        assert a[name].dtype == np.float32
        np.testing.assert_array_equal(a[name], b[name])
        assert not np.array_equal(a[name], c[name])


def test_tasks_with_equal_shapes_draw_different_values():
    x_silu = make_inputs(get_task("silu"), "C1", 5)["x"]
    x_relu = make_inputs(get_task("relu"), "C1", 5)["x"]
    assert not np.array_equal(x_silu, x_relu)


def test_weights_scale_with_fan_in():
    inputs = make_inputs(get_task("gemm"), "C5", 0)
    assert abs(inputs["X"].std() - 1.0) < 0.1
    assert abs(inputs["W"].std() * np.sqrt(256) - 1.0) < 0.05
    gemv = make_inputs(get_task("gemv"), "C1", 0)
    assert abs(gemv["A"].std() * np.sqrt(512) - 1.0) < 0.05  # fan-in is N for A [M, N]


def test_profiles_shape_activations_not_weights():
    task = get_task("gemm")
    normal = make_inputs(task, "C4", 3)
    large = make_inputs(task, "C4", 3, "large")
    small = make_inputs(task, "C4", 3, "small")
    np.testing.assert_allclose(large["X"], normal["X"] * 8, rtol=1e-6)
    np.testing.assert_allclose(small["X"], normal["X"] / 8, rtol=1e-6)
    np.testing.assert_array_equal(large["W"], normal["W"])

    near = make_inputs(task, "C4", 3, "near_zero")["X"]
    assert np.abs(near).max() <= 0.05 and 0.02 < np.mean(near == 0) < 0.2

    mixed = make_inputs(task, "C4", 3, "mixed_signs")["X"].reshape(-1)
    nonzero = mixed[mixed != 0]
    assert (np.sign(mixed[0::2]) >= 0).all() and (np.sign(mixed[1::2]) <= 0).all()
    assert np.abs(nonzero).max() > 4  # heavy tails
    assert np.abs(mixed).max() <= 12


def test_attention_logits_stay_order_one_under_large():
    task = get_task("sdpa")
    large = make_inputs(task, "C1", 1, "large")
    assert large["Q"].std() < 1.5 and large["V"].std() > 6
    mha_normal = make_inputs(get_task("mha"), "C2", 1)
    mha_large = make_inputs(get_task("mha"), "C2", 1, "large")
    np.testing.assert_allclose(mha_large["Wq"], mha_normal["Wq"] / 8, rtol=1e-6)
    np.testing.assert_array_equal(mha_large["Wv"], mha_normal["Wv"])


def test_rotary_tables_are_cos_and_sin_of_positions():
    inputs = make_inputs(get_task("rope"), "C1", 0)
    cos, sin = inputs["cos"], inputs["sin"]
    np.testing.assert_allclose(cos**2 + sin**2, 1.0, atol=1e-6)
    np.testing.assert_allclose(cos[0], 1.0)
    np.testing.assert_allclose(cos[:, :32], cos[:, 32:])
    np.testing.assert_allclose(sin[3, 0], np.sin(3.0), rtol=1e-6)
