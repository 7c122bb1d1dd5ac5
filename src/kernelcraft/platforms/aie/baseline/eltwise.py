"""Baseline elementwise kernels (mlir-aie relu.cc / silu.cc / gelu.cc style): a zero-overhead
loop over the tile, 32 bf16 lanes per step for ReLU, 16 for the activations that need exp and
a reciprocal (built from vector MACs, baseline/mathlib.py)."""

from __future__ import annotations

from ..schedule import Schedule
from .mathlib import E, Ops, load_x, prologue, sigmoid_times


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
    for text, mem in prologue():
        s.op(text, mem)
    body: Ops = [("vlda wl3, [p0], #32", "in")]  # x3 = [x | 0]
    if task_id == "silu":
        body += load_x("x6", "sign") + [("vbxor x6, x3, x6", None)]  # wl6 = -x
        body += sigmoid_times("x3", "wl6")
    elif task_id == "gelu":
        # z = c1*x + c3*x^3 in one elementwise MAC: [x | x^3] . [c1 | c3]
        body += [(f"vmul.f bml0, x3, x3, {E}", None), ("vconv.bf16.fp32 wl5, bml0", None),
                 (f"vmul.f bml0, x5, x3, {E}", None), ("vmov wl6, wl3", None), ("vconv.bf16.fp32 wh6, bml0", None)]
        body += load_x("x1", "gelu_c1", "gelu_c3")
        body += [(f"vmul.f bml0, x6, x1, {E}", None), ("vconv.bf16.fp32 wl6, bml0", None)]
        body += load_x("x1", "sign") + [("vbxor x6, x6, x1", None)]  # wl6 = -z
        body += sigmoid_times("x3", "wl6")
    else:
        raise NotImplementedError(f"elementwise {task_id} is not lowered yet")
    body += [("vconv.bf16.fp32 wl6, bml0", None), ("vst wl6, [p1], #32", "out")]
    s.loop(tile // 16, body, comment="16 lanes per step")
    return s.emit()
