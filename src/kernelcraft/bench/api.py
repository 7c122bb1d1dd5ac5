"""Runs and reports from Python, as `kernelcraft run` and `kernelcraft report` make them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernelcraft.bench.executors import (
    RunContext,
    default_episode_fn,
    pending_specs,
    run_episodes,
    with_scoring_secret,
)
from kernelcraft.bench.matrix import specs_from_flags
from kernelcraft.bench.metrics import load_prices
from kernelcraft.bench.report import ReportFiles, write_report
from kernelcraft.bench.store import LoadedRun, load_run, open_run


def run(
    out: str | Path,
    *,
    models: list[str] | None = None,
    platforms: list[str] | None = None,
    tasks: list[str] | None = None,
    configs: list[str] | None = None,
    samples: int | None = None,
    seed: int | None = None,
    concurrency: int = 1,
    executor: str = "local",
    sim_workers: int = 0,
    scoring_secret: str | None = None,
    **matrix_fields: Any,
) -> LoadedRun:
    """Run (or resume) a matrix into `out` and return what it holds. Raises MatrixError or
    RunDirError for a bad matrix or run directory."""
    overrides = {
        "models": models,
        "platforms": platforms,
        "tasks": tasks,
        "configs": configs,
        "samples": samples,
        "seed": seed,
        **matrix_fields,
    }
    matrix, specs, catalog = specs_from_flags(**overrides)
    store = open_run(
        Path(out), matrix, specs, catalog.version, invocation={"api": True}, scoring_secret=scoring_secret
    )
    try:
        episode_fn = with_scoring_secret(default_episode_fn(), store.scoring_secret)
        ctx = RunContext(store, episode_fn, catalog.levels(), catalog.version)
        run_episodes(
            pending_specs(store, specs, False), ctx, executor, concurrency, None, sim_workers=sim_workers
        )
    finally:
        store.unlock()
    return load_run(Path(out))


def report(run_dirs: list[str | Path], out: str | Path, prices: str | Path | None = None) -> ReportFiles:
    """Write report.md, report.html, results.csv and summary.json for run directories."""
    return write_report([Path(d) for d in run_dirs], Path(out), load_prices(Path(prices) if prices else None))
