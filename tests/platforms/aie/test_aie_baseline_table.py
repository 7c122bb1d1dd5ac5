"""AIE baseline cycles per cell match the published table (docs/baseline-aie.md): a change to a
baseline kernel, the scheduler or the timing model that moves one cycle shows up here, and the
document cannot drift from what the simulator does.

The default run checks C1 of every task; the slow run adds C2 and C3 (C4-C5 take minutes per
cell; the conformance suite still runs them for correctness).
"""

from __future__ import annotations

import pytest

from kernelcraft.platforms.registry import get_platform

from ..published_table import check_baseline, read_table

PLATFORM = get_platform("aie")
COLUMNS = (None, "cycles", "calls", "roofline", None, "dma", "bundles", None)
TABLE = read_table("baseline-aie.md", COLUMNS, lambda cells: cells[2] in ("yes", "NO"))


def measure(platform, instance, built, evaluation) -> dict[str, int]:
    return {
        "cycles": evaluation.cycles,
        "calls": evaluation.stats.calls,
        "roofline": platform.roofline(instance),
        "dma": evaluation.stats.dma_cycles,
        "bundles": built.size,
    }


def test_the_table_covers_every_aie_cell():
    shapes = PLATFORM.shapes()
    assert set(TABLE) == {(t, c) for t in shapes for c in shapes[t]}


@pytest.mark.parametrize(("task", "config"), sorted(k for k in TABLE if k[1] == "C1"))
def test_baseline_cycles_match_the_published_table(task, config):
    check_baseline(PLATFORM, TABLE, task, config, measure)


@pytest.mark.slow
@pytest.mark.parametrize(("task", "config"), sorted(k for k in TABLE if k[1] in ("C2", "C3")))
def test_baseline_cycles_match_the_published_table_on_larger_cells(task, config):
    check_baseline(PLATFORM, TABLE, task, config, measure)
