"""Final scoring: the episode's kernel re-run on hidden inputs with poisoned memory.

A kernel passes only if it is 100% correct on the visible seed and on two hidden seeds the
agent never saw, drawn with other value profiles, with every byte of memory the task does
not initialise filled with a poison pattern (the visible run is poisoned too, as the
agent's own evaluations are). That rejects kernels that hard-code outputs, fit one input
distribution, or rely on memory happening to be zero.

The scored cycles are the largest of all runs: a kernel whose control flow depends on the
data (or on poisoned memory) cannot be scored by its luckiest run. A kernel whose cycles
differ between runs is flagged (cycles_consistent = False) and reports show it.

Candidates are tried fastest first: when the fastest visible-correct kernel fails hidden
scoring, the next one is scored (up to MAX_CANDIDATES), and the report says which kernel
was scored and why the faster ones were not.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from kernelcraft.platforms.api import Platform
from kernelcraft.tasks import SCORING_PROFILES as HIDDEN_PROFILES

SEED_SPACE = 2**31 - 1
MAX_CANDIDATES = 3  # visible-correct kernels scored at most per episode, fastest first


def hidden_seeds(seed: int, count: int = len(HIDDEN_PROFILES), secret: str | None = None) -> list[int]:
    """Scoring seeds derived from the visible seed (and the run's secret, when given) by hashing;
    never equal to the visible seed or each other."""
    seeds: list[int] = []
    salt = 0
    keyed = "" if secret is None else f"{secret}|"
    while len(seeds) < count:
        digest = hashlib.sha256(f"kernelcraft-hidden-seed|{keyed}{seed}|{salt}".encode()).digest()
        candidate = int.from_bytes(digest[:8], "big") % SEED_SPACE
        if candidate != seed and candidate not in seeds:
            seeds.append(candidate)
        salt += 1
    return seeds


@dataclass
class ScoringRun:
    label: str  # "visible" or "hidden-1", ...
    seed: int
    profile: str
    poison: bool
    correct: bool
    match_rate: float | None
    cycles: int | None
    fault: str | None = None


@dataclass
class ScoringReport:
    kernel: str  # which kernel was scored: "best", "evaluation 3", ... or "none"
    success: bool = False
    visible_correct: bool = False
    visible_cycles: int | None = None
    scored_cycles: int | None = None  # the largest cycle count of all scoring runs
    baseline_cycles: int | None = None
    speedup: float | None = None  # baseline_cycles / scored_cycles, on success
    roofline_cycles: int | None = None
    cycles_consistent: bool = True
    runs: list[ScoringRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # faster candidates that failed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ScoringInput:
    """One scoring run's instance: the visible seed, or a hidden seed with its value profile."""

    label: str
    seed: int
    profile: str
    instance: Any


class ScoringInputs:
    """The instances every kernel of an episode is scored on (prepared once, on demand), and
    the baseline's cycles on the same runs, so a speed-up compares like with like."""

    def __init__(
        self,
        platform: Platform,
        task: Any,
        config: str,
        seed: int,
        secret: str | None = None,
        baseline: str | None = None,
        limits: Any = None,
    ):
        self.platform, self.task, self.config, self.limits = platform, task, config, limits
        self.plan = [("visible", seed, "normal")] + [
            (f"hidden-{i}", hidden, profile)
            for i, (hidden, profile) in enumerate(
                zip(hidden_seeds(seed, secret=secret), HIDDEN_PROFILES, strict=True), 1
            )
        ]
        self._prepared: list[ScoringInput] = []
        self._baseline = baseline
        self._baseline_cycles: int | None = None
        self._baseline_done = False

    def __getitem__(self, index: int) -> ScoringInput:
        while len(self._prepared) <= index:
            label, seed, profile = self.plan[len(self._prepared)]
            instance = self.platform.prepare(self.task, self.config, seed, profile=profile, poison=True)
            self._prepared.append(ScoringInput(label, seed, profile, instance))
        return self._prepared[index]

    def __len__(self) -> int:
        return len(self.plan)

    def baseline_cycles(self) -> int | None:
        """The baseline's largest cycle count over every scoring run (None without a correct baseline)."""
        if not self._baseline_done:
            self._baseline_done = True
            built = self.platform.build(self._baseline) if self._baseline else None
            if built is not None and built.ok:
                runs = [
                    self.platform.run(built.program, self[i].instance, limits=self.limits)
                    for i in range(len(self))
                ]
                if all(run.correct and run.cycles is not None for run in runs):
                    self._baseline_cycles = max(int(run.cycles) for run in runs)
        return self._baseline_cycles


def score_kernel(
    platform: Platform,
    task: Any,
    config: str,
    seed: int,
    source: str | None,
    *,
    kernel_label: str,
    baseline_cycles: int | None,
    roofline: int | None = None,
    limits: Any = None,
    secret: str | None = None,
    baseline: str | None = None,
    inputs: ScoringInputs | None = None,
) -> ScoringReport:
    """Run `source` on the visible seed, then on the hidden seeds; success needs all 100%.

    With the baseline's source, the speed-up compares the kernel's and the baseline's largest
    cycle counts over the same runs (a baseline whose cycles depend on the data is measured
    as the kernel is); without it, against `baseline_cycles` (the visible run's).
    """
    report = ScoringReport(
        kernel=kernel_label if source else "none", baseline_cycles=baseline_cycles, roofline_cycles=roofline
    )
    if not source:
        report.notes.append("no kernel was written")
        return report
    built = platform.build(source)
    if not built.ok:
        report.notes.append("the kernel does not build")
        return report
    inputs = inputs or ScoringInputs(platform, task, config, seed, secret, baseline, limits)
    for index in range(len(inputs)):
        run = _run(platform, built.program, inputs[index], limits)
        report.runs.append(run)
        if index == 0:
            report.visible_correct, report.visible_cycles = run.correct, run.cycles
            if not run.correct:
                report.notes.append("the kernel is not correct on the visible seed")
                return report
    report.success = all(run.correct for run in report.runs)
    cycles = {run.cycles for run in report.runs if run.cycles is not None}
    report.cycles_consistent = len(cycles) <= 1
    report.scored_cycles = max(cycles) if cycles else None
    if not report.cycles_consistent:
        report.notes.append(
            f"cycles differ between runs: {sorted(cycles)}; the largest, {report.scored_cycles}, is scored"
        )
    if not report.success:
        report.notes.append("the kernel fails on hidden inputs with poisoned memory")
        return report
    reference = inputs.baseline_cycles() or baseline_cycles
    if reference is not None and reference != baseline_cycles:
        report.baseline_cycles = reference
        report.notes.append(
            f"the baseline's largest cycle count over the same runs, {reference}, is the reference"
        )
    if reference and report.scored_cycles:
        report.speedup = reference / report.scored_cycles
    return report


def score_candidates(
    platform: Platform,
    task: Any,
    config: str,
    seed: int,
    candidates: list[tuple[str, str]],
    *,
    baseline_cycles: int | None,
    roofline: int | None = None,
    limits: Any = None,
    secret: str | None = None,
    baseline: str | None = None,
    max_candidates: int = MAX_CANDIDATES,
) -> ScoringReport:
    """Score (label, source) candidates fastest first; the first that passes is the episode's
    kernel. The report names the scored kernel and records why faster ones were rejected."""
    rejected: list[dict[str, Any]] = []
    inputs = ScoringInputs(platform, task, config, seed, secret, baseline, limits)
    report = ScoringReport(kernel="none", baseline_cycles=baseline_cycles, roofline_cycles=roofline)
    for label, source in candidates[:max_candidates]:
        report = score_kernel(
            platform,
            task,
            config,
            seed,
            source,
            kernel_label=label,
            baseline_cycles=baseline_cycles,
            roofline=roofline,
            limits=limits,
            inputs=inputs,
        )
        if report.success:
            break
        rejected.append({"kernel": label, "reason": "; ".join(report.notes) or "failed"})
    report.rejected = rejected[:-1] if not report.success and rejected else rejected
    if report.success and rejected:
        report.notes.append(
            f"scored {report.kernel}: {len(rejected)} faster visible-correct kernel(s) failed hidden scoring"
        )
    if len(candidates) > max_candidates and not report.success:
        report.notes.append(f"only the {max_candidates} fastest visible-correct kernels were scored")
    return report


def _run(platform: Platform, program: Any, scoring_input: ScoringInput, limits: Any) -> ScoringRun:
    evaluation = platform.run(program, scoring_input.instance, limits=limits)
    return ScoringRun(
        label=scoring_input.label,
        seed=scoring_input.seed,
        profile=scoring_input.profile,
        poison=bool(scoring_input.instance.poison),
        correct=bool(evaluation.correct),
        match_rate=None if evaluation.match_rate is None else float(evaluation.match_rate),
        cycles=None if evaluation.cycles is None else int(evaluation.cycles),
        fault=evaluation.fault.format() if evaluation.fault is not None else None,
    )
