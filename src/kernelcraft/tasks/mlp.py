"""Level 2 MLP tasks: FFN (Linear, SiLU, Linear) and SwiGLU."""

from __future__ import annotations

import numpy as np

from . import ops, quantized
from .base import InputSpec, Rounder, Task, table

MLP_SHAPES = table([(4, 64, 128), (8, 128, 256), (16, 128, 512), (32, 256, 512), (64, 256, 1024)], "N H I")


def ffn(x: np.ndarray, w1: np.ndarray, w2: np.ndarray, r: Rounder) -> np.ndarray:
    return ops.matmul(ops.silu(ops.matmul(x, w1, r), r), w2, r)


def swiglu(x: np.ndarray, wg: np.ndarray, wu: np.ndarray, wd: np.ndarray, r: Rounder) -> np.ndarray:
    gate = ops.silu(ops.matmul(x, wg, r), r)
    return ops.matmul(r(gate * ops.matmul(x, wu, r)), wd, r)


FFN = Task(
    id="ffn",
    name="FFN",
    level=2,
    category="MLP",
    description=(
        "Feed-forward block Y = silu(x W1) W2 for x [N, H], W1 [H, I], W2 [I, H] (weights stored "
        "[in, out], silu(z) = z * sigmoid(z), no biases). Y is [N, H]."
    ),
    input_specs=(
        InputSpec("x", lambda p: (p["N"], p["H"])),
        InputSpec("W1", lambda p: (p["H"], p["I"]), kind="weight"),
        InputSpec("W2", lambda p: (p["I"], p["H"]), kind="weight"),
    ),
    output_rule=lambda p: (p["N"], p["H"]),
    compute=lambda v, p, r: ffn(v["x"], v["W1"], v["W2"], r),
    default_configs=MLP_SHAPES,
    macs=lambda p: 2 * p["N"] * p["H"] * p["I"],
    hidden_param="H",
    integer=quantized.FFN,
)

SWIGLU = Task(
    id="swiglu",
    name="SwiGLU",
    level=2,
    category="MLP",
    description=(
        "SwiGLU feed-forward block Y = (silu(x Wg) * (x Wu)) Wd for x [N, H], Wg and Wu [H, I], "
        "Wd [I, H] (weights stored [in, out], * elementwise, no biases). Y is [N, H]."
    ),
    input_specs=(
        InputSpec("x", lambda p: (p["N"], p["H"])),
        InputSpec("Wg", lambda p: (p["H"], p["I"]), kind="weight"),
        # Under the "large" profile the up projection is scaled down so the product of the two
        # branches grows like x, not x^2.
        InputSpec("Wu", lambda p: (p["H"], p["I"]), kind="weight", counter_gain=True),
        InputSpec("Wd", lambda p: (p["I"], p["H"]), kind="weight"),
    ),
    output_rule=lambda p: (p["N"], p["H"]),
    compute=lambda v, p, r: swiglu(v["x"], v["Wg"], v["Wu"], v["Wd"], r),
    default_configs=MLP_SHAPES,
    macs=lambda p: 3 * p["N"] * p["H"] * p["I"],
    hidden_param="H",
)

TASKS = (FFN, SWIGLU)
