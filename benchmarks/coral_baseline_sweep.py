"""Every Coral baseline cell: build the C + RVV-intrinsics baseline (clang -O2), run it on the
simulator with the timing model, check it against the integer reference, and print cycles.

Usage: python benchmarks/coral_baseline_sweep.py [--workers 2] [--configs C1,C2] [--markdown FILE]
Prints one line per cell and the wall time of the whole sweep; --markdown writes the table of
docs/baseline-coral.md. Exit code 1 if any cell is wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor

CONFIGS = ("C1", "C2", "C3", "C4", "C5")


def run_cell(cell: tuple[str, str]) -> dict:
    from kernelcraft.platforms.coral.platform import CoralPlatform

    task_id, config = cell
    platform = CoralPlatform()
    start = time.perf_counter()
    source = platform.baseline(task_id, config)
    built = platform.build(source)
    built_at = time.perf_counter()
    instance = platform.prepare(task_id, config, 0)
    evaluation = platform.run(built.program, instance)
    done = time.perf_counter()
    stats = evaluation.stats
    return {
        "task": task_id,
        "config": config,
        "params": instance.params,
        "correct": evaluation.correct,
        "cycles": evaluation.cycles,
        "instructions": stats.instructions if stats else None,
        "ipc": stats.ipc if stats else None,
        "vector": stats.vector_instructions if stats else None,
        "roofline": platform.roofline(instance),
        "static_instructions": built.size,
        "build_s": built_at - start,
        "run_s": done - built_at,
        "fault": evaluation.fault.format() if evaluation.fault else None,
    }


def markdown(rows: list[dict]) -> str:
    lines = [
        "| task | config | shape | cycles | instructions | IPC | vector instr. | static instr. | roofline |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        shape = ", ".join(f"{k}={v}" for k, v in r["params"].items())
        lines.append(
            f"| {r['task']} | {r['config']} | {shape} | {r['cycles']:,} | {r['instructions']:,} | "
            f"{r['ipc']:.2f} | "
            f"{r['vector']:,} | {r['static_instructions']} | {r['roofline']:,} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    from kernelcraft.platforms.coral.shapes import ORDER

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--tasks", default=",".join(ORDER))
    parser.add_argument("--markdown", help="write the cycles table here")
    args = parser.parse_args()
    cells = [(t, c) for t in args.tasks.split(",") for c in args.configs.split(",")]
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        rows = list(pool.map(run_cell, cells))
    wall = time.perf_counter() - start
    bad = 0
    for r in rows:
        verdict = "ok" if r["correct"] else "WRONG"
        bad += not r["correct"]
        print(
            f"{r['task']:15s} {r['config']} {verdict:5s} cycles {r['cycles']:>9,} instr "
            f"{r['instructions']:>8,} "
            f"build {r['build_s']:.1f}s run {r['run_s']:.1f}s" + (f"  {r['fault']}" if r["fault"] else "")
        )
    instructions = sum(r["instructions"] or 0 for r in rows)
    run_s = sum(r["run_s"] for r in rows)
    print(
        f"{len(rows)} cells, {bad} wrong; wall {wall:.1f}s with {args.workers} workers; "
        f"{instructions:,} simulated instructions, {instructions / max(run_s, 1e-9):,.0f} instr/s per worker"
    )
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(markdown(rows))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
