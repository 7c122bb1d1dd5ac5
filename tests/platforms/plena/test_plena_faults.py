"""Every fault kind comes back as a Fault value pointing at the instruction; runs are deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.base import Fault, RunLimits
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG as CFG
from kernelcraft.platforms.plena.config import PlenaConfig
from kernelcraft.platforms.plena.layout import build_hbm_image, plan_hbm
from kernelcraft.platforms.plena.machine import MemoryImage

from .plena_helpers import const, execute

TOP_VRAM = CFG.vram_elems
CASES = [
    # (name, program; the last line faults, kind, words the message must contain)
    ("vram misaligned", "S_ADDI_INT gp1, gp0, 3\nV_ADD_VV gp1, gp0, gp0", "alignment", ["VLEN", "3"]),
    ("vram out of range", const("gp1", TOP_VRAM) + "V_EXP_V gp0, gp1", "address", ["outside VRAM"]),
    ("mm rows past vram", const("gp1", TOP_VRAM - 64) + "M_MM 0, gp0, gp1", "address", ["past the end"]),
    ("mram out of range", const("gp1", CFG.mram_elems) + "M_MM 0, gp1, gp0", "address", ["outside MRAM"]),
    ("mram column block", "S_ADDI_INT gp1, gp0, 4\nM_MM 0, gp1, gp0", "alignment", ["BLEN", "MLEN"]),
    ("mram head offset", "S_ADDI_INT gp1, gp0, 5\nM_BMM 0, gp1, gp0", "alignment", ["multiple of 16"]),
    ("prefetch_m dest", "S_ADDI_INT gp1, gp0, 64\nH_PREFETCH_M gp1, gp0, a0, 0, 0", "alignment", ["MRAM"]),
    (
        "prefetch_m past mram",
        const("gp1", CFG.mram_elems) + "H_PREFETCH_M gp1, gp0, a0, 0, 0",
        "address",
        ["MRAM"],
    ),
    (
        "hbm misaligned offset",
        "S_ADDI_INT gp1, gp0, 4\nH_PREFETCH_V gp0, gp1, a0, 0, 0",
        "alignment",
        ["MX block"],
    ),
    (
        "hbm stride misaligned",
        "S_ADDI_INT gp1, gp0, 12\nC_SET_STRIDE_REG gp1\nH_STORE_V gp0, gp0, a0, 1, 0",
        "alignment",
        ["STRIDE_REG"],
    ),
    (
        "hbm out of range",
        const("gp1", CFG.hbm_bytes) + "H_PREFETCH_V gp0, gp1, a0, 0, 0",
        "address",
        ["outside HBM"],
    ),
    (
        "hbm 64-bit address",
        "S_LUI_INT gp1, 0xFFFFF\nC_SET_ADDR_REG a0, gp1, gp0\nH_PREFETCH_M gp0, gp0, a0, 0, 0",
        "address",
        ["outside HBM"],
    ),
    (
        "scale reg out of range",
        const("gp1", CFG.hbm_bytes) + "C_SET_SCALE_REG gp1\nH_STORE_V gp0, gp0, a0, 0, 0",
        "address",
        ["SCALE_REG"],
    ),
    ("fp sram", const("gp1", CFG.fpsram_words) + "S_LD_FP f1, gp1, 0", "address", ["FP SRAM"]),
    ("fp sram store", "S_ST_FP f1, gp0, 1024", "address", ["FP SRAM"]),
    ("fp sram map", "S_MAP_V_FP gp0, gp0, 1000", "address", ["FP SRAM"]),
    ("int sram", "S_LD_INT gp1, gp0, 5000", "address", ["INT SRAM"]),
    ("int sram store", "S_ST_INT gp1, gp0, 1024", "address", ["INT SRAM"]),
    ("topk output", "S_ADDI_INT gp1, gp0, 1022\nV_TOPK gp1, gp0, gp0, 0", "address", ["SRAM"]),
    ("mm_wo stride past vram", "S_ADDI_INT gp1, gp0, 100000\nM_MM_WO gp0, gp1, 0", "address", ["VRAM"]),
    ("mm_wo column offset", "M_MM_WO gp0, gp0, 2", "alignment", ["BLEN"]),
    ("mv_wo", "M_MV_WO gp0, 62", "alignment", ["M_MV_WO"]),
    ("bmm_wo", const("gp1", TOP_VRAM - 64) + "M_BMM_WO gp1, 0", "address", ["VRAM"]),
]


@pytest.mark.parametrize(("name", "source", "kind", "words"), CASES, ids=[c[0] for c in CASES])
def test_fault_is_a_value_with_location(name, source, kind, words):
    source = "S_ADDI_INT gp9, gp0, 1\n" + source + "\nS_ADDI_INT gp9, gp0, 2\n"
    ex = execute(source, expect_fault=True)
    fault = ex.fault
    assert isinstance(fault, Fault), name
    assert fault.kind == kind, fault.format()
    lines = source.splitlines()
    assert fault.line == len(lines) - 1 and fault.pc == len(lines) - 2
    assert fault.instruction.split()[0] == lines[-2].split()[0]
    for word in words:
        assert word in fault.message, fault.format()
    assert ex.machine.g[9] == 1  # stopped at the fault
    text = fault.format()
    assert f"line {fault.line}" in text and kind in text


def test_trace_mode_reports_the_faulting_pc():
    ex = execute(
        "S_ADDI_INT gp1, gp0, 3\nS_ADDI_INT gp2, gp0, 0\nV_EXP_V gp1, gp2\n", expect_fault=True, trace=True
    )
    assert ex.fault.pc == 2 and ex.fault.line == 3 and ex.fault.instruction.startswith("V_EXP_V")


def test_loop_iteration_cap():
    cfg = PlenaConfig(max_loop_iteration_instructions=50)
    body = "S_ADDI_INT gp3, gp3, 1\n" * 60
    ex = execute(f"C_LOOP_START gp1, 3\n{body}C_LOOP_END gp1\n", config=cfg, expect_fault=True)
    assert ex.fault.kind == "loop_cap" and "limit 50" in ex.fault.message
    assert ex.fault.instruction == "C_LOOP_END gp1" and ex.fault.line == 62


def test_loop_cap_counts_inner_loops_in_outer_iteration():
    cfg = PlenaConfig(max_loop_iteration_instructions=100)
    src = (
        "C_LOOP_START gp1, 2\nC_LOOP_START gp2, 60\nS_ADDI_INT gp3, gp3, 1\nC_LOOP_END gp2\nC_LOOP_END gp1\n"
    )
    ex = execute(src, config=cfg, expect_fault=True)
    assert ex.fault.kind == "loop_cap" and ex.fault.instruction == "C_LOOP_END gp1"


def test_dynamic_instruction_limit():
    src = "C_LOOP_START gp1, 1000\nS_ADDI_INT gp2, gp2, 1\nC_LOOP_END gp1\n"
    ex = execute(src, limits=RunLimits(max_instructions=500), expect_fault=True)
    assert ex.fault.kind == "instruction_limit" and "500" in ex.fault.message
    assert ex.stats.instructions <= 510


def test_wall_time_limit_stops_an_endless_nested_loop():
    src = (
        "C_LOOP_START gp1, 4000000\nC_LOOP_START gp2, 4000000\nS_ADDI_INT gp3, gp3, 1\n"
        "C_LOOP_END gp2\nC_LOOP_END gp1\n"
    )
    ex = execute(src, limits=RunLimits(max_instructions=10**12, wall_time_s=0.05), expect_fault=True)
    assert ex.fault.kind == "wall_time" and ex.fault.instruction.startswith("C_LOOP_END")


def test_bad_mx_block_alignment_of_stride():
    src = const("gp1", 100) + "C_SET_STRIDE_REG gp1\nH_PREFETCH_V gp0, gp0, a0, 1, 0\n"
    ex = execute(src, expect_fault=True)
    assert ex.fault.kind == "alignment" and ex.fault.state["offset"] == 100


def test_fault_keeps_state_and_stats_so_far():
    ex = execute(
        "S_ADDI_INT gp1, gp0, 1\nS_ADDI_INT gp1, gp0, 7\nV_ADD_VV gp1, gp0, gp0\n", expect_fault=True
    )
    assert ex.fault.state["address"] == 7 and ex.stats.instructions == 3 and not ex.ok


# ----------------------------------------------------------------------------- determinism


def _mixed_program() -> tuple[str, MemoryImage]:
    x = np.random.default_rng(3).normal(size=(8, 64)).astype(np.float32)
    layout = plan_hbm([("x", (8, 64))])
    image = MemoryImage(
        hbm=build_hbm_image(layout, {"x": x}), fpsram={0: [0.5, 2.0]}, poison=True, poison_seed=5
    )
    src = (
        const("gp1", 512) + "C_SET_SCALE_REG gp1\nS_ADDI_INT gp5, gp0, 64\n"
        "H_PREFETCH_V gp0, gp0, a0, 0, 0\nH_PREFETCH_V gp5, gp0, a0, 0, 0\nS_LD_FP f1, gp0, 0\n"
        "C_LOOP_START gp2, 4\nV_MUL_VF gp3, gp3, f1, 0\nV_EXP_V gp3, gp3\nV_RED_SUM f2, gp3\n"
        "S_ADDI_INT gp3, gp3, 64\nC_LOOP_END gp2\n"
        "H_STORE_V gp0, gp5, a0, 0, 0\nM_MM 0, gp0, gp0\nM_MM_WO gp5, gp0, 0\n"
    )
    return src, image


def test_same_program_and_image_give_identical_results():
    src, image = _mixed_program()
    first, second = execute(src, image), execute(src, image)
    assert first.machine.vram.tobytes() == second.machine.vram.tobytes()
    assert first.machine.hbm[:4096].tobytes() == second.machine.hbm[:4096].tobytes()
    assert first.stats.to_dict() == second.stats.to_dict()
    traced = execute(src, image, trace=True)
    assert traced.stats.to_dict() == first.stats.to_dict()
    assert sum(duration for _, _, duration, _ in traced.trace) == first.stats.cycles


def test_poison_makes_uninitialised_reads_visible():
    ex = execute("V_ADD_VF gp0, gp0, f0\n", MemoryImage(poison=True))
    assert np.isnan(ex.machine.vram[:64].astype(np.float32)).all()
