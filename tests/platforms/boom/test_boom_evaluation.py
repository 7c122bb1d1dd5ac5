"""Running kernels: faults carry pc, line and cause; limits stop runaway kernels; the judge
sees stray writes, untouched outputs and poisoned memory."""

from __future__ import annotations

import json

from kernelcraft.platforms.base import RunLimits

from .boom_helpers import PLATFORM, instance, kernel


def _run(source: str, task_id: str = "vvadd", limits: RunLimits | None = None, **kw):
    return PLATFORM.evaluate(source, instance(task_id, **kw), limits)


def test_misaligned_load_is_a_trap_on_its_line():
    ev = _run(kernel("    addi t1, a1, 2\n    lw t0, 0(t1)\n    ret"))
    assert not ev.ok and ev.fault.kind == "trap" and ev.fault.line == 5
    assert ev.fault.state["mcause"] == 4 and ev.fault.instruction.startswith("lw")
    assert ev.fault.state["mtval"] == instance("vvadd").layout.buffer("a").address + 2


def test_access_outside_ram_and_bad_instructions_trap_with_their_cause():
    assert _run(kernel("    li t0, 0x10\n    ld t1, 0(t0)\n    ret")).fault.state["mcause"] == 5
    assert _run(kernel("    li t0, 0x10\n    sd t1, 0(t0)\n    ret")).fault.state["mcause"] == 7
    illegal = _run(kernel("    unimp\n    ret")).fault
    assert (
        illegal.state["mcause"] == 2 and illegal.line == 4 and "not an RV64GC instruction" in illegal.message
    )
    jumped = _run(kernel("    jr zero")).fault  # pc 0: no memory there
    assert jumped.state["mcause"] == 1 and jumped.line is None


def test_a_kernel_that_never_returns_is_stopped_by_the_limits():
    spin = kernel("1:  j 1b")
    by_count = _run(spin, limits=RunLimits(max_instructions=50_000))
    assert by_count.fault.kind == "instruction_limit" and not by_count.correct
    assert by_count.stats.instructions <= 60_000
    by_time = _run(spin, limits=RunLimits(max_instructions=10**12, wall_time_s=0.0))
    assert by_time.fault.kind == "wall_time"


def test_writing_into_an_input_or_a_gap_is_out_of_bounds():
    into_input = _run(kernel("    sw zero, 0(a1)\n    ret"))
    assert into_input.fault.kind == "out_of_bounds" and "input buffer a" in into_input.fault.message
    past_output = _run(kernel("    li t0, 4000\n    add t0, a3, t0\n    li t1, 7\n    sw t1, 0(t0)\n    ret"))
    assert past_output.fault.kind == "out_of_bounds" and "gap after buffer c" in past_output.fault.message


def test_untouched_outputs_are_counted_and_results_serialise():
    ev = _run(PLATFORM.scripted_kernel("broken_wrong", "vvadd", "C1"), poison=True)
    assert ev.ok and not ev.correct and ev.diff.untouched == 1000
    json.dumps(ev.to_dict())
    assert "IPC" in ev.format_summary() and "branch mispredicts" in ev.format_summary()


def test_a_wrong_return_value_fails_dotprod():
    ev = _run(kernel("    li a0, 12345\n    ret"), "dotprod")
    assert ev.ok and not ev.correct and int(ev.output[0]) == 12345


def test_uninitialised_memory_differs_between_clean_and_poisoned_runs():
    # Reads the first output element before writing anything: 0 on the visible run, poison later.
    peek = kernel("    lw t0, 0(a3)\n    mv a0, t0\n    ld t1, -8(sp)\n    add a0, a0, t1\n    ret")
    clean = _run(peek, "dotprod")
    poisoned = _run(peek, "dotprod", poison=True)
    assert int(clean.output[0]) == 0 and int(poisoned.output[0]) != 0


def test_branchy_code_on_random_data_mispredicts():
    ev = PLATFORM.evaluate(PLATFORM.baseline("median", "C1"), instance("median", seed=2))
    assert ev.stats.mispredicts > 100 and ev.stats.branches > ev.stats.mispredicts
    assert 0 < ev.stats.ipc < PLATFORM.config.decode_width and ev.stats.l1d_misses > 0
