"""Spatial tasks: Conv2D, DepthwiseConv and ConvBlock (conv, batch-norm, ReLU), NCHW, batch 1."""

from __future__ import annotations

import numpy as np

from . import quantized
from .base import InputSpec, Rounder, Task, table

CONV_SHAPES = table([(8, 4, 8, 1), (8, 8, 8, 3), (8, 8, 16, 3), (8, 8, 32, 3), (8, 32, 8, 3)], "H Cin Cout k")
DEPTHWISE_SHAPES = table([(8, 16, 3), (16, 8, 3), (16, 16, 3), (16, 16, 5), (16, 32, 5)], "H C k")


def conv2d_same(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Stride 1, zero padding k//2: out[o, i, j] = sum_c,u,v w[o, c, u, v] x[c, i+u-p, j+v-p]."""
    c_out, _, k, _ = w.shape
    pad = k // 2
    size = x.shape[1]
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((c_out, size, size))
    for u in range(k):
        for v in range(k):
            window = padded[:, u : u + size, v : v + size]  # [Cin, H, H]
            out += np.einsum("oc,chw->ohw", w[:, :, u, v], window)
    return out


def depthwise_same(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    channels, k, _ = w.shape
    pad = k // 2
    size = x.shape[1]
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((channels, size, size))
    for u in range(k):
        for v in range(k):
            out += w[:, u, v][:, None, None] * padded[:, u : u + size, v : v + size]
    return out


def _conv_block(v, p, r: Rounder) -> np.ndarray:
    y = r(conv2d_same(v["x"], v["w"]))
    y = r(y * v["bn_scale"][:, None, None] + v["bn_shift"][:, None, None])
    return r(np.maximum(y, 0.0))


_CONV_INPUTS = (
    InputSpec("x", lambda p: (p["Cin"], p["H"], p["H"])),
    InputSpec(
        "w",
        lambda p: (p["Cout"], p["Cin"], p["k"], p["k"]),
        kind="weight",
        fan_in=lambda p: p["Cin"] * p["k"] ** 2,
    ),
)

CONV2D = Task(
    id="conv2d",
    name="Conv2D",
    level=1,
    category="Spatial",
    description=(
        "2-D convolution of x [C_in, H, H] (NCHW, batch 1) with w [C_out, C_in, k, k], stride 1 and "
        "'same' zero padding (k // 2 on each side); the output is [C_out, H, H]."
    ),
    input_specs=_CONV_INPUTS,
    output_rule=lambda p: (p["Cout"], p["H"], p["H"]),
    compute=lambda v, p, r: r(conv2d_same(v["x"], v["w"])),
    default_configs=CONV_SHAPES,
    macs=lambda p: p["Cout"] * p["Cin"] * p["H"] * p["H"] * p["k"] ** 2,
    hidden_param="H",
    integer=quantized.CONV2D,
)

DEPTHWISE_CONV = Task(
    id="depthwise_conv",
    name="DepthwiseConv",
    level=1,
    category="Spatial",
    description=(
        "Depthwise 2-D convolution: each channel of x [C, H, H] is convolved with its own filter "
        "w[c] of w [C, k, k], stride 1, 'same' zero padding; the output is [C, H, H]."
    ),
    input_specs=(
        InputSpec("x", lambda p: (p["C"], p["H"], p["H"])),
        InputSpec("w", lambda p: (p["C"], p["k"], p["k"]), kind="weight", fan_in=lambda p: p["k"] ** 2),
    ),
    output_rule=lambda p: (p["C"], p["H"], p["H"]),
    compute=lambda v, p, r: r(depthwise_same(v["x"], v["w"])),
    default_configs=DEPTHWISE_SHAPES,
    macs=lambda p: p["C"] * p["H"] * p["H"] * p["k"] ** 2,
    hidden_param="H",
    integer=quantized.DEPTHWISE_CONV,
)

CONV_BLOCK = Task(
    id="conv_block",
    name="ConvBlock",
    level=3,
    category="CNN",
    description=(
        "Convolution block: y = relu(conv2d(x, w) * bn_scale[o] + bn_shift[o]) with the Conv2D "
        "task's convolution (stride 1, same padding) and inference batch-norm folded into a "
        "per-output-channel scale and shift; the output is [C_out, H, H]."
    ),
    input_specs=_CONV_INPUTS
    + (
        InputSpec("bn_scale", lambda p: (p["Cout"],), kind="bn_scale"),
        InputSpec("bn_shift", lambda p: (p["Cout"],), kind="bn_shift"),
    ),
    output_rule=lambda p: (p["Cout"], p["H"], p["H"]),
    compute=_conv_block,
    default_configs=CONV_SHAPES,
    macs=lambda p: p["Cout"] * p["Cin"] * p["H"] * p["H"] * p["k"] ** 2,
    hidden_param="H",
    integer=quantized.CONV_BLOCK,
)

TASKS = (CONV2D, DEPTHWISE_CONV, CONV_BLOCK)
