"""The baseline's peephole pass: what it removes, what it must keep, and that kernels still agree."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest

from kernelcraft.platforms.plena.baseline import generate
from kernelcraft.platforms.plena.baseline.emit import Asm
from kernelcraft.platforms.plena.baseline.peephole import optimise
from kernelcraft.platforms.plena.evaluation import evaluate, prepare


def _opt(text: str) -> list[str]:
    return optimise(text.strip().splitlines())


def test_pointer_increment_after_its_last_use_is_removed():
    src = "S_ADDI_INT gp1, gp0, 64\nV_EXP_V gp1, gp1, 0\nS_ADDI_INT gp1, gp1, 64\n"
    assert _opt(src) == ["S_ADDI_INT gp1, gp0, 64", "V_EXP_V gp1, gp1, 0"]


def test_increment_read_by_the_next_loop_iteration_is_kept():
    src = "S_ADDI_INT gp1, gp0, 64\nC_LOOP_START gp2, 4\nV_EXP_V gp1, gp1, 0\n"
    src += "S_ADDI_INT gp1, gp1, 64\nC_LOOP_END gp2\n"
    assert _opt(src) == src.strip().splitlines()


def test_rezeroing_a_zero_register_and_setting_a_value_twice():
    # Registers start at 0; the second S_ADDI_INT gp3 writes the value gp3 already holds.
    src = "S_ADDI_INT gp2, gp0, 0\nS_ADDI_INT gp3, gp0, 8\nS_ADDI_INT gp3, gp0, 8\nV_EXP_V gp3, gp2, 0\n"
    assert _opt(src) == ["S_ADDI_INT gp3, gp0, 8", "V_EXP_V gp3, gp2, 0"]
    # Set twice before any read: the first write is dead.
    src = "S_ADDI_INT gp3, gp0, 8\nS_ADDI_INT gp3, gp0, 16\nV_EXP_V gp3, gp3, 0\n"
    assert _opt(src) == ["S_ADDI_INT gp3, gp0, 16", "V_EXP_V gp3, gp3, 0"]


def test_values_a_loop_changes_are_not_assumed_inside_or_after_it():
    src = (
        "S_ADDI_INT gp1, gp0, 0\nC_LOOP_START gp2, 3\nS_ADDI_INT gp1, gp0, 0\nV_EXP_V gp1, gp1, 0\n"
        "S_ADDI_INT gp1, gp1, 64\nC_LOOP_END gp2\nS_ADDI_INT gp1, gp0, 0\nV_EXP_V gp1, gp1, 0\n"
    )
    out = _opt(src)
    assert out.count("S_ADDI_INT gp1, gp0, 0") == 2  # inside the body and after the loop: both needed
    assert "S_ADDI_INT gp1, gp1, 64" not in out  # its value is reset before every read


def test_fp_results_nobody_reads_and_memory_or_control_instructions():
    src = (
        "S_LD_FP f1, gp0, 3\nS_ADD_FP f2, f1, f1\nS_ST_FP f1, gp0, 9\nS_LD_FP f3, gp0, 1\n"
        "C_SET_SCALE_REG gp0\nH_PREFETCH_V gp0, gp0, a0, 0, 0\n"
    )
    assert _opt(src) == [
        "S_LD_FP f1, gp0, 3",
        "S_ST_FP f1, gp0, 9",
        "C_SET_SCALE_REG gp0",
        "H_PREFETCH_V gp0, gp0, a0, 0, 0",
    ]


def test_accumulating_reductions_keep_the_register_they_read():
    src = "S_ADD_FP f1, f0, f0\nV_RED_SUM f1, gp0, 0\nS_ST_FP f1, gp0, 4\n"
    assert _opt(src) == src.strip().splitlines()


@pytest.mark.parametrize("task_id", ["rmsnorm", "gemm", "linear", "batch_matmul", "mha"])
def test_optimised_baselines_compute_the_same_output_in_no_more_cycles(task_id):
    with patch.object(Asm, "optimise", False):
        raw = generate(task_id, "C1")
    optimised = generate(task_id, "C1")
    instance = prepare(task_id, "C1", seed=0)
    before, after = evaluate(raw, instance), evaluate(optimised, instance)
    assert before.correct and after.correct
    np.testing.assert_array_equal(before.output, after.output)
    assert after.cycles <= before.cycles and len(optimised) < len(raw)
