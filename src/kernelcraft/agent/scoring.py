"""Final scoring: the episode's kernel re-run on hidden inputs with poisoned memory.

A kernel passes only if it is 100% correct on the visible seed and on two hidden seeds the
agent never saw, drawn with other value profiles, with every byte of memory the task does
not initialise filled with a poison pattern. That rejects kernels that hard-code outputs,
fit one input distribution, or rely on memory happening to be zero. Cycles are taken from
the visible seed; the simulator's timing does not depend on data values, and a kernel
whose cycles differ between runs is recorded as such.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from kernelcraft.agent.task_macs import task_macs
from kernelcraft.tasks import SCORING_PROFILES as HIDDEN_PROFILES

SEED_SPACE = 2**31 - 1


def hidden_seeds(seed: int, count: int = len(HIDDEN_PROFILES)) -> list[int]:
    """Scoring seeds derived from the visible seed by hashing; never equal to it or each other."""
    seeds: list[int] = []
    salt = 0
    while len(seeds) < count:
        digest = hashlib.sha256(f"kernelcraft-hidden-seed|{seed}|{salt}".encode()).digest()
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
    kernel: str  # "best" (the best kernel that reached 100% on the visible seed) or "none"
    success: bool = False
    visible_correct: bool = False
    visible_cycles: int | None = None
    baseline_cycles: int | None = None
    speedup: float | None = None
    roofline_cycles: int | None = None
    cycles_consistent: bool = True
    runs: list[ScoringRun] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_kernel(
    platform: Any,
    task: Any,
    config: str,
    seed: int,
    source: str | None,
    *,
    kernel_label: str,
    baseline_cycles: int | None,
    roofline: int | None = None,
    limits: Any = None,
) -> ScoringReport:
    """Run `source` on the visible seed, then on the hidden seeds; success needs all 100%."""
    report = ScoringReport(
        kernel=kernel_label if source else "none", baseline_cycles=baseline_cycles, roofline_cycles=roofline
    )
    if not source:
        report.notes.append("no kernel was written")
        return report
    assembled = platform.assemble(source)
    if not assembled.ok:
        report.notes.append("the kernel does not assemble")
        return report
    program = assembled.program
    visible = _run(platform, task, config, seed, "normal", False, program, "visible", limits)
    report.runs.append(visible)
    report.visible_correct = visible.correct
    report.visible_cycles = visible.cycles
    if not visible.correct:
        report.notes.append("the kernel is not correct on the visible seed")
        return report
    for i, (hidden_seed, profile) in enumerate(zip(hidden_seeds(seed), HIDDEN_PROFILES, strict=True), 1):
        report.runs.append(
            _run(platform, task, config, hidden_seed, profile, True, program, f"hidden-{i}", limits)
        )
    report.success = all(run.correct for run in report.runs)
    cycles = {run.cycles for run in report.runs if run.cycles is not None}
    report.cycles_consistent = len(cycles) <= 1
    if not report.cycles_consistent:
        report.notes.append(f"cycles differ between runs: {sorted(cycles)}; the visible seed's count is used")
    if not report.success:
        report.notes.append("the kernel fails on hidden inputs with poisoned memory")
    elif baseline_cycles and visible.cycles:
        report.speedup = baseline_cycles / visible.cycles
    return report


def _run(platform, task, config, seed, profile, poison, program, label, limits) -> ScoringRun:
    instance = platform.prepare(task, config, seed, profile=profile, poison=poison)
    evaluation = platform.evaluate(program, instance, limits=limits)
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


def roofline_cycles(
    input_hbm_bytes: int,
    hbm_bytes_per_cycle: float,
    macs: int,
    peak_macs_per_cycle: float,
    *,
    hbm_latency_cycles: float = 0.0,
    overlapped: bool = True,
) -> int:
    """Lower bound on cycles: every input byte crosses HBM once, every MAC runs at peak rate.

    Memory time is one HBM access latency (inputs all start in HBM) plus input bytes over
    bandwidth; compute time is MACs over the peak rate. On hardware that overlaps DMA with
    compute the bound is the larger of the two; on in-order blocking hardware (PLENA) nothing
    overlaps, so it is their sum. Rounded up, at least 1. Output traffic is not counted
    (outputs stay on chip in the task contracts), so the bound holds for every kernel.
    """
    memory = 0.0
    if input_hbm_bytes > 0 and hbm_bytes_per_cycle > 0:
        memory = hbm_latency_cycles + input_hbm_bytes / hbm_bytes_per_cycle
    compute = macs / peak_macs_per_cycle if peak_macs_per_cycle > 0 else 0.0
    bound = max(memory, compute) if overlapped else memory + compute
    return max(1, int(-(-bound // 1)))


def hardware_roofline(platform: Any) -> dict[str, float | bool]:
    """The platform's roofline parameters (see roofline_cycles' keyword arguments)."""
    return dict(platform.roofline_parameters())


def input_hbm_bytes(instance: Any) -> int:
    """Bytes of all input tensors as stored in HBM (elements and scales, without alignment gaps)."""
    return int(sum(tensor.nbytes for tensor in instance.layout.tensors))


def instance_roofline(platform: Any, instance: Any) -> int:
    """The roofline bound of one prepared task instance on the platform's hardware."""
    params = hardware_roofline(platform)
    macs = task_macs(instance.task.id, instance.params)
    return roofline_cycles(
        input_hbm_bytes(instance),
        float(params["hbm_bytes_per_cycle"]),
        macs,
        float(params["peak_macs_per_cycle"]),
        hbm_latency_cycles=float(params.get("hbm_latency_cycles", 0.0)),
        overlapped=bool(params.get("overlapped", True)),
    )
