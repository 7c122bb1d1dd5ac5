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


def _row_by_row(output, reference, tolerance, row_width):
    """Every row's statistics through the one-row path (_row), for comparison."""
    from kernelcraft.platforms import judging

    with np.errstate(all="ignore"):
        raw_out, raw_ref = np.asarray(output), np.asarray(reference)
        diff = judging.compare(output, reference, tolerance, row_width=row_width)
        (n_rows, width), labels = judging._row_view(raw_out.shape, row_width)
        out, ref = raw_out.astype(np.float64), raw_ref.astype(np.float64)
        err = judging.abs_error(raw_out, raw_ref)
        integer = judging._is_integer(raw_out) and judging._is_integer(raw_ref)
        ok = err == 0 if integer or tolerance.exact else err <= tolerance.atol + tolerance.rtol * np.abs(ref)
        untouched = (out == 0) & (ref != 0)
        arrays = [a.reshape(n_rows, width) for a in (out, ref, err, ok, np.isfinite(out), untouched)]
        rows = [judging._row(raw_out, raw_ref, *arrays, labels, integer, k) for k in range(n_rows)]
    return diff.rows, tuple(rows)


def test_rows_reduced_at_once_equal_rows_taken_one_by_one():
    rng = np.random.default_rng(3)
    for trial in range(60):
        shape = [(7, 33), (1, 512), (3, 4, 9), (130,)][trial % 4]
        if trial % 3 == 0:
            dtype = [np.int8, np.int32, np.uint32, np.int64, np.uint64][trial % 5]
            info = np.iinfo(dtype)
            out = rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
            ref = np.where(rng.random(shape) < 0.3, out, out // 3)
            tolerance = EXACT
        else:
            out = rng.standard_normal(shape) * 10.0 ** rng.integers(-20, 20, shape)
            ref = out + rng.standard_normal(shape)
            if trial % 3 == 2:  # non-finite outputs and references in some rows
                out.reshape(-1)[rng.integers(0, out.size, 3)] = [np.nan, np.inf, -np.inf]
                ref.reshape(-1)[rng.integers(0, ref.size)] = np.nan
            tolerance = Tolerance(1e-3, 1e-2)
        at_once, one_by_one = _row_by_row(out, ref, tolerance, 64)
        assert repr(at_once) == repr(one_by_one)
        for a, b in zip(at_once, one_by_one, strict=True):
            assert [type(v) for v in a.__dict__.values()] == [type(v) for v in b.__dict__.values()]
