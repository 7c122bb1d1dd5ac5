"""Run the AIE compiler baseline on every supported cell and print cycles, correctness and
wall time (median of --repeat runs per cell): the numbers behind docs/baseline-aie.md.

    python benchmarks/aie_baseline_sweep.py [--tasks gemm,relu] [--configs C1,C2] [--profiles normal,large]
                                            [--markdown docs/baseline-aie.md] [--repeat 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import all_tasks


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tasks", default="")
    ap.add_argument("--configs", default="C1,C2,C3,C4,C5")
    ap.add_argument("--profiles", default="normal")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--markdown", default="")
    args = ap.parse_args(argv)
    plat = get_platform("aie")
    wanted = set(filter(None, args.tasks.split(",")))
    rows = []
    failures = 0
    start_all = time.perf_counter()
    for task in all_tasks():
        if not plat.supports(task) or (wanted and task.id not in wanted):
            continue
        for config in plat.config_names(task):
            if config not in args.configs.split(","):
                continue
            source = plat.baseline(task.id, config)
            built = plat.build(source)
            for profile in args.profiles.split(","):
                inst = plat.prepare(task.id, config, 0, profile)
                times, ev = [], None
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    ev = plat.run(built.program, inst)
                    times.append(time.perf_counter() - t0)
                failures += 0 if ev.correct else 1
                st = ev.stats
                rows.append(
                    (
                        task.id,
                        config,
                        profile,
                        ev.correct,
                        ev.cycles,
                        st.kernel_cycles,
                        st.calls,
                        plat.roofline(inst),
                        st.mac_utilisation,
                        st.dma_cycles,
                        st.dma_bound,
                        built.size,
                        statistics.median(times),
                        ev.max_abs_err,
                    )
                )
                r = rows[-1]
                print(
                    f"{r[0]:14s} {r[1]} {r[2]:11s} {'ok ' if r[3] else 'BAD'} cycles {r[4]:>10,} "
                    f"calls {r[6]:>5} "
                    f"roofline {r[7]:>9,} MAC {100 * r[8]:5.1f}% dma {r[9]:>9,}{' (bound)' if r[10] else ''} "
                    f"bundles {r[11]:>5} max_err {r[13]:.3g} wall {r[12]:.2f}s",
                    flush=True,
                )
    total = time.perf_counter() - start_all
    print(f"{len(rows)} runs, {failures} incorrect, total wall {total:.1f}s")
    if args.markdown:
        _markdown(args.markdown, rows, total)
    return 1 if failures else 0


def _markdown(path: str, rows, total: float) -> None:
    lines = [
        "| task | config | correct | cycles (scored) | kernel cycles | calls | roofline | MAC util "
        "| DMA cycles | bundles |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r[2] != "normal":
            continue
        dma = f"{r[9]:,}" + (" (bound)" if r[10] else "")
        lines.append(
            f"| {r[0]} | {r[1]} | {'yes' if r[3] else 'NO'} | {r[4]:,} | {r[5]:,} | {r[6]} | {r[7]:,} | "
            f"{100 * r[8]:.1f}% | {dma} | {r[11]} |"
        )
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"wrote {path} ({total:.1f}s)")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
