"""Baseline row kernels (mlir-aie softmax.cc / layer_norm.cc style, vectorised): a zero-overhead
loop over the rows of the tile; within a row, passes over its 16-lane groups with fp32 partial
sums, cross-lane reductions by rotation, and the reciprocal / 1/sqrt of baseline/mathlib.py.
Each pass rounds to bf16 where the task's bf16 emulation does (sum, mean, variance, 1/x)."""

from __future__ import annotations

from ..schedule import Schedule
from .mathlib import E, Ops, allmax32, allsum16, exp16, load_bm, load_x, prologue, recip16, rsqrt16


def _round_bf16(bm: str, w: str) -> Ops:
    """bm = fp32(bf16(bm)) through the w register."""
    return [(f"vconv.bf16.fp32 {w}, {bm}", None), (f"vconv.fp32.bf16 {bm}, {w}", None)]


def _softmax_row(H: int) -> Ops:
    ops: Ops = [("vlda wl3, [p6, #0]", "in"), ("vldb wh3, [p6, #32]", "in")]
    for c in range(1, H // 32):
        ops += [
            (f"vlda wl0, [p6, #{64 * c}]", "in"),
            (f"vldb wh0, [p6, #{64 * c + 32}]", "in"),
            ("vmax_lt.bf16 x3, r2, x3, x0", None),
        ]
    ops += allmax32("x3")  # row max in every lane of x3
    ops += [("vclr bmh6", None)]
    for g in range(H // 16):
        ops += [(f"vlda wl1, [p6, #{32 * g}]", "in"), ("vmov wh1, wh3", None)]
        ops += load_x("x2", "one_neg_one")
        ops += [(f"vmul.f bml0, x1, x2, {E}", None), ("vconv.bf16.fp32 wl6, bml0", None)]  # x - max
        ops += exp16("wl6", "bmh4")
        ops += [
            ("vconv.bf16.fp32 wl3, bmh4", None),
            (f"vst wl3, [p7, #{32 * g}]", "out"),
            ("vconv.fp32.bf16 bmh4, wl3", None),
            ("vadd.f bmh6, bmh6, bmh4, r0", None),
        ]
    ops += allsum16("bmh6") + _round_bf16("bmh6", "wl3")
    ops += recip16("bmh6", "bmh4") + [("vconv.bf16.fp32 wl5, bmh4", None)]  # x5 = [1/sum | 0]
    for g in range(H // 16):
        ops += [
            (f"vlda wl4, [p7, #{32 * g}]", "out"),
            (f"vmul.f bml0, x4, x5, {E}", None),
            ("vconv.bf16.fp32 wl6, bml0", None),
            (f"vst wl6, [p7, #{32 * g}]", "out"),
        ]
    return ops


def _norm_row(H: int, layer: bool) -> Ops:
    ops: Ops = [("vclr bmh6", None)]
    src = "p6"
    if layer:  # mean
        for g in range(H // 16):
            ops += [
                (f"vlda wl1, [p6, #{32 * g}]", "in"),
                ("vconv.fp32.bf16 bmh4, wl1", None),
                ("vadd.f bmh6, bmh6, bmh4, r0", None),
            ]
        ops += allsum16("bmh6")
        ops += [
            ("vconv.bf16.fp32 wl4, bmh6", None),
            (f"vmul.f bml0, x4, x5, {E}", None),  # r(sum) / H
            ("vconv.bf16.fp32 wl3, bml0", None),
            ("vmov wh3, wl3", None),
            ("vclr bmh6", None),
        ]
        for g in range(H // 16):  # d = x - mean, kept in the output rows; sum of r(d^2)
            ops += [(f"vlda wl1, [p6, #{32 * g}]", "in"), ("vmov wh1, wh3", None)]
            ops += load_x("x2", "one_neg_one")
            ops += [
                (f"vmul.f bml0, x1, x2, {E}", None),
                ("vconv.bf16.fp32 wl4, bml0", None),
                (f"vst wl4, [p7, #{32 * g}]", "out"),
                (f"vmul.f bml2, x4, x4, {E}", None),
                *_round_bf16("bml2", "wl6"),
                ("vadd.f bmh6, bmh6, bml2, r0", None),
            ]
        src = "p7"
    else:
        for g in range(H // 16):
            ops += [
                (f"vlda wl4, [p6, #{32 * g}]", "in"),
                (f"vmul.f bml2, x4, x4, {E}", None),
                *_round_bf16("bml2", "wl6"),
                ("vadd.f bmh6, bmh6, bml2, r0", None),
            ]
    ops += allsum16("bmh6")
    ops += [("vconv.bf16.fp32 wl4, bmh6", None), (f"vmul.f bml0, x4, x5, {E}", None)]  # r(sum) / H
    ops += _round_bf16("bml0", "wl6")
    ops += load_bm("bmh4", "eps") + [("vadd.f bml0, bml0, bmh4, r0", None), *_round_bf16("bml0", "wl6")]
    ops += rsqrt16("bml0", "bmh4")
    ops += [("vbxor x3, x3, x3", None), ("vconv.bf16.fp32 wl3, bmh4", None)]  # x3 = [1/sqrt | 0]
    tag = "out" if src == "p7" else "in"
    for g in range(H // 16):
        ops += [
            (f"vlda wl4, [{src}, #{32 * g}]", tag),
            (f"vmul.f bml0, x4, x3, {E}", None),
            ("vconv.bf16.fp32 wl6, bml0", None),
            (f"vst wl6, [p7, #{32 * g}]", "out"),
        ]
    return ops


def row_kernel(task_id: str, rows: int, H: int, entry: str = "kernel") -> str:
    s = Schedule(name=entry)
    for text, mem in prologue():
        s.op(text, mem)
    s.op("mov p6, p0")
    s.op("mov p7, p1")
    if task_id in ("layernorm", "rmsnorm"):
        for text, mem in load_bm("bmh5", "inv_hidden") + [
            ("vbxor x5, x5, x5", None),
            ("vconv.bf16.fp32 wl5, bmh5", None),
        ]:
            s.op(text, mem)  # x5 = [1/H | 0] (a power of two: exact in bf16)
    if task_id == "softmax":
        body = _softmax_row(H)
    elif task_id in ("layernorm", "rmsnorm"):
        body = _norm_row(H, task_id == "layernorm")
    else:
        raise NotImplementedError(f"row kernel {task_id} is not lowered yet")
    body += [(f"padda [p6], #{2 * H}", None), (f"padds [p7], #{2 * H}", None)]
    s.loop(rows, body, comment="one row per iteration")
    return s.emit()
