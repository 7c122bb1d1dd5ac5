"""Episodes per minute over the PLENA cells (20 tasks × 5 configurations, or --configs).

Compares the local executor (threads; with --sim-workers, kernels are evaluated in that
many simulator processes) with the Ray executor on a local instance, using the real
scripted:oracle episode by default, or a deterministic stand-in with --fake. Each
measurement runs the whole matrix into a fresh run directory; the figure is the median
over --repeats runs. Ray start-up is excluded (the instance is started once).

    python benchmarks/run_throughput.py --fake
    python benchmarks/run_throughput.py --concurrency 2 --repeats 3
    python benchmarks/run_throughput.py --configs C1,C2 --sim-workers 0,2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from kernelcraft.bench.executors import EpisodeRunnerUnavailable, RunContext, default_episode_fn, run_episodes
from kernelcraft.bench.fakes import cpu_bound_fake_episode, fake_catalog, fake_episode
from kernelcraft.bench.matrix import MatrixError, RunMatrix, TaskCatalog, build_specs, load_task_catalog
from kernelcraft.bench.store import open_run


def _matrix(model: str, configs: list[str]) -> RunMatrix:
    return RunMatrix.model_validate({"models": [model], "tasks": ["all"], "configs": configs})


def _measure(
    executor: str,
    catalog: TaskCatalog,
    episode_fn,
    concurrency: int,
    model: str,
    configs: list[str],
    sim_workers: int = 0,
) -> tuple[float, int]:
    matrix = _matrix(model, configs)
    specs = build_specs(matrix, catalog)
    with tempfile.TemporaryDirectory(prefix="kernelcraft-throughput-") as tmp:
        store = open_run(Path(tmp) / "run", matrix, specs, catalog.version)
        ctx = RunContext(store, episode_fn, catalog.levels(), catalog.version)
        start = time.perf_counter()
        try:
            outcome = run_episodes(specs, ctx, executor, concurrency, sim_workers=sim_workers)
        finally:
            store.unlock()
        elapsed = time.perf_counter() - start
    failed = sum(r.end_reason == "harness_error" for r in outcome.results)
    return len(outcome.results) / elapsed * 60, failed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fake", action="store_true", help="use a stand-in episode (no agent, no simulator)")
    parser.add_argument("--cpu", action="store_true", help="with --fake: add a little CPU work per episode")
    parser.add_argument("--model", default="scripted:oracle")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--executors", default="local,ray", help="comma-separated: local, ray")
    parser.add_argument("--configs", default="all", help="comma-separated: C1..C5, or all")
    parser.add_argument(
        "--sim-workers",
        default="0",
        help="comma-separated simulator process counts to measure the local executor with (0: in-process)",
    )
    args = parser.parse_args()

    try:
        if args.fake:
            catalog, episode_fn = fake_catalog(), (cpu_bound_fake_episode if args.cpu else fake_episode)
        else:
            catalog, episode_fn = load_task_catalog(), default_episode_fn()
    except (MatrixError, EpisodeRunnerUnavailable) as exc:
        print(f"error: {exc} (use --fake to measure the runner with a stand-in episode)", file=sys.stderr)
        return 2

    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    try:
        cells = len(build_specs(_matrix(args.model, configs), catalog))
        worker_counts = [int(n) for n in args.sim_workers.split(",") if n.strip()]
    except (MatrixError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kind = "fake" if args.fake else "real"
    print(f"{cells} PLENA cells, {kind} episodes ({episode_fn.__name__}), concurrency {args.concurrency}")
    ray = None
    for executor in [e.strip() for e in args.executors.split(",") if e.strip()]:
        if executor == "ray":
            try:
                import ray
            except ImportError:
                print("ray: not installed, skipped")
                continue
            ray.init(num_cpus=max(2, args.concurrency), include_dashboard=False, logging_level="ERROR")
        for workers in worker_counts if executor == "local" else [0]:
            rates, failures = [], 0
            for _ in range(args.repeats):
                rate, failed = _measure(
                    executor, catalog, episode_fn, args.concurrency, args.model, configs, workers
                )
                rates.append(rate)
                failures += failed
            spread = f"min {min(rates):.0f}, max {max(rates):.0f}"
            note = f", {failures} harness errors" if failures else ""
            median = statistics.median(rates)
            label = f"{executor}+{workers} sim" if workers else executor
            print(f"{label:>12}: {median:8.0f} episodes/min (median of {len(rates)}; {spread}{note})")
        if executor == "ray" and ray is not None:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
