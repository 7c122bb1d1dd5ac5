"""Shared judging: tolerances, exact integers, the diff view_output shows."""

from __future__ import annotations

import numpy as np

from kernelcraft.platforms.judging import EXACT, Tolerance, judge


def test_int64_results_that_differ_by_one_are_exact_mismatches():
    ref = np.array([2_087_000_000_000_000_001, 5, 7], dtype=np.int64)
    out = ref.copy()
    out[0] -= 1
    verdict = judge(out, ref, EXACT, poisoned=True)
    assert not verdict.all_match and verdict.match_rate == 2 / 3
    assert verdict.max_abs_err == 1.0 and verdict.mse == 1 / 3
    text = verdict.diff.format_rows()
    assert "2087000000000000001" in text and "2087000000000000000" in text
    assert "got 2087000000000000000, expected 2087000000000000001" in text
    assert "untouched = not tracked for integer outputs" in text


def test_without_a_write_mask_a_poisoned_nan_output_is_not_called_unwritten():
    ref = np.array([0.5, 0.25], dtype=np.float64)
    out = np.array([np.nan, 0.25])  # a NaN the kernel may have computed from poisoned memory
    text = judge(out, ref, Tolerance(0.01, 0.01), poisoned=True).diff.format_rows()
    assert "untouched = NaN: never written (poison), or computed from unset memory" in text
    assert "still NaN" not in text


def test_uint64_beyond_int64_compares_exactly():
    ref = np.array([2**64 - 1, 2**63], dtype=np.uint64)
    out = np.array([2**64 - 2, 2**63], dtype=np.uint64)
    verdict = judge(out, ref, EXACT)
    assert verdict.diff.first_mismatch == (0,) and verdict.max_abs_err == 1.0


def test_float_diffs_list_the_first_mismatching_elements():
    ref = np.zeros((3, 4))
    out = ref.copy()
    out[1, 2], out[2, 0] = 0.5, np.nan
    verdict = judge(out, ref, Tolerance(0.01, 0.0), row_width=4, poisoned=True)
    assert [m[0] for m in verdict.diff.mismatches] == [(1, 2), (2, 0)]
    text = verdict.diff.format_rows()
    assert "[1, 2]: got 0.5, expected 0" in text and "[2, 0]: got nan" in text
    assert verdict.diff.to_dict()["mismatches"][0] == {"index": [1, 2], "got": 0.5, "expected": 0.0}
