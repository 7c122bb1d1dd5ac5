"""PLENA's baseline cycles and sizes per cell match the stored table: refactors change no timing.

The table (data/baseline_cycles_emulator.json) was measured before the platform seam was
introduced, with the public emulator's cost table. The default run checks C1 and C2 of every
task; the slow run checks all 100 cells.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import case_study_tasks

TABLE = json.loads((Path(__file__).parent / "data" / "baseline_cycles_emulator.json").read_text())
PLENA = get_platform("plena")
CELLS = [(task, config) for task, configs in sorted(TABLE.items()) for config in sorted(configs)]


def _check(task: str, config: str) -> None:
    instance = PLENA.prepare(task, config, 0)
    evaluation = PLENA.evaluate(PLENA.baseline(task, config), instance)
    assert evaluation.correct
    expected = TABLE[task][config]
    assert (evaluation.cycles, len(evaluation.program)) == (expected["cycles"], expected["instructions"])


def test_the_table_covers_every_plena_cell():
    case_studies = {task.id for task in case_study_tasks()}  # measured by their own tests
    shapes = PLENA.shapes()
    assert {(t, c) for t in shapes if t not in case_studies for c in shapes[t]} == set(CELLS)


@pytest.mark.parametrize(("task", "config"), [c for c in CELLS if c[1] in ("C1", "C2")])
def test_baseline_cycles_are_unchanged(task, config):
    _check(task, config)


@pytest.mark.slow
@pytest.mark.parametrize(("task", "config"), [c for c in CELLS if c[1] not in ("C1", "C2")])
def test_baseline_cycles_are_unchanged_on_large_cells(task, config):
    _check(task, config)
