"""PLENA's baseline cycles and sizes per cell match the stored tables, under both timing
profiles: a refactor that changes a kernel or the timing model shows up here.

The tables (data/baseline_cycles_<profile>.json) are written by
`python benchmarks/baseline_cycles.py --json-dir tests/platforms/plena/data`. The default run
checks C1 and C2 of every task under the default (consistent) profile and C1 under the emulator
profile; the slow run checks every cell under both.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, EMULATOR_CONFIG
from kernelcraft.platforms.plena.platform import PlenaPlatform
from kernelcraft.tasks import case_study_tasks

DATA = Path(__file__).parent / "data"
PLATFORMS = {cfg.timing_profile: PlenaPlatform(cfg) for cfg in (DEFAULT_CONFIG, EMULATOR_CONFIG)}
TABLES = {p: json.loads((DATA / f"baseline_cycles_{p}.json").read_text()) for p in PLATFORMS}
CELLS = {
    p: [(t, c) for t, configs in sorted(table.items()) for c in sorted(configs)]
    for p, table in TABLES.items()
}
QUICK = {"consistent": ("C1", "C2"), "emulator": ("C1",)}


def _check(profile: str, task: str, config: str) -> None:
    platform = PLATFORMS[profile]
    instance = platform.prepare(task, config, 0)
    evaluation = platform.evaluate(platform.baseline(task, config), instance)
    assert evaluation.correct
    expected = TABLES[profile][task][config]
    assert (evaluation.cycles, len(evaluation.program)) == (expected["cycles"], expected["instructions"])


@pytest.mark.parametrize("profile", sorted(PLATFORMS))
def test_the_table_covers_every_plena_cell(profile):
    case_studies = {task.id for task in case_study_tasks()}  # measured by their own tests
    shapes = PLATFORMS[profile].shapes()
    assert {(t, c) for t in shapes if t not in case_studies for c in shapes[t]} == set(CELLS[profile])


def test_the_emulator_profile_is_never_cheaper_on_vector_work_and_differs_on_matrix_work():
    consistent, emulator = TABLES["consistent"], TABLES["emulator"]
    assert consistent["silu"] == emulator["silu"]  # no matrix instruction: the same table
    assert consistent["gemm"]["C3"]["cycles"] < emulator["gemm"]["C3"]["cycles"]  # M_MM: 4 vs 64 cycles


@pytest.mark.parametrize(
    ("profile", "task", "config"),
    [(p, t, c) for p in sorted(PLATFORMS) for t, c in CELLS[p] if c in QUICK[p]],
)
def test_baseline_cycles_are_unchanged(profile, task, config):
    _check(profile, task, config)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("profile", "task", "config"),
    [(p, t, c) for p in sorted(PLATFORMS) for t, c in CELLS[p] if c not in QUICK[p]],
)
def test_baseline_cycles_are_unchanged_on_large_cells(profile, task, config):
    _check(profile, task, config)
