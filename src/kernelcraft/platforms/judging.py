"""Platform-neutral judging: tolerance, match rate, per-row diff, exact integer comparison.

Every platform compares its kernel's output with the task reference the same way, so a
match rate means the same thing on every target: the share of elements y with
|y - ref| <= atol + rtol*|ref| (NaN never matches). Integer references are compared
exactly in integer arithmetic (no float rounding of large values). The per-row diff is
what view_output shows the model: where the mismatches are and how large.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """Element-wise criterion; atol = rtol = 0 is exact equality."""

    atol: float
    rtol: float

    @property
    def exact(self) -> bool:
        return self.atol == 0 and self.rtol == 0

    def scaled(self, factor: float) -> Tolerance:
        return Tolerance(self.atol * factor, self.rtol)

    def describe(self) -> str:
        if self.exact:
            return "exact equality"
        return f"|y - ref| <= {self.atol:g} + {self.rtol:g}*|ref|"

    def to_dict(self) -> dict[str, float]:
        return {"atol": self.atol, "rtol": self.rtol}


EXACT = Tolerance(0.0, 0.0)
MISMATCHES_LISTED = 8  # mismatching elements view_output lists with their values


@dataclass(frozen=True)
class RowDiff:
    row: int  # position in logical row order
    label: str
    count: int
    mismatched: int
    untouched: int
    max_abs_err: float  # over finite outputs; inf when a non-finite output is present
    mse: float
    out_min: float
    out_max: float
    ref_min: float
    ref_max: float

    def to_dict(self) -> dict[str, Any]:
        return {k: _json_float(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class OutputDiff:
    shape: tuple[int, ...]
    rows: tuple[RowDiff, ...]
    total: int
    matched: int
    untouched: int
    nan_count: int
    inf_count: int
    first_mismatch: tuple[int, ...] | None  # logical index
    first_mismatch_got: float | None
    first_mismatch_expected: float | None
    untouched_meaning: str
    # The first mismatching elements in logical order: (index, got, expected).
    mismatches: tuple[tuple[tuple[int, ...], float | int, float | int], ...] = ()

    @property
    def match_rate(self) -> float:
        return self.matched / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "total": self.total,
            "matched": self.matched,
            "untouched": self.untouched,
            "nan_count": self.nan_count,
            "inf_count": self.inf_count,
            "first_mismatch": list(self.first_mismatch) if self.first_mismatch else None,
            "first_mismatch_got": _json_float(self.first_mismatch_got),
            "first_mismatch_expected": _json_float(self.first_mismatch_expected),
            "untouched_meaning": self.untouched_meaning,
            "mismatches": [
                {"index": list(i), "got": _json_float(g), "expected": _json_float(e)}
                for i, g, e in self.mismatches
            ],
            "rows": [r.to_dict() for r in self.rows],
        }

    def format_rows(self, max_rows: int = 16) -> str:
        """The per-row table view_output shows: the worst rows first in importance, then the first rows."""
        rows = list(self.rows)
        bad = [r for r in rows if r.mismatched]
        ranked = sorted(bad, key=lambda r: (-_finite(r.max_abs_err), -r.mismatched, r.row))
        shown = rows
        if len(rows) > max_rows:
            chosen = {r.row for r in ranked[:max_rows]}
            for r in rows:
                if len(chosen) >= max_rows:
                    break
                chosen.add(r.row)
            shown = [r for r in rows if r.row in chosen]
        worst = {r.row for r in ranked[:3]}
        width = max((len(r.label) for r in rows), default=1)
        lines = [
            f"output {_fmt_shape(self.shape)}: {len(bad)} of {len(rows)} rows have mismatches"
            f" (untouched = {self.untouched_meaning})"
        ]
        for r in shown:
            flag = "  <- worst" if r.row in worst else ""
            lines.append(
                f"{r.label:>{width}}: {r.mismatched:>4}/{r.count} mismatched  "
                f"max_err {format_number(r.max_abs_err)}  mse {format_number(r.mse)}  "
                f"untouched {r.untouched}  "
                f"out [{format_number(r.out_min)}, {format_number(r.out_max)}]  "
                f"ref [{format_number(r.ref_min)}, {format_number(r.ref_max)}]{flag}"
            )
        hidden = [r for r in rows if r not in shown]
        if hidden:
            hidden_bad = sum(1 for r in hidden if r.mismatched)
            lines.append(f"... {len(hidden)} more rows not shown ({hidden_bad} of them with mismatches)")
        if self.mismatches:
            lines.append(f"first mismatching elements ({self.total - self.matched} in all):")
            for index, got, expected in self.mismatches:
                where = ", ".join(map(str, index))
                lines.append(f"  [{where}]: got {format_number(got)}, expected {format_number(expected)}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Judgement:
    """compare()'s verdict in the numbers every Evaluation carries."""

    diff: OutputDiff
    match_rate: float
    all_match: bool
    mse: float
    max_abs_err: float


def judge(
    output: np.ndarray,
    reference: np.ndarray,
    tolerance: Tolerance,
    *,
    row_width: int = 64,
    untouched: np.ndarray | None = None,
    untouched_meaning: str | None = None,
    poisoned: bool = False,
) -> Judgement:
    """Compare an output with its reference; see compare() for the arguments."""
    diff = compare(
        output,
        reference,
        tolerance,
        row_width=row_width,
        untouched=untouched,
        untouched_meaning=untouched_meaning,
        poisoned=poisoned,
    )
    with np.errstate(all="ignore"):
        out = np.asarray(output, dtype=np.float64)
        err = abs_error(np.asarray(output), np.asarray(reference))
        finite = bool(np.isfinite(out).all())
        mse = float(np.mean(err**2)) if finite and err.size else (0.0 if finite else float("inf"))
        max_err = float(err.max()) if finite and err.size else (0.0 if finite else float("inf"))
    return Judgement(diff, diff.match_rate, diff.matched == diff.total, mse, max_err)


def compare(
    output: np.ndarray,
    reference: np.ndarray,
    tolerance: Tolerance,
    *,
    row_width: int = 64,
    untouched: np.ndarray | None = None,
    untouched_meaning: str | None = None,
    poisoned: bool = False,
) -> OutputDiff:
    """Per-element verdicts and per-row statistics.

    row_width: how a single long row is cut into diff rows (e.g. the vector length).
    untouched: the platform's own mask of output elements the kernel never wrote; without
    one, a float output counts NaN as untouched when memory was poisoned (a NaN the kernel
    wrote counts too), else 0 where the reference is nonzero.
    """
    with np.errstate(all="ignore"):
        return _compare(output, reference, tolerance, row_width, untouched, untouched_meaning, poisoned)


def _compare(output, reference, tolerance, row_width, untouched, untouched_meaning, poisoned) -> OutputDiff:
    raw_out, raw_ref = np.asarray(output), np.asarray(reference)
    if raw_out.shape != raw_ref.shape:
        raise ValueError(f"output shape {raw_out.shape} differs from the reference's {raw_ref.shape}")
    out = raw_out.astype(np.float64)
    ref = raw_ref.astype(np.float64)
    integer = _is_integer(raw_out) and _is_integer(raw_ref)
    err = abs_error(raw_out, raw_ref)
    if integer or tolerance.exact:
        ok = err == 0
    else:
        ok = err <= tolerance.atol + tolerance.rtol * np.abs(ref)  # NaN compares False
    finite = np.isfinite(out)
    if untouched is None and integer and poisoned:
        # An integer poison pattern is indistinguishable from a value: only the platform knows.
        untouched = np.zeros(out.shape, dtype=bool)
        untouched_meaning = untouched_meaning or "not tracked for integer outputs"
    if untouched is None:
        untouched = np.isnan(out) if poisoned else (out == 0) & (ref != 0)
        if untouched_meaning is None:
            untouched_meaning = (
                # Without the platform's write mask a poison NaN and a NaN the kernel computed
                # (often from poisoned memory it read) look the same: say so.
                "NaN: never written (poison), or computed from unset memory"
                if poisoned
                else "still 0 where a nonzero value is expected"
            )
    untouched = np.asarray(untouched, dtype=bool).reshape(out.shape)
    (n_rows, width), labels = _row_view(out.shape, row_width)
    o2, r2, e2 = out.reshape(n_rows, width), ref.reshape(n_rows, width), err.reshape(n_rows, width)
    ok2, f2, u2 = ok.reshape(n_rows, width), finite.reshape(n_rows, width), untouched.reshape(n_rows, width)
    if width:
        rows = _rows_at_once(raw_out, raw_ref, o2, r2, e2, ok2, f2, u2, labels, integer)
    else:
        rows = [_row(raw_out, raw_ref, o2, r2, e2, ok2, f2, u2, labels, integer, k) for k in range(n_rows)]
    bad = np.argwhere(~ok)
    first = tuple(int(i) for i in bad[0]) if bad.size else None
    listed = tuple(
        (index, _scalar(raw_out[index]), _scalar(raw_ref[index]))
        for index in (tuple(int(i) for i in row) for row in bad[:MISMATCHES_LISTED])
    )
    return OutputDiff(
        shape=tuple(out.shape),
        rows=tuple(rows),
        total=int(out.size),
        matched=int(ok.sum()),
        untouched=int(untouched.sum()),
        nan_count=int(np.isnan(out).sum()),
        inf_count=int(np.isinf(out).sum()),
        first_mismatch=first,
        first_mismatch_got=_scalar(raw_out[first]) if first else None,
        first_mismatch_expected=_scalar(raw_ref[first]) if first else None,
        untouched_meaning=untouched_meaning or "never written by the kernel",
        mismatches=listed,
    )


def _row(raw_out, raw_ref, o2, r2, e2, ok2, f2, u2, labels, integer, k) -> RowDiff:
    """One row's statistics (rows with a non-finite output, or of width 0)."""
    n_rows, width = o2.shape
    fin = f2[k]
    e = e2[k][fin]
    o = o2[k][fin]
    return RowDiff(
        row=k,
        label=labels[k],
        count=width,
        mismatched=int(width - ok2[k].sum()),
        untouched=int(u2[k].sum()),
        max_abs_err=float(e.max()) if fin.all() and e.size else (0.0 if fin.all() else float("inf")),
        mse=float(np.mean(e**2)) if fin.all() and e.size else (0.0 if fin.all() else float("inf")),
        out_min=(_extreme(raw_out, k, n_rows, width, min) if integer else float(o.min()))
        if o.size
        else float("nan"),
        out_max=(_extreme(raw_out, k, n_rows, width, max) if integer else float(o.max()))
        if o.size
        else float("nan"),
        ref_min=(_extreme(raw_ref, k, n_rows, width, min) if integer else float(r2[k].min()))
        if width
        else float("nan"),
        ref_max=(_extreme(raw_ref, k, n_rows, width, max) if integer else float(r2[k].max()))
        if width
        else float("nan"),
    )


def _rows_at_once(raw_out, raw_ref, o2, r2, e2, ok2, f2, u2, labels, integer) -> list[RowDiff]:
    """Every row's statistics with one reduction per statistic (width > 0): the same values as
    _row, which still handles the rows holding a non-finite output."""
    n_rows, width = o2.shape
    finite_rows = f2.all(axis=1).tolist()
    mismatched = (width - ok2.sum(axis=1)).tolist()
    untouched = u2.sum(axis=1).tolist()
    max_err = e2.max(axis=1).tolist()
    mse = np.mean(e2**2, axis=1).tolist()
    if integer:
        out_raw, ref_raw = raw_out.reshape(n_rows, width), raw_ref.reshape(n_rows, width)
        out_min = [int(v) for v in out_raw.min(axis=1).tolist()]
        out_max = [int(v) for v in out_raw.max(axis=1).tolist()]
        ref_min = [int(v) for v in ref_raw.min(axis=1).tolist()]
        ref_max = [int(v) for v in ref_raw.max(axis=1).tolist()]
    else:
        out_min, out_max = o2.min(axis=1).tolist(), o2.max(axis=1).tolist()
        ref_min, ref_max = r2.min(axis=1).tolist(), r2.max(axis=1).tolist()
    rows = []
    for k in range(n_rows):
        if not finite_rows[k]:
            rows.append(_row(raw_out, raw_ref, o2, r2, e2, ok2, f2, u2, labels, integer, k))
            continue
        rows.append(
            RowDiff(
                row=k,
                label=labels[k],
                count=width,
                mismatched=mismatched[k],
                untouched=untouched[k],
                max_abs_err=max_err[k],
                mse=mse[k],
                out_min=out_min[k],
                out_max=out_max[k],
                ref_min=ref_min[k],
                ref_max=ref_max[k],
            )
        )
    return rows


def _extreme(raw: np.ndarray, row: int, n_rows: int, width: int, pick) -> int:
    """An integer row's min or max as an exact Python int."""
    return int(pick(raw.reshape(n_rows, width)[row].tolist()))


def abs_error(output: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|output - reference| as float64; for integers computed exactly first (int64 values near
    2^63 that differ by 1 are equal as float64)."""
    if _is_integer(output) and _is_integer(reference):
        if output.dtype.itemsize <= 4 and reference.dtype.itemsize <= 4:
            # Both fit in 33 bits, so their difference is exact in int64.
            return np.abs(output.astype(np.int64) - reference.astype(np.int64)).astype(np.float64)
        return np.abs(output.astype(object) - reference.astype(object)).astype(np.float64)
    return np.abs(output.astype(np.float64) - reference.astype(np.float64))


def _is_integer(a: np.ndarray) -> bool:
    return np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_


def _scalar(value: Any) -> float | int:
    item = np.asarray(value).item()
    return item if isinstance(item, int) else float(item)


def _row_view(shape: tuple[int, ...], row_width: int) -> tuple[tuple[int, int], list[str]]:
    """How the output is cut into diff rows: logical rows, or row_width-column pieces of a single row."""
    if len(shape) == 0:
        return (1, 1), ["value"]
    if len(shape) == 1:
        shape = (1, shape[0])
    *batch, rows, cols = shape
    if not batch and rows == 1 and row_width > 0 and cols > row_width and cols % row_width == 0:
        pieces = cols // row_width
        return (pieces, row_width), [
            f"cols {k * row_width}..{(k + 1) * row_width - 1}" for k in range(pieces)
        ]
    if batch:
        n_batch = int(np.prod(batch))
        labels = [f"[{b}, {i}]" for b in range(n_batch) for i in range(rows)]
        return (n_batch * rows, cols), labels
    return (rows, cols), [f"row {i}" for i in range(rows)]


def _json_float(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def _finite(value: float) -> float:
    return value if np.isfinite(value) else 1e300


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def format_number(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if not np.isfinite(value):
        return str(value)
    return f"{value:.4g}"
