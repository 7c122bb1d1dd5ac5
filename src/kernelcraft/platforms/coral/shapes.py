"""Which tasks Coral NPU runs, at which shapes, and why it skips the others.

Eight tasks take the paper's Table 14 (all int8, sized for the 32 KB DTCM). The paper runs
SiLU, GELU, Softmax, LayerNorm, RMSNorm, FFN and SwiGLU on Coral too but gives no shapes
for them; we run five of them at shapes of our own (marked so in docs/tasks.md): SiLU and
GELU (table lookups, at the ReLU sizes), Softmax and RMSNorm (fixed-point row reductions)
and FFN (two requantised matmuls around a SiLU table), each with a working set that fits
the DTCM. LayerNorm and SwiGLU are left out: their integer forms would add little beyond
RMSNorm and FFN.
"""

from __future__ import annotations

from ...tasks.base import table

# Table 14 of the paper (ReLU's n as R x H rows of 128).
PAPER = {
    "relu": table([(4, 128), (16, 128), (32, 128), (64, 128), (112, 128)], "R H"),
    "gemv": table([(64, 32), (64, 64), (128, 64), (64, 256), (256, 64)], "M N"),
    "gemm": table([(32, 32, 32), (32, 64, 64), (64, 64, 64), (128, 32, 64), (32, 64, 128)], "M K N"),
    "batch_matmul": table(
        [(2, 32, 32, 32), (4, 32, 32, 32), (2, 64, 64, 32), (4, 32, 64, 32), (2, 32, 64, 64)], "B M K N"
    ),
    "linear": table([(4, 32, 64), (8, 64, 64), (4, 256, 64), (8, 64, 256), (12, 128, 128)], "M K N"),
    "conv2d": table(
        [(8, 4, 8, 1), (8, 8, 8, 3), (8, 8, 16, 3), (8, 8, 32, 3), (8, 32, 8, 3)], "H Cin Cout k"
    ),
    "depthwise_conv": table([(8, 16, 3), (16, 8, 3), (16, 16, 3), (16, 16, 5), (16, 32, 5)], "H C k"),
    "conv_block": table(
        [(8, 4, 8, 1), (8, 8, 8, 3), (8, 8, 16, 3), (8, 8, 32, 3), (8, 32, 8, 3)], "H Cin Cout k"
    ),
}
# Ours: the paper omits these configurations.
OURS = {
    "silu": PAPER["relu"],
    "gelu": PAPER["relu"],
    "softmax": table([(4, 64), (8, 128), (16, 128), (32, 128), (32, 256)], "R H"),
    "rmsnorm": table([(4, 64), (8, 128), (16, 128), (32, 128), (32, 256)], "R H"),
    "ffn": table([(4, 32, 64), (8, 32, 128), (8, 64, 128), (16, 64, 128), (32, 64, 128)], "N H I"),
}
ORDER = (
    "silu",
    "relu",
    "gelu",
    "softmax",
    "rmsnorm",
    "gemv",
    "gemm",
    "batch_matmul",
    "linear",
    "conv2d",
    "depthwise_conv",
    "ffn",
    "conv_block",
)

_ATTENTION = (
    "not officially supported by Coral NPU (the paper runs no attention, RoPE or decoder tasks on it)"
)
UNSUPPORTED = {
    "layernorm": (
        "our choice: five of the seven tasks the paper runs without Coral shapes; "
        "LayerNorm's integer form would repeat RMSNorm's fixed-point reciprocal square root"
    ),
    "swiglu": (
        "our choice: five of the seven tasks the paper runs without Coral shapes; "
        "SwiGLU would repeat FFN's requantised matmuls and SiLU table"
    ),
    "rope": _ATTENTION,
    "sdpa": _ATTENTION,
    "flash_attention": _ATTENTION,
    "mha": _ATTENTION,
    "gqa": _ATTENTION,
    "mqa": _ATTENTION,
    "decoder_llama": _ATTENTION,
    "decoder_t5": _ATTENTION,
}


def shape_table() -> dict[str, dict[str, dict[str, int]]]:
    merged = {**PAPER, **OURS}
    return {task: {c: dict(p) for c, p in merged[task].items()} for task in ORDER}


def ours(task_id: str) -> bool:
    return task_id in OURS
