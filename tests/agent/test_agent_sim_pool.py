"""Evaluations in simulator worker processes: same results as in-process, crashes and timeouts
become errors for one evaluation, episodes and `kernelcraft run` use the pool when enabled."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kernelcraft.agent import sim_pool
from kernelcraft.agent.episode import run_episode
from kernelcraft.agent.sim_pool import (
    PooledPlatform,
    SimulationPool,
    SimulationWorkerError,
    activated,
    active_pool,
    pool_size,
)
from kernelcraft.agent.tools import ToolBox, Workspace
from kernelcraft.bench.executors import RunContext, run_local_with_simulation_pool
from kernelcraft.bench.fakes import fake_catalog, fake_episode
from kernelcraft.bench.matrix import RunMatrix, build_specs
from kernelcraft.bench.store import open_run
from kernelcraft.cli.main import app
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.base import RunLimits
from kernelcraft.platforms.registry import get_platform

DOES_NOTHING = "S_ADDI_INT gp1, gp0, 1\n"  # runs, leaves the output untouched
FAULTS = "S_ADDI_INT gp1, gp0, 1\nS_LD_FP f1, gp0, 5000\n"  # FP SRAM has 1024 words


class ExitOnUnpickle:
    """Limits whose unpickling ends the process that receives them: a worker dying mid-job."""

    wall_time_s = 30.0

    def __reduce__(self):
        return (os._exit, (3,))


@pytest.fixture(scope="module")
def pool():
    with SimulationPool(2) as shared:
        yield shared


@pytest.fixture(scope="module")
def plena():
    return get_platform("plena")


def counting(monkeypatch, pool: SimulationPool) -> list:
    """Jobs the pool is asked to run, recorded in the test process."""
    jobs: list = []
    original = pool.evaluate

    def evaluate(job):
        jobs.append(job)
        return original(job)

    monkeypatch.setattr(pool, "evaluate", evaluate)
    return jobs


def same_evaluation(pooled, local) -> None:
    assert pooled.correct == local.correct and pooled.ok == local.ok
    assert pooled.match_rate == local.match_rate and pooled.cycles == local.cycles
    assert pooled.mse == local.mse and pooled.max_abs_err == local.max_abs_err
    assert pooled.fault == local.fault and pooled.diagnostics == local.diagnostics
    assert pooled.format_summary() == local.format_summary()
    assert pooled.format_rows() == local.format_rows()
    assert pooled.to_dict() == local.to_dict()


@pytest.mark.parametrize(
    ("task", "config", "profile", "poison"),
    [
        ("softmax", "C1", "normal", False),
        ("mha", "C2", "large", True),
        ("rmsnorm", "C1", "mixed_signs", True),
    ],
)
def test_pooled_evaluation_equals_in_process(pool, plena, monkeypatch, task, config, profile, poison):
    jobs = counting(monkeypatch, pool)
    pooled = PooledPlatform(plena, pool)
    instance = plena.prepare(task, config, 7, profile=profile, poison=poison)
    baseline = plena.baseline(task, config)
    for source in (baseline, DOES_NOTHING, FAULTS):
        program = pooled.build(source).program
        remote = pooled.evaluate(program, instance)
        assert remote.program is program
        same_evaluation(remote, plena.evaluate(program, instance))
        # Source text in, as baseline_cycles_for does: assembler diagnostics come back too.
        same_evaluation(pooled.evaluate(source, instance), plena.evaluate(source, instance))
    assert len(jobs) == 6
    assert pooled.evaluate(baseline, instance).correct and not pooled.evaluate(DOES_NOTHING, instance).correct
    assert pooled.evaluate(FAULTS, instance).fault is not None


def test_tool_output_through_the_pool_is_the_same_text(pool, plena, monkeypatch, tmp_path):
    jobs = counting(monkeypatch, pool)
    instance = plena.prepare("silu", "C1", 3)
    texts = {}
    for label, platform in (("local", plena), ("pooled", PooledPlatform(plena, pool))):
        box = ToolBox(platform, instance, Workspace(tmp_path / label), baseline_cycles=100, clock_ghz=1.0)
        texts[label] = []
        for code in (plena.baseline("silu", "C1"), DOES_NOTHING, FAULTS):
            box.run("write_code", {"code": code})
            texts[label].append(box.run("run_evaluation").content)
            texts[label].append(box.run("view_output").content)
    assert texts["pooled"] == texts["local"] and len(jobs) == 3
    assert "success: true" in texts["pooled"][0] and "fault:" in texts["pooled"][4]


def test_what_cannot_be_sent_runs_in_process(pool, plena, monkeypatch):
    jobs = counting(monkeypatch, pool)
    pooled = PooledPlatform(plena, pool)
    instance = plena.prepare("silu", "C1", 3)
    foreign = plena.build(plena.baseline("silu", "C1")).program  # not built by the wrapper
    same_evaluation(pooled.evaluate(foreign, instance), plena.evaluate(foreign, instance))
    same_evaluation(pooled.evaluate("NOT_AN_OPCODE", instance), plena.evaluate("NOT_AN_OPCODE", instance))
    assert jobs == []
    # Everything but running is the platform's own.
    assert pooled.name == "plena" and pooled.config is plena.config
    assert pooled.docs() == plena.docs() and pooled.roofline(instance) == plena.roofline(instance)
    assert not hasattr(pooled, "no_such_method")


def test_a_dying_worker_fails_one_evaluation_and_the_pool_recovers(plena, tmp_path):
    instance = plena.prepare("silu", "C1", 3)
    with SimulationPool(1) as own:
        pooled = PooledPlatform(plena, own)
        box = ToolBox(pooled, instance, Workspace(tmp_path / "crash"), limits=ExitOnUnpickle())
        box.run("write_code", {"code": plena.baseline("silu", "C1")})
        result = box.run("run_evaluation")
        assert result.is_error and "worker process died" in result.content
        assert len(result.content.splitlines()) == 1 and own.restarts >= 1
        ok = ToolBox(pooled, instance, Workspace(tmp_path / "after"), limits=RunLimits())
        ok.run("write_code", {"code": plena.baseline("silu", "C1")})
        assert "success: true" in ok.run("run_evaluation").content


def test_an_overrunning_call_is_stopped_and_the_pool_recovers():
    with SimulationPool(1) as own:
        started = time.monotonic()
        with pytest.raises(SimulationWorkerError, match="more than 1 s"):
            own.call(time.sleep, 60, timeout=1)
        assert time.monotonic() - started < 20
        assert own.call(abs, -3, timeout=30) == 3
    with pytest.raises(SimulationWorkerError, match="shut down"):
        own.call(abs, -3)


def test_oracle_episode_through_the_pool(pool, monkeypatch, tmp_path):
    jobs = counting(monkeypatch, pool)
    spec = EpisodeSpec(model="scripted:oracle", task="rmsnorm", config="C1", seed=11)
    pooled = run_episode(spec, tmp_path / "pooled", sim_pool=pool)
    assert pooled.success and pooled.end_reason == "model_stopped", pooled.error
    # Baseline, one run_evaluation, three scoring runs, and the baseline on the three scoring runs.
    assert len(jobs) == 8 and {job.seed for job in jobs} > {11}
    with activated(pool):
        assert active_pool() is pool
        again = run_episode(spec, tmp_path / "active")
    assert active_pool() is None and len(jobs) == 16 and again.success
    local = run_episode(spec, tmp_path / "local")
    assert len(jobs) == 16
    for field in ("baseline_cycles", "best_cycles", "roofline_cycles", "speedup", "evaluations"):
        assert getattr(pooled, field) == getattr(local, field), field
    scoring = [json.loads((tmp_path / d / "scoring.json").read_text()) for d in ("pooled", "local")]
    assert scoring[0] == scoring[1]


def test_pool_size_only_when_episodes_overlap():
    assert pool_size(4, 8, 100) == 4
    assert pool_size(8, 2, 100) == 2 and pool_size(8, 8, 3) == 3
    assert pool_size(0, 8, 100) == 0 and pool_size(4, 1, 100) == 0 and pool_size(4, 4, 1) == 0


def test_local_executor_shares_one_pool_and_shuts_it_down(tmp_path):
    seen: list = []

    def episode(spec, work_dir: Path):
        seen.append(active_pool())
        return fake_episode(spec, work_dir)

    catalog = fake_catalog()
    matrix = RunMatrix.model_validate({"models": ["fake:m"], "tasks": ["silu", "relu", "gelu"]})
    specs = build_specs(matrix, catalog)
    store = open_run(tmp_path / "run", matrix, specs, catalog.version)
    try:
        ctx = RunContext(store, episode, catalog.levels(), catalog.version)
        outcome = run_local_with_simulation_pool(specs, ctx, concurrency=2, sim_workers=4)
    finally:
        store.unlock()
    assert len(outcome.results) == 3 and len(seen) == 3
    assert seen[0] is not None and all(p is seen[0] for p in seen) and seen[0].workers == 2
    assert active_pool() is None
    with pytest.raises(SimulationWorkerError, match="shut down"):
        seen[0].call(abs, 1)


@pytest.mark.parametrize("workers", ["0", "2"])
def test_run_command_sim_workers_flag(tmp_path, monkeypatch, workers):
    calls: list = []
    original = SimulationPool.evaluate

    def evaluate(self, job):
        calls.append(job.task)
        return original(self, job)

    monkeypatch.setattr(sim_pool.SimulationPool, "evaluate", evaluate)
    out = tmp_path / "run"
    args = ["run", "-t", "silu", "-t", "relu", "-j", "2", "--sim-workers", workers, "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    for task in ("silu", "relu"):
        saved = json.loads((out / f"episodes/scripted_oracle/plena/{task}/C1/s0/result.json").read_text())
        assert saved["success"] is True, saved["error"]
    assert sorted(set(calls)) == ([] if workers == "0" else ["relu", "silu"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert str(manifest).count(f"'sim_workers': {workers}") == 1
