"""Preparing PLENA task instances and judging kernels: correct, broken, poisoned."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.judging import Tolerance, compare
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.evaluation import DEFAULT_TOLERANCE, evaluate, prepare, tolerance_for
from kernelcraft.platforms.plena.layout import FP_SLOTS
from kernelcraft.platforms.plena.mx import dequantize_blocks, mx_roundtrip, quantize_blocks
from kernelcraft.tasks import get_task

# ReLU C1: x [4, 64] at HBM 0 (256 elements, so SCALE_REG = 256); output rows 0..3 of VRAM.
RELU_C1 = """
S_ADDI_INT gp1, gp0, 0          ; base of x
C_SET_ADDR_REG a0, gp0, gp1
S_ADDI_INT gp2, gp0, 256        ; SCALE_REG = numel(x)
C_SET_SCALE_REG gp2
S_ADDI_INT gp3, gp0, 0          ; HBM element offset
S_ADDI_INT gp4, gp0, 0          ; VRAM destination = OUTPUT_BASE
H_PREFETCH_V gp4, gp3, a0, 0, 0 ; 4 rows of 64
{constant}
C_LOOP_START gp5, {rows}
V_MAX_VF gp4, gp4, {freg}
S_ADDI_INT gp4, gp4, 64
C_LOOP_END gp5
"""


def relu_kernel(rows: int = 4, freg: str = "f0", constant: str = "", offset: int = 0) -> str:
    src = RELU_C1.format(rows=rows, freg=freg, constant=constant)
    return src.replace("S_ADDI_INT gp3, gp0, 0 ", f"S_ADDI_INT gp3, gp0, {offset} ")


@pytest.fixture(scope="module")
def relu():
    return prepare("relu", "C1", seed=7)


@pytest.fixture(scope="module")
def relu_poisoned():
    return prepare("relu", "C1", seed=7, poison=True)


def test_hand_written_relu_is_correct(relu, relu_poisoned):
    for inst in (relu, relu_poisoned):
        ev = evaluate(relu_kernel(), inst)
        assert ev.ok and ev.correct and ev.match_rate == 1.0
        assert ev.fault is None and ev.max_abs_err == 0.0
        assert ev.cycles > 0 and ev.stats.instructions == 20
        assert "CORRECT" in ev.format_summary() and "100.00%" in ev.format_summary()
        assert ev.diff.first_mismatch is None


def test_program_objects_are_accepted(relu):
    program = assemble(relu_kernel()).program
    assert evaluate(program, relu).correct


def test_wrong_constant_is_rejected_with_a_diff(relu):
    # max(x, 1.0) instead of max(x, 0): slot 3 holds 1.0.
    ev = evaluate(relu_kernel(freg="f1", constant="S_LD_FP f1, gp0, 3"), relu)
    assert ev.ok and not ev.correct
    assert 0 < ev.match_rate < 1
    assert all(r.mismatched > 0 for r in ev.diff.rows)
    i, j = ev.diff.first_mismatch
    assert ev.diff.first_mismatch_got == 1.0 and ev.diff.first_mismatch_expected == relu.reference[i, j]
    summary = ev.format_summary()
    assert "INCORRECT" in summary and f"first mismatch at [{i}, {j}]" in summary


def test_skipped_row_is_localised(relu_poisoned):
    ev = evaluate(relu_kernel(rows=3), relu_poisoned)
    assert not ev.correct
    assert [r.mismatched > 0 for r in ev.diff.rows] == [False, False, False, True]
    text = ev.format_rows()
    row_lines = [line for line in text.splitlines() if line.startswith("row ")]
    assert row_lines[-1].startswith("row 3") and "<- worst" in row_lines[-1]
    assert "1 of 4 rows have mismatches" in text
    mismatched = ev.diff.total - ev.diff.matched
    assert f"first mismatching elements ({mismatched} in all):" in text
    assert all(line.startswith("  [3, ") for line in text.splitlines() if line.startswith("  ["))


def test_off_by_one_row_address_is_rejected(relu):
    ev = evaluate(relu_kernel(offset=64), relu)  # reads x rows 1..4 instead of 0..3
    assert not ev.correct
    np.testing.assert_allclose(ev.output[:3], relu.reference[1:])
    assert ev.diff.rows[0].mismatched > 0


def test_poison_catches_reads_of_uninitialised_memory(relu, relu_poisoned):
    # Adds VRAM row 4096 (never written) to every output row: 0 without poison, NaN with it.
    sneaky = relu_kernel().replace(
        "S_ADDI_INT gp4, gp4, 64",
        "S_ADDI_INT gp6, gp0, 4096\nV_ADD_VV gp4, gp4, gp6\nS_ADDI_INT gp4, gp4, 64",
    )
    assert evaluate(sneaky, relu).correct
    ev = evaluate(sneaky, relu_poisoned)
    assert not ev.correct and ev.diff.nan_count == 256 and ev.diff.untouched == 256
    assert "NaN 256" in ev.format_summary()


def test_untouched_output_is_reported(relu_poisoned):
    ev = evaluate("S_ADDI_INT gp1, gp0, 1", relu_poisoned)
    assert ev.ok and not ev.correct and ev.match_rate == 0.0
    assert ev.diff.untouched == 256 and all(r.untouched == 64 for r in ev.diff.rows)


def test_assembly_errors_and_faults_are_values(relu):
    ev = evaluate("S_ADDI_INT gp1, gp0, 1\nV_FOO gp1", relu)
    assert not ev.ok and not ev.correct and ev.stats is None and ev.diff is None
    assert "BUILD FAILED" in ev.format_summary() and "line 2" in ev.format_summary()
    faulty = relu_kernel().replace("S_ADDI_INT gp4, gp0, 0 ", "S_ADDI_INT gp4, gp0, 3 ")  # unaligned row
    ev = evaluate(faulty, relu)
    assert not ev.ok and not ev.correct and ev.fault is not None and ev.fault.kind == "alignment"
    assert "RUNTIME FAULT" in ev.format_summary() and "alignment fault" in ev.format_summary()


def test_instance_contents_and_golden_never_in_memory():
    inst = prepare("gemm", "C3", seed=3)
    task = get_task("gemm")
    raw = task.make_inputs_for(inst.params, 3)
    for name, values in raw.items():
        np.testing.assert_array_equal(inst.inputs[name], mx_roundtrip(values))
    np.testing.assert_allclose(inst.reference, inst.inputs["X"] @ inst.inputs["W"])
    # The image holds the inputs (decodable at their placements) and constants only.
    hbm = inst.image.hbm
    for t in inst.layout.tensors:
        decoded = dequantize_blocks(
            hbm[t.base : t.base + t.numel], hbm[t.scale_base : t.scale_base + t.numel // 8]
        )
        np.testing.assert_array_equal(decoded.reshape(t.shape), inst.inputs[t.name])
    assert inst.image.vram == {}
    elements, _ = quantize_blocks(inst.reference.astype(np.float32).reshape(-1))
    assert elements.tobytes()[:64] not in hbm.tobytes()
    assert np.float32(inst.reference[0, 0]).tobytes() + np.float32(inst.reference[0, 1]).tobytes() not in (
        hbm.tobytes()
    )
    slots = inst.image.fpsram[0]
    assert slots[FP_SLOTS["one"]] == 1.0 and np.isneginf(slots[FP_SLOTS["neg_inf"]])


def test_poison_settings_and_seeds():
    a = prepare("softmax", "C1", seed=1, poison=True)
    b = prepare("softmax", "C1", seed=2, poison=True)
    assert a.image.poison and a.image.poison_seed != b.image.poison_seed
    assert not prepare("softmax", "C1", seed=1).image.poison
    assert not np.array_equal(a.reference, b.reference)


def test_contract_text_has_the_numbers():
    inst = prepare("gemm", "C3", seed=0)  # X [16, 128], W [128, 256]
    text = inst.contract_text()
    # X: 2048 elements + 256 scale bytes = 2304, already 64-aligned, so W starts at 2304.
    assert "| X | [16, 128] | 0 (0x0) | 2048 | 2048 | 128 |" in text
    assert "| W | [128, 256] | 2304 (0x900) | 32768 | 35072 | 256 |" in text
    assert "(j // 64)*1024 + i*64 + (j % 64)" in text
    assert "Example: element (1, 67) is at (67 // 64)*1024 + 1*64 + (67 % 64) = 1091." in text
    assert "| 5 | inv_sqrt_dhead |" in text and "| 0 | neg_inf | -inf |" in text
    assert "SCALE_REG = 32768" in text
    big = prepare("decoder_t5", "C5", seed=0).contract_text()
    assert "S_LUI_INT gpX" in big  # bases above 2^18 need the two-instruction form
    bmm = prepare("batch_matmul", "C1", seed=0).contract_text()
    assert "matrix b starts at OUTPUT_BASE + b*R*C = b*256" in bmm


def test_tolerance_table_and_scaling():
    assert tolerance_for(get_task("relu")) == DEFAULT_TOLERANCE == Tolerance(0.012, 0.01)
    assert tolerance_for(get_task("relu"), "large").atol == pytest.approx(0.096)
    # softmax outputs do not grow with the input, and are ~1/H: a tighter atol than the default
    assert tolerance_for(get_task("softmax"), "large") == tolerance_for(get_task("softmax"))
    assert tolerance_for(get_task("softmax")).atol < 1 / 256
    assert tolerance_for(get_task("decoder_llama")).atol > DEFAULT_TOLERANCE.atol


def test_compare_counts_nan_and_cuts_single_rows_into_blocks():
    ref = np.ones((1, 128))
    out = ref.copy()
    out[0, 70] = np.nan
    out[0, 100] = 1.5
    diff = compare(out, ref, DEFAULT_TOLERANCE, poisoned=True, row_width=64)
    assert diff.matched == 126 and diff.nan_count == 1 and diff.first_mismatch == (0, 70)
    assert [r.label for r in diff.rows] == ["cols 0..63", "cols 64..127"]
    assert diff.rows[1].mismatched == 2 and diff.rows[0].mismatched == 0


def test_format_rows_keeps_the_worst_rows():
    inst = prepare("relu", "C5", seed=0)  # 64 rows
    program = relu_kernel()  # only fills 4 of 64 rows
    ev = evaluate(program, inst)
    text = ev.format_rows(max_rows=8)
    lines = text.splitlines()
    table = lines[: lines.index(next(line for line in lines if line.startswith("first mismatching")))]
    assert len(table) == 1 + 8 + 1 and "more rows not shown" in table[-1]
    assert sum("<- worst" in line for line in lines) == 3
