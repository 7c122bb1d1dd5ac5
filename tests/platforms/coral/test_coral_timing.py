"""Timing micro-benchmarks: the per-instruction costs the reference notes derive from the RTL.

Each test states the expected cycles and where the number comes from ("ref" is
../shared/reference/coral-npu.md; the RTL files are those it cites). Rates are measured in
steady state as (cycles of 2N copies - cycles of N copies) / N, single latencies from the
dispatch trace.
"""

from __future__ import annotations

import pytest

from kernelcraft.platforms.coral.docs import OVERLAP_ROWS, overlap_body
from kernelcraft.platforms.coral.machine import Machine
from kernelcraft.platforms.coral.timing import Timing

from .coral_helpers import FEB, OCT, built, dispatch_of, dispatch_trace, kernel, needs_toolchain, steady

pytestmark = needs_toolchain

BUF = "buf: .space 2048"
M1 = "li t0, 16\nvsetvli t1, t0, e8, m1, ta, ma\nla a2, buf"
M8 = "li t0, 128\nvsetvli t1, t0, e8, m8, ta, ma\nla a2, buf"
M1_EXT = "li t0, 16\nvsetvli t1, t0, e8, m1, ta, ma\nli a2, 0x20000000"
M8_EXT = "li t0, 128\nvsetvli t1, t0, e8, m8, ta, ma\nli a2, 0x20000000"


# ---------------------------------------------------------------------------- scalar core


def test_scalar_load_use_is_four_cycles():
    # ref 1.3 "Scalar load from DTCM: 4 (load-to-use)"; 2.7 slot timeline: register write at c4.
    trace = dispatch_trace(kernel("la a2, buf\nlw a1, 0(a2)\naddi a3, a1, 1", BUF))
    assert dispatch_of(trace, "addi a3, a1, 1") - dispatch_of(trace, "lw a1, 0(a2)") == 4


def test_external_scalar_load_use_adds_the_axi_round_trip():
    # ref 1.3 "Scalar load/store to external memory: about 6" (3-cycle AXI round trip, 3.3).
    trace = dispatch_trace(kernel("li a2, 0x20000000\nlw a1, 0(a2)\naddi a3, a1, 1"))
    assert dispatch_of(trace, "addi a3, a1, 1") - dispatch_of(trace, "lw a1, 0(a2)") == 6


def test_back_to_back_scalar_loads_one_per_four_cycles():
    # ref 1.3 / 2.7: the single LSU slot takes one load per 4 cycles.
    assert steady("lw a1, 0(a2)\n", "la a2, buf", data=BUF) == 4


def test_back_to_back_scalar_stores_one_per_two_cycles():
    # ref 1.3 / 2.7: "Scalar store, DTCM: ... 2 cycles each".
    assert steady("sw a1, 0(a2)\n", "la a2, buf", data=BUF) == 2


def test_dependent_alu_chain_one_per_cycle():
    # ref 1.3: ALU latency 1 through the comb scoreboard view.
    assert steady("addi a1, a1, 1\n", reps=16) == 1


def test_independent_alu_fetch_limited_to_two_per_cycle_feb():
    # ref 1.2: Feb-2026 fetch issues every other cycle -> at most 2 instructions per cycle.
    block = "addi a1, a0, 1\naddi a2, a0, 1\naddi a3, a0, 1\naddi a4, a0, 1\n"
    assert steady(block, reps=16) / 4 == 0.5


def test_oct2025_fetch_is_faster_but_bounded_by_the_buffer_rule():
    # Oct 2025 fetches every cycle, but UncachedFetch.scala only issues a fetch when the 8-entry
    # buffer (registered count) has room for the arriving line plus 4 more: 8 per 3 cycles.
    block = "addi a1, a0, 1\naddi a2, a0, 1\naddi a3, a0, 1\naddi a4, a0, 1\n"
    assert steady(block, reps=16, config=OCT) / 4 == pytest.approx(3 / 8)


def test_multiply_latency_two_cycles():
    # ref 1.3: "MUL, MULH* (MLU) 2".
    assert steady("mul a1, a1, a3\n", reps=16) == 2


# ---------------------------------------------------------------------------- branches


def test_mispredicted_forward_branch_costs_three_bubbles():
    # ref 1.4: branch at t, next useful dispatch at t+4. A taken forward branch is predicted not taken.
    trace = dispatch_trace(kernel("li a0, 1\nli a1, 2\nbne a0, a1, 1f\naddi a4, a4, 1\n1: addi a5, a5, 1"))
    assert dispatch_of(trace, "addi a5, a5, 1") - dispatch_of(trace, "bne a0, a1") == 4


def test_correctly_predicted_not_taken_branch_only_splits_the_group():
    # ref 1.4: "Correctly predicted not-taken: next instruction at t+1".
    trace = dispatch_trace(kernel("li a0, 1\nli a1, 2\nbeq a0, a1, 1f\naddi a4, a4, 1\n1: addi a5, a5, 1"))
    assert dispatch_of(trace, "addi a4, a4, 1") - dispatch_of(trace, "beq a0, a1") == 1


def test_jalr_is_never_predicted():
    # ref 1.4: "Mispredicted branch, or any jalr: ... next useful dispatch at t+4".
    trace = dispatch_trace(kernel("la t0, 1f\njalr zero, 0(t0)\naddi a4, a4, 1\n1: addi a6, a6, 1"))
    jalr = [t for _pc, t, s in trace if s.startswith("jalr zero, 0(t0)")][0]
    assert dispatch_of(trace, "addi a6, a6, 1") - jalr == 4


def test_two_instruction_loop_runs_every_other_cycle():
    # A predicted-taken backward branch refetches the loop line; with fetch every other cycle (Feb)
    # and the addi -> bnez dependence, one iteration per 2 cycles.
    trace = dispatch_trace(kernel("li t0, 20\n1: addi t0, t0, -1\nbnez t0, 1b"))
    branches = [t for _pc, t, s in trace if s.startswith("bne t0, zero")]
    assert {b - a for a, b in zip(branches[1:], branches[2:], strict=False)} == {2}


# ---------------------------------------------------------------------------- vector memory


@pytest.mark.parametrize(
    "setup,block,reps,expected,source",
    [
        (M1, "vle8.v v1, (a2)\n", 8, 5, "ref 2.7: n+3 per register + 1 per instruction, vle8 m1 about 5"),
        (M8, "vle8.v v8, (a2)\n", 4, 33, "ref 2.7: m8 about 33 cycles per 128 B"),
        (M1_EXT, "vle8.v v1, (a2)\n", 8, 7, "ref 2.7: external load 3 + 3n per register, m1 about 7"),
        (M8_EXT, "vle8.v v8, (a2)\n", 4, 49, "ref 2.7: external m8 about 49 cycles per 128 B"),
        (M1, "vse8.v v1, (a2)\n", 8, 4, "ref 2.7: store n+2 per register + 1, m1 about 4"),
        (M8, "vse8.v v8, (a2)\n", 4, 25, "ref 2.7: store m8 about 25"),
        (M1_EXT, "vse8.v v1, (a2)\n", 8, 6, "ref 2.7: external store 2 + 3n per register + 1"),
    ],
)
def test_vector_memory_throughput(setup, block, reps, expected, source):
    assert steady(block, setup, reps=reps, data=BUF) == expected, source


def test_vector_load_first_use_at_nine_cycles():
    # ref 2.7: handshake t+4, bus t+5, data t+6, write back t+7, ROB t+8, dependent dispatch t+9.
    source = kernel(M1 + "\nvle8.v v1, (a2)", BUF)
    program = built(source)
    machine = Machine(FEB)
    machine.timing = Timing(FEB, machine)
    machine.timing.trace = []
    machine.load_program(program)
    machine.run()
    vle = [t for pc, t in machine.timing.trace if machine.code[pc].text.startswith("vle8.v v1")][0]
    assert machine.timing.vready[1] - vle == 9


def test_vector_to_scalar_result_after_six_or_seven_cycles():
    # ref 2.6: vmv.x.s comes back through the retire path, about 6-7 cycles from dispatch.
    trace = dispatch_trace(
        kernel("li t0, 16\nvsetvli t1, t0, e8, m1, ta, ma\nvmv.x.s a1, v2\naddi a3, a1, 1")
    )
    gap = dispatch_of(trace, "addi a3, a1, 1") - dispatch_of(trace, "vmv.x.s a1, v2")
    assert gap in (6, 7)


def test_vector_load_cannot_follow_an_rvv_instruction_in_the_next_cycle():
    # ref 1.2 RVV config interlock: a vector load/store is blocked in the cycle after any RVV dispatch.
    trace = dispatch_trace(kernel(M1 + "\nvadd.vv v3, v4, v4\nvle8.v v1, (a2)", BUF))
    assert dispatch_of(trace, "vle8.v v1, (a2)") - dispatch_of(trace, "vadd.vv v3, v4, v4") >= 2


# ---------------------------------------------------------------------------- RVV back end


def test_dependent_vector_alu_chain_two_cycles():
    # ref 2.4: ALU result latency 2 (no chaining; the consumer dispatches the cycle after the ROB write).
    assert steady("vadd.vv v4, v4, v2\n", M1, data=BUF) == 2


def test_vwmacc_accumulation_chain_three_cycles():
    # ref 2.4: MUL/MAC latency 3; vwmacc e8 m1 is 2 uops, each depending on its own accumulator half.
    assert steady("vwmacc.vv v4, v1, v2\n", "li t0, 16\nvsetvli t1, t0, e8, m1, ta, ma") == 3


def test_independent_vwmacc_one_per_cycle_on_two_mac_units():
    # ref 2.4: 2 MAC units, vwmacc e8 m1 = 2 uops -> 16 int8 MAC per cycle.
    block = "vwmacc.vv v4, v1, v2\nvwmacc.vv v8, v1, v2\nvwmacc.vv v12, v1, v2\nvwmacc.vv v16, v1, v2\n"
    assert steady(block, "li t0, 16\nvsetvli t1, t0, e8, m1, ta, ma") / 4 == 1


def test_vredsum_m8_is_lmul_plus_two():
    # ref 2.4: reductions about L + 2 cycles for L source uops on the single PMTRDT unit.
    assert steady("vredsum.vs v1, v8, v1\n", M8, data=BUF) == 10


def test_vadd_m8_takes_four_cycles_on_two_alus():
    # ref 2.3/2.4: m8 is 8 uops; 2 ALUs take 2 per cycle.
    assert steady("vadd.vv v8, v16, v24\n", M8, data=BUF) == 4


def test_lmul_reduction_shrinks_uops_with_vl():
    # ref 2.3: Feb 2026 reduces LMUL to cover vl (vsetvli e8, m8 with vl = 32 behaves as m2).
    # (vl = 32 fills both registers: a partly filled register also reads the old vd for its tail.)
    setup = "li t0, 32\nvsetvli t1, t0, e8, m8, ta, ma"
    assert steady("vadd.vv v8, v16, v24\n", setup) == 1  # 2 uops on 2 ALUs
    assert steady("vadd.vv v8, v16, v24\n", setup, config=OCT) == 4  # Oct: still 8 uops


def test_retirement_buffer_limits_in_flight_vector_ops_feb_only():
    # ref 1.2: the 8-entry retirement buffer (Feb 2026) holds vector instructions until their last
    # uop retires; Oct 2025 has none, so independent vadds flow at the fetch rate.
    block = "vadd.vv v4, v1, v2\nvadd.vv v5, v1, v2\n"
    feb, octo = steady(block, M1, data=BUF) / 2, steady(block, M1, data=BUF, config=OCT) / 2
    assert feb == 0.75  # 8 entries held about 6 cycles each
    assert octo < feb


def test_configs_differ_only_by_their_switches():
    assert FEB.profile == "feb2026" and OCT.profile == "oct2025"
    assert FEB.with_(retirement_buffer=0).profile == "custom"


# ---------------------------------------------------------------------------- numbers the docs state


def test_the_startup_and_bss_costs_the_memory_doc_states():
    from kernelcraft.platforms.coral.docs import BSS_CYCLES_PER_BYTE, STARTUP_CYCLES

    from .coral_helpers import cycles

    assert cycles("") == STARTUP_CYCLES
    bss = "    la t0, buf\n    li a0, 0\n    ret\n    .bss\nbuf: .space 4096\n"
    source = "    .text\n    .globl main\nmain:\n" + bss
    with_bss = _run_cycles(source)
    assert (with_bss - STARTUP_CYCLES) / 4096 == pytest.approx(BSS_CYCLES_PER_BYTE, abs=0.01)
    assert _run_cycles(source.replace(".bss", ".data")) <= STARTUP_CYCLES + 2  # .data is free
    unreferenced = source.replace("    la t0, buf\n", "")
    assert _run_cycles(unreferenced) == STARTUP_CYCLES  # the linker drops it


def _run_cycles(source: str) -> int:
    from .coral_helpers import run

    result = run(source)
    assert result.fault is None, result.fault.format()
    return result.stats.cycles


@pytest.mark.parametrize("row", OVERLAP_ROWS, ids=[r[0] for r in OVERLAP_ROWS])
def test_the_load_and_arithmetic_overlap_table_of_the_hardware_doc(row):
    # ref 2.5 "ROB limit. At most 8 uops are in flight, and retirement is in order"; 2.7 load costs.
    _label, body, vtype, expected = row
    setup = f"la a0, buf\nvsetvli t0, zero, {vtype}, ta, ma"
    assert steady(overlap_body(body), setup, data=BUF) == expected
