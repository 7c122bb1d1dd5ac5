"""Coral as a platform: contracts, exact judging, poison, faults as values, limits, docs."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.base import RunLimits
from kernelcraft.platforms.coral.isa import TABLE
from kernelcraft.platforms.coral.platform import CoralPlatform
from kernelcraft.tasks import get_task

from .coral_helpers import RELU_C1, needs_toolchain

pytestmark = needs_toolchain
P = CoralPlatform()


def _kernel(body: str) -> str:
    return f"    .text\n    .globl main\nmain:\n{body}\n    li a0, 0\n    ret\n"


def test_contract_names_addresses_sizes_constants_and_tables():
    instance = P.prepare("depthwise_conv", "C1", 0)
    text = instance.contract_text()
    layout = instance.layout
    assert layout.inputs[0].address == P.config.ext_base
    assert layout.output.address % 4096 == 0 and layout.output.address > layout.tables[-1].address
    for t in layout.tensors:
        assert f"{t.address:#010x}" in text and t.name in text
    for name, value in layout.scalars:
        assert f"{name} = {value}" in text
    assert "multiplier" in text and "must return 0" in text and ".equ Y_ADDR" in text


def test_reference_and_inputs_are_the_tasks_integer_form():
    instance = P.prepare("linear", "C2", 5, profile="large")
    task = get_task("linear")
    assert instance.reference.dtype == np.int8
    ref = task.reference(
        task.make_inputs_for(instance.params, 5, "large", "integer"), instance.params, "integer"
    )
    assert (instance.reference == ref).all() and instance.tolerance.exact


def test_a_hand_written_relu_is_correct_and_beats_the_baseline():
    instance = P.prepare("relu", "C1", 3)
    assert instance.layout.inputs[0].address == 0x20000000 and instance.layout.output.address == 0x20001000
    evaluation = P.evaluate(RELU_C1, instance)
    assert evaluation.correct, evaluation.format_summary()
    assert evaluation.cycles < P.evaluate(P.baseline("relu", "C1"), instance).cycles


def test_the_worked_example_in_the_guidance_computes_what_it_says():
    from kernelcraft.platforms.coral.docs import WORKED_EXAMPLE, WORKED_EXAMPLE_ADDRESSES, WORKED_EXAMPLE_N
    from kernelcraft.platforms.coral.runner import run_program

    from .coral_helpers import built

    rng = np.random.default_rng(4)
    a = rng.integers(-128, 128, WORKED_EXAMPLE_N).astype(np.int8)
    b = rng.integers(-128, 128, WORKED_EXAMPLE_N).astype(np.int8)
    a[:3], b[:3] = (127, -128, 5), (-128, 127, 5)  # both saturating cases and a zero
    where = WORKED_EXAMPLE_ADDRESSES
    result = run_program(
        built(WORKED_EXAMPLE), P.config, placements=[(where["a"], a.tobytes()), (where["b"], b.tobytes())]
    )
    assert result.fault is None, result.fault.format()
    y = np.frombuffer(result.machine.mem.read(where["y"], WORKED_EXAMPLE_N), dtype=np.int8)
    expected = np.minimum(np.abs(a.astype(np.int16) - b.astype(np.int16)), 127).astype(np.int8)
    assert (y == expected).all() and list(y[:3]) == [127, 127, 0]
    assert WORKED_EXAMPLE in P.docs()["guidance"]


def test_no_guidance_example_is_a_task_answer():
    from kernelcraft.tasks import all_tasks

    guidance = P.docs()["guidance"]
    example = guidance[guidance.index("## Worked example") :]
    for task in all_tasks():
        assert f"task {task.id} " not in example and f"({task.id} " not in example.lower()
    assert "vmax.vx v8, v8, zero" not in guidance  # the ReLU answer


def test_off_by_one_kernel_fails_exactly_with_a_diff():
    source = RELU_C1.replace("vmax.vx v8, v8, zero", "vmax.vx v8, v8, zero\n    vadd.vi v8, v8, 1")
    evaluation = P.evaluate(source, P.prepare("relu", "C1", 0))
    assert evaluation.ok and not evaluation.correct and evaluation.match_rate == 0.0
    assert evaluation.diff.first_mismatch is not None


def test_untouched_output_is_reported_under_poison():
    half = RELU_C1.replace(".equ N, 512", ".equ N, 256")
    evaluation = P.evaluate(half, P.prepare("relu", "C1", 0, poison=True))
    assert not evaluation.correct and evaluation.diff.untouched == 256


def test_reading_uninitialised_dtcm_fails_only_under_poison():
    # sum a DTCM word nobody wrote into the first output byte
    source = RELU_C1.replace(
        "    li a0, 0                            # success",
        "    li t1, 0x17000\n    lb t2, 0(t1)\n    li t3, 0x20001000\n    lb t4, 0(t3)\n    add t4, t4, t2\n"
        "    sb t4, 0(t3)\n    li a0, 0",
    )
    assert P.evaluate(source, P.prepare("relu", "C1", 0)).correct
    assert not P.evaluate(source, P.prepare("relu", "C1", 0, poison=True)).correct


@pytest.mark.parametrize(
    ("body", "kind", "line"),
    [
        ("    ebreak", "ebreak", 4),
        ("    nop\n    sfence.vma", "illegal_instruction", 5),
        ("    vadd.vv v1, v2, v3", "illegal_instruction", 4),
        ("    li t0, 0x40000000\n    sw t0, 0(t0)", "store_access", 5),
        ("    li t0, 0x20400000\n    lw t0, 0(t0)", "load_access", 5),
        ("    la t0, main\n    sw t0, 0(t0)", "store_access", 5),
        ("    csrr t0, cycle", "illegal_instruction", 4),
        ("    ecall", "ecall", 4),
        ("    li a0, 7\n    ret", "nonzero_return", None),
    ],
)
def test_faults_are_values_with_the_source_line(body, kind, line):
    evaluation = P.evaluate(_kernel(body), P.prepare("relu", "C1", 0))
    assert not evaluation.ok and not evaluation.correct
    fault = evaluation.fault
    assert fault.kind == kind, fault.format()
    assert fault.line == line
    if line:
        assert fault.instruction and fault.pc is not None
    assert fault.format()


def test_falling_off_the_end_of_main_hints_at_a_missing_ret():
    source = "    .text\n    .globl main\nmain:\n    li a0, 0\n"
    fault = P.evaluate(source, P.prepare("relu", "C1", 0)).fault
    assert fault.kind == "illegal_instruction" and "does main end with `ret`" in fault.message
    # a fault inside the code does not get the hint
    inside = P.evaluate(_kernel("    .word 0"), P.prepare("relu", "C1", 0)).fault
    assert inside.kind == "illegal_instruction" and "ret" not in inside.message


def test_fault_pcs_read_in_hex():
    fault = P.evaluate(_kernel("    ebreak"), P.prepare("relu", "C1", 0)).fault
    text = fault.format()
    assert f"at pc {fault.pc:#x} (line 4)" in text and f"pc {fault.pc} " not in text


def test_a_misaligned_register_group_fault_names_the_register_and_the_group():
    body = "    vsetvli t0, zero, e8, m4, ta, ma\n    vadd.vv v3, v4, v8"
    fault = P.evaluate(_kernel(body), P.prepare("relu", "C1", 0)).fault
    assert fault.kind == "illegal_instruction"
    assert "vd = v3 must start a group of 4 registers" in fault.message and "e8, m4" in fault.message


def test_an_address_made_of_poison_is_called_so():
    # a pointer read from DTCM nobody wrote: poison under hidden scoring
    body = "    li t0, 0x17000\n    lw t1, 0(t0)\n    lw t2, 16(t1)"
    poisoned = P.evaluate(_kernel(body), P.prepare("relu", "C1", 0, poison=True)).fault
    assert poisoned.kind == "load_access" and "looks like poison" in poisoned.message
    elsewhere = P.evaluate(
        _kernel("    li t1, 0x40000000\n    lw t2, 0(t1)"), P.prepare("relu", "C1", 0)
    ).fault
    assert elsewhere.kind == "load_access" and "poison" not in elsewhere.message


def test_main_returning_with_callee_saved_registers_changed_is_an_abi_fault():
    instance = P.prepare("relu", "C1", 0)
    evaluation = P.evaluate(_kernel("    li s0, 5\n    li s11, 7\n    addi sp, sp, -16"), instance)
    assert not evaluation.ok and evaluation.fault.kind == "abi"
    assert set(evaluation.fault.state) == {"s0", "s11", "sp"}
    assert "s0 = 0x5 (was 0x0)" in evaluation.fault.message
    saved = "    addi sp, sp, -16\n    sw s0, 0(sp)\n    li s0, 5\n    lw s0, 0(sp)\n    addi sp, sp, 16"
    assert P.evaluate(_kernel(saved), instance).fault is None


def test_endless_loops_hit_the_instruction_and_wall_time_limits():
    loop = _kernel("1:  j 1b")
    instance = P.prepare("relu", "C1", 0)
    evaluation = P.evaluate(loop, instance, limits=RunLimits(max_instructions=50_000))
    assert evaluation.fault.kind == "instruction_limit"
    evaluation = P.evaluate(loop, instance, limits=RunLimits(max_instructions=10**12, wall_time_s=0.3))
    assert evaluation.fault.kind == "wall_time"


def test_instruction_size_counts_the_kernels_own_code_by_category():
    built = P.build(RELU_C1)
    sizes = P.instruction_size(built.program)
    assert sizes["total"] == built.size == 13  # li expands to lui + addi twice
    assert sizes["vector_load"] == 1 and sizes["vector_store"] == 1 and sizes["vset"] == 1


def test_roofline_is_a_lower_bound_and_grows_with_the_work():
    small, large = P.prepare("gemm", "C1", 0), P.prepare("gemm", "C3", 0)
    assert 0 < P.roofline(small) < P.roofline(large)


def test_stats_speak_to_a_kernel_writer():
    evaluation = P.evaluate(P.baseline("relu", "C1"), P.prepare("relu", "C1", 0))
    stats = evaluation.stats
    lines = stats.summary_lines()
    assert "IPC" in lines[0] and "vector" in lines[0] and "dispatch stalls" in lines[1]
    assert stats.to_dict()["cycles"] == evaluation.cycles
    assert stats.mix["vector_load"] > 0 and stats.ipc > 0


def test_docs_are_generated_from_the_tables():
    docs = P.docs()
    isa = docs["isa"]
    for d in TABLE:
        if d.unit not in ("vload", "vstore"):
            assert f"`{d.name}`" in isa, d.name
    hardware = docs["hardware"]
    for name, value in P.config.to_dict().items():
        assert f"`{name}` | {value} |" in hardware
    assert "axi_roundtrip" in hardware and "inferred" in hardware


def test_oct2025_profile_is_a_configuration():
    from kernelcraft.platforms.coral.config import CoralConfig

    old = CoralPlatform(CoralConfig.oct2025())
    assert old.profile_name() == "oct2025"
    instance = old.prepare("relu", "C1", 0)
    new_cycles = P.evaluate(RELU_C1, P.prepare("relu", "C1", 0)).cycles
    evaluation = old.evaluate(RELU_C1, instance)
    assert evaluation.correct and evaluation.cycles != new_cycles


def test_build_failures_are_diagnostics_not_exceptions():
    built = P.build("    .text\n    .globl main\nmain:\n    vadd.vv v1, v2\n")
    assert not built.ok and built.errors[0].line == 4
    assert not P.build("\ud800").ok
    assert not P.build("x" * (2 << 20)).ok
