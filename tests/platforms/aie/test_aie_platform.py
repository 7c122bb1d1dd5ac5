"""The AIE platform through its API: shapes, contract, docs, lockstep calls, poison, ablations."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.aie import layout as L
from kernelcraft.platforms.aie.assembler import assemble
from kernelcraft.platforms.aie.config import DEFAULT_CONFIG, AieConfig
from kernelcraft.platforms.aie.docs import WORKED_EXAMPLE, render_docs
from kernelcraft.platforms.aie.evaluation import run
from kernelcraft.platforms.aie.harness import run_stages
from kernelcraft.platforms.aie.isa import INSTRUCTIONS
from kernelcraft.platforms.aie.machine import new_machine
from kernelcraft.platforms.aie.platform import AiePlatform
from kernelcraft.platforms.aie.shapes import ELEMENT_COUNTS, ELEMENTWISE, TABLE_13
from kernelcraft.platforms.base import RunLimits
from kernelcraft.tasks import SCORING_PROFILES, all_tasks

from .aie_helpers import get_bf16, put_bf16

PLAT = AiePlatform()


def test_shapes_are_the_papers_table_13():
    shapes = PLAT.shapes()
    for task_id in ELEMENTWISE:
        counts = [p["R"] * p["H"] for p in shapes[task_id].values()]
        assert counts == list(ELEMENT_COUNTS), task_id
    assert shapes["gemm"]["C5"] == {"M": 128, "K": 512, "N": 1024}
    assert shapes["batch_matmul"]["C4"] == {"B": 32, "M": 64, "K": 512, "N": 256}
    assert shapes["mqa"]["C5"] == {"S": 128, "H": 512, "nh": 8, "nkv": 1}
    assert shapes["decoder_t5"]["C2"] == {"S": 16, "H": 128, "nh": 2, "I": 512}
    assert set(TABLE_13) <= set(shapes)


def test_unsupported_tasks_say_why():
    reasons = PLAT.unsupported()
    assert "officially supported" in reasons["flash_attention"]
    for task_id in ("conv2d", "depthwise_conv", "conv_block"):
        assert "Table 13" in reasons[task_id]
    supported = [t.id for t in all_tasks() if PLAT.supports(t)]
    assert len(supported) == 19 and "rope" in supported and "decoder_t5" in supported


def test_contract_states_calls_memory_and_constants():
    inst = PLAT.prepare("linear", "C2", 0)
    text = inst.contract_text()
    for fragment in (
        "`kernel`",
        "p0 = A tile",
        "r3 = 1 on the last K step",
        "0x7F000",
        "bias",
        "poison",
        "per call",
    ):
        assert fragment in text, fragment
    sdpa = PLAT.prepare("sdpa", "C1", 0).contract_text()
    assert "`scores`" in sdpa and "`softmax`" in sdpa and "`pv`" in sdpa and "-inf" in sdpa


def test_docs_cover_every_mnemonic_and_every_number_has_a_source():
    docs = render_docs(DEFAULT_CONFIG)
    for spec in INSTRUCTIONS:
        if spec.generation == "aie-ml":
            assert f"`{spec.mnemonic}" in docs["isa"], spec.mnemonic
    assert "inv " not in docs["isa"].split("## Vector move")[-1]  # AIE-ML v2 ops stay out of the default
    hardware = docs["hardware"]
    for line in hardware.splitlines():
        if line.startswith("| ") and not line.startswith("| parameter") and "---" not in line:
            assert line.rstrip(" |").split("|")[-1].strip(), line  # the source column is filled
    assert "not AMD hardware" in hardware and "not AMD hardware" in docs["isa"]
    v2 = render_docs(AieConfig(generation="aie2p-scalar"))["isa"]
    assert "`invsqrt" in v2


def test_every_constant_entry_states_its_lanes_and_the_bytes_agree():
    docs = render_docs(DEFAULT_CONFIG)["memory_layout"]
    contract = PLAT.prepare("softmax", "C1", 0).contract_text()
    image = L.constant_image({})
    for c in L.CONSTANTS.values():
        assert f"| {c.name} | 0x{c.address:05X} | {c.lanes} |" in docs, c.name
        assert f"| {c.name} | 0x{c.address:05X} | {c.lanes} |" in contract, c.name
        if c.lanes == "16 fp32" and c.name in L.FIXED_VALUES:
            lanes = image[c.offset : c.offset + 64].view(np.float32)
            assert np.all(lanes == np.float32(L.FIXED_VALUES[c.name])), c.name
    assert L.CONSTANTS["exp_c1"].lanes == "16 fp32" and L.CONSTANTS["exp_c4"].lanes.startswith("32 bf16")


def test_the_timing_section_names_every_late_accumulator_operand_from_the_table():
    isa = render_docs(DEFAULT_CONFIG)["isa"]
    for spec in INSTRUCTIONS:
        late = [o.name for o in spec.operands if o.acc_delay]
        if late and spec.generation == "aie-ml":
            assert f"{spec.mnemonic} ({' and '.join(late)})" in isa, spec.mnemonic
    assert "vadd.f (bmA and bmB)" in isa and "which are read at issue + 2" in isa


def test_worked_example_in_the_guidance_assembles_and_runs():
    assert WORKED_EXAMPLE in render_docs()["guidance"]
    result = assemble(WORKED_EXAMPLE)
    assert result.program is not None and result.diagnostics == []
    m = new_machine(DEFAULT_CONFIG)
    consts = L.constant_image({})
    m.memory[0, L.CONSTS - L.BASE : L.CONSTS - L.BASE + consts.size] = consts
    x = np.linspace(-3, 3, 16)
    put_bf16(m, L.BASE, x)
    out = m.call(result.program, 0, {"p0": L.BASE, "p1": L.BASE + 0x100, "p5": L.CONSTS}, RunLimits())
    assert out.fault is None and m.hazards == {}
    from kernelcraft.platforms.aie import numerics as nx

    want = nx.to_bf16_values(2 * nx.to_bf16_values(x).astype(np.float64) + 1)
    assert (get_bf16(m, L.BASE + 0x100, 16) == want).all()


def _run_plan(task_id: str, config: str, max_lanes: int, source: str | None = None):
    inst = PLAT.prepare(task_id, config, 1)
    program = PLAT.build(source or PLAT.baseline(task_id, config)).program
    tensors = {k: v.copy() for k, v in inst.inputs.items()}
    if inst.plan.prepare:
        inst.plan.prepare(tensors)
    consts = L.constant_image(inst.constants)

    def make(lanes):
        m = new_machine(DEFAULT_CONFIG, lanes=lanes)
        m.memory[:, L.CONSTS - L.BASE : L.CONSTS - L.BASE + consts.size] = consts
        return m

    result = run_stages(
        program, inst.plan.stages, tensors, make, RunLimits(), DEFAULT_CONFIG, max_lanes=max_lanes
    )
    return result, inst.plan.output(tensors)


@pytest.mark.parametrize("task_id, config", [("gemm", "C2"), ("silu", "C3"), ("sdpa", "C2")])
def test_lockstep_calls_equal_one_at_a_time(task_id, config):
    seq, out_seq = _run_plan(task_id, config, 1)
    par, out_par = _run_plan(task_id, config, 32)
    assert seq.fault is None and par.fault is None
    np.testing.assert_array_equal(out_seq, out_par)
    assert seq.kernel_cycles == par.kernel_cycles and seq.calls == par.calls
    assert seq.stats.bundles == par.stats.bundles and seq.stats.stall_bank == par.stats.stall_bank


DATA_DEPENDENT_RELU = """
// ReLU whose control flow depends on the data: lanes of one lockstep group disagree on the branch.
kernel:
    movxm ls, #body
    movxm le, #last
    movxm lc, #32
    vbxor x1, x1, x1 ; movx r5, #0
    nop
    nop
    nop
    nop
    nop
    nop
body:
    vlda wl0, [p0], #32
    vlda wh0, [p0], #32
    nop
    nop
    nop
    nop
    nop
    nop
    vextract.s16 r6, x0, r5
    nop
    jz r6, #skip
    nop
    nop
    nop
    nop
    nop
skip:
    vmax_lt.bf16 x2, r0, x0, x1
    nop
    vst wl2, [p1], #32
    nop
    nop
    nop
    nop
last:
    vst wh2, [p1], #32
    ret lr
    nop
    nop
    nop
    nop
    nop
"""


def test_diverging_lanes_fall_back_to_one_call_at_a_time():
    seq, out_seq = _run_plan("relu", "C5", 1, DATA_DEPENDENT_RELU)
    par, out_par = _run_plan("relu", "C5", 32, DATA_DEPENDENT_RELU)
    assert seq.fault is None and par.fault is None
    np.testing.assert_array_equal(out_seq, out_par)
    assert seq.kernel_cycles == par.kernel_cycles
    inst = PLAT.prepare("relu", "C5", 1)
    np.testing.assert_array_equal(out_par, inst.reference)


@pytest.mark.parametrize("task_id", ["relu", "gemm", "softmax", "swiglu", "rope"])
def test_baseline_survives_poison_and_the_cheater_does_not(task_id):
    base = PLAT.baseline(task_id, "C1")
    assert PLAT.evaluate(base, PLAT.prepare(task_id, "C1", 2, poison=True)).correct
    cheat = PLAT.scripted_kernel("cheater", task_id, "C1")
    assert PLAT.evaluate(cheat, PLAT.prepare(task_id, "C1", 2)).correct
    assert not PLAT.evaluate(cheat, PLAT.prepare(task_id, "C1", 2, poison=True)).correct


NAIVE_RELU = """
// ReLU written as if the pipeline were interlocked: no waiting for the loads.
kernel:
    vbxor x1, x1, x1
    movxm ls, #body
    movxm le, #last
    movxm lc, #{n}
    nop
    nop
    nop
    nop
    nop
    nop
body:
    vlda wl0, [p0], #32
    vlda wh0, [p0], #32
    vmax_lt.bf16 x2, r0, x0, x1
    vst wl2, [p1], #32
last:
    vst wh2, [p1], #32
    ret lr
    nop
    nop
    nop
    nop
    nop
"""


def test_interlocked_ablation_runs_naive_code_and_counts_its_stalls():
    src = NAIVE_RELU.format(n=8)
    exposed = PLAT.evaluate(src, PLAT.prepare("relu", "C1", 0))
    assert not exposed.correct
    assert any("hazard" in d.message for d in exposed.diagnostics)
    assert any("sees the old value" in d.message for d in PLAT.build(src).diagnostics)
    inter = AiePlatform(AieConfig(pipeline="interlocked"))
    ev = inter.evaluate(src, inter.prepare("relu", "C1", 0))
    assert ev.correct and ev.stats.stall_interlock > 0
    assert "interlock" in " ".join(ev.stats.summary_lines())
    assert inter.profile_name() and "ablation" in inter.profile_name()


def test_stats_summary_and_dma_report():
    ev = PLAT.evaluate(PLAT.baseline("gemm", "C2"), PLAT.prepare("gemm", "C2", 0))
    st = ev.stats
    assert st.cycles == st.kernel_cycles + st.calls * DEFAULT_CONFIG.call_overhead_cycles
    assert st.mac_ops == 16 * 256 * 128 // 128  # every bf16 MAC of the task, once
    assert 0 < st.v_slot_utilisation <= 1 and st.program_bytes > 0
    assert st.dma_in_bytes > 0 and st.dma_cycles > 0
    lines = st.summary_lines()
    assert any("V slot busy" in line for line in lines) and any("DMA" in line for line in lines)


def test_missing_entry_label_is_a_fault_not_an_exception():
    ev = PLAT.evaluate("other:\n    ret lr\n" + "    nop\n" * 5, PLAT.prepare("gemm", "C1", 0))
    assert not ev.ok and ev.fault is not None and "entry label" in ev.fault.message


def test_roofline_is_below_the_baseline():
    for task_id in ("gemm", "silu", "rmsnorm", "mha"):
        inst = PLAT.prepare(task_id, "C1", 0)
        ev = run(PLAT.build(PLAT.baseline(task_id, "C1")).program, inst)
        assert 0 < PLAT.roofline(inst) <= ev.cycles


@pytest.mark.slow
@pytest.mark.parametrize("task_id", [t.id for t in all_tasks() if PLAT.supports(t)])
@pytest.mark.parametrize("config", ["C1", "C2", "C3"])
def test_baseline_passes_the_scoring_profiles(task_id, config):
    program = PLAT.build(PLAT.baseline(task_id, config)).program
    for profile in SCORING_PROFILES:
        ev = PLAT.run(program, PLAT.prepare(task_id, config, 7, profile, poison=True))
        assert ev.correct, ev.format_summary()
