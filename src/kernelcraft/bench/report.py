"""Reports over one or more run directories: Markdown, self-contained HTML, CSV and JSON.

The HTML needs no network and no other files besides its episode pages: styles are
inline and plots are embedded PNGs. Everything a report shows comes from
kernelcraft.bench.metrics; this module only lays it out. Partial run directories
(killed runs, missing transcripts, unreadable results) are reported, never fatal.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kernelcraft.bench.metrics import (
    FAST_P_THRESHOLDS,
    Column,
    GroupMetrics,
    PriceTable,
    Record,
    SpeedUp,
    SuccessTable,
    TaskInfo,
    cache_hit_rate,
    episode_cost,
    episode_speedup,
    load_prices,
    metrics_by_column,
    per_task_by_column,
    speedup_table,
    success_table,
    summarize,
    task_info_from_catalog,
    total_tokens,
)
from kernelcraft.bench.store import RESULT, TRANSCRIPT, LoadedRun, load_run, read_transcript

MAX_BLOCK_CHARS = 100_000  # longer texts are cut in episode pages, with a note
MAX_KERNEL_BYTES = 500_000
CSV_FIELDS = (
    "run",
    "model",
    "platform",
    "task",
    "level",
    "config",
    "sample",
    "success",
    "visible_correct",
    "iterations",
    "iteration_cap",
    "iterations_to_first_correct",
    "tool_calls",
    "evaluations",
    "error_categories",
    "best_cycles",
    "baseline_cycles",
    "speedup",
    "speedup_raw",
    "speedup_clamped",
    "roofline_cycles",
    "input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cost_usd",
    "wall_time_s",
    "end_reason",
    "error",
    "episode",
)


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    csv: Path
    summary: Path
    episode_pages: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Run:
    label: str
    loaded: LoadedRun


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-._" else "_" for c in text) or "run"


def _labels(run_dirs: Sequence[Path]) -> list[str]:
    """Short, unique run labels: the folder name, disambiguated when names repeat."""
    names = [Path(d).resolve().name or "run" for d in run_dirs]
    labels = []
    for i, name in enumerate(names):
        if names.count(name) > 1:
            parent = Path(run_dirs[i]).resolve().parent.name
            name = f"{parent}/{name}" if parent else name
        labels.append(name)
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return unique


def _fmt(value: float | None, digits: int = 2, suffix: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _speedup_text(s: SpeedUp | None) -> str:
    if s is None:
        return "✗"
    return f"{s.value:.2f}×*" if s.clamped else f"{s.value:.2f}×"


def _kn(cell: tuple[int, int] | None) -> str:
    return "–" if cell is None else f"{cell[0]}/{cell[1]}"


def _usd(value: float | None) -> str:
    return "–" if value is None else f"${value:,.2f}"


def _tokens(n: float | None) -> str:
    if n is None:
        return "–"
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}{suffix}"
    return f"{n:.0f}"


# ---------------------------------------------------------------- tables as rows


def _metric_rows(by_column: dict[Column, GroupMetrics]) -> tuple[list[str], list[list[str]]]:
    """The per-column summary as a header and rows shared by Markdown and HTML."""
    pass_ks = sorted({k for m in by_column.values() for k in m.pass_at_k})
    header = [
        "Column",
        "Episodes",
        "Success",
        "Geomean speed-up",
        *[f"fast_{p:g}" for p in FAST_P_THRESHOLDS],
        *[f"pass@{k}" for k in pass_ks],
        "Iter. to first correct",
        "Tool calls",
        "Evaluations",
        "S / F / T",
        "Tokens in / out (reasoning)",
        "Cache hit",
        "Cost",
    ]
    rows = []
    for col, m in by_column.items():
        cost = _usd(m.cost_usd) + (" (partial)" if m.unpriced_models and m.cost_usd is not None else "")
        rows.append(
            [
                col.label(),
                str(m.episodes),
                f"{m.successes}/{m.episodes} ({_pct(m.success_rate)})",
                _fmt(m.geomean_speedup, 2, "×")
                + (f" ({m.clamped_speedups} clamped)" if m.clamped_speedups else ""),
                *[_pct(m.fast_p[p]) for p in FAST_P_THRESHOLDS],
                *[_pct(m.pass_at_k.get(k)) for k in pass_ks],
                _fmt(m.mean_iterations_to_first_correct, 1),
                _fmt(m.mean_tool_calls, 1),
                _fmt(m.mean_evaluations, 1),
                " / ".join(str(m.error_types[t]) for t in ("S", "F", "T")),
                f"{_tokens(m.tokens.input)} / {_tokens(m.tokens.output)} ({_tokens(m.tokens.reasoning)})",
                _pct(m.cache_hit_rate),
                cost,
            ]
        )
    return header, rows


def _success_rows(table: SuccessTable) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Table 5 layout; each row carries a kind: "level", "task", "subtotal" or "total"."""
    header = ["Task", *[c.label() for c in table.columns]]
    rows: list[tuple[str, list[str]]] = []
    for level in sorted(table.levels):
        rows.append(("level", [f"Level {level}", *[""] * len(table.columns)]))
        for row in table.levels[level]:
            rows.append(("task", [row.name, *[_kn(row.cells.get(c)) for c in table.columns]]))
        rows.append(
            ("subtotal", [f"L{level} subtotal", *[_kn(table.subtotals[level].get(c)) for c in table.columns]])
        )
    rows.append(("total", ["TOTAL", *[_kn(table.total.get(c)) for c in table.columns]]))
    return header, rows


def _speedup_rows(
    per_task: dict[str, dict[str, SpeedUp | None]], names: dict[str, str]
) -> tuple[list[str], list[list[str]]]:
    configs = sorted({c for per_config in per_task.values() for c in per_config})
    header = ["Task", *configs]
    rows = [
        [names.get(task, task), *[_speedup_text(per_config[c]) if c in per_config else "–" for c in configs]]
        for task, per_config in per_task.items()
    ]
    return header, rows


# ---------------------------------------------------------------- plots


def _plots(
    records: Sequence[Record], table: SuccessTable, names: dict[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Base64 PNGs by title; notes for plots that could not be drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}, [
            "matplotlib is not installed, so this report has no plots (pip install 'kernelcraft[report]')."
        ]

    plots: dict[str, str] = {}
    notes: list[str] = []
    columns = table.columns
    col_labels = [c.label() for c in columns]
    task_rows = [row for level in sorted(table.levels) for row in table.levels[level]]
    tasks = [row.task for row in task_rows]
    task_labels = [names.get(t, t) for t in tasks]

    def encode(fig: Any) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        return base64.b64encode(buf.getvalue()).decode("ascii")

    # Success heat map: task × column.
    import numpy as np

    grid = np.full((len(tasks), len(columns)), np.nan)
    for i, row in enumerate(task_rows):
        for j, col in enumerate(columns):
            if col in row.cells and row.cells[col][1]:
                k, n = row.cells[col]
                grid[i, j] = k / n
    fig, ax = plt.subplots(figsize=(2 + 1.4 * len(columns), 1 + 0.38 * len(tasks)))
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(columns)), col_labels, rotation=30, ha="right")
    ax.set_yticks(range(len(tasks)), task_labels)
    for i, row in enumerate(task_rows):
        for j, col in enumerate(columns):
            text = _kn(row.cells.get(col))
            colour = "white" if not np.isnan(grid[i, j]) and grid[i, j] < 0.6 else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    fig.colorbar(image, ax=ax, label="success rate")
    ax.set_title("Success rate per task")
    plots["Success rate (task × model)"] = encode(fig)

    # Speed-up per configuration, one panel per column.
    speedups = speedup_table(records)
    panels = [(c, speedups.get(c, {})) for c in columns]
    panels = [(c, p) for c, p in panels if any(s for per in p.values() for s in per.values())]
    if panels:
        fig, axes = plt.subplots(len(panels), 1, figsize=(max(6, 0.9 * len(tasks) + 2), 4.2 * len(panels)))
        axes = np.atleast_1d(axes)
        for ax, (col, per_task) in zip(axes, panels, strict=True):
            solved = [t for t in tasks if any(per_task.get(t, {}).values())]
            configs = sorted({c for t in solved for c in per_task[t]})
            width = 0.8 / max(1, len(configs))
            for k, config in enumerate(configs):
                values = [(s.value if (s := per_task[t].get(config)) else 0.0) for t in solved]
                ax.bar(np.arange(len(solved)) + k * width, values, width, label=config)
            ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
            ax.set_xticks(
                np.arange(len(solved)) + width * (len(configs) - 1) / 2,
                [names.get(t, t) for t in solved],
                rotation=30,
                ha="right",
            )
            ax.set_ylabel("speed-up ×")
            ax.set_title(f"Best correct speed-up per configuration — {col.label()}")
            ax.legend(fontsize=7, ncol=len(configs))
        fig.tight_layout()
        plots["Speed-up per configuration"] = encode(fig)
    else:
        notes.append("No correct kernel with a measured speed-up: the speed-up plot is omitted.")

    per_task = per_task_by_column(records)

    def grouped_bars(title: str, ylabel: str, value: Any) -> str | None:
        data = [[value(per_task[c][t]) if t in per_task[c] else None for t in tasks] for c in columns]
        if all(v is None for series in data for v in series):
            return None
        fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(tasks) + 2), 3.6))
        width = 0.8 / len(columns)
        for j, (label, series) in enumerate(zip(col_labels, data, strict=True)):
            ax.bar(np.arange(len(tasks)) + j * width, [v or 0 for v in series], width, label=label)
        ax.set_xticks(
            np.arange(len(tasks)) + width * (len(columns) - 1) / 2, task_labels, rotation=30, ha="right"
        )
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=7)
        return encode(fig)

    tokens_png = grouped_bars("Mean tokens per episode", "tokens", lambda m: m.mean_total_tokens)
    if tokens_png:
        plots["Tokens per task"] = tokens_png
    first_png = grouped_bars(
        "Mean iterations to first correct kernel", "iterations", lambda m: m.mean_iterations_to_first_correct
    )
    if first_png:
        plots["Iterations to first correct"] = first_png
    else:
        notes.append("No episode reached a correct kernel: the iterations plot is omitted.")
    return plots, notes


# ---------------------------------------------------------------- episode pages

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1200px;
 padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f5}tr.level td{background:#eef2fb;font-weight:600}
tr.subtotal td,tr.total td{font-weight:600;background:#fafafa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#14752f;font-weight:600}.bad{color:#b3261e}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.4rem .8rem;margin:.4rem 0}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word;
 font-size:.8rem;margin:.2rem 0}
.entry{border:1px solid #e3e3e3;border-radius:6px;margin:.5rem 0;padding:.3rem .6rem}
.entry .kind{font-size:.75rem;text-transform:uppercase;letter-spacing:.04em;color:#555}
.entry.assistant{background:#f5f9ff}.entry.tool_call{background:#fbf7ff}.entry.tool_result{background:#f7fbf5}
.entry.error{background:#fff1f0}.entry.usage{background:#fafafa;font-size:.8rem}
.fields{font-size:.8rem;color:#333;margin:.2rem 0}
.panels{display:flex;flex-wrap:wrap;gap:0 1.5rem}
img{max-width:100%;border:1px solid #eee;margin:.5rem 0}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pre(text: str) -> str:
    cut = ""
    if len(text) > MAX_BLOCK_CHARS:
        cut = f"\n… ({len(text) - MAX_BLOCK_CHARS} more characters not shown)"
        text = text[:MAX_BLOCK_CHARS]
    return f"<pre>{_esc(text + cut)}</pre>"


def _html_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] | None = None
) -> str:
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{_esc(classes[i])}"' if classes else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _first(entry: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in entry and entry[name] not in (None, ""):
            return entry[name]
    return None


_ROLES = ("system", "user", "assistant")


def _render_rest(rest: dict[str, Any]) -> list[str]:
    """Fields without a dedicated layout: multi-line text as blocks, the rest on one line."""
    parts = []
    scalars = {k: v for k, v in rest.items() if not (isinstance(v, str) and "\n" in v)}
    if scalars:
        line = ", ".join(
            f"{k}: {v if isinstance(v, str) else json.dumps(v, default=str)}" for k, v in scalars.items()
        )
        parts.append(f'<div class="fields">{_esc(line)}</div>')
    for key, value in rest.items():
        if key not in scalars:
            parts.append(f'<div class="kind">{_esc(key)}</div>{_pre(value)}')
    return parts


def _render_entry(entry: dict[str, Any]) -> str:
    """One transcript event. Messages, tool calls and results get a readable layout;
    any other event (start, scoring, end, ...) shows its fields."""
    kind = str(entry.get("type", "entry"))
    shown: set[str] = {"type", "time", "iteration"}
    parts: list[str] = []
    css = kind
    title = kind
    if kind == "message" or kind in _ROLES:
        role = kind if kind in _ROLES else str(entry.get("role", ""))
        shown |= {"role", "text", "content"}
        css = f"message {role}"
        title = f"message · {role}" if role else "message"
        text = _first(entry, "text", "content")
        if text is not None:
            parts.append(_pre(_as_text(text)))
    elif kind == "tool_call":
        shown |= {"name", "arguments", "id"}
        title = f"tool call · {entry.get('name', '?')}"
        args = entry.get("arguments")
        if isinstance(args, dict) and isinstance(args.get("code"), str):  # kernels read best as code
            rest = {k: v for k, v in args.items() if k != "code"}
            parts.append(_pre(args["code"]))
            if rest:
                parts.append(_pre(_as_text(rest)))
        elif args is not None:
            parts.append(_pre(_as_text(args)))
    elif kind == "tool_result":
        shown |= {"name", "content", "text", "output", "result", "id", "call_id", "is_error"}
        is_error = bool(entry.get("is_error"))
        css = "tool_result error" if is_error else "tool_result"
        title = f"tool result · {entry.get('name', '?')}" + (" · error" if is_error else "")
        content = _first(entry, "content", "text", "output", "result")
        if content is not None:
            parts.append(_pre(_as_text(content)))
    elif kind == "end" and entry.get("error"):
        css = "end error"
    if "iteration" in entry:
        title += f" · iteration {entry['iteration']}"
    parts.extend(_render_rest({k: v for k, v in entry.items() if k not in shown}))
    return f'<div class="entry {_esc(css)}"><div class="kind">{_esc(title)}</div>{"".join(parts)}</div>'


def _kernel_files(episode_dir: Path) -> list[tuple[str, str | None]]:
    """Text files the episode left besides its result and transcript (kernels, traces)."""
    files: list[tuple[str, str | None]] = []
    try:
        paths = sorted(p for p in episode_dir.rglob("*") if p.is_file())
    except OSError:
        return files
    for path in paths:
        rel = path.relative_to(episode_dir).as_posix()
        if rel in (RESULT, TRANSCRIPT):
            continue
        try:
            data = path.read_bytes()[: MAX_KERNEL_BYTES + 1]
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            files.append((rel, None))
            continue
        if len(data) > MAX_KERNEL_BYTES:
            text = text[:MAX_KERNEL_BYTES] + "\n… (file truncated)"
        files.append((rel, text))
    return files


def _episode_page(record: Record, prices: PriceTable | None, back_href: str) -> str:
    r = record.result
    s = episode_speedup(r)
    title = f"{r.model} · {r.platform} · {r.task} · {r.config} · sample {r.sample}"
    fields = [
        ("Run", record.run or "–"),
        ("Success", "yes" if r.success else "no"),
        ("Visible seed correct", "yes" if r.visible_correct else "no"),
        ("Level", r.level),
        ("Iterations", f"{r.iterations} / cap {r.iteration_cap}"),
        (
            "Iterations to first correct",
            r.iterations_to_first_correct if r.iterations_to_first_correct else "–",
        ),
        ("Tool calls / evaluations", f"{r.tool_calls} / {r.evaluations}"),
        ("Error types", ", ".join(r.error_categories) or "–"),
        (
            "Best cycles / baseline / roofline",
            f"{r.best_cycles or '–'} / {r.baseline_cycles or '–'} / {r.roofline_cycles or '–'}",
        ),
        (
            "Speed-up",
            _speedup_text(s)
            + (f" (reported {s.raw:.2f}×, above the roofline bound)" if s and s.clamped else ""),
        ),
        (
            "Tokens in / out / reasoning",
            f"{r.tokens.input} / {r.tokens.output} / {r.tokens.reasoning}",
        ),
        (
            "Prompt cache: read / written (5 min, 1 h)",
            f"{r.tokens.cached} ({_pct(cache_hit_rate(r.tokens))} of input) / "
            f"{r.tokens.cache_write_5m}, {r.tokens.cache_write_1h}",
        ),
        ("Cost", _usd(episode_cost(r, prices))),
        ("Wall time", f"{r.wall_time_s:.1f} s"),
        ("End reason", r.end_reason or "–"),
    ]
    body = [f'<p><a href="{_esc(back_href)}">← report</a></p>', f"<h1>{_esc(title)}</h1>"]
    if r.error:
        body.append(f'<div class="note">Error: {_esc(r.error)}</div>')
    body.append(_html_table(["Field", "Value"], [[k, str(v)] for k, v in fields]))

    path = record.path
    entries, bad = read_transcript(path) if path else ([], [])
    evaluations = [e for e in entries if e.get("type") == "tool_result" and e.get("name") == "run_evaluation"]
    body.append("<h2>Evaluations</h2>")
    if evaluations:
        body.extend(_render_entry(e) for e in evaluations)
    else:
        body.append("<p>No run_evaluation results in the transcript.</p>")

    body.append("<h2>Kernels and other files</h2>")
    files = _kernel_files(path) if path else []
    if not files:
        body.append("<p>No files besides the result.</p>")
    for rel, text in files:
        body.append(f"<h3>{_esc(rel)}</h3>")
        body.append(_pre(text) if text is not None else "<p>(binary or unreadable file)</p>")

    body.append("<h2>Conversation</h2>")
    if path is None or not (path / TRANSCRIPT).is_file():
        body.append('<div class="note">This episode has no transcript.jsonl.</div>')
    body.extend(_render_entry(e) for e in entries)
    if bad:
        body.append(f'<div class="note">{len(bad)} transcript line(s) were not JSON objects:</div>')
        body.append(_pre("\n".join(bad)))
    return _page(title, "\n".join(body))


# ---------------------------------------------------------------- main report


def _load(run_dirs: Sequence[Path]) -> tuple[list[_Run], list[str]]:
    runs, notes = [], []
    for label, run_dir in zip(_labels(run_dirs), run_dirs, strict=True):
        loaded = load_run(Path(run_dir))
        runs.append(_Run(label, loaded))
        if not Path(run_dir).is_dir():
            notes.append(f"{run_dir}: not a directory; nothing to report from it.")
            continue
        if loaded.manifest_error:
            notes.append(loaded.manifest_error)
        elif loaded.manifest is None:
            notes.append(f"{label}: no manifest.json; reporting the episodes found.")
        if loaded.missing:
            expected = len(loaded.manifest.episodes) if loaded.manifest else "?"
            notes.append(
                f"{label}: {len(loaded.missing)} of {expected} episodes have not finished (partial run); "
                "resume it with the same command."
            )
        for path, reason in loaded.unreadable:
            notes.append(f"{label}: unreadable result {path}: {reason}")
    return runs, notes


def _csv_rows(records: Sequence[Record], prices: PriceTable | None, page_of: dict[int, str]) -> list[dict]:
    rows = []
    for i, rec in enumerate(records):
        r = rec.result
        s = episode_speedup(r)
        cost = episode_cost(r, prices)
        rows.append(
            {
                "run": rec.run,
                "model": r.model,
                "platform": r.platform,
                "task": r.task,
                "level": r.level,
                "config": r.config,
                "sample": r.sample,
                "success": r.success,
                "visible_correct": r.visible_correct,
                "iterations": r.iterations,
                "iteration_cap": r.iteration_cap,
                "iterations_to_first_correct": r.iterations_to_first_correct,
                "tool_calls": r.tool_calls,
                "evaluations": r.evaluations,
                "error_categories": "".join(r.error_categories),
                "best_cycles": r.best_cycles,
                "baseline_cycles": r.baseline_cycles,
                "speedup": None if s is None else round(s.value, 6),
                "speedup_raw": None if s is None else round(s.raw, 6),
                "speedup_clamped": bool(s and s.clamped),
                "roofline_cycles": r.roofline_cycles,
                "input_tokens": r.tokens.input,
                "output_tokens": r.tokens.output,
                "reasoning_tokens": r.tokens.reasoning,
                "cached_tokens": r.tokens.cached,
                "cache_write_5m_tokens": r.tokens.cache_write_5m,
                "cache_write_1h_tokens": r.tokens.cache_write_1h,
                "cost_usd": None if cost is None else round(cost, 6),
                "wall_time_s": r.wall_time_s,
                "end_reason": r.end_reason,
                "error": r.error or "",
                "episode": page_of.get(i, ""),
            }
        )
    return rows


def write_report(
    run_dirs: Sequence[Path],
    out_dir: Path,
    prices: PriceTable | None = None,
    tasks: dict[str, TaskInfo] | None = None,
) -> ReportFiles:
    """Write report.md, report.html, results.csv, summary.json and one page per episode."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prices = prices if prices is not None else load_prices()
    tasks = tasks if tasks is not None else task_info_from_catalog()
    runs, notes = _load(run_dirs)
    many = len(runs) > 1
    records: list[Record] = []
    run_of_record: list[str] = []
    for run in runs:
        for episode in run.loaded.episodes:
            records.append(Record(run.label if many else "", episode.result, episode.key, episode.path))
            run_of_record.append(run.label)

    names = {task: info.name for task, info in tasks.items()}
    table = success_table(records, tasks)
    by_column = metrics_by_column(records, prices)
    speedups = speedup_table(records)
    plots, plot_notes = _plots(records, table, names) if records else ({}, [])
    notes.extend(plot_notes)
    if not records:
        notes.append("No finished episodes in the given run directories.")
    unpriced = sorted({m for g in by_column.values() for m in g.unpriced_models})
    if unpriced:
        notes.append(f"No price for {', '.join(unpriced)}: cost is left out for these models (see --prices).")
    clamped = [rec for rec in records if (s := episode_speedup(rec.result)) and s.clamped]
    if clamped:
        notes.append(
            f"{len(clamped)} speed-up(s) exceeded the roofline bound (baseline / roofline cycles) and were "
            "clamped to it (marked *); check those kernels and their evaluations."
        )

    # Episode pages.
    files = ReportFiles(
        out_dir / "report.md", out_dir / "report.html", out_dir / "results.csv", out_dir / "summary.json"
    )
    # Tables group by `records` (run label only when several runs); episode lists and
    # pages always name the run.
    labelled = [Record(run_of_record[i], rec.result, rec.key, rec.path) for i, rec in enumerate(records)]
    page_of: dict[int, str] = {}
    for i, rec in enumerate(labelled):
        rel = f"episodes/{_safe(run_of_record[i])}/{rec.key or i}.html"
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        back = os.path.relpath(files.html, target.parent)
        target.write_text(_episode_page(rec, prices, back), encoding="utf-8")
        files.episode_pages.append(target)
        page_of[i] = rel

    # results.csv
    with open(files.csv, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in _csv_rows(labelled, prices, page_of):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})

    summary = summarize(records, prices, tasks)
    summary["generated"] = datetime.now(UTC).isoformat(timespec="seconds")
    summary["runs"] = [_run_json(run) for run in runs]
    summary["notes"] = notes
    files.summary.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    files.markdown.write_text(
        _markdown(runs, labelled, table, by_column, speedups, names, notes, page_of), encoding="utf-8"
    )
    files.html.write_text(
        _html(runs, labelled, table, by_column, speedups, names, notes, plots, page_of, prices),
        encoding="utf-8",
    )
    files.notes = notes
    return files


def _run_json(run: _Run) -> dict[str, Any]:
    m = run.loaded.manifest
    return {
        "label": run.label,
        "dir": str(run.loaded.root),
        "episodes_finished": len(run.loaded.episodes),
        "episodes_expected": len(m.episodes) if m else None,
        "episodes_missing": len(run.loaded.missing),
        "unreadable_results": len(run.loaded.unreadable),
        "task_set_version": m.task_set_version if m else None,
        "kernelcraft_version": m.kernelcraft_version if m else None,
        "git_commit": m.git_commit if m else None,
        "created": m.created if m else None,
        "matrix": m.matrix.model_dump() if m else None,
    }


def _run_rows(runs: Sequence[_Run]) -> tuple[list[str], list[list[str]]]:
    header = ["Run", "Directory", "Finished", "Task set", "Version", "Commit", "Created"]
    rows = []
    for run in runs:
        info = _run_json(run)
        expected = info["episodes_expected"]
        rows.append(
            [
                run.label,
                info["dir"],
                f"{info['episodes_finished']}/{expected}"
                if expected is not None
                else str(info["episodes_finished"]),
                info["task_set_version"] or "–",
                info["kernelcraft_version"] or "–",
                (info["git_commit"] or "–")[:12],
                info["created"] or "–",
            ]
        )
    return header, rows


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _episode_rows(
    records: Sequence[Record], prices: PriceTable | None = None
) -> tuple[list[str], list[list[str]]]:
    header = [
        "Run",
        "Model",
        "Platform",
        "Task",
        "Config",
        "Sample",
        "Success",
        "Speed-up",
        "Iterations",
        "Tokens",
        "End reason",
    ]
    rows = []
    for rec in records:
        r = rec.result
        rows.append(
            [
                rec.run or "–",
                r.model,
                r.platform,
                r.task,
                r.config,
                str(r.sample),
                "✓" if r.success else "✗",
                _speedup_text(episode_speedup(r)) if r.success else "–",
                f"{r.iterations}/{r.iteration_cap}",
                _tokens(total_tokens(r.tokens)),
                r.end_reason or "–",
            ]
        )
    return header, rows


def _markdown(
    runs: Sequence[_Run],
    records: Sequence[Record],
    table: SuccessTable,
    by_column: dict[Column, GroupMetrics],
    speedups: dict[Column, dict[str, dict[str, SpeedUp | None]]],
    names: dict[str, str],
    notes: Sequence[str],
    page_of: dict[int, str],
) -> str:
    out = ["# KernelCraft report", ""]
    out += [_md_table(*_run_rows(runs)), ""]
    for note in notes:
        out.append(f"> {note}")
    if notes:
        out.append("")
    out += ["## Summary", "", _md_table(*_metric_rows(by_column)), ""]
    header, rows = _success_rows(table)
    out += ["## Success rate (successes / episodes)", ""]
    md_rows = [[f"**{row[0]}**", *row[1:]] if kind != "task" else row for kind, row in rows]
    out += [_md_table(header, md_rows), ""]
    out += ["## Speed-up of the best correct kernel over the baseline", ""]
    out += ["✗: not solved; –: not run; *: clamped to the roofline bound.", ""]
    for col, per_task in speedups.items():
        out += [f"### {col.label()}", "", _md_table(*_speedup_rows(per_task, names)), ""]
    header, rows = _episode_rows(records)
    out += ["## Episodes", ""]
    linked = [[*row[:-1], row[-1], f"[page]({quote(page_of[i])})"] for i, row in enumerate(rows)]
    out += [_md_table([*header, "Details"], linked), ""]
    return "\n".join(out)


def _html(
    runs: Sequence[_Run],
    records: Sequence[Record],
    table: SuccessTable,
    by_column: dict[Column, GroupMetrics],
    speedups: dict[Column, dict[str, dict[str, SpeedUp | None]]],
    names: dict[str, str],
    notes: Sequence[str],
    plots: dict[str, str],
    page_of: dict[int, str],
    prices: PriceTable | None,
) -> str:
    body = ["<h1>KernelCraft report</h1>", _html_table(*_run_rows(runs))]
    body += [f'<div class="note">{_esc(note)}</div>' for note in notes]
    body += ["<h2>Summary</h2>", _html_table(*_metric_rows(by_column))]
    header, rows = _success_rows(table)
    body += [
        "<h2>Success rate (successes / episodes)</h2>",
        _html_table(header, [row for _, row in rows], [kind for kind, _ in rows]),
    ]
    body += [
        "<h2>Speed-up of the best correct kernel over the baseline</h2>",
        "<p>✗: not solved; –: not run; *: clamped to the roofline bound.</p>",
    ]
    body.append('<div class="panels">')
    for col, per_task in speedups.items():
        body.append(f"<div><h3>{_esc(col.label())}</h3>{_html_table(*_speedup_rows(per_task, names))}</div>")
    body.append("</div>")
    if plots:
        body.append("<h2>Plots</h2>")
        for title, png in plots.items():
            body.append(f'<h3>{_esc(title)}</h3><img alt="{_esc(title)}" src="data:image/png;base64,{png}">')
    header, rows = _episode_rows(records, prices)
    body.append("<h2>Episodes</h2>")
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    lines = []
    for i, row in enumerate(rows):
        cls = "ok" if records[i].result.success else "bad"
        cells = "".join(
            f'<td class="{cls}">{_esc(c)}</td>' if j == 6 else f"<td>{_esc(c)}</td>"
            for j, c in enumerate(row)
        )
        link = f'<td><a href="{_esc(quote(page_of[i]))}">details</a></td>'
        lines.append(f"<tr>{cells}{link}</tr>")
    body.append(f"<table><thead><tr>{head}<th></th></tr></thead><tbody>{''.join(lines)}</tbody></table>")
    return _page("KernelCraft report", "\n".join(body))
