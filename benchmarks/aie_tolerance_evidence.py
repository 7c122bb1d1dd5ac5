"""Worst error relative to tolerance, per AIE task, from two sources of evidence.

- emulated: each task's computation with every intermediate rounded to bf16 (what a
  straightforward correct kernel computes) against the float64 reference on the bf16 inputs;
- baseline: the compiler baseline run on the tile simulator.

For every cell it prints max over elements of |y - ref| / (atol + rtol*|ref|) (below 1 passes)
and the atol a kernel would need at rtol (at the normal-profile scale: divided by the
profile's atol factor). A summary table per task closes the run (--markdown prints it as
Markdown, as docs/tasks.md shows it).

    python benchmarks/aie_tolerance_evidence.py [--mode emulated|baseline|both] [--seeds 2]
        [--task ID ...] [--config C1 ...] [--profile normal ...] [--markdown]
"""

from __future__ import annotations

import argparse

import numpy as np

from kernelcraft.platforms.aie import numerics as nx
from kernelcraft.platforms.aie.evaluation import tolerance_for
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import SCORING_PROFILES, all_tasks
from kernelcraft.tasks.base import PROFILE_RMS


def worst(output: np.ndarray, reference: np.ndarray, atol: float, rtol: float) -> tuple[float, float]:
    with np.errstate(all="ignore"):
        err = np.abs(np.asarray(output, dtype=np.float64) - reference)
        if not np.isfinite(err).all():
            return float("inf"), float("inf")
        ratio = float((err / (atol + rtol * np.abs(reference))).max())
        needed = float(max(0.0, (err - rtol * np.abs(reference)).max()))
    return ratio, needed


def bf16(x: np.ndarray) -> np.ndarray:
    return nx.to_bf16_values(np.asarray(x)).astype(np.float64)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mode", choices=("emulated", "baseline", "both"), default="both")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--task", nargs="*", default=None)
    ap.add_argument("--config", nargs="*", default=None)
    ap.add_argument("--profile", nargs="*", default=["normal", *SCORING_PROFILES])
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    plat = get_platform("aie")
    summary: dict[tuple[str, str, str], tuple[float, float]] = {}
    for task in all_tasks():
        if not plat.supports(task) or (args.task and task.id not in args.task):
            continue
        for config in plat.config_names(task):
            if args.config and config not in args.config:
                continue
            source = plat.baseline(task.id, config) if args.mode != "emulated" else None
            program = plat.build(source).program if source else None
            for profile in args.profile:
                for seed in range(args.seeds):
                    inst = plat.prepare(task.id, config, seed, profile)
                    tol = tolerance_for(task, profile)
                    scale = max(1.0, PROFILE_RMS[profile]) if task.scales_with_input else 1.0
                    outs = []
                    if args.mode in ("emulated", "both"):
                        outs.append(("emulated", task.emulate(inst.inputs, inst.params, bf16)))
                    if program is not None:
                        outs.append(("baseline", plat.run(program, inst).output))
                    for kind, out in outs:
                        ratio, needed = worst(out, inst.reference, tol.atol, tol.rtol)
                        key = (task.id, kind, profile)
                        prev = summary.get(key, (0.0, 0.0))
                        summary[key] = (max(prev[0], ratio), max(prev[1], needed / scale))
                        print(
                            f"{task.id:14s} {config} {profile:11s} seed {seed} {kind:9s} ratio {ratio:7.3f} "
                            f"needed atol {needed / scale:.4g}",
                            flush=True,
                        )
    print()
    if args.markdown:
        print("| task | evidence | profile | worst ratio | atol needed (normal scale) |")
        print("|---|---|---|---|---|")
    for (task_id, kind, profile), (ratio, needed) in sorted(summary.items()):
        if args.markdown:
            print(f"| {task_id} | {kind} | {profile} | {ratio:.3f} | {needed:.4g} |")
        else:
            print(f"{task_id:14s} {kind:9s} {profile:11s} worst ratio {ratio:7.3f} needed atol {needed:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
