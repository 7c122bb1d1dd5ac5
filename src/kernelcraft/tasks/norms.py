"""Level 1 row normalisations: Softmax, LayerNorm, RMSNorm over each row of an [R, H] tensor."""

from __future__ import annotations

from . import ops, quantized
from .activations import ELEMENTWISE_SHAPES
from .base import InputSpec, Task

_X = (InputSpec("x", lambda p: (p["R"], p["H"])),)


def _rows(p) -> tuple[int, int]:
    return (p["R"], p["H"])


SOFTMAX = Task(
    id="softmax",
    name="Softmax",
    level=1,
    category="Normalization",
    description=(
        "Softmax over each row of x [R, H]: y[i, j] = exp(x[i, j] - m_i) / sum_k exp(x[i, k] - m_i), "
        "m_i the row maximum (subtracting it keeps exp in range). The output has the same shape as x."
    ),
    input_specs=_X,
    output_rule=_rows,
    compute=lambda v, p, r: ops.softmax_rows(v["x"], r),
    default_configs=ELEMENTWISE_SHAPES,
    hidden_param="H",
    scales_with_input=False,
    integer=quantized.SOFTMAX,
)

LAYERNORM = Task(
    id="layernorm",
    name="LayerNorm",
    level=1,
    category="Normalization",
    description=(
        "LayerNorm over each row of x [R, H], without affine parameters: y = (x - mean) / "
        "sqrt(var + eps), mean and (biased) variance over the H elements of the row, eps = 1e-5 "
        "(preloaded as eps; 1/H preloaded as inv_hidden). The output has the same shape as x."
    ),
    input_specs=_X,
    output_rule=_rows,
    compute=lambda v, p, r: ops.layernorm_rows(v["x"], 1e-5, r),
    default_configs=ELEMENTWISE_SHAPES,
    eps=1e-5,
    hidden_param="H",
    scales_with_input=False,
)

RMSNORM = Task(
    id="rmsnorm",
    name="RMSNorm",
    level=1,
    category="Normalization",
    description=(
        "RMSNorm over each row of x [R, H], without a gain vector: y = x / sqrt(mean(x^2) + eps), "
        "the mean over the H elements of the row, eps = 1e-6 (preloaded as eps; 1/H preloaded as "
        "inv_hidden). The output has the same shape as x."
    ),
    input_specs=_X,
    output_rule=_rows,
    compute=lambda v, p, r: ops.rmsnorm_rows(v["x"], 1e-6, r),
    default_configs=ELEMENTWISE_SHAPES,
    eps=1e-6,
    hidden_param="H",
    scales_with_input=False,
    integer=quantized.RMSNORM,
)

TASKS = (SOFTMAX, LAYERNORM, RMSNORM)
