"""A general edit of PLENA's compiler templates, played by the scripted template model.

Loop-invariant DMA state is kept across hardware loops (Asm.loop forgets it when a loop
starts), and the zero register serves as a zero base address; the edited template lowers to
fewer instructions at every configuration of the templates it applies to, and to the same
kernels elsewhere.
"""

from __future__ import annotations

IMPROVEMENT_NOTE = "Kept the DMA set-up across hardware loops and used gp0 for zero base addresses"

KEEP_DMA_STATE = '''

@contextmanager
def keep_dma_state(asm: Asm):
    """The hardware loops inside set no SCALE_REG, STRIDE_REG or address register, so what was
    known before them still holds after them (Asm.loop forgets it when a loop starts)."""
    saved = (asm.scale_value, asm.stride_value, dict(asm.addr_tensor))
    yield
    asm.scale_value, asm.stride_value = saved[0], saved[1]
    asm.addr_tensor.update(saved[2])
'''

ZERO_BASE_OLD = """    with asm.regs(1) as (tmp,):
        asm.imm(tmp, placement.base)
        asm.emit("C_SET_ADDR_REG", areg, ZERO, tmp, comment=f"{areg} -> {placement.name}")
"""
ZERO_BASE_NEW = """    if placement.base == 0:  # gp0 already holds the base: no temporary needed
        asm.emit("C_SET_ADDR_REG", areg, ZERO, ZERO, comment=f"{areg} -> {placement.name}")
    else:
        with asm.regs(1) as (tmp,):
            asm.imm(tmp, placement.base)
            asm.emit("C_SET_ADDR_REG", areg, ZERO, tmp, comment=f"{areg} -> {placement.name}")
"""


def improve_template(source: str) -> str:
    """The improver's edit; every anchor must be found (else the edit is not applied at all)."""
    anchors = (
        "from contextlib import ExitStack\n",
        ZERO_BASE_OLD,
        "    with ExitStack() as stack:\n",
        "    with asm.regs(3) as (dst, off, chunk_off):\n",
    )
    if not all(anchor in source for anchor in anchors):
        return source
    replacements = (
        ("from contextlib import ExitStack\n", "from contextlib import ExitStack, contextmanager\n"),
        (ZERO_BASE_OLD, ZERO_BASE_NEW),
        ("    with ExitStack() as stack:\n", "    with ExitStack() as stack, keep_dma_state(asm):\n"),
    )
    for old, new in replacements:
        source = source.replace(old, new)
    source = source.replace(
        "    with asm.regs(3) as (dst, off, chunk_off):\n",
        "    with asm.regs(3) as (dst, off, chunk_off), keep_dma_state(asm):\n",
    )
    marker = "\n\n_GENERATOR = " if "\n\n_GENERATOR = " in source else "\n\ndef generate("
    head, _, tail = source.partition(marker)
    return head + KEEP_DMA_STATE + marker + tail
