"""Which tasks the AIE-ML-like tile runs, at the paper's AMD NPU shapes (Table 13), and why
it does not run the others.

Table 13 gives one shape per configuration for the elementwise and normalisation tasks as
an element count n; the tile runs them as [R, H] with R * H = n, the task suite's default
split (the same n as the table at every configuration; a test checks it).
"""

from __future__ import annotations

from functools import cache

from ...tasks import get_task
from ...tasks.base import table

# The paper's Table 13 (kernelcraft-paper.md section 6.3), in the task suite's parameter names.
TABLE_13: dict[str, dict[str, dict[str, int]]] = {
    "gemv": table([(64, 64), (128, 256), (256, 256), (512, 256), (512, 1024)], "M N"),
    "gemm": table([(8, 64, 64), (16, 256, 128), (32, 256, 256), (64, 512, 256), (128, 512, 1024)], "M K N"),
    "batch_matmul": table(
        [(8, 16, 64, 64), (16, 32, 256, 128), (16, 64, 256, 256), (32, 64, 512, 256), (32, 64, 256, 1024)],
        "B M K N",
    ),
    "linear": table([(8, 64, 64), (16, 256, 128), (32, 256, 256), (64, 256, 512), (128, 1024, 512)], "M K N"),
    "ffn": table([(8, 64, 128), (16, 128, 256), (32, 256, 512), (64, 256, 512), (128, 512, 1024)], "N H I"),
    "swiglu": table(
        [(8, 64, 128), (16, 128, 256), (32, 256, 512), (64, 256, 512), (128, 512, 1024)], "N H I"
    ),
    "sdpa": table([(8, 16), (16, 32), (32, 64), (64, 64), (128, 64)], "S D"),
    "mha": table([(8, 64, 1), (16, 128, 2), (32, 128, 8), (64, 256, 4), (128, 256, 4)], "S H nh"),
    "gqa": table(
        [(8, 64, 4, 1), (16, 128, 2, 1), (32, 128, 8, 2), (64, 256, 4, 2), (128, 256, 4, 2)], "S H nh nkv"
    ),
    "mqa": {
        name: {**cfg, "nkv": 1}
        for name, cfg in table(
            [(8, 64, 4), (16, 128, 2), (32, 128, 8), (64, 256, 4), (128, 512, 8)], "S H nh"
        ).items()
    },
    "rope": table([(8, 16), (16, 64), (32, 16), (64, 64), (128, 64)], "S D"),
    "decoder_llama": table(
        [(8, 64, 4, 256), (16, 128, 2, 512), (32, 128, 8, 512), (64, 256, 4, 1024), (128, 256, 4, 1024)],
        "S H nh I",
    ),
    "decoder_t5": table(
        [(8, 64, 4, 256), (16, 128, 2, 512), (32, 128, 8, 512), (64, 256, 4, 1024), (128, 256, 4, 1024)],
        "S H nh I",
    ),
}
ELEMENT_COUNTS = (256, 1024, 2048, 8192, 16384)  # Table 13, "Elementwise/Norm (n)"
ELEMENTWISE = ("silu", "relu", "gelu", "softmax", "layernorm", "rmsnorm")

PAPER_UNSUPPORTED = {
    "flash_attention": (
        "not supported on the AMD NPU in the paper ('not officially supported by AMD NPU compiler')"
    ),
}
NO_SHAPES = {
    task_id: "the paper's Table 13 gives no AMD NPU configurations for the convolution tasks, so the tile "
    "has none to run them at"
    for task_id in ("conv2d", "depthwise_conv", "conv_block")
}
NOT_LOWERED = "the harness and compiler baseline for this task are not lowered on the AIE tile yet"
# Tasks whose harness plan and baseline exist (others are reported with NOT_LOWERED).
LOWERED = {
    "relu",
    "silu",
    "gelu",
    "softmax",
    "layernorm",
    "rmsnorm",
    "gemm",
    "linear",
    "batch_matmul",
    "gemv",
    "ffn",
    "swiglu",
    "sdpa",
    "rope",
    "mha",
    "gqa",
    "mqa",
    "decoder_llama",
    "decoder_t5",
}


@cache
def shape_table() -> dict[str, dict[str, dict[str, int]]]:
    out: dict[str, dict[str, dict[str, int]]] = {}
    for task_id in ELEMENTWISE:
        out[task_id] = {name: dict(p) for name, p in get_task(task_id).default_configs.items()}
    for task_id, rows in TABLE_13.items():
        out[task_id] = {name: dict(p) for name, p in rows.items()}
    return out


def unsupported() -> dict[str, str]:
    reasons = dict(PAPER_UNSUPPORTED)
    reasons.update(NO_SHAPES)
    for task_id in shape_table():
        if task_id not in LOWERED:
            reasons[task_id] = NOT_LOWERED
    return reasons
