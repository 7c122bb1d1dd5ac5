"""Episodes per minute over all 100 PLENA cells (20 tasks × 5 configurations).

Compares the local executor (threads) with the Ray executor on a local instance, using
the real scripted:oracle episode by default, or a deterministic stand-in with --fake.
Each measurement runs the whole matrix into a fresh run directory; the figure is the
median over --repeats runs. Ray start-up is excluded (the instance is started once).

    python benchmarks/run_throughput.py --fake
    python benchmarks/run_throughput.py --concurrency 2 --repeats 3
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


def _measure(
    executor: str, catalog: TaskCatalog, episode_fn, concurrency: int, model: str
) -> tuple[float, int]:
    matrix = RunMatrix.model_validate({"models": [model], "tasks": ["all"], "configs": ["all"]})
    specs = build_specs(matrix, catalog)
    with tempfile.TemporaryDirectory(prefix="kernelcraft-throughput-") as tmp:
        store = open_run(Path(tmp) / "run", matrix, specs, catalog.version)
        ctx = RunContext(store, episode_fn, catalog.levels(), catalog.version)
        start = time.perf_counter()
        try:
            outcome = run_episodes(specs, ctx, executor, concurrency)
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
    args = parser.parse_args()

    try:
        if args.fake:
            catalog, episode_fn = fake_catalog(), (cpu_bound_fake_episode if args.cpu else fake_episode)
        else:
            catalog, episode_fn = load_task_catalog(), default_episode_fn()
    except (MatrixError, EpisodeRunnerUnavailable) as exc:
        print(f"error: {exc} (use --fake to measure the runner with a stand-in episode)", file=sys.stderr)
        return 2

    cells = len(
        build_specs(RunMatrix(models=[{"name": args.model}], tasks=["all"], configs=["all"]), catalog)
    )
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
        rates, failures = [], 0
        for _ in range(args.repeats):
            rate, failed = _measure(executor, catalog, episode_fn, args.concurrency, args.model)
            rates.append(rate)
            failures += failed
        spread = f"min {min(rates):.0f}, max {max(rates):.0f}"
        note = f", {failures} harness errors" if failures else ""
        median = statistics.median(rates)
        print(f"{executor:>5}: {median:8.0f} episodes/min (median of {len(rates)}; {spread}{note})")
        if executor == "ray" and ray is not None:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
