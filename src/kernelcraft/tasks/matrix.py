"""Level 1 matrix tasks: GEMV, GEMM, BatchMatMul, Linear. Weights are stored [in, out]."""

from __future__ import annotations

import numpy as np

from . import ops, quantized
from .base import InputSpec, Task, table

GEMM_SHAPES = table([(4, 64, 64), (8, 128, 128), (16, 128, 256), (32, 256, 256), (64, 256, 512)], "M K N")

GEMV = Task(
    id="gemv",
    name="GEMV",
    level=1,
    category="Matrix",
    description=(
        "Matrix-vector product y = A x for A [M, N] and x given as a row [1, N]; the result is "
        "written as a row y [1, M] (y[0, m] = sum_n A[m, n] * x[0, n])."
    ),
    input_specs=(
        InputSpec("A", lambda p: (p["M"], p["N"]), kind="weight", fan_in=lambda p: p["N"]),
        InputSpec("x", lambda p: (1, p["N"])),
    ),
    output_rule=lambda p: (1, p["M"]),
    compute=lambda v, p, r: ops.matmul(v["x"], v["A"].T, r),
    default_configs=table([(64, 512), (128, 512), (256, 512), (512, 512), (512, 1024)], "M N"),
    macs=lambda p: p["M"] * p["N"],
    hidden_param="N",
    integer=quantized.GEMV,
)

GEMM = Task(
    id="gemm",
    name="GEMM",
    level=1,
    category="Matrix",
    description=(
        "Matrix product Y = X W for X [M, K] and W [K, N] (row-major, W stored [in, out]); Y is [M, N]."
    ),
    input_specs=(
        InputSpec("X", lambda p: (p["M"], p["K"])),
        InputSpec("W", lambda p: (p["K"], p["N"]), kind="weight"),
    ),
    output_rule=lambda p: (p["M"], p["N"]),
    compute=lambda v, p, r: ops.matmul(v["X"], v["W"], r),
    default_configs=GEMM_SHAPES,
    macs=lambda p: p["M"] * p["K"] * p["N"],
    hidden_param="K",
    integer=quantized.GEMM,
)

BATCH_MATMUL = Task(
    id="batch_matmul",
    name="BatchMatMul",
    level=1,
    category="Matrix",
    description=(
        "Batched matrix product Y[b] = X[b] W[b] for X [B, M, K] and W [B, K, N]; Y is [B, M, N], "
        "each Y[b] stored as its own [M, N] output matrix one after another."
    ),
    input_specs=(
        InputSpec("X", lambda p: (p["B"], p["M"], p["K"])),
        InputSpec("W", lambda p: (p["B"], p["K"], p["N"]), kind="weight", fan_in=lambda p: p["K"]),
    ),
    output_rule=lambda p: (p["B"], p["M"], p["N"]),
    compute=lambda v, p, r: r(np.matmul(v["X"], v["W"])),
    default_configs=table(
        [(2, 4, 64, 64), (4, 8, 128, 128), (8, 16, 128, 256), (16, 32, 256, 256), (32, 64, 256, 512)],
        "B M K N",
    ),
    macs=lambda p: p["B"] * p["M"] * p["K"] * p["N"],
    hidden_param="K",
    integer=quantized.BATCH_MATMUL,
)

LINEAR = Task(
    id="linear",
    name="Linear",
    level=1,
    category="Matrix",
    description=(
        "Linear layer Y = X W + b for X [M, K], W [K, N] (stored [in, out]) and bias b [1, N] "
        "added to every row; Y is [M, N]."
    ),
    input_specs=(
        InputSpec("X", lambda p: (p["M"], p["K"])),
        InputSpec("W", lambda p: (p["K"], p["N"]), kind="weight"),
        InputSpec("b", lambda p: (1, p["N"]), kind="bias"),
    ),
    output_rule=lambda p: (p["M"], p["N"]),
    compute=lambda v, p, r: r(ops.matmul(v["X"], v["W"], r) + v["b"]),
    default_configs=GEMM_SHAPES,
    macs=lambda p: p["M"] * p["K"] * p["N"],
    hidden_param="K",
    integer=quantized.LINEAR,
)

TASKS = (GEMV, GEMM, BATCH_MATMUL, LINEAR)
