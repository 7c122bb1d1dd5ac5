"""Baseline elementwise kernels (mlir-aie relu.cc / silu.cc / gelu.cc style): a zero-overhead
loop over the tile, 32 bf16 lanes per step for ReLU, 16 for the activations that need exp and
a reciprocal (built from vector MACs, baseline/mathlib.py)."""

from __future__ import annotations

from ..schedule import Schedule
from .mathlib import E, Ops, c, load_x, prologue, sigmoid_times


def eltwise_kernel(task_id: str, tile: int, entry: str = "kernel") -> str:
    s = Schedule(name=entry)
    if task_id == "relu":
        # max(x, 0) on 32 bf16 lanes: vmax_lt.bf16 against a zero register, like aie::max.
        s.op("vbxor x1, x1, x1")
        s.loop(
            tile // 32,
            [
                ("vlda wl0, [p0], #32", "in"),
                ("vlda wh0, [p0], #32", "in"),
                ("vmax_lt.bf16 x2, r0, x0, x1", None),
                ("vst wl2, [p1], #32", "out"),
                ("vst wh2, [p1], #32", "out"),
            ],
            comment="32 lanes per step",
        )
        return s.emit()
    for text, mem in prologue():
        s.op(text, mem)
    body: Ops = [("vlda wl3, [p0], #32", "in")]  # x3 = [x | 0]
    if task_id == "silu":
        body += load_x("x6", "sign") + [("vbxor x6, x3, x6", None)]  # wl6 = -x
        body += sigmoid_times("x3", "wl6")
    elif task_id == "gelu":
        # z = c1*x + c3*x^3 in one elementwise MAC: [x | x^3] . [c1 | c3]
        body += [
            (f"vmul.f bml0, x3, x3, {E}", None),
            ("vconv.bf16.fp32 wl5, bml0", None),
            (f"vmul.f bml0, x5, x3, {E}", None),
            ("vmov wl6, wl3", None),
            ("vconv.bf16.fp32 wh6, bml0", None),
        ]
        body += load_x("x1", "gelu_c1", "gelu_c3")
        body += [(f"vmul.f bml0, x6, x1, {E}", None), ("vconv.bf16.fp32 wl6, bml0", None)]
        body += load_x("x1", "sign") + [("vbxor x6, x6, x1", None)]  # wl6 = -z
        body += sigmoid_times("x3", "wl6")
    else:
        raise NotImplementedError(f"elementwise {task_id} is not lowered yet")
    body += [("vconv.bf16.fp32 wl6, bml0", None), ("vst wl6, [p1], #32", "out")]
    s.loop(tile // 16, body, comment="16 lanes per step")
    return s.emit()


def rope_kernel(rows: int, D: int, entry: str = "kernel") -> str:
    """y = [x | x_sw] . [cos | sin'] per 16 columns in one elementwise MAC, sin' = sin with the sign
    flipped in the first D/2 columns; a zero-overhead loop over the rows, the row unrolled."""
    s = Schedule(name=entry)
    s.op("movx r11, #60")
    s.op("mov p6, p5")
    s.op("movxm m0, #1024")
    s.op("padda [p6], m0")
    s.ops(["vbxor x5, x5, x5", "vbxor x6, x6, x6"])
    # x5 = [0 | all sign bits], x6 = [0 | sign bits in lanes 0..7 only]
    _p, off = c("sign")
    s.op(f"vldb wh5, [p5, #{off}]", mem="const")
    s.op("vldb wh6, [p6, #0]", mem="const")  # sign_lo8 is the first entry of the second kilobyte
    body: Ops = []
    for g in range(D // 16):
        body += [
            ("vlda wl0, [p0], #32", "x"),
            ("vldb wh0, [p1], #32", "xsw"),
            ("vlda wl1, [p2], #32", "cos"),
            ("vldb wh1, [p3], #32", "sin"),
        ]
        if D == 16:
            body += [("vbxor x1, x1, x6", None)]
        elif 16 * g < D // 2:
            body += [("vbxor x1, x1, x5", None)]
        body += [
            (f"vmul.f bml0, x0, x1, {E}", None),
            ("vconv.bf16.fp32 wl2, bml0", None),
            ("vst wl2, [p4], #32", "out"),
        ]
    s.loop(rows, body, comment="one row per iteration")
    return s.emit()
