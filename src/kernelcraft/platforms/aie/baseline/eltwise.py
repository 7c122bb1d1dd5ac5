"""Baseline elementwise kernels (mlir-aie relu.cc / silu.cc / gelu.cc style): a zero-overhead
loop over the tile, 32 bf16 lanes (ReLU) or 16 (the MAC-based activations) per step."""

from __future__ import annotations

from ..schedule import Schedule


def eltwise_kernel(task_id: str, tile: int, entry: str = "kernel") -> str:
    s = Schedule(name=entry)
    if task_id == "relu":
        # max(x, 0) on 32 bf16 lanes: vmax_lt.bf16 against a zero register, like aie::max.
        s.op("vbxor x1, x1, x1")
        s.loop(tile // 32, [
            ("vlda wl0, [p0], #32", "in"), ("vlda wh0, [p0], #32", "in"),
            ("vmax_lt.bf16 x2, r0, x0, x1", None),
            ("vst wl2, [p1], #32", "out"), ("vst wh2, [p1], #32", "out"),
        ], comment="32 lanes per step")
        return s.emit()
    raise NotImplementedError(f"elementwise {task_id} is not lowered yet")
