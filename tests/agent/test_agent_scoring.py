"""Final scoring: hidden seeds, the all-runs-correct rule, cycles, and the roofline bound."""

from __future__ import annotations

import pytest

from kernelcraft.agent.scoring import (
    HIDDEN_PROFILES,
    hidden_seeds,
    input_hbm_bytes,
    instance_roofline,
    roofline_cycles,
    score_kernel,
)
from kernelcraft.agent.task_macs import task_macs
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import all_tasks, get_task

from .agent_fakes import CORRECT, SYNTAX_ERROR, FakeEvaluation, FakeInstance, FakePlatform


@pytest.mark.parametrize("seed", [0, 1, 7, 123456, 2**31 - 2])
def test_hidden_seeds_are_deterministic_distinct_and_never_visible(seed):
    seeds = hidden_seeds(seed)
    assert seeds == hidden_seeds(seed)
    assert len(seeds) == len(HIDDEN_PROFILES) == len(set(seeds))
    assert seed not in seeds
    assert hidden_seeds(seed + 1) != seeds


def test_roofline_is_the_larger_of_memory_and_compute_bounds():
    assert roofline_cycles(2560, 256, 0, 64) == 10  # memory bound
    assert roofline_cycles(256, 256, 64 * 100, 64) == 100  # compute bound
    assert roofline_cycles(257, 256, 0, 64) == 2  # rounded up
    assert roofline_cycles(0, 256, 0, 64) == 1  # never zero


def test_roofline_without_overlap_adds_latency_transfer_and_compute():
    # In-order blocking hardware: one HBM access (latency + bytes / bandwidth), then compute.
    assert roofline_cycles(2560, 256, 64 * 100, 64, hbm_latency_cycles=100, overlapped=False) == 210
    assert roofline_cycles(2560, 256, 64 * 100, 64, hbm_latency_cycles=100, overlapped=True) == 110


def test_task_macs_from_params():
    assert task_macs("gemm", {"M": 4, "K": 64, "N": 32}) == 4 * 64 * 32
    assert task_macs("batch_matmul", {"B": 2, "M": 4, "K": 64, "N": 32}) == 2 * 4 * 64 * 32
    assert task_macs("sdpa", {"S": 32, "D": 64}) == 2 * 32 * 32 * 64
    # MHA: four projections of S*H*H plus attention over all heads.
    assert task_macs("mha", {"S": 32, "H": 64, "nh": 1}) == 4 * 32 * 64 * 64 + 2 * 32 * 32 * 64
    # MQA: K and V projections are narrow (one head of H/nh columns).
    assert (
        task_macs("mqa", {"S": 8, "H": 64, "nh": 2, "nkv": 1})
        == 2 * 8 * 64 * 64 + 2 * 8 * 64 * 32 + 2 * 8 * 8 * 64
    )
    assert task_macs("silu", {"R": 4, "H": 64}) == 0
    assert task_macs("not_a_task", {}) == 0


def test_every_plena_matrix_task_has_a_mac_count():
    for task in all_tasks():
        if not task.supports("plena"):
            continue
        for config in task.config_names:
            macs = task_macs(task.id, task.params("plena", config))
            has_weights = (
                any(spec.kind == "weight" for spec in task.input_specs)
                or "attention" in task.category.lower()
            )
            assert (macs > 0) == has_weights, (task.id, config)


@pytest.mark.parametrize("task_id", [t.id for t in all_tasks() if t.supports("plena")])
def test_roofline_is_below_the_baseline_kernel(task_id):
    platform = get_platform("plena")
    task = get_task(task_id)
    instance = platform.prepare(task, "C1", 0)
    evaluation = platform.evaluate(platform.baseline(task, "C1"), instance)
    bound = instance_roofline(platform, instance)
    assert evaluation.correct
    assert platform.config.hbm_latency_cycles < bound <= evaluation.cycles
    assert input_hbm_bytes(instance) >= sum(t.numel for t in instance.layout.tensors)


class _ScoringPlatform(FakePlatform):
    """Records what final scoring asks for; per-run outcomes come from a table."""

    def __init__(self, outcomes):
        super().__init__()
        self.outcomes = outcomes
        self.prepared = []

    def prepare(self, task, config, seed, profile="normal", poison=False):
        self.prepared.append((seed, profile, poison))
        return FakeInstance()

    def evaluate(self, program, instance, limits=None):
        correct, cycles = self.outcomes[len(self.prepared) - 1]
        return FakeEvaluation(correct, 1.0 if correct else 0.5, cycles)


def test_success_needs_every_run_correct_and_uses_visible_cycles():
    platform = _ScoringPlatform([(True, 50), (True, 50), (True, 50)])
    report = score_kernel(platform, "t", "C1", 5, CORRECT, kernel_label="best", baseline_cycles=100)
    assert report.success and report.visible_cycles == 50 and report.speedup == 2.0
    assert platform.prepared[0] == (5, "normal", False)
    assert [p[1:] for p in platform.prepared[1:]] == [("large", True), ("mixed_signs", True)]
    assert [p[0] for p in platform.prepared[1:]] == hidden_seeds(5)


def test_a_hidden_failure_is_not_a_success():
    report = score_kernel(
        _ScoringPlatform([(True, 50), (True, 50), (False, 50)]),
        "t",
        "C1",
        5,
        CORRECT,
        kernel_label="best",
        baseline_cycles=100,
    )
    assert not report.success and report.visible_correct and report.speedup is None
    assert [r.correct for r in report.runs] == [True, True, False]


def test_cycles_that_differ_between_runs_are_recorded():
    report = score_kernel(
        _ScoringPlatform([(True, 50), (True, 60), (True, 50)]),
        "t",
        "C1",
        5,
        CORRECT,
        kernel_label="best",
        baseline_cycles=100,
    )
    assert report.success and not report.cycles_consistent and report.visible_cycles == 50
    assert any("cycles differ" in note for note in report.notes)


def test_visible_failure_skips_hidden_runs_and_missing_kernels_score_nothing():
    platform = _ScoringPlatform([(False, 50)])
    report = score_kernel(platform, "t", "C1", 5, CORRECT, kernel_label="last", baseline_cycles=100)
    assert not report.success and len(report.runs) == 1
    broken = score_kernel(
        FakePlatform(), "t", "C1", 5, SYNTAX_ERROR, kernel_label="last", baseline_cycles=None
    )
    assert not broken.success and broken.runs == [] and "does not assemble" in broken.notes[0]
    none = score_kernel(FakePlatform(), "t", "C1", 5, None, kernel_label="last", baseline_cycles=None)
    assert none.kernel == "none" and not none.success
