"""Kernel evaluations in worker processes, shared by the concurrent episodes of a local run.

Local runs put episodes on threads because they mostly wait on model APIs, but the
simulator is CPU-bound Python: evaluations on several threads take turns on the GIL.
PooledPlatform wraps an episode's platform and sends only runs (`run`, `evaluate`) to a
process pool, as a small picklable job (which instance, which kernel source and its build
key); the worker re-prepares the instance from its seed and builds the kernel once per
build key (both deterministic, and cached per worker) rather than receiving memory images
or programs, so a platform whose build is an external compiler is not rebuilt per call.
Everything else (building for diagnostics, docs, baselines) stays in-process.

A worker that dies or an evaluation that overruns its time becomes SimulationWorkerError
for that one evaluation; the pool is replaced and later evaluations run normally.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from kernelcraft.platforms.api import BuildResult, Platform
from kernelcraft.platforms.base import RunLimits

# Seconds an evaluation may take beyond the simulator's own wall-time limit (start-up of a
# fresh worker, preparing a large instance) before it is stopped.
TIMEOUT_MARGIN_S = 60.0
_INSTANCE_CACHE_SIZE = 8  # per worker: an episode's visible instance and its scoring instances
_PROGRAM_CACHE_SIZE = 32  # per worker: built kernels by build key

_active_pool: SimulationPool | None = None


class SimulationWorkerError(RuntimeError):
    """An evaluation could not be completed by a worker process; the message is one line."""


@dataclasses.dataclass(frozen=True)
class EvaluationJob:
    """What a worker needs to reproduce one evaluation: the instance by its seed, the kernel by its text."""

    platform: str
    hw_config: Any  # the platform's hardware configuration (a small frozen dataclass), or None
    task: str
    config_name: str
    seed: int
    profile: str
    poison: bool
    source: str
    build_key: str
    limits: Any = None
    trace: bool = False


class SimulationPool:
    """A process pool (spawned workers: episode threads are running) with crash and timeout handling."""

    def __init__(self, workers: int, timeout_margin_s: float = TIMEOUT_MARGIN_S):
        if workers < 1:
            raise ValueError("a simulation pool needs at least one worker")
        self.workers = workers
        self.timeout_margin_s = timeout_margin_s
        self._lock = threading.Lock()
        # At most one job per worker is submitted, so a job's timeout measures its run, not a queue.
        self._slots = threading.BoundedSemaphore(workers)
        self._executor: ProcessPoolExecutor | None = None
        self._closed = False
        self.restarts = 0

    def __enter__(self) -> SimulationPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(kill=exc[0] is not None)

    def evaluate(self, job: EvaluationJob) -> Any:
        """The evaluation `job` describes, without its program (the caller holds that)."""
        wall_time = getattr(job.limits, "wall_time_s", None) or RunLimits().wall_time_s
        return self.call(evaluate_job, job, timeout=wall_time + self.timeout_margin_s)

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """fn(*args) in a worker. A pool broken by a dying worker is replaced and the call retried
        once (a concurrent job may have been the one that crashed); a second failure, or a call
        overrunning `timeout` seconds, raises SimulationWorkerError. Exceptions fn raises pass through."""
        with self._slots:
            for attempt in (1, 2):
                executor = self._current()
                try:
                    future = executor.submit(fn, *args)
                    return future.result(timeout=timeout)
                except BrokenProcessPool:
                    self._discard(executor)
                    if attempt == 2:
                        raise SimulationWorkerError(
                            "the simulator worker process died during the evaluation (twice); "
                            "the evaluation was not completed"
                        ) from None
                except TimeoutError:
                    future.cancel()
                    self._discard(executor, kill=True)
                    raise SimulationWorkerError(
                        f"the evaluation took more than {timeout:g} s in the simulator worker and was stopped"
                    ) from None
        raise AssertionError("unreachable")

    def shutdown(self, kill: bool = False) -> None:
        """Stop the workers; `kill` for an interrupted run, whose evaluations are abandoned."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            if kill:
                _kill(executor)
            else:
                executor.shutdown(wait=True, cancel_futures=True)

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise SimulationWorkerError("the simulation pool is shut down")
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor, kill: bool = False) -> None:
        # Several threads may see the same broken pool: only the first replaces it.
        with self._lock:
            if self._executor is executor:
                self._executor = None
                self.restarts += 1
        if kill:
            _kill(executor)
        else:
            executor.shutdown(wait=False, cancel_futures=True)


def _kill(executor: ProcessPoolExecutor) -> None:
    """Stop every worker now (a hung job cannot be cancelled any other way)."""
    terminate = getattr(executor, "kill_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.kill()
    executor.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------- the run's pool


def active_pool() -> SimulationPool | None:
    """The pool the current run set up for its episodes, if any."""
    return _active_pool


@contextmanager
def activated(pool: SimulationPool | None) -> Iterator[SimulationPool | None]:
    """Make `pool` the one run_episode uses (episodes run on threads of this process)."""
    global _active_pool
    previous, _active_pool = _active_pool, pool
    try:
        yield pool
    finally:
        _active_pool = previous


def pool_size(sim_workers: int, concurrency: int, episodes: int) -> int:
    """Workers worth starting: none unless episodes overlap, never more than can be busy at once."""
    if sim_workers <= 0 or concurrency <= 1 or episodes <= 1:
        return 0
    return min(sim_workers, concurrency, episodes)


# ---------------------------------------------------------------------------- the platform side


class PooledPlatform:
    """An episode's platform whose runs go to the pool; every other attribute is the platform's.

    Kernels are sent as source text with their build key (built programs need not pickle),
    so the wrapper remembers which source each program it built came from. A run it cannot
    describe as a job (a program built elsewhere, an instance it cannot name) runs
    in-process, exactly as without the pool.
    """

    def __init__(self, platform: Platform, pool: SimulationPool):
        self.platform = platform
        self.pool = pool
        self._sources: dict[int, tuple[weakref.ref, str]] = {}

    def __getattr__(self, name: str) -> Any:
        platform = self.__dict__.get("platform")  # absent while half-built (copy, pickle)
        if platform is None:
            raise AttributeError(name)
        return getattr(platform, name)

    def build(self, source: str) -> BuildResult:
        built = self.platform.build(source)
        if built.program is not None:
            self._remember(built.program, source)
        return built

    def evaluate(self, source_or_program: Any, instance: Any, limits: Any = None, trace: bool = False) -> Any:
        if isinstance(source_or_program, str):
            built = self.build(source_or_program)
            if built.program is None:  # not simulated: the in-process call only collects diagnostics
                return self.platform.evaluate(source_or_program, instance, limits=limits, trace=trace)
            evaluation = self.run(built.program, instance, limits=limits, trace=trace)
            if built.diagnostics:
                evaluation.diagnostics = tuple(built.diagnostics) + tuple(evaluation.diagnostics)
            return evaluation
        return self.run(source_or_program, instance, limits=limits, trace=trace)

    def run(self, program: Any, instance: Any, limits: Any = None, trace: bool = False) -> Any:
        job_fields = self._instance_fields(instance)
        source = self._source_of(program)
        if job_fields is None or source is None:
            return self.platform.run(program, instance, limits=limits, trace=trace)
        job = EvaluationJob(
            **job_fields,
            source=source,
            build_key=self.platform.build_key(source),
            limits=limits or self.platform.run_limits(),
            trace=trace,
        )
        evaluation = self.pool.evaluate(job)
        if dataclasses.is_dataclass(evaluation) and hasattr(evaluation, "program"):
            evaluation = dataclasses.replace(evaluation, program=program)
        return evaluation

    def _instance_fields(self, instance: Any) -> dict[str, Any] | None:
        hw_config = getattr(self.platform, "config", None)
        try:
            fields = {
                "platform": self.platform.name,
                "hw_config": hw_config,
                "task": instance.task.id,
                "config_name": instance.config_name,
                "seed": int(instance.seed),
                "profile": instance.profile,
                "poison": bool(instance.poison),
            }
        except AttributeError:
            return None
        if getattr(instance, "hw", hw_config) != hw_config:  # prepared for other hardware
            return None
        return fields

    def _remember(self, program: Any, source: str) -> None:
        key = id(program)
        try:
            self._sources[key] = (weakref.ref(program), source)
            weakref.finalize(program, self._sources.pop, key, None)
        except TypeError:  # a program type without weak references: it will run in-process
            self._sources.pop(key, None)

    def _source_of(self, program: Any) -> str | None:
        entry = self._sources.get(id(program))
        if entry is None or entry[0]() is not program:
            return None
        return entry[1]


def pooled_platform(platform: Platform, pool: SimulationPool | None) -> Platform:
    """`platform` itself without a pool, else the pooled wrapper (which acts as the platform)."""
    return platform if pool is None else PooledPlatform(platform, pool)  # type: ignore[return-value]


# ---------------------------------------------------------------------------- the worker side

_platforms: dict[tuple[str, Any], Any] = {}
_instances: OrderedDict[tuple, Any] = OrderedDict()
_programs: OrderedDict[str, Any] = OrderedDict()


def _cached(cache: OrderedDict, key: Any, make: Callable[[], Any], size: int) -> Any:
    value = cache.pop(key, None)
    if value is None:
        value = make()
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)
    return value


def evaluate_job(job: EvaluationJob) -> Any:
    """Runs in a worker: prepare (or reuse) the instance and the build, run, drop the program."""
    from kernelcraft.platforms.registry import get_platform

    platform_key = (job.platform, job.hw_config)
    platform = _platforms.get(platform_key)
    if platform is None:
        platform = _platforms[platform_key] = get_platform(job.platform, job.hw_config)
    key = (platform_key, job.task, job.config_name, job.seed, job.profile, job.poison)
    instance = _cached(
        _instances,
        key,
        lambda: platform.prepare(job.task, job.config_name, job.seed, profile=job.profile, poison=job.poison),
        _INSTANCE_CACHE_SIZE,
    )
    program = _cached(
        _programs, job.build_key, lambda: platform.build(job.source).program, _PROGRAM_CACHE_SIZE
    )
    if program is None:
        _programs.pop(job.build_key, None)
        raise ValueError("the kernel built in the episode but not in the simulator worker")
    evaluation = platform.run(program, instance, limits=job.limits, trace=job.trace)
    if dataclasses.is_dataclass(evaluation) and hasattr(evaluation, "program"):
        evaluation = dataclasses.replace(evaluation, program=None)
    return evaluation
