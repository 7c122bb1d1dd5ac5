"""Level 1 elementwise activations: SiLU, ReLU, GELU on an [R, H] tensor."""

from __future__ import annotations

from . import ops, quantized
from .base import InputSpec, Task, table

ELEMENTWISE_SHAPES = table([(4, 64), (8, 128), (16, 128), (32, 256), (64, 256)], "R H")


def _x_spec() -> tuple[InputSpec, ...]:
    return (InputSpec("x", lambda p: (p["R"], p["H"])),)


def _rows(p) -> tuple[int, int]:
    return (p["R"], p["H"])


SILU = Task(
    id="silu",
    name="SiLU",
    level=1,
    category="Activation",
    description=(
        "Apply SiLU elementwise to x of shape [R, H]: y = x * sigmoid(x) = x / (1 + exp(-x)). "
        "The output has the same shape as x."
    ),
    input_specs=_x_spec(),
    output_rule=_rows,
    compute=lambda v, p, r: ops.silu(v["x"], r),
    default_configs=ELEMENTWISE_SHAPES,
    hidden_param="H",
    integer=quantized.SILU,
)

RELU = Task(
    id="relu",
    name="ReLU",
    level=1,
    category="Activation",
    description=(
        "Apply ReLU elementwise to x of shape [R, H]: y = max(0, x). The output has the same shape as x."
    ),
    input_specs=_x_spec(),
    output_rule=_rows,
    compute=lambda v, p, r: ops.relu(v["x"], r),
    default_configs=ELEMENTWISE_SHAPES,
    hidden_param="H",
    integer=quantized.RELU,
)

GELU = Task(
    id="gelu",
    name="GELU",
    level=1,
    category="Activation",
    description=(
        "Apply GELU elementwise to x of shape [R, H]: y = x * Phi(x), Phi the standard normal CDF "
        "(the reference uses the exact erf form). The sigmoid approximation "
        "x * sigmoid(c1*x + c3*x^3) with the preloaded constants gelu_c1 and gelu_c3 is within "
        "tolerance. The output has the same shape as x."
    ),
    input_specs=_x_spec(),
    output_rule=_rows,
    compute=lambda v, p, r: ops.gelu(v["x"], r),
    default_configs=ELEMENTWISE_SHAPES,
    hidden_param="H",
    integer=quantized.GELU,
)

TASKS = (SILU, RELU, GELU)
