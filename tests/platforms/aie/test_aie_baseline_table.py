"""AIE baseline cycles per cell match the published table (docs/baseline-aie.md): a change to a
baseline kernel, the scheduler or the timing model that moves one cycle shows up here, and the
document cannot drift from what the simulator does.

The default run checks C1 of every task; the slow run adds C2 and C3 (C4-C5 take minutes per
cell; the conformance suite still runs them for correctness).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelcraft.platforms.registry import get_platform

DOC = Path(__file__).resolve().parents[3] / "docs" / "baseline-aie.md"
PLATFORM = get_platform("aie")


def _number(text: str) -> int:
    return int(text.replace(",", "").replace("(bound)", "").strip())


def _table() -> dict[tuple[str, str], dict[str, int]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 10 or cells[2] not in ("yes", "NO"):
            continue
        task, config, _correct, cycles, calls, roofline, _mac, dma, bundles, _wall = cells
        rows[task, config] = {
            "cycles": _number(cycles),
            "calls": _number(calls),
            "roofline": _number(roofline),
            "dma": _number(dma),
            "bundles": _number(bundles),
        }
    return rows


TABLE = _table()


def _check(task: str, config: str) -> None:
    instance = PLATFORM.prepare(task, config, 0)
    built = PLATFORM.build(PLATFORM.baseline(task, config))
    evaluation = PLATFORM.run(built.program, instance)
    assert evaluation.correct, evaluation.fault
    measured = {
        "cycles": evaluation.cycles,
        "calls": evaluation.stats.calls,
        "roofline": PLATFORM.roofline(instance),
        "dma": evaluation.stats.dma_cycles,
        "bundles": built.size,
    }
    assert measured == TABLE[task, config]


def test_the_table_covers_every_aie_cell():
    shapes = PLATFORM.shapes()
    assert set(TABLE) == {(t, c) for t in shapes for c in shapes[t]}


@pytest.mark.parametrize(("task", "config"), sorted(k for k in TABLE if k[1] == "C1"))
def test_baseline_cycles_match_the_published_table(task, config):
    _check(task, config)


@pytest.mark.slow
@pytest.mark.parametrize(("task", "config"), sorted(k for k in TABLE if k[1] in ("C2", "C3")))
def test_baseline_cycles_match_the_published_table_on_larger_cells(task, config):
    _check(task, config)
