"""Level 3 transformer blocks: LLaMA-style and T5-style decoder blocks (pre-norm, no affine)."""

from __future__ import annotations

import numpy as np

from . import ops
from .attention import attention_core_macs
from .base import InputSpec, Rounder, Task, table
from .mlp import swiglu

DECODER_SHAPES = table(
    [(32, 64, 1, 128), (64, 128, 2, 256), (64, 256, 4, 512), (128, 256, 4, 512), (128, 512, 8, 1024)],
    "S H nh I",
)
RMS_EPS = 1e-6


def _square(name: str, counter_gain: bool = False) -> InputSpec:
    return InputSpec(name, lambda p: (p["H"], p["H"]), kind="weight", counter_gain=counter_gain)


def _attend(q_in, kv_in, wq, wk, wv, wo, nh: int, r: Rounder) -> np.ndarray:
    q = ops.matmul(q_in, wq, r)
    k = ops.matmul(kv_in, wk, r)
    v = ops.matmul(kv_in, wv, r)
    return ops.matmul(ops.multi_head(q, k, v, nh, nh, r), wo, r)


def _llama(v, p, r: Rounder) -> np.ndarray:
    x, nh = v["x"], p["nh"]
    n1 = ops.rmsnorm_rows(x, RMS_EPS, r)
    h = r(x + _attend(n1, n1, v["Wq"], v["Wk"], v["Wv"], v["Wo"], nh, r))
    n2 = ops.rmsnorm_rows(h, RMS_EPS, r)
    return r(h + swiglu(n2, v["Wg"], v["Wu"], v["Wd"], r))


def _t5(v, p, r: Rounder) -> np.ndarray:
    x, enc, nh = v["x"], v["enc"], p["nh"]
    n1 = ops.rmsnorm_rows(x, RMS_EPS, r)
    h1 = r(x + _attend(n1, n1, v["Wq"], v["Wk"], v["Wv"], v["Wo"], nh, r))
    n2 = ops.rmsnorm_rows(h1, RMS_EPS, r)
    h2 = r(h1 + _attend(n2, enc, v["Cq"], v["Ck"], v["Cv"], v["Co"], nh, r))
    n3 = ops.rmsnorm_rows(h2, RMS_EPS, r)
    mlp = ops.matmul(ops.relu(ops.matmul(n3, v["W1"], r), r), v["W2"], r)
    return r(h2 + mlp)


DECODER_LLAMA = Task(
    id="decoder_llama",
    name="DecoderBlock (LLaMA-style)",
    level=3,
    category="Transformer",
    description=(
        "A LLaMA-style pre-norm decoder block on x [S, H], non-causal: h = x + MHA(rmsnorm(x)) and "
        "Y = h + SwiGLU(rmsnorm(h)). rmsnorm(z) = z / sqrt(mean(z^2) + eps) per row, eps = 1e-6, no "
        "gain. MHA(z) = concat_h(softmax(Q_h K_h^T / sqrt(dh)) V_h) Wo with Q = z Wq, K = z Wk, "
        "V = z Wv, nh heads of dh = H / nh columns. SwiGLU(z) = (silu(z Wg) * (z Wu)) Wd. Weights "
        "Wq, Wk, Wv, Wo [H, H], Wg, Wu [H, I], Wd [I, H], stored [in, out]. Y is [S, H]."
    ),
    input_specs=(
        InputSpec("x", lambda p: (p["S"], p["H"])),
        _square("Wq"),
        _square("Wk"),
        _square("Wv"),
        _square("Wo"),
        InputSpec("Wg", lambda p: (p["H"], p["I"]), kind="weight"),
        InputSpec("Wu", lambda p: (p["H"], p["I"]), kind="weight"),
        InputSpec("Wd", lambda p: (p["I"], p["H"]), kind="weight"),
    ),
    output_rule=lambda p: (p["S"], p["H"]),
    compute=_llama,
    default_configs=DECODER_SHAPES,
    macs=lambda p: (
        4 * p["S"] * p["H"] ** 2 + attention_core_macs(p["S"], p["H"]) + 3 * p["S"] * p["H"] * p["I"]
    ),
    eps=RMS_EPS,
    hidden_param="H",
    dhead=lambda p: p["H"] // p["nh"],
)

DECODER_T5 = Task(
    id="decoder_t5",
    name="DecoderBlock (T5-style)",
    level=3,
    category="Transformer",
    description=(
        "A T5-style pre-norm decoder block on x [S, H] with encoder states enc [S, H], non-causal: "
        "h1 = x + SelfAttn(rmsnorm(x)); h2 = h1 + CrossAttn(rmsnorm(h1), enc); "
        "Y = h2 + relu(rmsnorm(h2) W1) W2. rmsnorm(z) = z / sqrt(mean(z^2) + eps) per row, "
        "eps = 1e-6, no gain. SelfAttn(z) = concat_h(softmax(Q_h K_h^T / sqrt(dh)) V_h) Wo with "
        "Q = z Wq, K = z Wk, V = z Wv; CrossAttn(z, e) is the same with Q = z Cq, K = e Ck, "
        "V = e Cv and output projection Co (enc is not normalised). nh heads of dh = H / nh "
        "columns. Weights Wq, Wk, Wv, Wo, Cq, Ck, Cv, Co [H, H], W1 [H, I], W2 [I, H], stored "
        "[in, out]. Y is [S, H]."
    ),
    input_specs=(
        InputSpec("x", lambda p: (p["S"], p["H"])),
        InputSpec("enc", lambda p: (p["S"], p["H"]), feeds_scores=True),
        _square("Wq"),
        _square("Wk"),
        _square("Wv"),
        _square("Wo"),
        _square("Cq"),
        _square("Ck", counter_gain=True),  # enc is not normalised: keep cross logits O(1)
        _square("Cv"),
        _square("Co"),
        InputSpec("W1", lambda p: (p["H"], p["I"]), kind="weight"),
        InputSpec("W2", lambda p: (p["I"], p["H"]), kind="weight"),
    ),
    output_rule=lambda p: (p["S"], p["H"]),
    compute=_t5,
    default_configs=DECODER_SHAPES,
    macs=lambda p: (
        8 * p["S"] * p["H"] ** 2 + 2 * attention_core_macs(p["S"], p["H"]) + 2 * p["S"] * p["H"] * p["I"]
    ),
    eps=RMS_EPS,
    hidden_param="H",
    dhead=lambda p: p["H"] // p["nh"],
)

TASKS = (DECODER_LLAMA, DECODER_T5)
