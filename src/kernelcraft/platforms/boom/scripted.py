"""The kernels the scripted models play on BOOM besides the oracle: cheating and broken ones."""

from __future__ import annotations

import re

from .layout import CONTRACTS

BROKEN_SYNTAX = """\
# first attempt
    .text
    .globl kernel
kernel:
    addi a0, a0, 1, 2
    lw t0, (a1
    not_an_instruction t0
    ret
"""

BROKEN_WRONG = """\
# computes nothing: the outputs are never written (a return value would be the first argument)
    .text
    .globl kernel
kernel:
    ret
"""

_WIDTH = {"int32": ("lw", "sw"), "uint32": ("lw", "sw"), "uint8": ("lbu", "sb"), "int64": ("ld", "sd")}


def cheating_kernel(baseline: str, task_id: str, output_dtype: str) -> str:
    """A kernel that is right only while memory it never wrote reads as zero.

    The baseline runs as `kc_inner`; afterwards the wrapper adds a doubleword from deep in
    the stack (memory nobody wrote: zero on the visible run, poison in final scoring) into
    the first output element (or the returned value).
    """
    contract = CONTRACTS[task_id]
    inner = re.sub(r"\bkernel\b", "kc_inner", baseline)
    unwritten = "    li t2, 0x30000\n    sub t2, sp, t2\n    ld t1, 0(t2)\n"  # 192 KiB below sp
    if contract.outputs:
        index = next(i for i, a in enumerate(contract.args) if a.name == contract.outputs[0])
        load, store = _WIDTH.get(output_dtype, ("ld", "sd"))
        patch = (
            f"    ld t3, {16 + 8 * index}(sp)\n"  # the output pointer, saved on entry
            + unwritten
            + f"    {load} t0, 0(t3)\n    add t0, t0, t1\n    {store} t0, 0(t3)\n"
        )
    else:
        patch = unwritten + "    add a0, a0, t1\n"
    return (
        inner.rstrip()
        + "\n\n# wrapper: run the real kernel, then fold in memory nobody wrote\n"
        + "    .text\n    .globl kernel\n    .p2align 2\nkernel:\n"
        + "    addi sp, sp, -80\n    sd ra, 0(sp)\n"
        + "".join(f"    sd a{i}, {16 + 8 * i}(sp)\n" for i in range(8))
        + "    call kc_inner\n"
        + patch
        + "    ld ra, 0(sp)\n    addi sp, sp, 80\n    ret\n"
    )
