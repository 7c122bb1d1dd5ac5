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
) -> ScoringReport:
    """Run `source` on the visible seed, then on the hidden seeds; success needs all 100%."""
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
    program = built.program
    visible = _run(platform, task, config, seed, "normal", True, program, "visible", limits)
    report.runs.append(visible)
    report.visible_correct = visible.correct
    report.visible_cycles = visible.cycles
    if not visible.correct:
        report.notes.append("the kernel is not correct on the visible seed")
        return report
    for i, (hidden_seed, profile) in enumerate(
        zip(hidden_seeds(seed, secret=secret), HIDDEN_PROFILES, strict=True), 1
    ):
        report.runs.append(
            _run(platform, task, config, hidden_seed, profile, True, program, f"hidden-{i}", limits)
        )
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
    elif baseline_cycles and report.scored_cycles:
        report.speedup = baseline_cycles / report.scored_cycles
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
    max_candidates: int = MAX_CANDIDATES,
) -> ScoringReport:
    """Score (label, source) candidates fastest first; the first that passes is the episode's
    kernel. The report names the scored kernel and records why faster ones were rejected."""
    rejected: list[dict[str, Any]] = []
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
            secret=secret,
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


def _run(platform, task, config, seed, profile, poison, program, label, limits) -> ScoringRun:
    instance = platform.prepare(task, config, seed, profile=profile, poison=poison)
    evaluation = platform.run(program, instance, limits=limits)
    return ScoringRun(
        label=label,
        seed=seed,
        profile=profile,
        poison=poison,
        correct=bool(evaluation.correct),
        match_rate=None if evaluation.match_rate is None else float(evaluation.match_rate),
        cycles=None if evaluation.cycles is None else int(evaluation.cycles),
        fault=evaluation.fault.format() if evaluation.fault is not None else None,
    )
