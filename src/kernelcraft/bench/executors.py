"""Running episode cells: locally on threads, or as Ray tasks on a cluster.

Whatever the executor, results reach the run directory through the store on the
driver, so the one-folder-per-finished-episode guarantee holds everywhere. A failing
episode becomes a failed result ("harness_error"), never a failed run.
"""

from __future__ import annotations

import functools
import inspect
import os
import queue
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kernelcraft.bench.matrix import MatrixError, import_object
from kernelcraft.bench.store import RunStore
from kernelcraft.episodes import EpisodeResult, EpisodeSpec

EpisodeFn = Callable[[EpisodeSpec, Path], EpisodeResult]
# Environment hook: "module:function" to run instead of the agent's episode runner.
EPISODE_FN_ENV = "KERNELCRAFT_EPISODE_FN"
HARNESS_ERROR = "harness_error"
HARNESS_TRACEBACK = "harness_error.txt"


class EpisodeRunnerUnavailable(Exception):
    """The default episode runner cannot be imported; message is one line."""


def default_episode_fn() -> EpisodeFn:
    """The agent's run_episode, imported only when a run starts."""
    hook = os.environ.get(EPISODE_FN_ENV)
    if hook:
        try:
            return import_object(hook)
        except MatrixError as exc:
            raise EpisodeRunnerUnavailable(f"{EPISODE_FN_ENV}: {exc}") from None
    try:
        from kernelcraft.agent.episode import run_episode
    except ImportError as exc:
        raise EpisodeRunnerUnavailable(
            f"the episode runner (kernelcraft.agent.episode.run_episode) is not available: {exc}"
        ) from None
    return run_episode


def with_scoring_secret(episode_fn: EpisodeFn, secret: str | None) -> EpisodeFn:
    """`episode_fn` with the run's scoring secret bound, when it takes one (stand-in episode
    functions need not)."""
    if secret is None:
        return episode_fn
    try:
        parameters = inspect.signature(episode_fn).parameters
    except (TypeError, ValueError):
        return episode_fn
    if "scoring_secret" not in parameters:
        return episode_fn
    return functools.partial(episode_fn, scoring_secret=secret)


class ProgressSink(Protocol):
    def started(self, spec: EpisodeSpec) -> None: ...

    def finished(self, spec: EpisodeSpec, result: EpisodeResult) -> None: ...


class _NoProgress:
    def started(self, spec: EpisodeSpec) -> None:
        pass

    def finished(self, spec: EpisodeSpec, result: EpisodeResult) -> None:
        pass


@dataclass
class RunContext:
    """What every executor needs to turn a spec into a committed episode folder."""

    store: RunStore
    episode_fn: EpisodeFn
    levels: dict[str, int]  # task id -> level, for results the episode could not write
    task_set_version: str
    progress: ProgressSink = field(default_factory=_NoProgress)
    replace_finished: bool = False  # re-running harness errors replaces their folders

    def failure(self, spec: EpisodeSpec, message: str) -> EpisodeResult:
        return harness_error_result(spec, self.levels.get(spec.task, 0), self.task_set_version, message)


@dataclass
class RunOutcome:
    results: list[EpisodeResult]
    interrupted: bool = False


def harness_error_result(spec: EpisodeSpec, level: int, task_set_version: str, message: str) -> EpisodeResult:
    return EpisodeResult.for_spec(
        spec,
        level=level,
        task_set_version=task_set_version,
        end_reason=HARNESS_ERROR,
        error=message,
    )


def execute_episode(
    spec: EpisodeSpec, work_dir: Path, episode_fn: EpisodeFn, level: int, task_set_version: str
) -> EpisodeResult:
    """Run one episode in `work_dir`; never raises for a failing episode."""
    start = time.monotonic()
    try:
        result = episode_fn(spec, work_dir)
        if isinstance(result, dict):
            result = EpisodeResult.model_validate(result)
        if not isinstance(result, EpisodeResult):
            raise TypeError(f"episode function returned {type(result).__name__}, not EpisodeResult")
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".strip()
        try:
            (work_dir / HARNESS_TRACEBACK).write_text(traceback.format_exc())
        except OSError:
            pass
        result = harness_error_result(spec, level, task_set_version, message)
    if not result.wall_time_s:
        result = result.model_copy(update={"wall_time_s": round(time.monotonic() - start, 3)})
    return result


def run_one_local(spec: EpisodeSpec, ctx: RunContext) -> EpisodeResult:
    work_dir = ctx.store.new_work_dir(spec)
    result = execute_episode(
        spec, work_dir, ctx.episode_fn, ctx.levels.get(spec.task, 0), ctx.task_set_version
    )
    ctx.store.commit(spec, work_dir, result, replace=ctx.replace_finished)
    return result


def run_local(specs: Sequence[EpisodeSpec], ctx: RunContext, concurrency: int = 1) -> RunOutcome:
    """Episodes on up to `concurrency` threads (they wait on model APIs, not the CPU).

    Threads are daemons so Ctrl-C returns at once: episodes still running are
    abandoned in their work folders, which the next resume removes.
    """
    todo: queue.Queue[EpisodeSpec] = queue.Queue()
    for spec in specs:
        todo.put(spec)
    done: queue.Queue[tuple[EpisodeSpec, EpisodeResult | BaseException]] = queue.Queue()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                spec = todo.get_nowait()
            except queue.Empty:
                return
            ctx.progress.started(spec)
            try:
                done.put((spec, run_one_local(spec, ctx)))
            except BaseException as exc:  # store failure (disk full, ...): surface on the driver
                done.put((spec, exc))

    threads = [
        threading.Thread(target=worker, name=f"episode-{i}", daemon=True)
        for i in range(max(1, min(concurrency, len(specs))))
    ]
    results: list[EpisodeResult] = []
    try:
        for thread in threads:
            thread.start()
        for _ in range(len(specs)):
            spec, outcome = _get_interruptibly(done)
            if isinstance(outcome, BaseException):
                stop.set()
                raise outcome
            results.append(outcome)
            ctx.progress.finished(spec, outcome)
    except KeyboardInterrupt:
        stop.set()
        return RunOutcome(results, interrupted=True)
    return RunOutcome(results)


def run_local_with_simulation_pool(
    specs: Sequence[EpisodeSpec], ctx: RunContext, concurrency: int, sim_workers: int
) -> RunOutcome:
    """run_local, with a simulation pool shared by its episodes while it runs (workers start
    only when an episode first evaluates, so runs that never simulate start none)."""
    from kernelcraft.agent.sim_pool import SimulationPool, activated, pool_size

    workers = pool_size(sim_workers, concurrency, len(specs))
    if not workers:
        return run_local(specs, ctx, concurrency)
    pool = SimulationPool(workers)
    outcome: RunOutcome | None = None
    try:
        with activated(pool):
            outcome = run_local(specs, ctx, concurrency)
    finally:
        # Episodes abandoned by Ctrl-C may still be simulating: their workers are stopped.
        pool.shutdown(kill=outcome is None or outcome.interrupted)
    return outcome


def _get_interruptibly(q: queue.Queue) -> Any:
    # A blocking get without timeout would delay Ctrl-C until the next episode ends.
    while True:
        try:
            return q.get(timeout=0.2)
        except queue.Empty:
            continue


def _episode_on_worker(
    spec_json: str, episode_fn: EpisodeFn, level: int, task_set_version: str
) -> tuple[str, dict[str, bytes]]:
    """Ray task body: run in a private folder, ship the result and every file back."""
    spec = EpisodeSpec.model_validate_json(spec_json)
    work_dir = Path(tempfile.mkdtemp(prefix="kernelcraft-episode-"))
    try:
        result = execute_episode(spec, work_dir, episode_fn, level, task_set_version)
        files = {
            path.relative_to(work_dir).as_posix(): path.read_bytes()
            for path in sorted(work_dir.rglob("*"))
            if path.is_file()
        }
        return result.model_dump_json(), files
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)


def _commit_payload(
    spec: EpisodeSpec, ctx: RunContext, payload: tuple[str, dict[str, bytes]]
) -> EpisodeResult:
    result_json, files = payload
    result = EpisodeResult.model_validate_json(result_json)
    work_dir = ctx.store.new_work_dir(spec)
    for rel, data in files.items():
        target = (work_dir / rel).resolve()
        if not target.is_relative_to(work_dir.resolve()):
            continue  # a path escaping the episode folder is dropped, never written
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    ctx.store.commit(spec, work_dir, result, replace=ctx.replace_finished)
    return result


def run_ray(
    specs: Sequence[EpisodeSpec],
    ctx: RunContext,
    concurrency: int | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
) -> RunOutcome:
    """Episodes as Ray tasks; the driver writes every result through the store.

    Connects to `address` (an existing cluster) or starts a local instance, unless Ray
    is already initialised in this process. At most `concurrency` episodes are in
    flight (default: the cluster's CPU count).
    """
    try:
        import ray
    except ImportError:
        raise EpisodeRunnerUnavailable("the ray executor needs Ray: pip install 'kernelcraft[ray]'") from None

    started_here = False
    if not ray.is_initialized():
        init_args: dict[str, Any] = {"include_dashboard": False, "logging_level": "WARNING"}
        if address:
            init_args["address"] = address
        elif num_cpus:
            init_args["num_cpus"] = num_cpus
        try:
            ray.init(**init_args)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EpisodeRunnerUnavailable(
                f"cannot start or reach Ray ({address or 'local'}): {exc}"
            ) from None
        started_here = True

    cluster_cpus = float(ray.cluster_resources().get("CPU", 1))
    limit = concurrency or max(1, int(cluster_cpus))
    # Episodes mostly wait on model APIs: asking for more in flight than there are CPUs
    # gives each a fraction of a CPU so they all get scheduled.
    cpus_per_episode = max(0.01, min(1.0, cluster_cpus / limit))
    remote = ray.remote(num_cpus=cpus_per_episode, max_retries=0)(_episode_on_worker)
    fn_ref = ray.put(ctx.episode_fn)
    waiting = list(specs)
    in_flight: dict[Any, EpisodeSpec] = {}
    results: list[EpisodeResult] = []
    try:
        while waiting or in_flight:
            while waiting and len(in_flight) < limit:
                spec = waiting.pop(0)
                level = ctx.levels.get(spec.task, 0)
                ref = remote.remote(spec.model_dump_json(), fn_ref, level, ctx.task_set_version)
                in_flight[ref] = spec
                ctx.progress.started(spec)
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.5)
            for ref in ready:
                spec = in_flight.pop(ref)
                try:
                    result = _commit_payload(spec, ctx, ray.get(ref))
                except (ray.exceptions.RayError, ValueError) as exc:  # worker died, bad payload
                    work_dir = ctx.store.new_work_dir(spec)
                    result = ctx.failure(spec, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
                    ctx.store.commit(spec, work_dir, result, replace=ctx.replace_finished)
                results.append(result)
                ctx.progress.finished(spec, result)
    except KeyboardInterrupt:
        for ref in in_flight:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort while stopping
                pass
        return RunOutcome(results, interrupted=True)
    finally:
        if started_here:
            ray.shutdown()
    return RunOutcome(results)


def pending_specs(
    store: RunStore, specs: Sequence[EpisodeSpec], retry_errors: bool = False
) -> list[EpisodeSpec]:
    """Cells still to run: unfinished ones, plus harness errors when asked to retry them."""
    pending = []
    for spec in specs:
        if not store.check_finished(spec):
            pending.append(spec)
        elif retry_errors:
            result = store.read_result(spec)
            if result is None or result.end_reason == HARNESS_ERROR:
                pending.append(spec)
    return pending


def run_episodes(
    specs: Sequence[EpisodeSpec],
    ctx: RunContext,
    executor: str = "local",
    concurrency: int | None = None,
    ray_address: str | None = None,
    ray_num_cpus: int | None = None,
    sim_workers: int = 0,
) -> RunOutcome:
    """Run `specs` with the chosen executor. Local runs with several episodes at once evaluate
    kernels in up to `sim_workers` processes (the simulator is CPU-bound; threads would take
    turns on the GIL); Ray episodes already run in processes and simulate in-process."""
    if executor == "local":
        return run_local_with_simulation_pool(specs, ctx, concurrency or 1, sim_workers)
    if executor == "ray":
        return run_ray(specs, ctx, concurrency, ray_address, ray_num_cpus)
    raise MatrixError(f"unknown executor {executor!r} (choose local or ray)")
