"""The PLENA compiler baseline is correct on every Level-1 cell it supports, and honest about
the one it cannot lower."""

from __future__ import annotations

import dataclasses

import pytest

from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.baseline import generate
from kernelcraft.platforms.plena.baseline.level1 import GENERATORS
from kernelcraft.platforms.plena.config import PlenaConfig
from kernelcraft.platforms.plena.evaluation import evaluate, prepare

from .baseline_cells import cells, check_cell

LEVEL1 = ("silu", "relu", "gelu", "softmax", "layernorm", "rmsnorm", "gemv", "gemm", "batch_matmul", "linear")
CELLS = cells(LEVEL1, slow=("C5",))


@pytest.mark.parametrize(("task", "config"), CELLS)
def test_cell_is_correct_on_two_seeds_with_poisoned_memory(task, config):
    check_cell(task, config, seed=0, profile="normal")
    check_cell(task, config, seed=1, profile="mixed_signs")


@pytest.mark.parametrize("task", LEVEL1)
def test_large_and_near_zero_values(task):
    check_cell(task, "C2", seed=2, profile="large")
    check_cell(task, "C2", seed=3, profile="near_zero")


def test_every_level1_task_has_a_generator():
    assert set(GENERATORS) == set(LEVEL1)


def test_a_design_point_too_small_for_the_cell_is_reported_as_not_lowerable():
    # batch_matmul C5's output alone is 1,048,576 elements: it needs the default 32768-row VRAM.
    generate("batch_matmul", "C5")
    small = dataclasses.replace(PlenaConfig(), vram_rows=16384)
    with pytest.raises(NotImplementedError, match="VRAM"):
        generate("batch_matmul", "C5", small)


def test_unsupported_and_unknown_tasks_raise_value_error():
    with pytest.raises(ValueError, match="not supported"):
        generate("conv2d", "C1")
    with pytest.raises(ValueError, match="unknown task"):
        generate("no_such_task", "C1")
    with pytest.raises(ValueError, match="configuration"):
        generate("silu", "C9")


def test_elementwise_uses_hardware_loops_so_code_size_does_not_grow_with_shape():
    sizes = {c: len(assemble(generate("silu", c)).program) for c in ("C4", "C5")}
    assert sizes["C4"] == sizes["C5"]
    assert "C_LOOP_START" in generate("silu", "C5")


def test_gemm_splits_k_when_mram_is_too_small():
    # K = 256 needs 4 weight tiles per column block; with 2 MRAM tiles the baseline must split K
    # and sum the parts, and still be correct.
    tiny = PlenaConfig(mram_tiles=2)
    assert generate("gemm", "C4", tiny).count("V_ADD_VV") >= 1
    check_cell("gemm", "C4", seed=0, profile="normal", hw=tiny)
    check_cell("linear", "C3", seed=1, profile="normal", hw=tiny)


def test_weights_are_streamed_per_output_column_block():
    # gemm C5: K = 256, N = 512 -> 4 K tiles x 8 column blocks, each tile fetched exactly once.
    source = generate("gemm", "C5")
    result = evaluate(source, prepare("gemm", "C5", 0))
    assert result.correct
    assert result.stats.opcode_counts["H_PREFETCH_M"] == 4 * 8
    assert result.stats.opcode_counts["M_MM"] == (64 // 4) * (512 // 4) * 4
