"""A platform's published baseline table (docs/baseline-*.md) read back for the tests that pin
baseline cycles to it, so a document cannot drift from what the simulator does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def number(text: str) -> int:
    return int(text.replace(",", "").replace("(bound)", "").strip())


def read_table(
    doc: str, columns: Sequence[str | None], is_row: Callable[[list[str]], bool]
) -> dict[tuple[str, str], dict[str, int]]:
    """(task, config) -> the named numeric columns of each row is_row accepts; a None column is
    skipped. The first two columns are the task and the configuration."""
    rows = {}
    for line in (DOCS / doc).read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != len(columns) + 2 or not is_row(cells):
            continue
        rows[cells[0], cells[1]] = {
            name: number(text) for name, text in zip(columns, cells[2:], strict=True) if name
        }
    return rows


def check_baseline(platform, table, task: str, config: str, measure: Callable) -> None:
    """Build and run the baseline of one cell on seed 0: correct, and every published number equal."""
    instance = platform.prepare(task, config, 0)
    built = platform.build(platform.baseline(task, config))
    evaluation = platform.run(built.program, instance)
    assert evaluation.correct, evaluation.fault
    assert measure(platform, instance, built, evaluation) == table[task, config]
