"""Vector shortcuts (shortcuts.py) against the general semantics (vector.py).

Random programs (every legal SEW/LMUL, vl from 0 past VLMAX, masked and unmasked, all
load/store forms) and the kernels the shortcuts are for run with shortcuts on and off; every
register, the vector and float CSRs and the memory they touch must agree byte for byte.
"""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.coral import shortcuts
from kernelcraft.platforms.coral.config import CoralConfig
from kernelcraft.platforms.coral.machine import Machine
from kernelcraft.platforms.coral.platform import CoralPlatform
from kernelcraft.platforms.coral.runner import build
from kernelcraft.platforms.coral.shortcuts import round_shift
from kernelcraft.platforms.coral.vector import roundoff

from . import randprog as rp
from .coral_helpers import kernel, needs_toolchain

pytestmark = needs_toolchain
CONFIG = CoralConfig()
PLATFORM = CoralPlatform()


def _state(program, placements, fast: bool, monkeypatch, memory: tuple[int, int]):
    monkeypatch.setattr(shortcuts, "FAST_PATHS", fast)
    machine = Machine(CONFIG)
    machine.load_program(program)
    for address, data in placements:
        machine.mem.write(address, data)
    stop = machine.run()
    v = machine.v
    return (
        (stop.kind, stop.pc),
        machine.x[:],
        machine.f[:],
        bytes(v.vrf),
        (v.vl, v.sew, v.lmul, v.vill, v.vxsat, v.vxrm, v.vstart),
        machine.mem.read(*memory),
        bytes(machine.mem.written_mask(*memory)),
    )


def _thrice(block: rp.Block) -> rp.Block:
    """Run the whole block (load its state, the random body, dump) three times: the first run
    of each instruction takes the general path, the later ones its shortcut, on the same state."""
    label = f"again_{block.index}"
    block.lines[1:1] = ["    li ra, 3", f"{label}:"]  # ra is never written by a random body
    block.lines += ["    addi ra, ra, -1", f"    bnez ra, {label}"]
    return block


@pytest.mark.parametrize("seed", range(12))
def test_random_programs_run_the_same_with_and_without_shortcuts(seed, monkeypatch):
    chooser = rp.Chooser.seeded(1000 + seed)
    blocks = [_thrice(rp.BlockGen(chooser, i, 40, scalar=seed % 3 == 0, fp=False).build()) for i in range(6)]
    source, blobs, (lo, hi) = rp.program(blocks)
    built = build(source, "asm", CONFIG)
    assert built.program is not None, [d.format() for d in built.diagnostics]
    general = _state(built.program, blobs, False, monkeypatch, (lo, hi - lo))
    fast = _state(built.program, blobs, True, monkeypatch, (lo, hi - lo))
    assert fast == general


def test_shortcut_loops_meet_every_configuration_and_fall_back(monkeypatch):
    # Each instruction runs again and again under changing vtype/vl, vxrm, masks, vstart and
    # addresses in DTCM, external memory and the ITCM, so its shortcuts are made, reused and
    # passed over.
    body = """
    li s0, 0x20000000
    la s1, buf
    li s2, 0
    li s3, 77
    li s4, 0x40001234
1:  andi t0, s2, 3
    csrw vxrm, t0
    addi t1, s2, 5
    andi t2, s2, 1
    beqz t2, 2f
    vsetvli t3, t1, e16, m2, ta, ma
    j 3f
2:  vsetvli t3, t1, e8, m1, tu, mu
3:  vle8.v v2, (s0)
    vle8.v v4, (s1)
    vle8.v v6, (zero)
    vadd.vx v8, v2, s3
    vrsub.vi v10, v2, -3
    vsra.vv v12, v2, v4
    vmin.vx v14, v6, s4
    vsmul.vx v16, v2, s4
    vssra.vi v18, v2, 3
    vssrl.vx v20, v4, s2
    vmv.v.x v22, s4
    vmv.v.i v24, -7
    vmv.v.v v26, v4
    vredsum.vs v1, v2, v4
    vredmax.vs v3, v2, v4
    vredxor.vs v5, v2, v4
    vmseq.vi v0, v2, 1
    vadd.vv v28, v2, v4, v0.t
    csrw vstart, t2
    vadd.vv v30, v2, v4
    vse8.v v8, (s1)
    vse8.v v16, (s0)
    addi s0, s0, 3
    addi s1, s1, 5
    addi s3, s3, 11
    addi s2, s2, 1
    li t4, 40
    blt s2, t4, 1b
    vsetivli zero, 8, e16, m1, ta, ma
    vwmacc.vx v20, s3, v2
    vwmaccu.vv v22, v2, v4
    vsext.vf2 v24, v4
    vzext.vf2 v25, v4
    vnsrl.wi v26, v20, 3
    vnsra.wx v27, v20, s2
    vwredsum.vs v28, v2, v4
    vmv.x.s a1, v28
"""
    program = build(kernel(body, "buf: .space 512"), "asm", CONFIG).program
    pattern = bytes((7 * i + 3) & 0xFF for i in range(512))
    data = [(CONFIG.ext_base, pattern), (CONFIG.dtcm_base + 0x100, pattern[::-1][:256])]
    memory = (CONFIG.ext_base, 512)
    general = _state(program, data, False, monkeypatch, memory)
    fast = _state(program, data, True, monkeypatch, memory)
    assert general[0][0] == "mpause"
    assert fast == general


@pytest.mark.parametrize("task_id", ["gemm", "conv2d", "depthwise_conv", "softmax", "rmsnorm"])
def test_baselines_are_exact_with_shortcuts(task_id):
    instance = PLATFORM.prepare(task_id, "C1", 0)
    program = PLATFORM.build(PLATFORM.baseline(task_id, "C1")).program
    assert PLATFORM.run(program, instance).correct


@pytest.mark.parametrize("vxrm", range(4))
def test_round_shift_is_roundoff_for_one_shift(vxrm):
    values = np.random.default_rng(vxrm).integers(-(1 << 40), 1 << 40, size=4000, dtype=np.int64)
    values[:8] = [0, 1, -1, 2, -2, 3, (1 << 40) - 1, -(1 << 40)]
    for d in range(0, 33):
        assert np.array_equal(round_shift(values, d, vxrm), roundoff(values, d, vxrm)), d


def _timed(program, placements, fast: bool, monkeypatch, memory: tuple[int, int]):
    from kernelcraft.platforms.coral.timing import Timing

    monkeypatch.setattr(shortcuts, "FAST_PATHS", fast)
    machine = Machine(CONFIG)
    machine.timing = Timing(CONFIG, machine)
    machine.load_program(program)
    for address, data in placements:
        machine.mem.write(address, data)
    stop = machine.run()
    v = machine.v
    return (
        (stop.kind, stop.pc, stop.message),
        machine.timing.stats(machine.instret).to_dict(),
        machine.x[:],
        bytes(v.vrf),
        (v.vl, v.sew, v.lmul, v.vill, v.vstart),
        machine.mem.read(*memory),
    )


# region -> (base address, index mask, added to the base after 24 rounds)
_GATHERS = {
    "dtcm": ("buf", 0x1FF, 0),
    "external": (0x2000_0000, 0x1FF, 0x100),
    "mixed": (0x1_0000, 0x2000_01FF, 0),  # e32 indices reach 0x2001_0000.. in external memory
    "itcm": (0, 0x1FF, 0),
    "fault": (0x2000_0000, 0x1FF, 0x40_0000),  # past external memory once the shortcut exists
    # e16/e32 indices that are multiples of 4 (elements read whole from aligned words), then a
    # base moved by 2 bytes: e32 elements misaligned and crossing lines, e16 ones still aligned
    "aligned": (0x2000_0000, 0x1FC, 0x102),
    "aligned_dtcm": ("buf", 0x1FC, 0),
    "wraps": (0x2000_0000, 0x1FC, 0xDFFF_FF80),  # then addresses past 2^32 wrap around (a fault)
}


@pytest.mark.parametrize("region", list(_GATHERS))
def test_indexed_load_shortcut_matches_the_general_path_with_timing(region, monkeypatch):
    # Gathers under several SEW/LMUL, index EEW 8/16/32, indices that are random, misaligned,
    # repeated and overlapping the destination, in DTCM, external memory, both at once, the
    # ITCM, or past the end of memory after the shortcut was made: results, cycles and every
    # statistic agree.
    base, mask, shift = _GATHERS[region]
    body = f"""
    {"la s0, buf" if base == "buf" else f"li s0, {base}"}
    la s1, idx
    li s2, 0
    li s3, {mask}
1:  addi t1, s2, 3
    andi t2, s2, 3
    beqz t2, 2f
    li t3, 1
    beq t2, t3, 3f
    li t3, 2
    beq t2, t3, 4f
    vsetvli t0, t1, e32, m4, ta, ma
    vle32.v v4, (s1)
    vand.vx v4, v4, s3
    vluxei32.v v16, (s0), v4
    vloxei32.v v20, (s0), v4
    j 5f
2:  vsetvli t0, t1, e8, m1, ta, ma
    vle8.v v8, (s1)
    vluxei8.v v9, (s0), v8
    vsetvli t0, t1, e16, m2, ta, ma
    vluxei8.v v10, (s0), v8
    j 5f
3:  vsetvli t0, t1, e16, m2, ta, ma
    vle16.v v8, (s1)
    vand.vx v8, v8, s3
    vluxei16.v v12, (s0), v8
    vluxei16.v v8, (s0), v8
    j 5f
4:  vsetvli t0, t1, e8, mf2, ta, ma
    vle8.v v8, (s1)
    vloxei8.v v9, (s0), v8
    vsetvli t0, t1, e32, m2, ta, ma
    vluxei8.v v10, (s0), v8
5:  addi s1, s1, 7
    addi s2, s2, 1
    li t5, 24
    bne s2, t5, 6f
    li t4, {shift}
    add s0, s0, t4
6:  li t5, 40
    blt s2, t5, 1b
    vsetivli zero, 4, e32, m1, ta, ma
    vmv.x.s a1, v16
"""
    program = build(kernel(body, "buf: .space 1024\nidx: .space 1024"), "asm", CONFIG).program
    rng = np.random.default_rng(5)
    pattern = rng.integers(0, 256, 1024, dtype=np.uint8).tobytes()
    data = [
        (CONFIG.ext_base, pattern),
        (CONFIG.ext_base + 0x1_0000, pattern),
        (CONFIG.dtcm_base, pattern[:256]),
        (program.symbols["buf"], pattern[::-1]),
        (program.symbols["idx"], rng.integers(0, 256, 1024, dtype=np.uint8).tobytes()),
    ]
    memory = (CONFIG.dtcm_base, 4096)
    general = _timed(program, data, False, monkeypatch, memory)
    fast = _timed(program, data, True, monkeypatch, memory)
    assert fast == general
    assert general[1]["instructions"] > 200
    assert (general[0][0] == "mpause") == (region not in ("fault", "wraps"))


def test_a_vsetvli_after_a_fault_only_first_trim_sets_vl_again():
    # set_vtype skips re-applying the state it applied last; a fault-only-first load that trims
    # vl changes that state behind its back, so the same vsetvli must restore vl = 16.
    end_of_ext = CONFIG.ext_base + CONFIG.ext_size
    body = f"""
    li t1, 16
    li s0, {end_of_ext - 5}
    vsetvli t0, t1, e8, m1, ta, ma
    vle8ff.v v2, (s0)
    csrr a1, vl
    vsetvli t0, t1, e8, m1, ta, ma
    csrr a2, vl
    vadd.vi v4, v2, 1
"""
    program = build(kernel(body), "asm", CONFIG).program
    machine = Machine(CONFIG)
    machine.load_program(program)
    stop = machine.run()
    assert stop.kind == "mpause"
    assert (machine.x[11], machine.x[12]) == (5, 16)
