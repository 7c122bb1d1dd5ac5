"""Multiply-accumulates each task needs, from its shape parameters; the compute side of the roofline.

Counts are the operator's mathematical MACs (matrix products and attention only): the
least work any correct kernel must put through the matrix unit. Elementwise and
normalisation work is not counted, so for those tasks the roofline is the HBM bound alone.
A task missing from the table counts 0 MACs, which keeps the bound a valid lower bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Params = Mapping[str, int]


def _projected_attention(p: Params) -> int:
    s, h, nh = p["S"], p["H"], p["nh"]
    kv_width = p.get("nkv", nh) * (h // nh)
    projections = s * h * h * 2 + s * h * kv_width * 2  # Wq, Wo; Wk, Wv
    return projections + 2 * s * s * h  # Q K^T and P V over all query heads


def _attention_core(s: int, h: int) -> int:
    return 2 * s * s * h


_MACS: dict[str, Callable[[Params], int]] = {
    "gemv": lambda p: p["M"] * p["N"],
    "gemm": lambda p: p["M"] * p["K"] * p["N"],
    "linear": lambda p: p["M"] * p["K"] * p["N"],
    "batch_matmul": lambda p: p["B"] * p["M"] * p["K"] * p["N"],
    "sdpa": lambda p: _attention_core(p["S"], p["D"]),
    "flash_attention": lambda p: _attention_core(p["S"], p["D"]),
    "mha": _projected_attention,
    "gqa": _projected_attention,
    "mqa": _projected_attention,
    "ffn": lambda p: 2 * p["N"] * p["H"] * p["I"],
    "swiglu": lambda p: 3 * p["N"] * p["H"] * p["I"],
    "decoder_llama": lambda p: (
        4 * p["S"] * p["H"] ** 2 + _attention_core(p["S"], p["H"]) + 3 * p["S"] * p["H"] * p["I"]
    ),
    "decoder_t5": lambda p: (
        8 * p["S"] * p["H"] ** 2 + 2 * _attention_core(p["S"], p["H"]) + 2 * p["S"] * p["H"] * p["I"]
    ),
    "conv2d": lambda p: p["Cout"] * p["Cin"] * p["H"] * p["H"] * p["k"] ** 2,
    "depthwise_conv": lambda p: p["C"] * p["H"] * p["H"] * p["k"] ** 2,
    "conv_block": lambda p: p["Cout"] * p["Cin"] * p["H"] * p["H"] * p["k"] ** 2,
}


def task_macs(task_id: str, params: Params) -> int:
    """MACs of one task instance; 0 for tasks without matrix products."""
    rule = _MACS.get(task_id)
    if rule is None:
        return 0
    try:
        return int(rule(params))
    except KeyError:  # a task whose parameters changed name: no compute bound rather than a wrong one
        return 0
