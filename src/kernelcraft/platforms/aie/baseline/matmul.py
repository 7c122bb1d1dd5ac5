"""Baseline matmul-tile kernel: what mlir-aie's mm.cc (aie::mmul<4,8,4> with 2x2 register
blocking) lowers to, scheduled Peano-like.

Per call: for each 2x2 group of 4x4 output blocks, load the four fp32 accumulators, run a
zero-overhead loop over the K blocks (unrolled twice where K allows, so the loads of one step
overlap the MACs of the other, as an unroll pragma gives) doing 4 vmac.f per step, and store
the accumulators back. On the last K step (r3 != 0) an epilogue pass converts every 4x4
block to bf16 (after the bias / activation / residual) and stores the output tile.
"""

from __future__ import annotations

from ..schedule import Schedule
from .mathlib import c as const_ref
from .mathlib import load_x, prologue, sigmoid_times

CFG = "r10"  # 28: bf16 4x8x4
CFG_E = "r11"  # 60: bf16 elementwise
# Argument pointers saved in r registers at entry, so all p registers can walk.
SAVED = {"p0": "r12", "p1": "r13", "p2": "r14", "p3": "r15", "p4": "r16"}


def set_ptr(s: Schedule, dst: str, base: str, offset: int, mreg: str) -> None:
    """dst = (saved) base + offset."""
    s.op(f"mov {dst}, {SAVED.get(base, base)}")
    if offset:
        s.op(f"movxm {mreg}, #{offset}")
        s.op(f"padds [{dst}], {mreg}")


def _quarters(n: int, hi: bool) -> tuple[str, str]:
    h = "h" if hi else "l"
    return f"am{h}l{n}", f"am{h}h{n}"


def matmul_kernel(tm: int, tk: int, tn: int, epilogue: str = "none", entry: str = "kernel") -> str:
    s = Schedule(name=entry)
    nbk, nbj, nbi = tk // 8, tn // 4, tm // 4
    cw = min(2, nbj)  # columns of 4x4 blocks per group (GEMV's N = 4 has one)
    gj_count = nbj // cw
    groups = (nbi // 2) * gj_count
    for p, r in SAVED.items():
        s.op(f"mov {r}, {p}")
    s.op(f"movx {CFG}, #28")
    s.op(f"movx {CFG_E}, #60")
    s.op(f"movxm m1, #{nbj * 64 - 32}")
    unroll = 2 if nbk % 2 == 0 else 1
    # Pointers of the first group and their 2-D steps from one group to the next (dK: after
    # each group p += mK, or p += djK when the row of groups wraps after dnK groups). The K
    # loop has already moved A by nbk*64 and B by nbk*nbj*64 when the step is taken.
    a_adv, b_adv = nbk * 64, nbk * nbj * 64
    steps = {
        "p0": (0, -a_adv, -a_adv + 2 * nbk * 64),
        "p1": (nbk * 64, -a_adv, -a_adv + 2 * nbk * 64),
        "p2": (0, cw * 64 - b_adv, -(gj_count - 1) * cw * 64 - b_adv),
        "p3": (64, cw * 64 - b_adv, -(gj_count - 1) * cw * 64 - b_adv),
        "p6": (0, cw * 64, (2 * nbj - (gj_count - 1) * cw) * 64),
    }
    for k, (ptr, (first, m, dj)) in enumerate(steps.items()):
        base = {"p0": "p0", "p1": "p0", "p2": "p1", "p3": "p1", "p6": "p2"}[ptr]
        set_ptr(s, ptr, base, first, f"m{k + 2}")
        s.ops(
            [
                f"movxm m{k + 2}, #{m}",
                f"movxm dj{k + 2}, #{dj}",
                f"movxm dn{k + 2}, #{gj_count}",
                f"mov dc{k + 2}, #0",
            ]
        )
    s.op(f"movxm r20, #{groups - 1}")
    s.label(f".L{entry}_group")
    acc = {}
    for r in range(2):
        for col in range(cw):
            acc[r, col] = (f"bm{'lh'[col]}{r}", _quarters(r, col == 1), (r * nbj + col) * 64)
    for _reg, (q0, q1), off in acc.values():
        s.op(f"vlda {q0}, [p6, #{off}]", mem="acc")
        s.op(f"vlda {q1}, [p6, #{off + 32}]", mem="acc")
    body: list[tuple[str, str | None]] = []
    for u in range(unroll):
        xa = [f"x{4 * u + r}" for r in range(2)]
        xb = [f"x{4 * u + 2 + c}" for c in range(2)]
        for r in range(2):
            n = xa[r][1:]
            body += [(f"vlda wl{n}, [p{r}], #32", "a"), (f"vlda wh{n}, [p{r}], #32", "a")]
        for c in range(cw):
            n = xb[c][1:]
            body += [(f"vldb wl{n}, [p{2 + c}], #32", "b"), (f"vldb wh{n}, [p{2 + c}], m1", "b")]
        for (r, c), (reg, _q, _o) in acc.items():
            body.append((f"vmac.f {reg}, {reg}, {xa[r]}, {xb[c]}, {CFG}", None))
    s.loop(nbk // unroll, body, comment="K loop: 4x8x4 MACs on a 2x2 group of output blocks")
    for _reg, (q0, q1), off in acc.values():
        s.op(f"vst {q0}, [p6, #{off}]", mem="acc")
        s.op(f"vst {q1}, [p6, #{off + 32}]", mem="acc")
    for k, ptr in enumerate(steps):
        slot = "padda" if ptr in ("p0", "p1") else "paddb" if ptr in ("p2", "p3") else "padds"
        s.op(f"{slot}.2d [{ptr}], d{k + 2}")
    if groups > 1:
        s.loop_back("r20", f".L{entry}_group")
    s.skip_unless("r3", f".L{entry}_done")
    _epilogue(s, epilogue, nbi, nbj)
    s.label(f".L{entry}_done")
    return s.emit()


def _epilogue(s: Schedule, epilogue: str, nbi: int, nbj: int) -> None:
    """Convert the fp32 accumulator tile to the bf16 output tile (both in 4x4 blocks, same order)."""
    s.op(f"mov p6, {SAVED['p2']}")
    s.op(f"mov p7, {SAVED['p3']}")
    if epilogue == "none":
        s.loop(
            nbi * nbj,
            [
                ("vlda amll0, [p6], #32", "acc"),
                ("vlda amlh0, [p6], #32", "acc"),
                ("vst.conv.bf16.fp32 bml0, [p7], #32", "out"),
            ],
            comment="write the bf16 output",
        )
        return
    if epilogue == "bias":
        # bias block bj (4x4 bf16, every row the bias) at p4 + bj*32: walk it again for every block row
        for _bi in range(nbi):
            s.op(f"mov p4, {SAVED['p4']}")
            s.loop(
                nbj,
                [
                    ("vlda amll0, [p6], #32", "acc"),
                    ("vlda amlh0, [p6], #32", "acc"),
                    ("vlda.conv.fp32.bf16 bml1, [p4], #32", "epi"),
                    (f"vadd.f bml2, bml0, bml1, {CFG}", None),
                    ("vst.conv.bf16.fp32 bml2, [p7], #32", "out"),
                ],
                comment="bias and write the bf16 output",
            )
        return
    # The rest round the accumulator to bf16 first, as the task's per-stage rounding does.
    head = [
        ("vlda amll0, [p6], #32", "acc"),
        ("vlda amlh0, [p6], #32", "acc"),
        ("vconv.bf16.fp32 wl3, bml0", None),
    ]
    tail = [("vconv.bf16.fp32 wl6, bml1", None), ("vst wl6, [p7], #32", "out")]
    if epilogue == "relu":
        s.op("vbxor x1, x1, x1")
        s.loop(
            nbi * nbj,
            head + [("vmax_lt.bf16 x6, r2, x3, x1", None), ("vst wl6, [p7], #32", "out")],
            comment="relu and write the bf16 output",
        )
        return
    if epilogue in ("mul", "add"):
        s.op(f"mov p4, {SAVED['p4']}")
        s.op("vbxor x3, x3, x3")
        s.op("vbxor x4, x4, x4")
        if epilogue == "mul":  # bf16(acc) * G
            body = head + [("vlda wl4, [p4], #32", "epi"), (f"vmul.f bml1, x3, x4, {CFG_E}", None)] + tail
        else:  # bf16(acc) + R
            body = (
                head
                + [
                    ("vconv.fp32.bf16 bml0, wl3", None),
                    ("vlda.conv.fp32.bf16 bmh0, [p4], #32", "epi"),
                    (f"vadd.f bml1, bml0, bmh0, {CFG}", None),
                ]
                + tail
            )
        s.loop(nbi * nbj, body, comment=f"{epilogue} and write the bf16 output")
        return
    if epilogue == "scale":  # bf16(acc) * inv_sqrt_dhead
        s.op("mov p4, p5")
        s.op("movxm m0, #1024")
        s.op("padda [p4], m0")
        s.op("vbxor x3, x3, x3")
        _p, off = const_ref("inv_sqrt_dhead")
        s.op(f"vlda wl4, [p4, #{off}]", mem="const")
        s.op(f"vldb wh4, [p4, #{off + 32}]", mem="const")
        s.loop(
            nbi * nbj,
            head + [(f"vmul.f bml1, x3, x4, {CFG_E}", None)] + tail,
            comment="scale and write the bf16 output",
        )
        return
    if epilogue == "silu":  # silu(bf16(acc)) = v * sigmoid(v)
        for text, mem in prologue():
            s.op(text, mem)
        body = [
            ("vlda amll0, [p6], #32", "acc"),
            ("vlda amlh0, [p6], #32", "acc"),
            ("vconv.bf16.fp32 wl3, bml0", None),
        ]  # x3 = [v | 0] (prologue zeroed x3)
        body += load_x("x6", "sign") + [("vbxor x6, x3, x6", None)]
        body += sigmoid_times("x3", "wl6")
        body += [("vconv.bf16.fp32 wl6, bml0", None), ("vst wl6, [p7], #32", "out")]
        s.loop(nbi * nbj, body, comment="silu and write the bf16 output")
        return
    raise NotImplementedError(f"matmul epilogue {epilogue!r} is not lowered yet")
