"""A run directory as a dataset: one row per episode, in JSONL and Parquet.

Each row holds what a model was given (system and task prompts), what it did (the chat
messages with tool calls and tool results, reconstructed from transcript.jsonl), the kernel
that was scored, and the reward fields (success, speed-up, cycles, the reward of
kernelcraft.env). `datasets.load_dataset("json" | "parquet", data_files=...)` reads both
files: training data for models that should learn an ISA. Secrets stay redacted: the
transcript is written redacted, and kernel text is redacted again on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kernelcraft.agent.transcript import redact
from kernelcraft.bench.store import LoadedEpisode, load_run, read_transcript

FORMATS = ("jsonl", "parquet")


class ExportError(Exception):
    """The export cannot be made as asked; one line for the user."""


def episode_rows(run_dir: Path) -> Iterator[dict[str, Any]]:
    run = load_run(Path(run_dir))
    seeds = {spec.key(): spec.seed for spec in run.manifest.episodes} if run.manifest else {}
    for episode in run.episodes:
        yield episode_row(episode, seeds.get(episode.key))


def episode_row(episode: LoadedEpisode, seed: int | None) -> dict[str, Any]:
    from kernelcraft.env import reward

    result = episode.result
    entries, _ = read_transcript(episode.path)
    system = next((e.get("text", "") for e in entries if e.get("type") == "system"), "")
    task = next((e.get("text", "") for e in entries if e.get("type") == "user"), "")
    return {
        "key": episode.key,
        "model": result.model,
        "platform": result.platform,
        "task": result.task,
        "config": result.config,
        "level": result.level,
        "sample": result.sample,
        "seed": seed,
        "task_set_version": result.task_set_version,
        "system_prompt": system,
        "task_prompt": task,
        "messages": chat_messages(entries),
        "kernel": _scored_kernel(episode.path),
        "success": result.success,
        "visible_correct": result.visible_correct,
        "speedup": result.speedup,
        "best_cycles": result.best_cycles,
        "baseline_cycles": result.baseline_cycles,
        "roofline_cycles": result.roofline_cycles,
        "reward": reward(result.success, result.speedup),
        "iterations": result.iterations,
        "tool_calls": result.tool_calls,
        "evaluations": result.evaluations,
        "error_categories": list(result.error_categories),
        "end_reason": result.end_reason,
        "input_tokens": result.tokens.input,
        "output_tokens": result.tokens.output,
    }


def chat_messages(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conversation after the prompts, as chat messages with one schema for every role."""
    messages: list[dict[str, Any]] = []
    for entry in entries:
        kind = entry.get("type")
        if kind == "assistant":
            messages.append(_message("assistant", entry.get("text") or ""))
        elif kind == "tool_call" and messages and messages[-1]["role"] == "assistant":
            arguments = entry.get("arguments")
            text = json.dumps(arguments) if arguments is not None else str(entry.get("raw_arguments", ""))
            call = {"id": str(entry.get("id", "")), "name": str(entry.get("name", "")), "arguments": text}
            messages[-1]["tool_calls"].append(call)
        elif kind == "tool_result":
            message = _message("tool", str(entry.get("text", "")))
            message.update(tool_call_id=str(entry.get("id", "")), name=str(entry.get("name", "")))
            messages.append(message)
    return messages


def _message(role: str, content: str) -> dict[str, Any]:
    return {"role": role, "content": content, "tool_calls": [], "tool_call_id": None, "name": None}


def _scored_kernel(folder: Path) -> str | None:
    best = sorted(folder.glob("best.*"))
    if not best:
        return None
    return redact(best[0].read_text(encoding="utf-8", errors="replace"))


def export_run(run_dir: Path, out: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write the run's rows as episodes.jsonl and/or episodes.parquet in `out`."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ExportError(f"run directory not found: {run_dir}")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    rows = list(episode_rows(run_dir))
    if not rows:
        raise ExportError(f"{run_dir} has no finished episodes")
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        if "jsonl" in formats:
            path = out / "episodes.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            written.append(path)
        if "parquet" in formats:
            written.append(_write_parquet(rows, out / "episodes.parquet"))
    except OSError as exc:
        raise ExportError(f"cannot write to {out}: {exc.strerror or exc}") from None
    return written


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> Path:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ModuleNotFoundError:
        raise ExportError("Parquet needs pyarrow: pip install 'kernelcraft[export]'") from None
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path
