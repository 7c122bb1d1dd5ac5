from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kernelcraft.bench.executors import RunContext, execute_episode, pending_specs, run_local, run_ray
from kernelcraft.bench.fakes import failing_fake_episode, fake_catalog, fake_episode
from kernelcraft.bench.matrix import RunMatrix, build_specs
from kernelcraft.bench.store import open_run
from kernelcraft.episodes import EpisodeResult, EpisodeSpec

from .conftest import run_matrix

SMALL = RunMatrix.model_validate(
    {"models": ["a:x", "b:y"], "tasks": ["silu", "gemm", "ffn"], "configs": ["C1", "C3"], "samples": 2}
)


def _expected(spec: EpisodeSpec, tmp_path: Path) -> EpisodeResult:
    scratch = tmp_path / "expected" / spec.key()
    scratch.mkdir(parents=True)
    return fake_episode(spec, scratch)


def test_full_small_matrix_writes_every_episode(tmp_path: Path):
    store, specs = run_matrix(tmp_path / "run", SMALL, fake_episode, concurrency=4)
    assert len(specs) == 24
    for spec in specs:
        folder = store.final_dir(spec)
        assert sorted(p.name for p in folder.iterdir()) == ["kernel.asm", "result.json", "transcript.jsonl"]
        assert store.read_result(spec) == _expected(spec, tmp_path)
    result_files = list((tmp_path / "run" / "episodes").rglob("result.json"))
    assert len(result_files) == 24
    assert not [p for p in (tmp_path / "run").rglob(".*") if p.name not in (".lock",)]


def test_finished_episodes_are_never_rerun(tmp_path: Path):
    run_matrix(tmp_path / "run", SMALL, fake_episode)
    calls: list[str] = []

    def must_not_run(spec, episode_dir):
        calls.append(spec.key())
        raise AssertionError("finished episode re-run")

    run_matrix(tmp_path / "run", SMALL, must_not_run)
    assert calls == []


def test_a_raising_episode_is_a_failed_result_not_a_failed_run(tmp_path: Path):
    matrix = SMALL.model_copy(update={"configs": ["C1", "C2"]})  # the fake breaks on every C2
    store, specs = run_matrix(tmp_path / "run", matrix, failing_fake_episode)
    assert all(store.is_finished(spec) for spec in specs)
    failed = [s for s in specs if s.config == "C2"]
    assert len(failed) == 12
    for spec in failed:
        result = store.read_result(spec)
        assert result.end_reason == "harness_error" and not result.success
        assert "RuntimeError: simulated harness failure" in result.error
        assert result.level == fake_catalog().get(spec.task).level
        assert "Traceback" in (store.final_dir(spec) / "harness_error.txt").read_text()
    for spec in specs:
        if spec.config == "C1":
            assert store.read_result(spec) == _expected(spec, tmp_path)


def test_retry_errors_reruns_only_harness_errors(tmp_path: Path):
    matrix = RunMatrix.model_validate({"tasks": ["silu"], "configs": ["C1", "C2"]})
    store, specs = run_matrix(tmp_path / "run", matrix, failing_fake_episode)
    assert pending_specs(store, specs) == []
    retry = pending_specs(store, specs, retry_errors=True)
    assert [s.config for s in retry] == ["C2"]
    catalog = fake_catalog()
    ctx = RunContext(store, fake_episode, catalog.levels(), catalog.version, replace_finished=True)
    run_local(retry, ctx, 1)
    assert store.read_result(retry[0]).end_reason != "harness_error"


def test_non_result_return_value_is_a_harness_error(tmp_path: Path):
    result = execute_episode(
        EpisodeSpec(model="a:x", task="silu", config="C1"), tmp_path, lambda s, d: 42, 1, "v"
    )
    assert result.end_reason == "harness_error" and "returned int" in result.error
    assert result.task_set_version == "v" and result.level == 1


def test_local_executor_runs_up_to_concurrency_episodes_at_once(tmp_path: Path):
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def tracked(spec, episode_dir):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return fake_episode(spec, episode_dir)

    run_matrix(tmp_path / "run", SMALL, tracked, concurrency=3)
    assert state["peak"] == 3


@pytest.mark.ray
def test_ray_executor_on_a_local_instance(tmp_path: Path):
    ray = pytest.importorskip("ray")
    catalog = fake_catalog()
    matrix = RunMatrix.model_validate({"tasks": ["silu", "gemm"], "configs": ["C1", "C2"]})
    specs = build_specs(matrix, catalog)
    store = open_run(tmp_path / "run", matrix, specs, catalog.version)
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    try:
        ctx = RunContext(store, failing_fake_episode, catalog.levels(), catalog.version)
        outcome = run_ray(specs, ctx)
    finally:
        ray.shutdown()
        store.unlock()
    assert not outcome.interrupted and len(outcome.results) == 4
    for spec in specs:
        result = store.read_result(spec)
        files = sorted(p.name for p in store.final_dir(spec).iterdir())
        if spec.config == "C2":
            assert result.end_reason == "harness_error" and "simulated harness failure" in result.error
            assert "harness_error.txt" in files
        else:
            assert result == _expected(spec, tmp_path)
            assert files == ["kernel.asm", "result.json", "transcript.jsonl"]
    assert not [p for p in (tmp_path / "run" / "episodes").rglob(".*")]
