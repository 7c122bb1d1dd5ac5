"""One episode: resolve model, task and platform; run the loop; score; fill the result.

The episode is the native tool-calling loop driving a Session (agent.session). No exception
escapes: a provider failure ends the episode as "provider_error", any other failure as
"harness_error", each with its message, and whatever was measured up to that point is
still reported. The caller writes result.json; the session writes the episode's other files
(the kernel, best kernel, kernels/, evaluations.jsonl, scoring.json) and this the transcript.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

from kernelcraft.agent.loop import PROVIDER_ERROR, LoopOutcome, run_loop
from kernelcraft.agent.messages import ProviderError, Usage
from kernelcraft.agent.scoring import ScoringReport
from kernelcraft.agent.session import Session
from kernelcraft.agent.sim_pool import SimulationPool, active_pool
from kernelcraft.agent.tools import ToolStats
from kernelcraft.agent.transcript import Transcript
from kernelcraft.episodes import EpisodeResult, EpisodeSpec, TokenCounts

HARNESS_ERROR = "harness_error"


def run_episode(
    spec: EpisodeSpec,
    episode_dir: Path,
    sim_pool: SimulationPool | None = None,
    scoring_secret: str | None = None,
) -> EpisodeResult:
    """Run one episode into `episode_dir`; always returns a result, never raises.

    Evaluations run in `sim_pool`, or in the pool the current run activated, when there is
    one (see agent.sim_pool); otherwise in this process.
    """
    started = time.perf_counter()
    episode_dir = Path(episode_dir)
    episode_dir.mkdir(parents=True, exist_ok=True)
    result = _empty_result(spec)
    transcript = Transcript(episode_dir / "transcript.jsonl")
    session = Session(spec, episode_dir, sim_pool=sim_pool or active_pool(), scoring_secret=scoring_secret)
    outcome: LoopOutcome | None = None
    try:
        transcript.write(
            "start",
            model=spec.model,
            platform=spec.platform,
            task=spec.task,
            config=spec.config,
            sample=spec.sample,
            seed=spec.seed,
        )
        start = session.reset()
        setup = session.setup
        result.level = setup.task.level
        result.iteration_cap = setup.iteration_cap
        result.baseline_cycles = setup.baseline_cycles
        result.roofline_cycles = setup.roofline_cycles
        result.timing_profile = setup.platform.profile_name()
        from kernelcraft.agent.providers import create_model

        try:
            model = create_model(spec.model, **spec.model_options)
        except ProviderError as exc:
            result.end_reason, result.error = PROVIDER_ERROR, str(exc)
            transcript.write("end", reason=PROVIDER_ERROR, iteration=0, error=str(exc))
            return _finish(result, started)
        outcome = run_loop(model, session, start, transcript)
        result.end_reason, result.error = outcome.end_reason, outcome.error
        _record_loop(result, outcome, session.stats)
        report = session.finish()
        _record_scoring(result, report)
        transcript.write("scoring", success=report.success, kernel=report.kernel, runs=len(report.runs))
    except Exception as exc:  # the run must go on: the episode becomes a harness error
        result.end_reason = HARNESS_ERROR
        result.error = f"{type(exc).__name__}: {exc}"
        _safe_write(
            transcript,
            "end",
            reason=HARNESS_ERROR,
            error=result.error,
            traceback=traceback.format_exc(limit=8),
        )
        if outcome is not None and session.started:
            _record_loop(result, outcome, session.stats)
    finally:
        transcript.close()
    if session.started:
        result.error_categories = _error_categories(session.stats, result)
    return _finish(result, started)


def _empty_result(spec: EpisodeSpec) -> EpisodeResult:
    try:
        from kernelcraft.tasks import TASK_SET_VERSION, get_task
    except Exception:  # the task suite failing to import is reported through the episode's error
        TASK_SET_VERSION, get_task = "unknown", None
    level, cap = 0, spec.iteration_cap or 0
    try:  # known even when the rest of the set-up fails, so reports can place the episode
        task = get_task(spec.task)
        level, cap = task.level, spec.iteration_cap or task.iteration_cap
    except Exception:  # an unknown task: the episode's error says so
        pass
    return EpisodeResult.for_spec(spec, level=level, task_set_version=TASK_SET_VERSION, iteration_cap=cap)


def _record_loop(result: EpisodeResult, outcome: LoopOutcome, stats: ToolStats) -> None:
    result.iterations = outcome.iterations
    result.tool_calls = stats.tool_calls
    result.evaluations = stats.evaluations
    result.visible_correct = stats.best is not None
    result.iterations_to_first_correct = stats.first_correct_iteration
    result.tokens = _tokens(outcome.usage)


def _record_scoring(result: EpisodeResult, report: ScoringReport) -> None:
    metrics = getattr(report, "mode_metrics", None)  # what a non-kernel mode measured
    if callable(metrics):
        result.mode_metrics = metrics()
    result.success = report.success
    result.visible_correct = result.visible_correct or report.visible_correct
    result.cycles_consistent = report.cycles_consistent
    result.scored_kernel = report.kernel if report.kernel != "none" else None
    if report.success:
        result.best_cycles = report.scored_cycles
        result.speedup = report.speedup


def _error_categories(stats: ToolStats, result: EpisodeResult) -> list[str]:
    """S: assembler errors seen; F: wrong or faulting runs, or a kernel failing hidden scoring;
    T: tool misuse, or a model that never called a tool or never evaluated."""
    categories = set()
    if stats.syntax_errors:
        categories.add("S")
    if stats.functional_failures or (result.visible_correct and not result.success):
        categories.add("F")
    if stats.tool_failures or stats.tool_calls == 0 or stats.evaluations == 0:
        categories.add("T")
    return sorted(categories)


def _tokens(usage: Usage) -> TokenCounts:
    return TokenCounts(
        input=usage.input_tokens,
        output=usage.output_tokens,
        reasoning=usage.reasoning_tokens,
        cached=usage.cached_tokens,
        cache_write_5m=usage.cache_write_5m_tokens,
        cache_write_1h=usage.cache_write_1h_tokens,
    )


def _finish(result: EpisodeResult, started: float) -> EpisodeResult:
    result.wall_time_s = round(time.perf_counter() - started, 3)
    return result


def _safe_write(transcript: Transcript, event: str, **fields: Any) -> None:
    try:
        transcript.write(event, **fields)
    except Exception:  # a closed or broken transcript must not hide the original error
        pass
