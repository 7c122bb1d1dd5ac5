"""Poisoned on-chip memories are reused once nothing refers to them (poison_fill.nan_memory):
a reused memory must hold NaN everywhere again, and memory a caller still holds a view of must
never be handed to another machine."""

from __future__ import annotations

import numpy as np

from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG
from kernelcraft.platforms.plena.machine import Machine, MemoryImage, run
from kernelcraft.platforms.plena.poison_fill import BF16_NAN_BITS

from .plena_helpers import const

VLEN = DEFAULT_CONFIG.vlen
# Writes VRAM rows 0..3 and FP SRAM slot 7 from the preloaded row 40 (1.5 everywhere).
WRITER = (
    const("gp1", 40 * VLEN)
    + "".join(f"S_ADDI_INT gp2, gp0, {r * VLEN}\nV_ADD_VV gp2, gp1, gp1, 0\n" for r in range(4))
    + "S_LD_FP f1, gp0, 0\nS_ST_FP f1, gp0, 7\n"
)


def _writer_run():
    program = assemble(WRITER, DEFAULT_CONFIG).program
    image = MemoryImage(vram={40 * VLEN: np.full(VLEN, 1.5)}, fpsram={0: np.array([2.0])}, poison=True)
    ex = run(program, image)
    assert ex.fault is None and float(ex.machine.vram[0]) == 3.0 and float(ex.machine.fpsram[7]) == 2.0
    return ex


def _base_ids(machine: Machine) -> tuple[int, int, int]:
    return id(machine.vram.base), id(machine.mram.base), id(machine.fpsram.base)


def test_a_dropped_machines_memories_come_back_all_nan():
    ex = _writer_run()
    ids = _base_ids(ex.machine)
    del ex  # nothing refers to its memories now
    fresh = Machine(DEFAULT_CONFIG, MemoryImage(poison=True))
    assert _base_ids(fresh) == ids  # the same arrays, so the check below means something
    for memory in (fresh.vram, fresh.mram, fresh.fpsram):
        assert np.all(memory.view(np.uint16) == BF16_NAN_BITS)


def test_memory_a_caller_still_views_is_not_reused():
    ex = _writer_run()
    kept_rows = ex.machine.vram[: 4 * VLEN]  # a view: holds the memory
    kept_fp = ex.machine.fpsram[7:8]
    ids = _base_ids(ex.machine)
    del ex
    others = [_writer_run() for _ in range(3)]  # machines alive at once get memories of their own
    after = Machine(DEFAULT_CONFIG, MemoryImage(poison=True))
    for machine in [o.machine for o in others] + [after]:
        assert _base_ids(machine)[0] != ids[0] and _base_ids(machine)[2] != ids[2]
    assert np.all(kept_rows.astype(np.float32) == 3.0) and float(kept_fp[0]) == 2.0
