"""Coral's baseline cycles per cell match the published table (docs/baseline-coral.md): a change
to a kernel, the timing model or a simulator fast path that moves one cycle shows up here, and the
document cannot drift from what the simulator does.

The table is written by `python benchmarks/coral_baseline_sweep.py --markdown FILE`. The default
run checks C1 of every task; the slow run checks every other cell.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelcraft.platforms.coral.platform import CoralPlatform

DOC = Path(__file__).resolve().parents[3] / "docs" / "baseline-coral.md"
PLATFORM = CoralPlatform()


def _table() -> dict[tuple[str, str], dict[str, int]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 9 or not cells[1].startswith("C") or not cells[3].replace(",", "").isdigit():
            continue
        task, config, _shape, cycles, instructions, _ipc, vector, static, roofline = cells
        rows[task, config] = {
            "cycles": int(cycles.replace(",", "")),
            "instructions": int(instructions.replace(",", "")),
            "vector": int(vector.replace(",", "")),
            "static": int(static.replace(",", "")),
            "roofline": int(roofline.replace(",", "")),
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
        "instructions": evaluation.stats.instructions,
        "vector": evaluation.stats.vector_instructions,
        "static": built.size,
        "roofline": PLATFORM.roofline(instance),
    }
    assert measured == TABLE[task, config]


def test_the_table_covers_every_coral_cell():
    shapes = PLATFORM.shapes()
    assert set(TABLE) == {(t, c) for t in shapes for c in shapes[t]}


@pytest.mark.parametrize(("task", "config"), sorted(k for k in TABLE if k[1] == "C1"))
def test_baseline_cycles_match_the_published_table(task, config):
    _check(task, config)


@pytest.mark.slow
@pytest.mark.parametrize(("task", "config"), sorted(k for k in TABLE if k[1] != "C1"))
def test_baseline_cycles_match_the_published_table_on_large_cells(task, config):
    _check(task, config)
