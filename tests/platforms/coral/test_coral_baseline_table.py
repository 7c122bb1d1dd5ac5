"""Coral's baseline cycles per cell match the published table (docs/baseline-coral.md): a change
to a kernel, the timing model or a simulator fast path that moves one cycle shows up here, and the
document cannot drift from what the simulator does.

The table is written by `python benchmarks/coral_baseline_sweep.py --markdown FILE`. The default
run checks C1 of every task; the slow run checks every other cell.
"""

from __future__ import annotations

import pytest

from kernelcraft.platforms.coral.platform import CoralPlatform

from ..published_table import check_baseline, read_table

PLATFORM = CoralPlatform()
COLUMNS = (None, "cycles", "instructions", None, "vector", "static", "roofline")
TABLE = read_table("baseline-coral.md", COLUMNS, lambda cells: cells[3].replace(",", "").isdigit())


def measure(platform, instance, built, evaluation) -> dict[str, int]:
    return {
        "cycles": evaluation.cycles,
        "instructions": evaluation.stats.instructions,
        "vector": evaluation.stats.vector_instructions,
        "static": built.size,
        "roofline": platform.roofline(instance),
    }


def test_the_table_covers_every_coral_cell():
    shapes = PLATFORM.shapes()
    assert set(TABLE) == {(t, c) for t in shapes for c in shapes[t]}


@pytest.mark.parametrize(("task", "config"), sorted(k for k in TABLE if k[1] == "C1"))
def test_baseline_cycles_match_the_published_table(task, config):
    check_baseline(PLATFORM, TABLE, task, config, measure)


@pytest.mark.slow
@pytest.mark.parametrize(("task", "config"), sorted(k for k in TABLE if k[1] != "C1"))
def test_baseline_cycles_match_the_published_table_on_large_cells(task, config):
    check_baseline(PLATFORM, TABLE, task, config, measure)
