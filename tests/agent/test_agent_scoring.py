"""Final scoring: hidden seeds, the all-runs-correct rule, cycles, and the roofline bound."""

from __future__ import annotations

import pytest

from kernelcraft.agent.scoring import HIDDEN_PROFILES, hidden_seeds, score_candidates, score_kernel
from kernelcraft.platforms.roofline import roofline_cycles

from .agent_fakes import CORRECT, SYNTAX_ERROR, FakeEvaluation, FakeInstance, FakePlatform


@pytest.mark.parametrize("seed", [0, 1, 7, 123456, 2**31 - 2])
def test_hidden_seeds_are_deterministic_distinct_and_never_visible(seed):
    seeds = hidden_seeds(seed)
    assert seeds == hidden_seeds(seed)
    assert len(seeds) == len(HIDDEN_PROFILES) == len(set(seeds))
    assert seed not in seeds
    assert hidden_seeds(seed + 1) != seeds


def test_hidden_seeds_depend_on_the_run_secret():
    """With a secret, the package alone cannot compute the hidden inputs."""
    public = hidden_seeds(5)
    assert hidden_seeds(5, secret="run-a") != public
    assert hidden_seeds(5, secret="run-a") == hidden_seeds(5, secret="run-a")
    assert hidden_seeds(5, secret="run-a") != hidden_seeds(5, secret="run-b")


def test_roofline_is_the_larger_of_memory_and_compute_bounds():
    assert roofline_cycles(2560, 256, 0, 64) == 10  # memory bound
    assert roofline_cycles(256, 256, 64 * 100, 64) == 100  # compute bound
    assert roofline_cycles(257, 256, 0, 64) == 2  # rounded up
    assert roofline_cycles(0, 256, 0, 64) == 1  # never zero


def test_roofline_without_overlap_adds_latency_transfer_and_compute():
    # In-order blocking hardware: one memory access (latency + bytes / bandwidth), then compute.
    assert roofline_cycles(2560, 256, 64 * 100, 64, latency_cycles=100, overlapped=False) == 210
    assert roofline_cycles(2560, 256, 64 * 100, 64, latency_cycles=100, overlapped=True) == 110


class _ScoringPlatform(FakePlatform):
    """Records what final scoring asks for; per-run outcomes come from a table."""

    def __init__(self, outcomes):
        super().__init__()
        self.outcomes = outcomes
        self.prepared = []

    def prepare(self, task, config, seed, profile="normal", poison=False):
        self.prepared.append((seed, profile, poison))
        return FakeInstance(poison)

    def run(self, program, instance, limits=None, trace=False):
        correct, cycles = self.outcomes[len(self.prepared) - 1]
        return FakeEvaluation(correct, 1.0 if correct else 0.5, cycles)


def test_success_needs_every_run_correct_and_every_run_is_poisoned():
    platform = _ScoringPlatform([(True, 50), (True, 50), (True, 50)])
    report = score_kernel(platform, "t", "C1", 5, CORRECT, kernel_label="best", baseline_cycles=100)
    assert report.success and report.visible_cycles == report.scored_cycles == 50 and report.speedup == 2.0
    assert platform.prepared[0] == (5, "normal", True)
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


def test_cycles_that_differ_between_runs_score_the_slowest_and_are_flagged():
    """A kernel whose hidden runs are slower (data-dependent loops) is scored by its slowest run."""
    report = score_kernel(
        _ScoringPlatform([(True, 50), (True, 6000), (True, 50)]),
        "t",
        "C1",
        5,
        CORRECT,
        kernel_label="best",
        baseline_cycles=100,
    )
    assert report.success and not report.cycles_consistent and report.visible_cycles == 50
    assert report.scored_cycles == 6000 and report.speedup == pytest.approx(100 / 6000)
    assert any("cycles differ" in note and "6000" in note for note in report.notes)


class _ByKernel(FakePlatform):
    """Scoring outcomes decided by the kernel: a V_MUL_VV kernel with an extra S_ADDI_INT passes."""

    def prepare(self, task, config, seed, profile="normal", poison=False):
        return FakeInstance(poison)

    def run(self, program, instance, limits=None, trace=False):
        names = [ins.name for ins in program.instructions]
        passes = names.count("S_ADDI_INT") > 1
        return FakeEvaluation(passes, 1.0 if passes else 0.5, 10 * len(names))


def test_a_faster_kernel_that_fails_hidden_scoring_falls_back_to_the_next():
    fast_bad = CORRECT  # 2 instructions, fails
    slow_good = "S_ADDI_INT gp2, gp0, 1\n" + CORRECT  # 3 instructions, passes
    report = score_candidates(
        _ByKernel(),
        "t",
        "C1",
        5,
        [("evaluation 2", fast_bad), ("evaluation 1", slow_good)],
        baseline_cycles=60,
    )
    assert report.success and report.kernel == "evaluation 1" and report.speedup == pytest.approx(2.0)
    assert report.rejected == [
        {"kernel": "evaluation 2", "reason": "the kernel is not correct on the visible seed"}
    ]
    assert any("faster visible-correct kernel" in note for note in report.notes)
    capped = score_candidates(
        _ByKernel(),
        "t",
        "C1",
        5,
        [("e3", fast_bad), ("e2", fast_bad), ("e1", slow_good)],
        baseline_cycles=60,
        max_candidates=2,
    )
    assert not capped.success and any("only the 2 fastest" in note for note in capped.notes)


def test_visible_failure_skips_hidden_runs_and_missing_kernels_score_nothing():
    platform = _ScoringPlatform([(False, 50)])
    report = score_kernel(platform, "t", "C1", 5, CORRECT, kernel_label="last", baseline_cycles=100)
    assert not report.success and len(report.runs) == 1
    broken = score_kernel(
        FakePlatform(), "t", "C1", 5, SYNTAX_ERROR, kernel_label="last", baseline_cycles=None
    )
    assert not broken.success and broken.runs == [] and "does not build" in broken.notes[0]
    none = score_kernel(FakePlatform(), "t", "C1", 5, None, kernel_label="last", baseline_cycles=None)
    assert none.kernel == "none" and not none.success


class _DataDependent(FakePlatform):
    """Cycles grow with the seed for every kernel (a data-dependent loop); longer kernels are slower."""

    def prepare(self, task, config, seed, profile="normal", poison=False):
        instance = FakeInstance(poison)
        instance.seed = seed
        return instance

    def run(self, program, instance, limits=None, trace=False):
        return FakeEvaluation(True, 1.0, len(program.instructions) * (1 + instance.seed % 7))


def test_the_baseline_is_measured_on_the_same_runs_as_the_kernel():
    """A kernel as fast as the baseline scores 1.0 even when cycles depend on the data."""
    platform = _DataDependent()
    report = score_kernel(
        platform, "t", "C1", 5, CORRECT, kernel_label="k", baseline_cycles=1, baseline=CORRECT
    )
    assert report.success and not report.cycles_consistent
    assert report.baseline_cycles == report.scored_cycles and report.speedup == pytest.approx(1.0)
    faster = score_kernel(
        platform,
        "t",
        "C1",
        5,
        CORRECT,
        kernel_label="k",
        baseline_cycles=1,
        baseline="S_ADDI_INT gp1, gp0, 1\n" + CORRECT,
    )
    assert faster.speedup == pytest.approx(1.5)
