"""Operator maths shared by the task references, each stage passed through a rounding hook.

With the identity hook these are plain float64 formulas. With BF16 rounding they follow
the stage order a straightforward on-chip kernel uses (exp, add one, reciprocal, multiply),
so the emulation's error is the error a correct kernel can be expected to show.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Rounder, exact

_erf = np.vectorize(math.erf, otypes=[np.float64])

GELU_C1 = 2.0 * math.sqrt(2.0 / math.pi)
GELU_C3 = GELU_C1 * 0.044715


def matmul(a: np.ndarray, b: np.ndarray, r: Rounder) -> np.ndarray:
    """Products accumulate at full width (FP32 on chip); the result is written once."""
    return r(a @ b)


def sigmoid(x: np.ndarray, r: Rounder) -> np.ndarray:
    e = r(np.exp(np.clip(r(-x), -88.0, 88.0)))
    return r(1.0 / r(1.0 + e))


def silu(x: np.ndarray, r: Rounder) -> np.ndarray:
    return r(x * sigmoid(x, r))


def relu(x: np.ndarray, r: Rounder) -> np.ndarray:
    return r(np.maximum(x, 0.0))


def gelu_exact(x: np.ndarray) -> np.ndarray:
    return x * 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu(x: np.ndarray, r: Rounder) -> np.ndarray:
    """Exact (erf) GELU for the reference; the sigmoid form a kernel can compute otherwise."""
    if r is exact:  # the reference
        return gelu_exact(x)
    c1, c3 = r(np.array([GELU_C1]))[0], r(np.array([GELU_C3]))[0]
    inner = r(r(c1 * x) + r(c3 * r(r(x * x) * x)))
    return r(x * sigmoid(inner, r))


def softmax_rows(x: np.ndarray, r: Rounder) -> np.ndarray:
    shifted = r(x - x.max(axis=-1, keepdims=True))
    e = r(np.exp(shifted))
    total = r(e.sum(axis=-1, keepdims=True))
    return r(e * r(1.0 / total))


def layernorm_rows(x: np.ndarray, eps: float, r: Rounder) -> np.ndarray:
    n = x.shape[-1]
    mean = r(r(x.sum(axis=-1, keepdims=True)) * (1.0 / n))
    d = r(x - mean)
    var = r(r(r(d * d).sum(axis=-1, keepdims=True)) * (1.0 / n))
    inv = r(1.0 / r(np.sqrt(r(var + eps))))
    return r(d * inv)


def rmsnorm_rows(x: np.ndarray, eps: float, r: Rounder) -> np.ndarray:
    n = x.shape[-1]
    ms = r(r(r(x * x).sum(axis=-1, keepdims=True)) * (1.0 / n))
    inv = r(1.0 / r(np.sqrt(r(ms + eps))))
    return r(x * inv)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, r: Rounder) -> np.ndarray:
    """softmax(q k^T / sqrt(d)) v for one head, non-causal."""
    scale = r(np.array([1.0 / math.sqrt(q.shape[-1])]))[0]
    scores = r(matmul(q, k.T, r) * scale)
    return matmul(softmax_rows(scores, r), v, r)


def multi_head(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, n_heads: int, n_kv: int, r: Rounder
) -> np.ndarray:
    """Heads side by side in the columns; query head h reads kv head h // (n_heads / n_kv)."""
    dh = q.shape[1] // n_heads
    group = n_heads // n_kv
    outs = []
    for h in range(n_heads):
        g = h // group
        outs.append(
            attention(
                q[:, h * dh : (h + 1) * dh], k[:, g * dh : (g + 1) * dh], v[:, g * dh : (g + 1) * dh], r
            )
        )
    return np.concatenate(outs, axis=1)


def rotate_half(x: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
