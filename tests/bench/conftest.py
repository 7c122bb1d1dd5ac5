"""Shared helpers for the benchmark-runner tests: a stand-in task catalogue and runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelcraft.bench.executors import RunContext, pending_specs, run_local
from kernelcraft.bench.fakes import fake_catalog
from kernelcraft.bench.matrix import RunMatrix, TaskCatalog, build_specs
from kernelcraft.bench.store import RunStore, open_run
from kernelcraft.episodes import EpisodeSpec


@pytest.fixture
def catalog() -> TaskCatalog:
    return fake_catalog()


@pytest.fixture
def fake_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at the stand-in catalogue and episode function."""
    monkeypatch.setenv("KERNELCRAFT_TASK_CATALOG", "kernelcraft.bench.fakes:fake_catalog")
    monkeypatch.setenv("KERNELCRAFT_EPISODE_FN", "kernelcraft.bench.fakes:fake_episode")


def run_matrix(
    root: Path, matrix: RunMatrix, episode_fn, concurrency: int = 2
) -> tuple[RunStore, list[EpisodeSpec]]:
    """Create (or resume) a run directory and run what is pending, locally."""
    catalog = fake_catalog()
    specs = build_specs(matrix, catalog)
    store = open_run(root, matrix, specs, catalog.version)
    try:
        ctx = RunContext(store, episode_fn, catalog.levels(), catalog.version)
        run_local(pending_specs(store, specs), ctx, concurrency)
    finally:
        store.unlock()
    return store, specs
