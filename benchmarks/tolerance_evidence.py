"""Worst error relative to tolerance, per PLENA task, from two sources of evidence.

- emulated: each task's computation with every intermediate rounded to BF16 (what a
  straightforward correct kernel computes) against the float64 reference;
- roundtrip: for the attention tasks with projections (and the decoder blocks), the
  emulation with K and V also passed through MXFP8 once, as the straightforward kernel
  does (MRAM is filled only from HBM, so computed K and V are stored and reloaded);
- baseline: the compiler baseline kernel run on the simulator (cells whose generator is
  missing or raises NotImplementedError are skipped and listed).

For every cell it prints max over elements of |y - ref| / (atol + rtol*|ref|) (below 1
passes) and the atol a kernel would need at the task's rtol (given at the normal-profile
scale, i.e. divided by the profile's atol factor). It ends with a per task x profile
summary (worst over configurations and seeds), as a Markdown table with --markdown.
Usage:

    python benchmarks/tolerance_evidence.py [--mode emulated|baseline|both] [--seeds 3]
        [--poison] [--task ID ...] [--config C1 ...] [--profile normal ...]
        [--markdown] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.evaluation import evaluate, prepare, tolerance_for
from kernelcraft.platforms.plena.mx import mx_roundtrip, to_bf16
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import PROFILES, SCORING_PROFILES, all_tasks

PLENA_PLATFORM = get_platform("plena")


def worst(output: np.ndarray, reference: np.ndarray, atol: float, rtol: float) -> tuple[float, float]:
    with np.errstate(all="ignore"):
        err = np.abs(np.asarray(output, dtype=np.float64) - reference)
        if not np.isfinite(err).all():
            return float("inf"), float("inf")
        ratio = float((err / (atol + rtol * np.abs(reference))).max())
        needed = float(max(0.0, (err - rtol * np.abs(reference)).max()))
    return ratio, needed


ROUNDTRIP_TASKS = ("mha", "gqa", "mqa", "decoder_llama", "decoder_t5")


def emulate_with_kv_roundtrip(task, inst) -> np.ndarray:
    """The BF16 emulation with every attention's K and V quantised to MXFP8 once."""
    from kernelcraft.tasks import ops

    plain = ops.multi_head

    def through_hbm(q, k, v, n_heads, n_kv, r):
        block = inst.hw.mx_block
        return plain(q, mx_roundtrip(k, block), mx_roundtrip(v, block), n_heads, n_kv, r)

    ops.multi_head = through_hbm
    try:
        return task.emulate(inst.inputs, inst.params, to_bf16)
    finally:
        ops.multi_head = plain


def baseline_program(task_id: str, config: str):
    """(program, None) or (None, why the cell has no baseline)."""
    try:
        from kernelcraft.platforms.plena.baseline import generate

        source = generate(task_id, config)
    except ImportError:
        return None, "no baseline package"
    except NotImplementedError as exc:
        return None, f"not implemented: {exc}"
    except Exception as exc:  # a generator bug is evidence too: report it, keep going
        return None, f"generator raised {type(exc).__name__}: {exc}"
    assembled = assemble(source)
    if assembled.program is None:
        return None, f"baseline does not assemble: {assembled.errors[0].format()}"
    return assembled.program, None


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument(
        "--mode",
        choices=["emulated", "baseline", "both"],
        default="both",
        help="both = emulated (and roundtrip where it applies) plus baseline",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--poison", action="store_true", help="poison memory the image does not set")
    parser.add_argument("--task", action="append")
    parser.add_argument("--config", action="append")
    parser.add_argument("--profile", action="append")
    parser.add_argument("--markdown", action="store_true", help="print the summary as a Markdown table")
    parser.add_argument("--json", help="also write every cell's result to this file")
    args = parser.parse_args()
    profiles = args.profile or list(PROFILES)
    head = f"{'task':<16} {'cfg':<4} {'profile':<12} {'mode':<9} {'worst err/tol':>14} {'atol needed':>12}"
    print(head + " tol", flush=True)
    summary: dict[tuple[str, str, str], tuple[float, str]] = {}  # (task, mode, profile) -> (ratio, cfg)
    cells: list[dict] = []
    problems: list[str] = []
    for task in all_tasks():
        if not PLENA_PLATFORM.supports(task) or (args.task and task.id not in args.task):
            continue
        for config in args.config or list(task.config_names):
            program = None
            if args.mode != "emulated":
                program, why = baseline_program(task.id, config)
                if why:
                    problems.append(f"{task.id} {config}: {why}")
            for profile in profiles:
                results: dict[str, list[tuple[float, float]]] = {
                    "emulated": [],
                    "roundtrip": [],
                    "baseline": [],
                }
                faults = []
                started = time.perf_counter()
                for seed in range(args.seeds):
                    inst = prepare(task, config, seed, profile, poison=args.poison)
                    inst.image.track_reads = False  # numerics only: no need for the read warnings
                    tol = inst.tolerance
                    if args.mode in ("emulated", "both"):
                        out = task.emulate(inst.inputs, inst.params, to_bf16)
                        results["emulated"].append(worst(out, inst.reference, tol.atol, tol.rtol))
                        if task.id in ROUNDTRIP_TASKS:
                            out = emulate_with_kv_roundtrip(task, inst)
                            results["roundtrip"].append(worst(out, inst.reference, tol.atol, tol.rtol))
                    if program is not None:
                        ev = evaluate(program, inst)
                        if ev.fault is not None:
                            faults.append(ev.fault.format())
                        results["baseline"].append(worst(ev.output, inst.reference, tol.atol, tol.rtol))
                for fault in faults[:1]:
                    problems.append(f"{task.id} {config} {profile}: baseline fault: {fault}")
                seconds = time.perf_counter() - started
                for mode, values in results.items():
                    if not values:
                        continue
                    ratio = max(v[0] for v in values)
                    needed = max(v[1] for v in values)
                    scale = tolerance_for(task, profile).atol / tolerance_for(task).atol
                    key = (task.id, mode, profile)
                    if ratio >= summary.get(key, (-1.0, ""))[0]:
                        summary[key] = (ratio, config)
                    cells.append(
                        {"task": task.id, "config": config, "profile": profile, "mode": mode,
                         "ratio": ratio, "atol_needed_normal_scale": needed / scale,
                         "atol": tol.atol, "rtol": tol.rtol, "seconds": seconds}
                    )  # fmt: skip
                    flag = "  FAIL" if ratio > 1 else ""
                    print(
                        f"{task.id:<16} {config:<4} {profile:<12} {mode:<9} {ratio:>14.3f} "
                        f"{needed / scale:>12.5f} {tol.atol:g}/{tol.rtol:g}{flag}",
                        flush=True,
                    )
    _print_summary(summary, profiles, args.markdown)
    if problems:
        print("\nproblems:")
        for line in problems:
            print(f"- {line}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"cells": cells, "problems": problems, "poison": args.poison}, handle, indent=1)


def _print_summary(summary, profiles: list[str], markdown: bool) -> None:
    print("\nworst err/tol per task and profile over configurations and seeds (worst config in brackets);")
    print(f"scoring profiles: {', '.join(SCORING_PROFILES)}; above 1 fails")
    tasks = list(dict.fromkeys(task for task, _, _ in summary))
    modes = [m for m in ("baseline", "emulated", "roundtrip") if any(k[1] == m for k in summary)]
    if markdown:
        print("\n| task | evidence | " + " | ".join(profiles) + " |")
        print("|---|---|" + "---|" * len(profiles))
    for task in tasks:
        for mode in modes:
            cells = []
            for profile in profiles:
                got = summary.get((task, mode, profile))
                cells.append(
                    "—" if got is None else f"{got[0]:.2f} ({got[1]})" + (" FAIL" if got[0] > 1 else "")
                )
            if markdown:
                print(f"| {task} | {mode} | " + " | ".join(cells) + " |")
            else:
                print(f"{task:<16} {mode:<9} " + "  ".join(f"{c:<16}" for c in cells))


if __name__ == "__main__":
    main()
