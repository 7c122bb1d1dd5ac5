"""Worst error relative to tolerance, per PLENA task, from two sources of evidence.

- emulated: each task's computation with every intermediate rounded to BF16 (what a
  straightforward correct kernel computes) against the float64 reference;
- baseline: the compiler baseline kernel run on the simulator (cells whose generator is
  missing or raises NotImplementedError are skipped).

For every cell it prints max over elements of |y - ref| / (atol + rtol*|ref|) (below 1
passes) and the atol a kernel would need at the task's rtol. Usage:

    python benchmarks/tolerance_evidence.py [--mode emulated|baseline|both] [--seeds 4]
        [--task ID ...] [--config C1 ...] [--profile normal ...]
"""

from __future__ import annotations

import argparse

import numpy as np

from kernelcraft.platforms.plena.evaluation import prepare, tolerance_for
from kernelcraft.platforms.plena.mx import to_bf16
from kernelcraft.tasks import PROFILES, all_tasks


def worst(output: np.ndarray, reference: np.ndarray, atol: float, rtol: float) -> tuple[float, float]:
    with np.errstate(all="ignore"):
        err = np.abs(np.asarray(output, dtype=np.float64) - reference)
        if not np.isfinite(err).all():
            return float("inf"), float("inf")
        ratio = float((err / (atol + rtol * np.abs(reference))).max())
        needed = float(max(0.0, (err - rtol * np.abs(reference)).max()))
    return ratio, needed


def baseline_source(task_id: str, config: str):
    try:
        from kernelcraft.platforms.plena.baseline import generate
    except ImportError:
        return None
    try:
        return generate(task_id, config)
    except NotImplementedError:
        return None


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--mode", choices=["emulated", "baseline", "both"], default="both")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--task", action="append")
    parser.add_argument("--config", action="append")
    parser.add_argument("--profile", action="append")
    args = parser.parse_args()
    profiles = args.profile or list(PROFILES)
    head = f"{'task':<16} {'cfg':<4} {'profile':<12} {'mode':<9} {'worst err/tol':>14} {'atol needed':>12}"
    print(head + " tol")
    summary: dict[tuple[str, str], float] = {}
    for task in all_tasks():
        if not task.supports("plena") or (args.task and task.id not in args.task):
            continue
        for config in args.config or list(task.config_names):
            source = baseline_source(task.id, config) if args.mode != "emulated" else None
            for profile in profiles:
                results = {"emulated": [], "baseline": []}
                for seed in range(args.seeds):
                    inst = prepare(task, config, seed, profile)
                    tol = inst.tolerance
                    if args.mode in ("emulated", "both"):
                        out = task.emulate(inst.inputs, inst.params, to_bf16)
                        results["emulated"].append(worst(out, inst.reference, tol.atol, tol.rtol))
                    if source is not None:
                        from kernelcraft.platforms.plena.evaluation import evaluate

                        ev = evaluate(source, inst)
                        if ev.output is not None:
                            results["baseline"].append(worst(ev.output, inst.reference, tol.atol, tol.rtol))
                for mode, values in results.items():
                    if not values:
                        continue
                    ratio = max(v[0] for v in values)
                    needed = max(v[1] for v in values)
                    scale = tolerance_for(task, profile).atol / tolerance_for(task).atol
                    key = (task.id, mode)
                    summary[key] = max(summary.get(key, 0.0), ratio)
                    flag = "  FAIL" if ratio > 1 else ""
                    print(
                        f"{task.id:<16} {config:<4} {profile:<12} {mode:<9} {ratio:>14.3f} "
                        f"{needed / scale:>12.5f} {tol.atol:g}/{tol.rtol:g}{flag}",
                        flush=True,
                    )
    print("\nworst err/tol per task (atol needed is given at the normal-profile scale)")
    for (task_id, mode), ratio in summary.items():
        print(f"{task_id:<16} {mode:<9} {ratio:.3f}{'  FAIL' if ratio > 1 else ''}")


if __name__ == "__main__":
    main()
