"""Reads of memory nothing wrote are reported as run-time warnings (instruction, region, range)."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.plena.footprints import FOOTPRINTS
from kernelcraft.platforms.plena.isa import INSTRUCTIONS
from kernelcraft.platforms.plena.layout import build_hbm_image, plan_hbm
from kernelcraft.platforms.plena.machine import MemoryImage

from .plena_helpers import const, execute

V = 64


def _warnings(source: str, image: MemoryImage | None = None):
    image = image or MemoryImage()
    image.poison = True
    return execute(source, image).warnings


def test_every_instruction_has_a_footprint():
    assert [spec.name for spec in INSTRUCTIONS if spec.name not in FOOTPRINTS] == []


def test_reading_a_never_written_row_names_line_region_and_range():
    source = "S_ADDI_INT gp1, gp0, 128\nS_ADDI_INT gp2, gp0, 256\nV_ADD_VV gp2, gp1, gp0, 0\n"
    (w,) = _warnings(source, MemoryImage(vram={0: np.ones(V, np.float32)}))
    assert w.severity == "warning" and w.line == 3 and w.text == "V_ADD_VV gp2, gp1, gp0, 0"
    assert "reads VRAM [128, 192), which nothing wrote" in w.message


def test_values_computed_from_poison_are_reported_as_such_where_they_are_read():
    source = (
        "S_ADDI_INT gp1, gp0, 128\nS_ADDI_INT gp2, gp0, 256\n"
        "V_EXP_V gp2, gp1, 0\n"  # line 3: reads never-written row 128, writes row 256
        "V_ADD_VV gp2, gp2, gp2, 0\n"  # line 4: reads row 256, computed from poison
    )
    first, second = _warnings(source)
    assert first.line == 3 and "which nothing wrote" in first.message
    assert second.line == 4 and "computed from memory nothing wrote" in second.message
    assert "VRAM [256, 320)" in second.message


def test_initialised_data_gives_no_warning_and_tracking_follows_poison():
    image = MemoryImage(vram={0: np.ones(V, np.float32)})
    source = "S_ADDI_INT gp1, gp0, 64\nV_ADD_VV gp1, gp0, gp0, 0\nV_EXP_V gp1, gp1, 0\n"
    assert _warnings(source, image) == []
    unpoisoned = execute("S_ADDI_INT gp1, gp0, 128\nV_EXP_V gp1, gp1, 0\n")
    assert unpoisoned.warnings == []  # not poisoned: not tracked unless asked
    asked = execute("S_ADDI_INT gp1, gp0, 128\nV_EXP_V gp1, gp1, 0\n", MemoryImage(track_reads=True))
    assert len(asked.warnings) == 1


def test_masked_reduction_reads_only_enabled_heads():
    image = MemoryImage(vram={0: np.ones(32, np.float32)})  # heads 0 and 1 of row 0 written
    source = "S_ADDI_INT gp1, gp0, 3\nC_SET_V_MASK_REG gp1\nV_RED_SUM f1, gp0, 1\n"
    assert _warnings(source, image) == []
    (w,) = _warnings("V_RED_SUM f1, gp0, 0\n", image)
    assert "VRAM [32, 64)" in w.message  # only the unwritten half


def test_partial_writes_are_tracked_per_element():
    # An M_MM_WO of the (clear) accumulator writes BLEN x BLEN zeros into row 0 columns 4..7.
    source = "S_ADDI_INT gp1, gp0, 4\nM_MM_WO gp1, gp0, 0\nV_RED_MAX f1, gp0, 0\n"
    (w,) = _warnings(source)
    assert w.line == 3 and "VRAM [0, 64)" in w.message  # columns 0..3 and 8..63 were never written
    source = "".join(f"S_ADDI_INT gp1, gp0, {c}\nM_MM_WO gp1, gp0, 0\n" for c in range(0, V, 4))
    assert _warnings(source + "V_RED_MAX f1, gp0, 0\n") == []


def _tile_past_the_end():
    """A 32-row weight in HBM: H_PREFETCH_M still moves 64 rows, 32 of them past its end."""
    w = np.random.default_rng(0).normal(size=(32, V)).astype(np.float32)
    layout = plan_hbm([("w", (32, V))])
    src = const("gp1", layout["w"].numel) + "C_SET_SCALE_REG gp1\nH_PREFETCH_M gp0, gp0, a0, 0, 0\n"
    src += "S_ADDI_INT gp5, gp0, 4096\n"
    image = MemoryImage(hbm=build_hbm_image(layout, {"w": w}), vram={4096: np.ones(4 * V, np.float32)})
    return src, image


def test_a_transfer_is_a_move_the_use_of_what_it_brought_is_reported():
    src, image = _tile_past_the_end()
    line = src.count("\n") + 1
    # M_TMM against tile rows 0..3 uses only rows the tensor covers: nothing to report.
    assert _warnings(src + "M_TMM 0, gp5, gp0\n", image) == []
    # M_MM contracts over all 64 tile rows: rows 32..63 came from past the tensor's end.
    (w,) = _warnings(src + "M_MM 0, gp0, gp5\n", image)
    assert w.line == line and "MRAM [2048, 4096)" in w.message
    assert "which line 3 loaded from HBM" in w.message and "which nothing wrote" in w.message


def test_fp_sram_slots_and_fp_registers_carry_the_taint():
    image = MemoryImage(fpsram={0: np.ones(4, np.float32)}, vram={0: np.ones(V, np.float32)})
    source = "S_LD_FP f1, gp0, 2\nS_LD_FP f2, gp0, 9\nS_ADDI_INT gp1, gp0, 64\nV_MUL_VF gp1, gp0, f2, 0\n"
    source += "V_RED_SUM f3, gp1, 0\n"
    first, second = _warnings(source, image)
    assert first.line == 2 and "FP SRAM [9, 10)" in first.message
    assert second.line == 5 and "computed from memory nothing wrote" in second.message


def test_hbm_stored_then_reloaded_keeps_its_state():
    image = MemoryImage(vram={0: np.ones(4 * V, np.float32)})
    setup = const("gp1", 1 << 16) + "C_SET_SCALE_REG gp1\n"
    setup += "S_ADDI_INT gp2, gp0, 512\nS_ADDI_INT gp3, gp0, 1024\n"
    good = setup + "H_STORE_V gp0, gp0, a0, 0, 0\nH_PREFETCH_V gp2, gp0, a0, 0, 0\nV_EXP_V gp2, gp2, 0\n"
    assert _warnings(good, image) == []
    # Row 1024.. was never written: storing and reloading it is still a read of nothing.
    bad = setup + "H_STORE_V gp3, gp0, a0, 0, 0\nH_PREFETCH_V gp2, gp0, a0, 0, 0\nV_EXP_V gp2, gp2, 0\n"
    (w,) = _warnings(bad, image)
    assert "which nothing wrote" in w.message and w.text == "V_EXP_V gp2, gp2, 0"


@pytest.mark.parametrize("task_id", ["silu", "gemm", "sdpa", "mha"])
def test_baselines_read_nothing_unwritten(task_id):
    from kernelcraft.platforms.plena.baseline import generate
    from kernelcraft.platforms.plena.evaluation import prepare

    instance = prepare(task_id, "C1", seed=0, poison=True)
    ex = execute(generate(task_id, "C1"), instance.image)
    assert ex.warnings == [], [w.format() for w in ex.warnings]


def test_per_head_scores_from_keys_past_the_end_stay_in_their_columns():
    """M_BTMM gives one score column per tile row: keys past a 32-row K only spoil their own
    columns, which a masked softmax leaves out; reading the whole row is reported."""
    w = np.random.default_rng(1).normal(size=(32, V)).astype(np.float32)
    layout = plan_hbm([("k", (32, V))])
    src = const("gp1", layout["k"].numel) + "C_SET_SCALE_REG gp1\nH_PREFETCH_M gp0, gp0, a0, 0, 0\n"
    src += "S_ADDI_INT gp5, gp0, 8192\nM_BTMM 0, gp0, gp5\nM_BMM_WO gp0, 0\n"
    image = MemoryImage(hbm=build_hbm_image(layout, {"k": w}), vram={8192: np.ones(V * V, np.float32)})
    masked = src + "S_ADDI_INT gp1, gp0, 3\nC_SET_V_MASK_REG gp1\nV_RED_MAX f1, gp0, 1\n"  # keys 0..31
    assert _warnings(masked, image) == []
    (w,) = _warnings(src + "V_RED_MAX f1, gp0, 0\n", image)
    assert "VRAM [32, 64)" in w.message and "loaded from HBM" in w.message
