"""PLENA baseline cycles per cell under each timing profile, and what the peephole pass saves.

For every cell the baseline lowers, runs the baseline (seed 0, poisoned memory) under the
consistent and emulator timing profiles and prints a Markdown table per profile; with
--peephole it also generates the kernel without the peephole pass and tables cycles before and
after. --json-dir writes data/baseline_cycles_<profile>.json, the regression table
tests/platforms/plena/test_plena_baseline_table.py checks. Usage:

    python benchmarks/baseline_cycles.py [--profiles consistent emulator] [--configs C1 C2]
        [--level 1] [--peephole] [--json-dir tests/platforms/plena/data]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from unittest.mock import patch

from kernelcraft.platforms.plena.baseline import generate
from kernelcraft.platforms.plena.baseline.emit import Asm
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, TIMING_PROFILES
from kernelcraft.platforms.plena.evaluation import evaluate, prepare
from kernelcraft.platforms.plena.platform import PlenaPlatform
from kernelcraft.tasks import CONFIG_NAMES, get_task


def run_cell(task_id: str, config: str, profile: str, peephole: bool = True) -> dict | None:
    hw = replace(DEFAULT_CONFIG, timing_profile=profile)
    try:
        if peephole:
            source = generate(task_id, config, hw)
        else:
            with patch.object(Asm, "optimise", False):
                source = generate(task_id, config, hw)
    except NotImplementedError:
        return None
    result = evaluate(source, prepare(task_id, config, seed=0, poison=True, hw=hw))
    return {
        "cycles": result.cycles if result.correct else None,
        "instructions": len(result.program) if result.program is not None else None,
    }


def cells(level: int | None, configs: list[str]) -> list[tuple[str, str]]:
    table = PlenaPlatform().shapes()
    out = []
    for task_id in table:
        if level is not None and get_task(task_id).level != level:
            continue
        out += [(task_id, c) for c in CONFIG_NAMES if c in table[task_id] and c in configs]
    return out


def _fmt(entry: dict | None) -> str:
    if entry is None:
        return "n/a"
    return f"{entry['cycles']:,}" if entry["cycles"] is not None else "WRONG"


def markdown(results: dict[tuple[str, str], dict | None], configs: list[str]) -> str:
    tasks = list(dict.fromkeys(t for t, _ in results))
    lines = ["| task | " + " | ".join(configs) + " |", "|---|" + "---:|" * len(configs)]
    for t in tasks:
        lines.append(f"| {t} | " + " | ".join(_fmt(results.get((t, c))) for c in configs) + " |")
    return "\n".join(lines)


def peephole_markdown(before: dict, after: dict, configs: list[str]) -> str:
    tasks = list(dict.fromkeys(t for t, _ in after))
    lines = ["| task | " + " | ".join(configs) + " |", "|---|" + "---:|" * len(configs)]
    for t in tasks:
        row = []
        for c in configs:
            b, a = before.get((t, c)), after.get((t, c))
            if a is None or b is None or a["cycles"] is None or b["cycles"] is None:
                row.append("n/a")
                continue
            saved = b["cycles"] - a["cycles"]
            row.append(f"{b['cycles']:,} → {a['cycles']:,} (-{100 * saved / b['cycles']:.1f}%)")
        lines.append(f"| {t} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=list(TIMING_PROFILES), choices=TIMING_PROFILES)
    parser.add_argument("--configs", nargs="+", default=list(CONFIG_NAMES))
    parser.add_argument("--level", type=int, choices=(1, 2, 3))
    parser.add_argument("--peephole", action="store_true", help="also table cycles without the pass")
    parser.add_argument("--json-dir", type=Path)
    args = parser.parse_args(argv)
    todo = cells(args.level, args.configs)
    start = time.perf_counter()
    for profile in args.profiles:
        results = {cell: run_cell(*cell, profile) for cell in todo}
        print(f"## Baseline cycles, {profile} profile\n\n{markdown(results, args.configs)}\n")
        if args.peephole:
            before = {cell: run_cell(*cell, profile, peephole=False) for cell in todo}
            print(f"## Peephole pass, {profile} profile: cycles before → after\n")
            print(peephole_markdown(before, results, args.configs) + "\n")
        if args.json_dir is not None:
            table: dict[str, dict[str, dict]] = {}
            for (t, c), entry in results.items():
                if entry is not None:
                    table.setdefault(t, {})[c] = entry
            path = args.json_dir / f"baseline_cycles_{profile}.json"
            path.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            print(f"wrote {path}\n")
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
