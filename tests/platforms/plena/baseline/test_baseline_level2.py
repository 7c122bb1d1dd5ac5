"""The PLENA compiler baseline is correct on every Level-2 cell (RoPE, MLPs, attention cores and
projected attentions), and the helpers the attention lowering relies on do what they claim."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.plena import layout
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.baseline import attention, blocks, composite, generate
from kernelcraft.platforms.plena.baseline.emit import Asm
from kernelcraft.platforms.plena.evaluation import evaluate, prepare
from kernelcraft.platforms.plena.machine import MemoryImage, run
from kernelcraft.platforms.plena.mx import mx_roundtrip, to_bf16

from .baseline_cells import cells, check_cell

LEVEL2 = ("rope", "ffn", "swiglu", "sdpa", "flash_attention", "mha", "gqa", "mqa")
CELLS = cells(LEVEL2)


@pytest.mark.parametrize(("task", "config"), CELLS)
def test_cell_is_correct_on_two_seeds_with_poisoned_memory(task, config):
    check_cell(task, config, seed=0, profile="normal")
    check_cell(task, config, seed=1, profile="mixed_signs")


@pytest.mark.parametrize("task", ["rope", "sdpa", "mha"])
def test_large_and_near_zero_values(task):
    check_cell(task, "C1", seed=2, profile="large")
    check_cell(task, "C1", seed=3, profile="near_zero")


def test_every_level2_task_has_a_generator():
    owned = set(attention.GENERATORS) | set(composite.GENERATORS)
    assert set(LEVEL2) <= owned


def test_flash_attention_rescales_while_sdpa_normalises_the_whole_score_matrix():
    # S = 128 is two 64-key tiles: flash needs the running-max correction, sdpa never does.
    flash, sdpa = generate("flash_attention", "C4"), generate("sdpa", "C4")
    assert "S_EXP_FP" in flash and "S_EXP_FP" not in sdpa
    result = evaluate(flash, prepare("flash_attention", "C4", 0))
    assert result.correct, result.format_summary()


def test_attention_core_uses_one_matrix_op_per_4x4_block_and_feature_tile():
    # sdpa C2: S = 64, D = 128. Scores: 16 x 16 blocks x 2 feature tiles; P V: 16 x 32 blocks x 1 key tile.
    result = evaluate(generate("sdpa", "C2"), prepare("sdpa", "C2", 0))
    assert result.correct
    assert result.stats.opcode_counts["M_TMM"] == 16 * 16 * 2
    assert result.stats.opcode_counts["M_MM"] == 16 * 32


@pytest.mark.parametrize(("task", "config"), [("mha", "C1"), ("gqa", "C2")])
def test_split_kv_removes_most_of_the_mxfp8_round_trip_error(task, config):
    # K and V pass through HBM; the default hi + lo split brings their error down to BF16
    # level, one MXFP8 copy (exact_kv=False) is several times less accurate.
    instance = prepare(task, config, 0, poison=True)
    exact = evaluate(generate(task, config), instance)
    single = evaluate(composite.attention_generator(task, exact_kv=False)(config, instance.hw), instance)
    assert exact.correct, exact.format_summary()
    assert exact.max_abs_err < single.max_abs_err / 3


# ----------------------------------------------------------------------------- helpers on the simulator


def _run_with(asm: Asm, tensors: dict[str, np.ndarray], poison: bool = True):
    result = assemble(asm.text(), asm.hw)
    assert result.ok, [d.format() for d in result.errors]
    plan = layout.plan_hbm([(k, v.shape) for k, v in tensors.items()])
    image = MemoryImage(hbm=layout.build_hbm_image(plan, tensors), poison=poison)
    execution = run(result.program, image)
    assert execution.fault is None, execution.fault.format()
    return execution, plan


def _read(execution, base: int, rows: int, cols: int) -> np.ndarray:
    flat = execution.machine.vram[base : base + rows * cols].astype(np.float64)
    return flat.reshape(cols // 64, rows, 64).transpose(1, 0, 2).reshape(rows, cols)


def test_split_store_keeps_bf16_accuracy_where_one_mxfp8_copy_does_not():
    rng = np.random.default_rng(7)
    rows, cols = 8, 128
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    plan = layout.plan_hbm([("x", x.shape)])
    hi = attention.hbm_scratch(plan.total_bytes, "hi", (rows, cols))
    lo = attention.hbm_scratch(attention.scratch_end(hi), "lo", (rows, cols))
    asm = Asm()
    blocks.load_activation(asm, plan["x"], rows, cols, 0)  # x is already MXFP8: make it BF16-rich
    blocks.add_rows(asm, 0, 0, 0, rows * cols // 64, op="mul")  # x*x has more mantissa bits than MXFP8
    composite.store_split(asm, 0, rows * cols, rows, cols, hi, lo)
    blocks.load_activation(asm, hi, rows, cols, 2 * rows * cols)
    blocks.load_activation(asm, lo, rows, cols, 3 * rows * cols)
    execution, _ = _run_with(asm, {"x": x})
    want = _read(execution, 0, rows, cols)
    assert np.array_equal(want, to_bf16(mx_roundtrip(x) ** 2))
    got_hi = _read(execution, 2 * rows * cols, rows, cols)
    got = got_hi + _read(execution, 3 * rows * cols, rows, cols)
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= scale * 2.0**-8
    assert np.abs(got_hi - want).max() > scale * 2.0**-6  # one MXFP8 copy alone is much coarser


def test_zero_rows_overwrite_poisoned_hbm():
    rows, cols = 8, 128
    x = np.ones((4, 64), dtype=np.float32)
    plan = layout.plan_hbm([("x", x.shape)])
    scratch = attention.hbm_scratch(plan.total_bytes, "pad", (rows, cols))
    asm = Asm()
    attention.store_zero_rows(asm, 0, 4, 4, cols, scratch)
    blocks.load_activation(asm, scratch, 4, cols, 64 * 16, hbm_offset=4 * cols)
    execution, _ = _run_with(asm, {"x": x})
    assert np.array_equal(_read(execution, 64 * 16, 4, cols), np.zeros((4, cols)))
