"""Benchmark metrics computed from episode results, and nothing else.

Every number a report shows comes from here, so tables, plots, CSV and JSON agree.
Results are grouped in columns of (run label, platform, model), the paper's Table 5
layout; a single run has an empty run label.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from kernelcraft.episodes import EpisodeResult, TokenCounts

FAST_P_THRESHOLDS = (0.0, 1.0, 1.5, 2.0)
ERROR_TYPES = ("S", "F", "T")  # syntax, functional, tool-use failure
PASS_AT_K = (1, 2, 5, 10, 20, 50, 100)


PRICE_FIELDS = frozenset({"input", "output", "cached_input", "reasoning", "cache_write_5m", "cache_write_1h"})


class PriceError(ValueError):
    """Unusable price table; the message is one line."""


@dataclass(frozen=True)
class Price:
    """USD per million tokens.

    Input tokens are priced by how they were billed: read from the prompt cache at
    ``cached_input``, written to it at ``cache_write_5m`` or ``cache_write_1h`` (Anthropic
    charges a premium for writes, by the entry's lifetime), the rest at ``input``. A rate
    left unset is the input rate: no discount, no premium.
    """

    input: float
    output: float
    cached_input: float | None = None
    reasoning: float = 0.0
    cache_write_5m: float | None = None
    cache_write_1h: float | None = None

    def cost(self, tokens: TokenCounts) -> float:
        total = max(tokens.input, 0)
        cached = min(max(tokens.cached, 0), total)
        write_5m = min(max(tokens.cache_write_5m, 0), total - cached)
        write_1h = min(max(tokens.cache_write_1h, 0), total - cached - write_5m)
        usd = (
            (total - cached - write_5m - write_1h) * self.input
            + cached * _rate(self.cached_input, self.input)
            + write_5m * _rate(self.cache_write_5m, self.input)
            + write_1h * _rate(self.cache_write_1h, self.input)
            + tokens.output * self.output
            + tokens.reasoning * self.reasoning
        )
        return usd / 1e6


def _rate(rate: float | None, fallback: float) -> float:
    return fallback if rate is None else rate


@dataclass
class PriceTable:
    entries: dict[str, Price] = field(default_factory=dict)

    def lookup(self, model: str) -> Price | None:
        """Exact name, then the name without "provider:", then the longest matching glob."""
        bare = model.split(":", 1)[1] if ":" in model else model
        for name in (model, bare):
            if name in self.entries:
                return self.entries[name]
        patterns = [p for p in self.entries if any(ch in p for ch in "*?[")]
        for pattern in sorted(patterns, key=len, reverse=True):
            if fnmatch.fnmatchcase(model, pattern) or fnmatch.fnmatchcase(bare, pattern):
                return self.entries[pattern]
        return None

    def cost(self, model: str, tokens: TokenCounts) -> float | None:
        price = self.lookup(model)
        return None if price is None else price.cost(tokens)

    def merged(self, other: PriceTable) -> PriceTable:
        return PriceTable({**self.entries, **other.entries})


def parse_prices(text: str, source: str = "price table") -> PriceTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PriceError(f"{source} is not valid TOML: {exc}") from None
    entries: dict[str, Price] = {}
    for name, fields in data.items():
        if not isinstance(fields, dict):
            raise PriceError(f"{source}: [{name!r}] must be a table with input and output prices")
        unknown = set(fields) - PRICE_FIELDS
        if unknown:
            raise PriceError(f"{source}: [{name!r}] has unknown field {sorted(unknown)[0]!r}")
        try:
            values = {k: float(v) for k, v in fields.items()}
            entries[name] = Price(**values)
        except (TypeError, ValueError):
            raise PriceError(f"{source}: [{name!r}] needs numeric input and output prices") from None
        if any(v < 0 for v in values.values()):
            raise PriceError(f"{source}: [{name!r}] has a negative price")
    return PriceTable(entries)


def load_prices(override: Path | None = None) -> PriceTable:
    """The shipped table, with an optional file's entries replacing or adding to it."""
    shipped = resources.files("kernelcraft.bench").joinpath("prices.toml").read_text(encoding="utf-8")
    table = parse_prices(shipped, "prices.toml")
    if override is not None:
        try:
            text = Path(override).read_text(encoding="utf-8")
        except OSError as exc:
            raise PriceError(f"cannot read price table {override}: {exc.strerror or exc}") from None
        table = table.merged(parse_prices(text, str(override)))
    return table


@dataclass(frozen=True)
class Record:
    """One episode result as a report sees it: which run it came from and where it lives."""

    run: str
    result: EpisodeResult
    key: str = ""
    path: Path | None = None


@dataclass(frozen=True, order=True)
class Column:
    run: str
    platform: str
    model: str

    def label(self) -> str:
        base = f"{self.platform} · {self.model}"
        return f"{self.run} · {base}" if self.run else base


@dataclass(frozen=True)
class SpeedUp:
    """Speed-up of a correct kernel, clamped to the roofline bound when it exceeds it."""

    value: float
    raw: float
    clamped: bool
    bound: float | None


def episode_speedup(result: EpisodeResult) -> SpeedUp | None:
    if not result.success:
        return None
    raw = result.speedup
    if raw is None and result.best_cycles and result.baseline_cycles:
        raw = result.baseline_cycles / result.best_cycles
    if raw is None or not math.isfinite(raw) or raw <= 0:
        return None
    bound = None
    if result.baseline_cycles and result.roofline_cycles and result.roofline_cycles > 0:
        bound = result.baseline_cycles / result.roofline_cycles
    if bound is not None and raw > bound:
        return SpeedUp(bound, raw, True, bound)
    return SpeedUp(raw, raw, False, bound)


def geomean(values: Iterable[float]) -> float | None:
    values = [v for v in values if v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if k < 1 or k > n:
        raise ValueError(f"pass@{k} needs 1 <= k <= n (n={n})")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def fast_p(results: Sequence[EpisodeResult], p: float) -> float | None:
    """Share of all episodes that are correct with speed-up above p (p=0: correct)."""
    if not results:
        return None
    hits = 0
    for result in results:
        s = episode_speedup(result)
        if result.success and (p == 0 or (s is not None and s.value > p)):
            hits += 1
    return hits / len(results)


def columns_of(records: Iterable[Record]) -> list[Column]:
    seen: dict[Column, None] = {}
    for record in records:
        seen.setdefault(column_of(record), None)
    return list(seen)


def column_of(record: Record) -> Column:
    return Column(record.run, record.result.platform, record.result.model)


@dataclass(frozen=True)
class TaskInfo:
    order: int
    name: str


def task_info_from_catalog() -> dict[str, TaskInfo]:
    """Task names and order from the catalogue if it can be loaded; {} otherwise."""
    try:
        from kernelcraft.bench.matrix import load_task_catalog

        catalog = load_task_catalog()
    except Exception:  # noqa: BLE001 - a report must work without the catalogue
        return {}
    return {task.id: TaskInfo(i, task.name) for i, task in enumerate(catalog.tasks)}


@dataclass
class SuccessRow:
    task: str
    name: str
    level: int
    cells: dict[Column, tuple[int, int]]  # column -> (successes, episodes); absent: not run


@dataclass
class SuccessTable:
    columns: list[Column]
    levels: dict[int, list[SuccessRow]]
    subtotals: dict[int, dict[Column, tuple[int, int]]]
    total: dict[Column, tuple[int, int]]


def _tally(cells: Iterable[dict[Column, tuple[int, int]]]) -> dict[Column, tuple[int, int]]:
    out: dict[Column, tuple[int, int]] = {}
    for row in cells:
        for col, (k, n) in row.items():
            k0, n0 = out.get(col, (0, 0))
            out[col] = (k0 + k, n0 + n)
    return out


def success_table(records: Sequence[Record], tasks: dict[str, TaskInfo] | None = None) -> SuccessTable:
    """Rows: tasks grouped by level with "k/n" subtotals; columns: run × platform × model."""
    tasks = tasks or {}
    cols = columns_of(records)
    counts: dict[str, dict[Column, list[int]]] = defaultdict(dict)
    level_of: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for record in records:
        r = record.result
        level_of.setdefault(r.task, r.level)
        first_seen.setdefault(r.task, len(first_seen))
        cell = counts[r.task].setdefault(column_of(record), [0, 0])
        cell[0] += int(r.success)
        cell[1] += 1

    def order(task: str) -> tuple[int, int, int]:
        info = tasks.get(task)
        return (level_of[task], info.order if info else 10_000, first_seen[task])

    levels: dict[int, list[SuccessRow]] = defaultdict(list)
    for task in sorted(counts, key=order):
        info = tasks.get(task)
        cells = {col: (k, n) for col, (k, n) in counts[task].items()}
        levels[level_of[task]].append(SuccessRow(task, info.name if info else task, level_of[task], cells))
    subtotals = {level: _tally(row.cells for row in rows) for level, rows in levels.items()}
    total = _tally(subtotals.values())
    return SuccessTable(cols, dict(levels), subtotals, total)


def speedup_table(records: Sequence[Record]) -> dict[Column, dict[str, dict[str, SpeedUp | None]]]:
    """Best correct speed-up per column, task and configuration (Fig. 3 layout).

    None marks a cell that was run but never solved with a measurable speed-up.
    """
    table: dict[Column, dict[str, dict[str, SpeedUp | None]]] = {}
    for record in records:
        r = record.result
        cell = table.setdefault(column_of(record), {}).setdefault(r.task, {})
        best = cell.get(r.config)
        s = episode_speedup(r)
        if s is not None and (best is None or s.value > best.value):
            cell[r.config] = s
        else:
            cell.setdefault(r.config, None)
    for per_task in table.values():
        for task, per_config in per_task.items():
            per_task[task] = dict(sorted(per_config.items()))
    return table


def pass_at_k_by_cell(results: Sequence[EpisodeResult]) -> dict[int, float]:
    """Mean unbiased pass@k over (task, config) cells; empty unless some cell has n > 1."""
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in results:
        cell = cells[(r.task, r.config)]
        cell[0] += 1
        cell[1] += int(r.success)
    if not cells or max(n for n, _ in cells.values()) < 2:
        return {}
    out: dict[int, float] = {}
    max_n = max(n for n, _ in cells.values())
    for k in sorted({*(k for k in PASS_AT_K if k <= max_n), max_n}):
        values = [pass_at_k(n, c, k) for n, c in cells.values() if n >= k]
        if values:
            out[k] = sum(values) / len(values)
    return out


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class GroupMetrics:
    """Aggregate numbers for one group of episodes (a column, or everything)."""

    episodes: int
    successes: int
    success_rate: float | None
    geomean_speedup: float | None
    speedups_counted: int
    clamped_speedups: int
    fast_p: dict[float, float | None]
    pass_at_k: dict[int, float]
    mean_iterations: float | None
    mean_iterations_to_first_correct: float | None
    mean_tool_calls: float | None
    mean_evaluations: float | None
    error_types: dict[str, int]  # episodes that hit each error type
    end_reasons: dict[str, int]
    tokens: TokenCounts
    mean_total_tokens: float | None
    cache_hit_rate: float | None  # share of input tokens read from the prompt cache
    cost_usd: float | None  # None when no episode could be priced
    unpriced_models: list[str]
    wall_time_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "episodes": self.episodes,
            "successes": self.successes,
            "success_rate": self.success_rate,
            "geomean_speedup": self.geomean_speedup,
            "speedups_counted": self.speedups_counted,
            "clamped_speedups": self.clamped_speedups,
            "fast_p": {f"{p:g}": v for p, v in self.fast_p.items()},
            "pass_at_k": {str(k): v for k, v in self.pass_at_k.items()},
            "mean_iterations": self.mean_iterations,
            "mean_iterations_to_first_correct": self.mean_iterations_to_first_correct,
            "mean_tool_calls": self.mean_tool_calls,
            "mean_evaluations": self.mean_evaluations,
            "error_types": self.error_types,
            "end_reasons": self.end_reasons,
            "tokens": self.tokens.model_dump(),
            "mean_total_tokens": self.mean_total_tokens,
            "cache_hit_rate": self.cache_hit_rate,
            "cost_usd": self.cost_usd,
            "unpriced_models": self.unpriced_models,
            "wall_time_s": self.wall_time_s,
        }


def total_tokens(tokens: TokenCounts) -> int:
    """Tokens an episode consumed. Reasoning tokens are part of the output count (every
    provider adapter records them so), so they are not added again."""
    return tokens.input + tokens.output


def cache_hit_rate(tokens: TokenCounts) -> float | None:
    """Share of input tokens served from the prompt cache; None without input."""
    return min(tokens.cached, tokens.input) / tokens.input if tokens.input > 0 else None


def group_metrics(results: Sequence[EpisodeResult], prices: PriceTable | None = None) -> GroupMetrics:
    n = len(results)
    successes = sum(r.success for r in results)
    speedups = [s for r in results if (s := episode_speedup(r)) is not None]
    errors = Counter(c for r in results for c in set(r.error_categories))
    tokens = TokenCounts(
        **{name: sum(getattr(r.tokens, name) for r in results) for name in TokenCounts.model_fields}
    )
    cost = None
    unpriced: set[str] = set()
    if prices is not None:
        for r in results:
            c = prices.cost(r.model, r.tokens)
            if c is None:
                unpriced.add(r.model)
            else:
                cost = (cost or 0.0) + c
    firsts = [r.iterations_to_first_correct for r in results if r.iterations_to_first_correct is not None]
    return GroupMetrics(
        episodes=n,
        successes=successes,
        success_rate=successes / n if n else None,
        geomean_speedup=geomean(s.value for s in speedups),
        speedups_counted=len(speedups),
        clamped_speedups=sum(s.clamped for s in speedups),
        fast_p={p: fast_p(results, p) for p in FAST_P_THRESHOLDS},
        pass_at_k=pass_at_k_by_cell(results),
        mean_iterations=_mean([r.iterations for r in results]),
        mean_iterations_to_first_correct=_mean(firsts),
        mean_tool_calls=_mean([r.tool_calls for r in results]),
        mean_evaluations=_mean([r.evaluations for r in results]),
        error_types={t: errors.get(t, 0) for t in ERROR_TYPES},
        end_reasons=dict(sorted(Counter(r.end_reason or "unknown" for r in results).items())),
        tokens=tokens,
        mean_total_tokens=_mean([total_tokens(r.tokens) for r in results]),
        cache_hit_rate=cache_hit_rate(tokens),
        cost_usd=cost,
        unpriced_models=sorted(unpriced),
        wall_time_s=sum(r.wall_time_s for r in results),
    )


def metrics_by_column(
    records: Sequence[Record], prices: PriceTable | None = None
) -> dict[Column, GroupMetrics]:
    grouped: dict[Column, list[EpisodeResult]] = defaultdict(list)
    for record in records:
        grouped[column_of(record)].append(record.result)
    return {col: group_metrics(grouped[col], prices) for col in columns_of(records)}


def per_task_by_column(
    records: Sequence[Record], prices: PriceTable | None = None
) -> dict[Column, dict[str, GroupMetrics]]:
    """Metrics per column and task (for per-task plots)."""
    grouped: dict[Column, dict[str, list[EpisodeResult]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        grouped[column_of(record)][record.result.task].append(record.result)
    return {
        col: {task: group_metrics(rs, prices) for task, rs in grouped[col].items()}
        for col in columns_of(records)
    }


def episode_cost(result: EpisodeResult, prices: PriceTable | None) -> float | None:
    return None if prices is None else prices.cost(result.model, result.tokens)


def summarize(
    records: Sequence[Record], prices: PriceTable | None = None, tasks: dict[str, TaskInfo] | None = None
) -> dict[str, Any]:
    """All metrics as plain JSON data (summary.json)."""
    table = success_table(records, tasks)
    speedups = speedup_table(records)
    by_column = metrics_by_column(records, prices)

    def col_json(col: Column) -> dict[str, str]:
        return {"run": col.run, "platform": col.platform, "model": col.model, "label": col.label()}

    def cells_json(cells: dict[Column, tuple[int, int]]) -> list[str | None]:
        return [f"{cells[c][0]}/{cells[c][1]}" if c in cells else None for c in table.columns]

    return {
        "columns": [{**col_json(c), **by_column[c].to_json()} for c in table.columns],
        "overall": group_metrics([r.result for r in records], prices).to_json(),
        "success_table": {
            "columns": [c.label() for c in table.columns],
            "levels": [
                {
                    "level": level,
                    "rows": [
                        {"task": row.task, "name": row.name, "cells": cells_json(row.cells)} for row in rows
                    ],
                    "subtotal": cells_json(table.subtotals[level]),
                }
                for level, rows in sorted(table.levels.items())
            ],
            "total": cells_json(table.total),
        },
        "speedups": [
            {
                **col_json(col),
                "task": task,
                "config": config,
                "speedup": s.value if s else None,
                "raw_speedup": s.raw if s else None,
                "clamped": bool(s and s.clamped),
                "roofline_bound": s.bound if s else None,
            }
            for col, per_task in speedups.items()
            for task, per_config in per_task.items()
            for config, s in per_config.items()
        ],
    }
