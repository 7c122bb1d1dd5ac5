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


def test_returning_with_callee_saved_registers_changed_is_an_abi_fault():
    # The trial's shape: the right dot product, with s0, s11 and sp left changed.
    ev = _run(kernel("    li s0, 5\n    li s11, 7\n    addi sp, sp, -32\n    li a0, 0\n    ret"), "dotprod")
    assert not ev.ok and not ev.correct and ev.fault.kind == "abi"
    assert set(ev.fault.state) == {"s0", "s11", "sp"}
    assert "s0 = 0x5 (was 0x0)" in ev.fault.message and "sp = 0x8013ffe0 (was 0x80140000)" in ev.fault.message
    # Saving and restoring them on the stack is fine.
    saved = (
        "    addi sp, sp, -16\n    sd s0, 0(sp)\n    sd s11, 8(sp)\n    li s0, 5\n    li s11, 7\n"
        "    ld s0, 0(sp)\n    ld s11, 8(sp)\n    addi sp, sp, 16\n    li a0, 0\n    ret"
    )
    assert _run(kernel(saved), "dotprod").ok


def test_falling_off_the_end_of_the_kernel_hints_at_a_missing_ret():
    fault = _run(kernel("    li a0, 0")).fault
    assert fault.kind == "trap" and "does every path of kernel end with `ret`" in fault.message
    assert "just past the last instruction of your kernel" in fault.message


def test_fault_addresses_read_in_hex():
    fault = _run(kernel("    li t0, 0x1000\n    sd t0, 0(t0)\n    ret")).fault
    text = fault.format()
    assert f"at pc {fault.pc:#x} (line 5): sd" in text and str(fault.pc) not in text
    assert "mtval=0x1000" in text and "mtval=4096" not in text
    assert fault.state["mtval"] == 0x1000  # the values stay numbers


def test_the_instruction_limit_fault_says_where_the_kernel_was():
    spin = kernel("    nop\n1:  addi t0, t0, 1\n    j 1b")
    fault = _run(spin, limits=RunLimits(max_instructions=20_000)).fault
    assert fault.kind == "instruction_limit" and fault.line in (5, 6)
    assert fault.pc is not None and f"at line {fault.line}" in fault.message
    assert fault.format().startswith(f"instruction_limit fault at pc {fault.pc:#x} (line {fault.line})")


def test_an_out_of_bounds_write_names_its_address_in_the_first_line():
    fault = _run(kernel("    sw zero, 8(a1)\n    ret")).fault
    address = instance("vvadd").layout.buffer("a").address + 8
    assert fault.kind == "out_of_bounds" and fault.format().splitlines()[0] == (
        f"out_of_bounds fault at address {address:#x}"
    )


def test_an_address_read_from_poison_is_called_so():
    # A pointer read from the stack below sp, which nobody wrote: poison in every evaluation.
    peek = kernel("    ld t0, -64(sp)\n    andi t0, t0, -8\n    ld t1, 8(t0)\n    ret")
    poisoned = _run(peek, poison=True).fault
    assert poisoned.kind == "trap" and "looks like poison" in poisoned.message
    far = _run(kernel("    li t0, 0x10000\n    ld t1, 0(t0)\n    ret"), poison=True).fault
    assert far.kind == "trap" and "poison" not in far.message


def test_l1d_misses_split_into_primary_and_secondary():
    ev = PLATFORM.evaluate(PLATFORM.baseline("vvadd", "C1"), instance("vvadd"))
    s = ev.stats
    lines = 3 * 4000 // 64  # a, b and c: 4000 bytes each, 64-byte lines
    assert lines <= s.l1d_primary_misses <= lines + 8  # about one per line: no thrashing
    assert s.l1d_secondary_misses == s.l1d_misses - s.l1d_primary_misses > s.l1d_primary_misses
    assert "primary misses" in ev.format_summary() and "secondary" in ev.format_summary()
    assert s.to_dict()["l1d_primary_misses"] == s.l1d_primary_misses
