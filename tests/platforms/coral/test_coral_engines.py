"""The fast engine (compiled blocks, fast.py) against the reference engine (one instruction at a
time through Timing.step): identical cycles, statistics, results and faults."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.coral.config import CoralConfig
from kernelcraft.platforms.coral.machine import Machine
from kernelcraft.platforms.coral.platform import CoralPlatform
from kernelcraft.platforms.coral.runner import build
from kernelcraft.platforms.coral.shapes import ORDER
from kernelcraft.platforms.coral.timing import Timing

from .coral_helpers import kernel, needs_toolchain

pytestmark = needs_toolchain
PLATFORM = CoralPlatform()


def _run(program, config, blocks: bool, placements=()):
    machine = Machine(config)
    machine.timing = Timing(config, machine)
    machine.use_blocks = blocks
    machine.load_program(program)
    for address, data in placements:
        machine.mem.write(address, data)
    stop = machine.run()
    return machine, stop


def _same(program, config, placements=(), check_memory=None):
    ref, ref_stop = _run(program, config, False, placements)
    fast, fast_stop = _run(program, config, True, placements)
    assert (fast_stop.kind, fast_stop.pc) == (ref_stop.kind, ref_stop.pc)
    a, b = ref.timing.stats(ref.instret), fast.timing.stats(fast.instret)
    assert b.to_dict() == a.to_dict()
    assert fast.x == ref.x
    if check_memory:
        lo, size = check_memory
        assert fast.mem.read(lo, size) == ref.mem.read(lo, size)
    return a


QUICK = ("relu", "softmax", "gemm", "depthwise_conv")


@pytest.mark.parametrize(
    "task_id", [t if t in QUICK else pytest.param(t, marks=pytest.mark.slow) for t in ORDER]
)
def test_baselines_time_identically_on_both_engines(task_id):
    instance = PLATFORM.prepare(task_id, "C1", 0)
    program = PLATFORM.build(PLATFORM.baseline(task_id, "C1")).program
    out = instance.layout.output
    stats = _same(program, PLATFORM.config, instance.placements(), (out.address, out.nbytes))
    assert stats.cycles > 0


@pytest.mark.parametrize(
    "config",
    [CoralConfig(), CoralConfig.oct2025(), CoralConfig(axi_roundtrip=7)],
    ids=["feb2026", "oct2025", "slow_axi"],
)
def test_mixed_kernel_times_identically_under_each_profile(config):
    source = kernel(
        """
    li a0, 0x20000000
    la a1, buf
    li a2, 100
1:  vsetvli t0, a2, e8, m2, tu, mu
    vle8.v v2, (a0)
    vmseq.vi v0, v2, 3
    vadd.vi v4, v2, 1, v0.t
    vwmul.vv v8, v2, v4
    vsetvli zero, t0, e16, m4, ta, ma
    vredsum.vs v12, v8, v12
    vse16.v v8, (a1)
    lw t1, 0(a1)
    mul t2, t1, t1
    add a3, a3, t2
    add a0, a0, t0
    sub a2, a2, t0
    bnez a2, 1b
    vmv.x.s a4, v12
    la t3, 2f
    jalr zero, 0(t3)
2:  addi a5, a5, 1
""",
        "buf: .space 512",
    )
    program = build(source, "asm", config).program
    data = np.arange(100, dtype=np.int8).tobytes()
    _same(program, config, [(config.ext_base, data)], (config.dtcm_base, 512))


def test_a_fault_inside_a_block_stops_both_engines_at_the_same_place():
    source = kernel(
        "    li a0, 1\n" * 3 + "    li a1, 0x40000000\n1:  addi a0, a0, 1\n    lw a2, 0(a1)\n    j 1b"
    )
    program = build(source, "asm", CoralConfig()).program
    ref, ref_stop = _run(program, CoralConfig(), False)
    fast, fast_stop = _run(program, CoralConfig(), True)
    assert ref_stop.kind == fast_stop.kind == "load_access"
    assert ref_stop.pc == fast_stop.pc and ref.x == fast.x
