"""One episode: resolve model, task and platform; run the loop; score; fill the result.

No exception escapes: a provider failure ends the episode as "provider_error", any other
failure as "harness_error", each with its message, and whatever was measured up to that
point is still reported. The caller writes result.json; this writes the episode's other
files (kernel.s, best.s, kernels/, evaluations.jsonl, transcript.jsonl, scoring.json).
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernelcraft.agent import prompts
from kernelcraft.agent.loop import PROVIDER_ERROR, LoopOutcome, run_loop
from kernelcraft.agent.messages import ProviderError, Usage
from kernelcraft.agent.scoring import ScoringReport, instance_roofline, score_kernel
from kernelcraft.agent.sim_pool import SimulationPool, active_pool, pooled_platform
from kernelcraft.agent.tools import ToolBox, ToolStats, Workspace
from kernelcraft.agent.transcript import Transcript
from kernelcraft.bench.results import EpisodeResult, EpisodeSpec, TokenCounts

HARNESS_ERROR = "harness_error"


@dataclass
class EpisodeSetup:
    """Everything resolved from the spec before the model's first turn."""

    task: Any
    platform: Any
    instance: Any
    baseline_cycles: int | None
    roofline_cycles: int | None
    iteration_cap: int
    system_prompt: str
    user_prompt: str


def run_episode(
    spec: EpisodeSpec, episode_dir: Path, sim_pool: SimulationPool | None = None
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
    toolbox: ToolBox | None = None
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
        setup = setup_episode(spec, sim_pool or active_pool())
        result.level = setup.task.level
        result.iteration_cap = setup.iteration_cap
        result.baseline_cycles = setup.baseline_cycles
        result.roofline_cycles = setup.roofline_cycles
        from kernelcraft.agent.providers import create_model

        try:
            model = create_model(spec.model, **spec.model_options)
        except ProviderError as exc:
            result.end_reason, result.error = PROVIDER_ERROR, str(exc)
            transcript.write("end", reason=PROVIDER_ERROR, iteration=0, error=str(exc))
            return _finish(result, started)
        toolbox = ToolBox(
            setup.platform,
            setup.instance,
            Workspace(episode_dir),
            baseline_cycles=setup.baseline_cycles,
            clock_ghz=clock_ghz(setup.platform),
        )
        outcome = run_loop(
            model, toolbox, setup.system_prompt, setup.user_prompt, setup.iteration_cap, transcript
        )
        result.end_reason, result.error = outcome.end_reason, outcome.error
        _record_loop(result, outcome, toolbox.stats)
        report = _score(spec, setup, toolbox, episode_dir)
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
        if outcome is not None and toolbox is not None:
            _record_loop(result, outcome, toolbox.stats)
    finally:
        transcript.close()
    if toolbox is not None:
        result.error_categories = _error_categories(toolbox.stats, result)
    return _finish(result, started)


def setup_episode(spec: EpisodeSpec, sim_pool: SimulationPool | None = None) -> EpisodeSetup:
    """Task, platform, visible instance, baseline cycles, roofline and prompts for a spec."""
    from kernelcraft.platforms.registry import get_platform
    from kernelcraft.tasks import get_task

    task = get_task(spec.task)
    platform = pooled_platform(get_platform(spec.platform), spec.platform, sim_pool)
    instance = platform.prepare(task, spec.config, spec.seed)
    baseline_cycles = baseline_cycles_for(platform, task, spec.config, instance)
    cap = spec.iteration_cap or task.iteration_cap
    tool_specs = ToolBox.tool_specs()
    system = prompts.system_prompt(spec.platform, platform.docs(), tool_specs, cap)
    user = prompts.task_prompt(
        task_prompt_inputs(task, platform, spec.platform, spec.config, instance, cap),
        example=one_shot_example(platform, spec.platform, task.id) if spec.one_shot else None,
    )
    return EpisodeSetup(
        task,
        platform,
        instance,
        baseline_cycles,
        instance_roofline(platform, instance),
        cap,
        system,
        user,
    )


def task_prompt_inputs(
    task: Any, platform: Any, platform_name: str, config: str, instance: Any, iteration_cap: int
) -> prompts.TaskPromptInputs:
    return prompts.TaskPromptInputs(
        platform=platform_name,
        task_id=task.id,
        task_name=task.name,
        level=task.level,
        config=config,
        description=task.description,
        params=task.params(platform_name, config),
        dtypes=prompts.dtypes_text(platform, platform_name, getattr(instance, "tolerance", None)),
        contract=instance.contract_text(),
        iteration_cap=iteration_cap,
    )


def one_shot_example(platform: Any, platform_name: str, task_id: str) -> tuple[str, str, str] | None:
    """(task, config, baseline kernel) of the example for the one-shot prompt, if one can be made."""
    from kernelcraft.tasks import get_task

    for example_task, example_config in prompts.one_shot_choices(platform_name, task_id):
        try:
            return example_task, example_config, platform.baseline(get_task(example_task), example_config)
        except (ValueError, NotImplementedError):  # the baseline cannot lower it: try the next one
            continue
    return None


def baseline_cycles_for(platform: Any, task: Any, config: str, instance: Any) -> int | None:
    """Cycles of the platform's baseline kernel on the visible inputs.

    None when the platform has no baseline for the task yet or the baseline is not correct:
    the episode still runs and scores, it just has no speed-up.
    """
    try:
        source = platform.baseline(task, config)
    except NotImplementedError:
        return None
    evaluation = platform.evaluate(source, instance)
    if not evaluation.correct or evaluation.cycles is None:
        return None
    return int(evaluation.cycles)


def _score(spec: EpisodeSpec, setup: EpisodeSetup, toolbox: ToolBox, episode_dir: Path) -> ScoringReport:
    stats = toolbox.stats
    if stats.best is None:
        # Success needs a kernel the agent itself saw reach 100% through run_evaluation; a
        # kernel that was written but never (or never successfully) evaluated is not scored.
        report = ScoringReport(
            kernel="none", baseline_cycles=setup.baseline_cycles, roofline_cycles=setup.roofline_cycles
        )
        report.notes.append("no kernel reached 100% on the visible seed during the episode")
    else:
        source = stats.best.source
        (episode_dir / "best.s").write_text(source, encoding="utf-8")
        report = score_kernel(
            setup.platform,
            setup.task,
            spec.config,
            spec.seed,
            source,
            kernel_label="best",
            baseline_cycles=setup.baseline_cycles,
            roofline=setup.roofline_cycles,
        )
    (episode_dir / "scoring.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return report


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
    result.success = report.success
    result.visible_correct = result.visible_correct or report.visible_correct
    if report.success:
        result.best_cycles = report.visible_cycles
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


def clock_ghz(platform: Any) -> float | None:
    config = getattr(platform, "config", None)
    return getattr(config, "clock_ghz", None)


def _finish(result: EpisodeResult, started: float) -> EpisodeResult:
    result.wall_time_s = round(time.perf_counter() - started, 3)
    return result


def _safe_write(transcript: Transcript, event: str, **fields: Any) -> None:
    try:
        transcript.write(event, **fields)
    except Exception:  # a closed or broken transcript must not hide the original error
        pass
