"""References against independent formulas and direct loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kernelcraft.tasks import get_task


def make_inputs(task, config: str, seed: int, profile: str = "normal"):
    """The task's inputs at one of its default configurations."""
    return task.make_inputs_for(task.default_configs[config], seed, profile)


def _case(task_id: str, config: str = "C1", seed: int = 0):
    task = get_task(task_id)
    params = task.default_configs[config]
    inputs = {k: v.astype(np.float64) for k, v in make_inputs(task, config, seed).items()}
    return task, params, inputs


def _softmax_loop(s: np.ndarray) -> np.ndarray:
    out = np.empty_like(s)
    for i in range(s.shape[0]):
        e = [math.exp(v - max(s[i])) for v in s[i]]
        out[i] = [v / sum(e) for v in e]
    return out


def _attention_loop(q, k, v):
    d = q.shape[1]
    scores = np.array([[sum(q[i, t] * k[j, t] for t in range(d)) / math.sqrt(d) for j in range(len(k))]
                       for i in range(len(q))])  # fmt: skip
    return _softmax_loop(scores) @ v


def test_activations():
    task, p, v = _case("silu")
    x = v["x"]
    np.testing.assert_allclose(task.reference(v, p), x / (1 + np.exp(-x)))
    task, p, v = _case("relu")
    assert (task.reference(v, p) == np.where(v["x"] > 0, v["x"], 0)).all()
    task, p, v = _case("gelu")
    expected = [[t * 0.5 * (1 + math.erf(t / math.sqrt(2))) for t in row] for row in v["x"]]
    np.testing.assert_allclose(task.reference(v, p), expected, rtol=1e-12)


def test_softmax_rows_sum_to_one():
    task, p, v = _case("softmax", "C3")
    y = task.reference(v, p)
    np.testing.assert_allclose(y.sum(axis=1), 1.0)
    np.testing.assert_allclose(y, _softmax_loop(v["x"]))


def test_layernorm_and_rmsnorm_statistics():
    task, p, v = _case("layernorm", "C2")
    y = task.reference(v, p)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-12)
    var = v["x"].var(axis=1)
    np.testing.assert_allclose(y.var(axis=1), var / (var + 1e-5))
    task, p, v = _case("rmsnorm", "C2")
    y = task.reference(v, p)
    ms = (v["x"] ** 2).mean(axis=1)
    np.testing.assert_allclose((y**2).mean(axis=1), ms / (ms + 1e-6))


def test_matrix_tasks_against_loops():
    task, p, v = _case("gemv")
    y = task.reference(v, p)
    assert y.shape == (1, 64)
    A, x = v["A"], v["x"][0]
    np.testing.assert_allclose(y[0], [sum(A[m, n] * x[n] for n in range(512)) for m in range(64)])
    gemm, p, v = _case("gemm", "C2")
    np.testing.assert_allclose(gemm.reference(v, p), v["X"] @ v["W"])
    lin, p, v = _case("linear", "C2")
    np.testing.assert_allclose(lin.reference(v, p), v["X"] @ v["W"] + v["b"][0][None, :])
    bmm, p, v = _case("batch_matmul", "C2")
    y = bmm.reference(v, p)
    for b in range(p["B"]):
        np.testing.assert_allclose(y[b], v["X"][b] @ v["W"][b])


def test_rope_rotates_pairs():
    task, p, v = _case("rope", "C2")
    y = task.reference(v, p)
    half = p["D"] // 2
    x = v["x"]
    np.testing.assert_allclose(y[0], x[0])  # position 0 is the identity
    norm_in = x[:, :half] ** 2 + x[:, half:] ** 2
    norm_out = y[:, :half] ** 2 + y[:, half:] ** 2
    np.testing.assert_allclose(norm_out, norm_in, rtol=1e-5)
    c, s = v["cos"], v["sin"]
    expected_first = x[:, :half] * c[:, :half] - x[:, half:] * s[:, :half]
    np.testing.assert_allclose(y[:, :half], expected_first)


def test_sdpa_and_flash_attention_match_a_direct_loop():
    task, p, v = _case("sdpa")
    expected = _attention_loop(v["Q"], v["K"], v["V"])
    np.testing.assert_allclose(task.reference(v, p), expected, rtol=1e-10, atol=1e-12)
    flash = get_task("flash_attention")
    np.testing.assert_allclose(flash.reference(v, p), expected, rtol=1e-10, atol=1e-12)


def test_mha_single_head_is_sdpa_on_projections():
    task, p, v = _case("mha")  # nh = 1
    q, k, val = v["x"] @ v["Wq"], v["x"] @ v["Wk"], v["x"] @ v["Wv"]
    expected = _attention_loop(q, k, val) @ v["Wo"]
    np.testing.assert_allclose(task.reference(v, p), expected, rtol=1e-9, atol=1e-12)


def test_gqa_head_mapping_and_special_cases():
    gqa, p, v = _case("gqa", "C2")  # nh 4, nkv 2, dh 64
    x = v["x"]
    q, k, val = x @ v["Wq"], x @ v["Wk"], x @ v["Wv"]
    heads = []
    for h in range(4):
        g = h // 2
        qs, ks = slice(64 * h, 64 * h + 64), slice(64 * g, 64 * g + 64)
        heads.append(_attention_loop(q[:, qs], k[:, ks], val[:, ks]))
    expected = np.concatenate(heads, axis=1) @ v["Wo"]
    np.testing.assert_allclose(gqa.reference(v, p), expected, rtol=1e-9, atol=1e-12)

    # GQA with nkv = nh is MHA; MQA is GQA with nkv = 1.
    mha = get_task("mha")
    mha_params = mha.default_configs["C4"]  # S 128, H 256, nh 4
    inputs = {k2: a.astype(np.float64) for k2, a in make_inputs(mha, "C4", 2).items()}
    np.testing.assert_allclose(
        gqa.reference(inputs, {**mha_params, "nkv": 4}), mha.reference(inputs, mha_params), rtol=1e-12
    )
    mqa, mp, mv = _case("mqa", "C2")
    np.testing.assert_allclose(mqa.reference(mv, mp), gqa.reference(mv, {**mp, "nkv": 1}), rtol=1e-12)


def _rms(z):
    return z / np.sqrt((z**2).mean(axis=1, keepdims=True) + 1e-6)


def _silu(z):
    return z / (1 + np.exp(-z))


def test_decoder_llama_composition():
    task, p, v = _case("decoder_llama")  # S 32, H 64, nh 1
    n1 = _rms(v["x"])
    h = v["x"] + _attention_loop(n1 @ v["Wq"], n1 @ v["Wk"], n1 @ v["Wv"]) @ v["Wo"]
    n2 = _rms(h)
    expected = h + (_silu(n2 @ v["Wg"]) * (n2 @ v["Wu"])) @ v["Wd"]
    np.testing.assert_allclose(task.reference(v, p), expected, rtol=1e-9, atol=1e-10)


def test_decoder_t5_composition():
    task, p, v = _case("decoder_t5")
    x, enc = v["x"], v["enc"]
    n1 = _rms(x)
    h1 = x + _attention_loop(n1 @ v["Wq"], n1 @ v["Wk"], n1 @ v["Wv"]) @ v["Wo"]
    n2 = _rms(h1)
    h2 = h1 + _attention_loop(n2 @ v["Cq"], enc @ v["Ck"], enc @ v["Cv"]) @ v["Co"]
    n3 = _rms(h2)
    expected = h2 + np.maximum(n3 @ v["W1"], 0) @ v["W2"]
    np.testing.assert_allclose(task.reference(v, p), expected, rtol=1e-9, atol=1e-10)


def test_convolutions_against_loops():
    conv = get_task("conv2d")
    p = dict(conv.default_configs["C2"])  # H 8, Cin 8, Cout 8, k 3
    v = {k: a.astype(np.float64) for k, a in conv.make_inputs_for(p, 0).items()}
    x, w = v["x"], v["w"]
    y = conv.reference(v, p)
    i, j, o = 0, 5, 3
    expected = sum(
        w[o, c, u, t] * x[c, i + u - 1, j + t - 1]
        for c in range(8)
        for u in range(3)
        for t in range(3)
        if 0 <= i + u - 1 < 8 and 0 <= j + t - 1 < 8
    )
    assert y[o, i, j] == pytest.approx(expected)
    block = get_task("conv_block")
    bv = {k: a.astype(np.float64) for k, a in block.make_inputs_for(p, 0).items()}
    yb = block.reference(bv, p)
    yc = conv.reference({"x": bv["x"], "w": bv["w"]}, p)
    np.testing.assert_allclose(
        yb, np.maximum(yc * bv["bn_scale"][:, None, None] + bv["bn_shift"][:, None, None], 0)
    )
    dw = get_task("depthwise_conv")
    dp = dict(dw.default_configs["C1"])
    dv = {k: a.astype(np.float64) for k, a in dw.make_inputs_for(dp, 0).items()}
    yd = dw.reference(dv, dp)
    c = 2
    expected = sum(dv["w"][c, u, t] * dv["x"][c, 3 + u - 1, 4 + t - 1] for u in range(3) for t in range(3))
    assert yd[c, 3, 4] == pytest.approx(expected)
