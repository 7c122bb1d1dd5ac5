"""Print the PLENA compiler baseline's cycles per task and configuration as a Markdown table.

Each available cell (the baseline lowers it and the simulator confirms it correct on seed 0)
shows its cycle count; a cell the baseline cannot lower shows "n/a", an incorrect one
"WRONG". Usage: python benchmarks/baseline_table.py [--level 1]
"""

from __future__ import annotations

import argparse
import sys

from kernelcraft.platforms.plena.baseline import generate
from kernelcraft.platforms.plena.evaluation import evaluate, prepare
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import CONFIG_NAMES, all_tasks

PLENA_PLATFORM = get_platform("plena")


def cell_text(task_id: str, config: str) -> str:
    try:
        source = generate(task_id, config)
    except NotImplementedError:
        return "n/a"
    result = evaluate(source, prepare(task_id, config, seed=0, poison=True))
    return f"{result.cycles:,}" if result.correct else "WRONG"


def table(level: int | None) -> str:
    lines = ["| task | " + " | ".join(CONFIG_NAMES) + " |", "|---|" + "---:|" * len(CONFIG_NAMES)]
    for task in all_tasks():
        if not PLENA_PLATFORM.supports(task) or (level is not None and task.level != level):
            continue
        cells = [cell_text(task.id, c) for c in CONFIG_NAMES]
        lines.append(f"| {task.id} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", type=int, choices=(1, 2, 3), help="only tasks of this level")
    args = parser.parse_args(argv)
    print(table(args.level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
