"""Level 2 encoding and attention tasks: RoPE, SDPA, FlashAttention, MHA, GQA, MQA.

All attention is non-causal, batch 1: softmax(Q K^T / sqrt(dhead)) V per head.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import ops
from .base import InputSpec, Rounder, Task, table

SDPA_SHAPES = table([(32, 64), (64, 128), (64, 256), (128, 128), (128, 256)], "S D")


def _rope(v, p, r: Rounder) -> np.ndarray:
    x = v["x"]
    return r(r(x * v["cos"]) + r(ops.rotate_half(x) * v["sin"]))


def _sdpa(v, p, r: Rounder) -> np.ndarray:
    return ops.attention(v["Q"], v["K"], v["V"], r)


def projected_attention(v, p, r: Rounder) -> np.ndarray:
    """x -> per-head attention of (x Wq, x Wk, x Wv) -> concat -> Wo, for MHA, GQA and MQA."""
    x = v["x"]
    q = ops.matmul(x, v["Wq"], r)
    k = ops.matmul(x, v["Wk"], r)
    val = ops.matmul(x, v["Wv"], r)
    heads = ops.multi_head(q, k, val, p["nh"], p.get("nkv", p["nh"]), r)
    return ops.matmul(heads, v["Wo"], r)


def projected_attention_macs(p) -> int:
    """Wq and Wo (H x H each), Wk and Wv (H x kv width each), then Q K^T and P V over all heads."""
    s, h = p["S"], p["H"]
    return 2 * s * h * h + 2 * s * h * _kv_width(p) + attention_core_macs(s, h)


def attention_core_macs(s: int, width: int) -> int:
    """Q K^T and P V: two S x S x width products."""
    return 2 * s * s * width


def _dhead(p) -> int:
    return p["H"] // p["nh"]


def _kv_width(p) -> int:
    return p.get("nkv", p["nh"]) * _dhead(p)


def projection_inputs(kv_width) -> tuple[InputSpec, ...]:
    return (
        InputSpec("x", lambda p: (p["S"], p["H"]), feeds_scores=True),
        InputSpec("Wq", lambda p: (p["H"], p["H"]), kind="weight", counter_gain=True),
        InputSpec("Wk", lambda p: (p["H"], kv_width(p)), kind="weight", counter_gain=True),
        InputSpec("Wv", lambda p: (p["H"], kv_width(p)), kind="weight"),
        InputSpec("Wo", lambda p: (p["H"], p["H"]), kind="weight"),
    )


_QKV = (
    InputSpec("Q", lambda p: (p["S"], p["D"]), logits=True),
    InputSpec("K", lambda p: (p["S"], p["D"]), logits=True),
    InputSpec("V", lambda p: (p["S"], p["D"])),
)

ROPE = Task(
    id="rope",
    name="RoPE",
    level=2,
    category="Encoding",
    description=(
        "Rotary position encoding of x [S, D] with precomputed tables cos [S, D] and sin [S, D]: "
        "y = x * cos + rotate_half(x) * sin, where rotate_half(x) = concat(-x[:, D/2:], x[:, :D/2]) "
        "along the columns. The output is [S, D]."
    ),
    input_specs=(
        InputSpec("x", lambda p: (p["S"], p["D"])),
        InputSpec("cos", lambda p: (p["S"], p["D"]), kind="cos"),
        InputSpec("sin", lambda p: (p["S"], p["D"]), kind="sin"),
    ),
    output_rule=lambda p: (p["S"], p["D"]),
    compute=_rope,
    default_configs=table([(32, 64), (64, 128), (128, 64), (128, 128), (256, 128)], "S D"),
    hidden_param="D",
)

SDPA = Task(
    id="sdpa",
    name="ScaledDotProduct",
    level=2,
    category="Attention (core)",
    description=(
        "Single-head scaled dot-product attention, non-causal: Y = softmax(Q K^T / sqrt(D)) V for "
        "Q, K, V [S, D], softmax over each row of the [S, S] score matrix (1/sqrt(D) preloaded as "
        "inv_sqrt_dhead). Y is [S, D]."
    ),
    input_specs=_QKV,
    output_rule=lambda p: (p["S"], p["D"]),
    compute=_sdpa,
    default_configs=SDPA_SHAPES,
    macs=lambda p: attention_core_macs(p["S"], p["D"]),
    hidden_param="D",
    dhead=lambda p: p["D"],
)

FLASH_ATTENTION = dataclasses.replace(
    SDPA,
    id="flash_attention",
    name="FlashAttention",
    description=(
        "The ScaledDotProduct computation Y = softmax(Q K^T / sqrt(D)) V (Q, K, V [S, D], "
        "non-causal, single head) written as a tiled kernel with an online softmax: process K and V "
        "in blocks of rows, keeping a running row maximum, running denominator and rescaled "
        "accumulator, so the full [S, S] score matrix is never materialised. Only the output is "
        "checked. Y is [S, D]."
    ),
)

MHA = Task(
    id="mha",
    name="MHA",
    level=2,
    category="Attention (+proj)",
    description=(
        "Multi-head self-attention with projections, non-causal: Q = x Wq, K = x Wk, V = x Wv "
        "(x [S, H], weights [H, H] stored [in, out]); head h uses columns [h*dh, (h+1)*dh) with "
        "dh = H / nh; O_h = softmax(Q_h K_h^T / sqrt(dh)) V_h; Y = concat_h(O_h) Wo. Y is [S, H]."
    ),
    input_specs=projection_inputs(_kv_width),
    output_rule=lambda p: (p["S"], p["H"]),
    compute=projected_attention,
    macs=projected_attention_macs,
    default_configs=table([(32, 64, 1), (64, 128, 2), (64, 256, 4), (128, 256, 4), (128, 512, 8)], "S H nh"),
    hidden_param="H",
    dhead=_dhead,
)

GQA = Task(
    id="gqa",
    name="GQA",
    level=2,
    category="Attention (+proj)",
    description=(
        "Grouped-query attention with projections, non-causal: Q = x Wq (Wq [H, H]), K = x Wk and "
        "V = x Wv (Wk, Wv [H, nkv*dh]), dh = H / nh. Query head h (columns [h*dh, (h+1)*dh) of Q) "
        "uses kv head g = h // (nh / nkv) (columns [g*dh, (g+1)*dh) of K and V); "
        "O_h = softmax(Q_h K_g^T / sqrt(dh)) V_g; Y = concat_h(O_h) Wo with Wo [H, H]. Y is [S, H]."
    ),
    input_specs=projection_inputs(_kv_width),
    output_rule=lambda p: (p["S"], p["H"]),
    compute=projected_attention,
    macs=projected_attention_macs,
    default_configs=table(
        [(32, 128, 2, 1), (64, 256, 4, 2), (64, 512, 8, 4), (128, 512, 8, 4), (128, 512, 8, 2)],
        "S H nh nkv",
    ),
    hidden_param="H",
    dhead=_dhead,
)

MQA = Task(
    id="mqa",
    name="MQA",
    level=2,
    category="Attention (+proj)",
    description=(
        "Multi-query attention with projections, non-causal: as GQA with a single kv head. "
        "Q = x Wq (Wq [H, H]), K = x Wk and V = x Wv (Wk, Wv [H, dh]), dh = H / nh; every query "
        "head h uses the same K and V: O_h = softmax(Q_h K^T / sqrt(dh)) V; Y = concat_h(O_h) Wo "
        "with Wo [H, H]. Y is [S, H]."
    ),
    input_specs=projection_inputs(_kv_width),
    output_rule=lambda p: (p["S"], p["H"]),
    compute=projected_attention,
    macs=projected_attention_macs,
    default_configs={
        name: {**cfg, "nkv": 1}
        for name, cfg in table(
            [(32, 128, 2), (64, 256, 4), (64, 512, 8), (128, 512, 8), (128, 512, 8)], "S H nh"
        ).items()
    },
    hidden_param="H",
    dhead=_dhead,
)

TASKS = (ROPE, SDPA, FLASH_ATTENTION, MHA, GQA, MQA)
