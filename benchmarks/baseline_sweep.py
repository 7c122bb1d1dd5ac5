"""Evaluate every PLENA compiler-baseline cell and time the whole sweep.

For each supported task and configuration: generate the baseline kernel, prepare the
instance (seed 0, normal profile) and simulate it. Prints one line per cell (correct, cycles,
dynamic and static instruction counts, wall times) and the totals; the target is the whole
sweep in under a minute. Usage:

    python benchmarks/baseline_sweep.py [--poison] [--tasks silu,gemm] [--configs C1,C5] [--profile-top 0]

--profile-top N profiles the sweep with cProfile and prints the N most expensive functions
(to see where the simulator spends its time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time

from kernelcraft.platforms.plena.baseline import generate
from kernelcraft.platforms.plena.evaluation import evaluate, prepare
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import CONFIG_NAMES, all_tasks

PLENA_PLATFORM = get_platform("plena")


def cells(task_filter: set[str] | None, config_filter: set[str] | None) -> list[tuple[str, str]]:
    out = []
    for task in all_tasks():
        if not PLENA_PLATFORM.supports(task) or (task_filter and task.id not in task_filter):
            continue
        out += [(task.id, c) for c in CONFIG_NAMES if not config_filter or c in config_filter]
    return out


def sweep(selected: list[tuple[str, str]], poison: bool) -> dict:
    rows, totals = [], {"cells": 0, "correct": 0, "instructions": 0, "sim_s": 0.0, "missing": 0}
    for task_id, config in selected:
        t0 = time.perf_counter()
        try:
            source = generate(task_id, config)
        except NotImplementedError as exc:
            rows.append((task_id, config, f"not lowered: {exc}"))
            totals["missing"] += 1
            continue
        gen_s = time.perf_counter() - t0
        instance = prepare(task_id, config, seed=0, poison=poison)
        t1 = time.perf_counter()
        result = evaluate(source, instance)
        sim_s = time.perf_counter() - t1
        static = len(result.program) if result.program is not None else 0
        stats = result.stats
        cycles, dyn = (stats.cycles, stats.instructions) if stats else (0, 0)
        totals["cells"] += 1
        totals["correct"] += result.correct
        totals["instructions"] += dyn
        totals["sim_s"] += sim_s
        verdict = "ok" if result.correct else ("WRONG" if result.ok else "FAULT")
        rows.append(
            (
                task_id,
                config,
                f"{verdict:5s} match {100 * result.match_rate:6.2f}%  cycles {cycles:>9}  "
                f"dyn {dyn:>7}  static {static:>5}  "
                f"gen {gen_s * 1e3:6.1f} ms  sim {sim_s * 1e3:7.1f} ms",
            )
        )
    return {"rows": rows, "totals": totals}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poison", action="store_true", help="poison uninitialised memory (as scoring does)")
    parser.add_argument("--tasks", default="", help="comma-separated task ids (default: all supported)")
    parser.add_argument("--configs", default="", help="comma-separated configurations (default: C1..C5)")
    parser.add_argument("--profile-top", type=int, default=0, help="cProfile the sweep, show the top N")
    args = parser.parse_args(argv)
    selected = cells(
        set(filter(None, args.tasks.split(","))) or None, set(filter(None, args.configs.split(","))) or None
    )
    start = time.perf_counter()
    if args.profile_top:
        profiler = cProfile.Profile()
        result = profiler.runcall(sweep, selected, args.poison)
    else:
        result = sweep(selected, args.poison)
    wall = time.perf_counter() - start
    for task_id, config, text in result["rows"]:
        print(f"{task_id:16s} {config}  {text}")
    t = result["totals"]
    print(
        f"\n{t['correct']}/{t['cells']} cells correct, {t['missing']} not lowered; "
        f"{t['instructions']} simulated instructions; simulation {t['sim_s']:.1f} s; "
        f"total wall time {wall:.1f} s"
    )
    if args.profile_top:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile_top)
    return 0 if t["correct"] == t["cells"] else 1


if __name__ == "__main__":
    sys.exit(main())
