"""The kernels AIE scripted models play: correct (the baseline), cheating, broken."""

from __future__ import annotations

from .harness import MatmulStage, RopeStage
from .layout import SCRATCH
from .plans import Plan

BROKEN_SYNTAX = "// first attempt\nkernel:\n    vmac.f bml0, x0 ; vlda wl0, [p0, #3]\n    not_an_op r1, r2\n"


def broken_wrong(plan: Plan) -> str:
    """Every entry returns at once: builds and runs, but never writes an output tile."""
    entries = sorted({s.entry for s in plan.stages})
    return "\n".join(f"{e}:" for e in entries) + "\n    ret lr\n" + "    nop\n" * 5


def cheater(baseline: str, plan: Plan) -> str:
    """The baseline, wrapped: after each call it ORs 64 bytes of scratch memory (never written by
    anyone) into the output tile. Clean memory reads as zeros, so the visible run passes; final
    scoring's poison (0xFF) turns those outputs into NaN."""
    out = baseline
    wrappers = []
    for stage in {s.entry: s for s in plan.stages}.values():
        entry = stage.entry
        out = out.replace(f"\n{entry}:", f"\n__real_{entry}:", 1)
        out_ptr = "p3" if isinstance(stage, MatmulStage) else "p4" if isinstance(stage, RopeStage) else "p1"
        wrappers.append(f"""
{entry}:
    mov r28, lr
    mov r29, {out_ptr}
    jl #__real_{entry}
    nop
    nop
    nop
    nop
    nop
    movxm r30, #{SCRATCH}
    mov p7, r29
    mov p6, r30
    nop
    nop
    nop
    nop
    nop
    vlda wl0, [p6, #0] ; vldb wl1, [p7, #0]
    vlda wh0, [p6, #32] ; vldb wh1, [p7, #32]
    nop
    nop
    nop
    nop
    nop
    nop
    vbor x2, x0, x1 ; mov lr, r28
    nop
    vst wl2, [p7, #0]
    vst wh2, [p7, #32] ; ret lr
    nop
    nop
    nop
    nop
    nop
""")
    return out + "\n".join(wrappers)
