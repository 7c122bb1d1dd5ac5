"""The session core: one task instance behind the six tools, with reset / step / finish.

Everything that serves an agent is a thin shell around a Session: the native tool-calling
loop (agent.loop), the MCP server, the Gymnasium environment and the inspect_ai adapter.

- reset() resolves the spec (task, platform, visible instance, baseline cycles, roofline)
  and returns what the agent starts from: the system prompt, the task prompt and the tools.
- step(call) serves one tool call and returns its result (never raises).
- finish() scores the episode's visible-correct kernels, fastest first, on hidden seeds with
  poisoned memory, and writes best<suffix> and scoring.json into the workspace.

Every episode is bounded here, whoever drives it: at most spec.tool_calls_per_turn calls
are answered per model turn (the rest are refused with an error result), and once
spec.time_budget_s has passed no tool runs and the loop ends the episode ("time_budget").
Simulations get no more wall time than the budget has left.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernelcraft.agent import prompts
from kernelcraft.agent.messages import ToolCall, ToolResult, ToolSpec
from kernelcraft.agent.scoring import ScoringReport, score_candidates
from kernelcraft.agent.tools import ToolBox, ToolStats, Workspace
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.api import Instance, Platform, PlatformError, normalise_config
from kernelcraft.platforms.base import RunLimits
from kernelcraft.tasks import Task


@dataclass
class EpisodeSetup:
    """Everything resolved from the spec before the model's first turn."""

    task: Task
    platform: Platform
    instance: Instance
    config: str  # the configuration name as the platform spells it
    baseline_source: str | None
    baseline_cycles: int | None
    roofline_cycles: int | None
    iteration_cap: int
    system_prompt: str
    user_prompt: str


@dataclass(frozen=True)
class SessionStart:
    """What the agent starts from."""

    system_prompt: str
    task_prompt: str
    tools: list[ToolSpec]
    iteration_cap: int


class Session:
    """One episode's task instance, tools and scoring, independent of who drives it."""

    def __init__(
        self,
        spec: EpisodeSpec,
        workspace: Path,
        *,
        sim_pool: Any = None,
        scoring_secret: str | None = None,
    ):
        self.spec = spec
        self.workspace_root = Path(workspace)
        self.sim_pool = sim_pool
        self.scoring_secret = scoring_secret
        self.setup: EpisodeSetup | None = None
        self.toolbox: ToolBox | None = None
        self.report: ScoringReport | None = None
        self.mode: Any = None  # a kernelcraft.modes.Mode when spec.mode is not "kernel"
        self.deadline: float | None = None
        self._turn: int | None = None
        self._calls_this_turn = 0

    @classmethod
    def around(cls, toolbox: ToolBox, spec: EpisodeSpec | None = None) -> Session:
        """A session over tools built elsewhere (tests, custom harnesses): step() works at once;
        finish() needs a reset session."""
        session = cls(spec or EpisodeSpec(model="custom", task="custom", config="C1"), toolbox.workspace.root)
        session.toolbox = toolbox
        return session

    # ------------------------------------------------------------------ the three calls
    def reset(self) -> SessionStart:
        """Resolve the spec and prepare the tools; raises ValueError-like errors for a bad spec."""
        if self.spec.mode != "kernel":
            return self._reset_mode()
        self.setup = setup_episode(self.spec, self.sim_pool)
        platform = self.setup.platform
        self.toolbox = ToolBox(
            platform,
            self.setup.instance,
            Workspace(self.workspace_root, platform.kernel_suffix),
            baseline_cycles=self.setup.baseline_cycles,
            clock_ghz=platform.clock_ghz,
        )
        self.report = None
        budget = self.spec.time_budget_s
        self.deadline = time.monotonic() + budget if budget else None
        return SessionStart(
            self.setup.system_prompt, self.setup.user_prompt, self.toolbox.specs, self.setup.iteration_cap
        )

    def step(self, call: ToolCall, iteration: int = 0) -> ToolResult:
        """Serve one tool call; every failure is an error result the model can read."""
        toolbox = self._tools()
        if iteration != self._turn:
            self._turn, self._calls_this_turn = iteration, 0
        self._calls_this_turn += 1
        cap = self.spec.tool_calls_per_turn
        if self._calls_this_turn > cap:
            return toolbox.refuse(call, f"not run: at most {cap} tool calls are answered per turn")
        if self.out_of_time:
            return toolbox.refuse(
                call, f"not run: the episode's time budget ({self.spec.time_budget_s:g} s) is used up"
            )
        toolbox.limits = self._run_limits()
        return toolbox.call(call, iteration)

    @property
    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def _run_limits(self) -> RunLimits:
        """The simulator's limits, with no more wall time than the episode has left."""
        default = self._tools().platform.run_limits()
        if self.deadline is None:
            return default
        left = max(1.0, self.deadline - time.monotonic())
        return RunLimits(
            max_instructions=default.max_instructions, wall_time_s=min(default.wall_time_s, left)
        )

    def run_tool(self, name: str, arguments: dict[str, Any] | None = None, iteration: int = 0) -> ToolResult:
        """step() for callers without a model-issued call (CLI, tests)."""
        return self._tools().run(name, arguments, iteration)

    def finish(self) -> ScoringReport:
        """Score the best visible-correct kernel on hidden seeds; idempotent."""
        if self.report is not None:
            return self.report
        if self.mode is not None:
            return self._finish_mode()
        setup, toolbox = self._setup(), self._tools()
        candidates = toolbox.stats.candidates()
        if not candidates:
            # Success needs a kernel the agent itself saw reach 100% through run_evaluation; a
            # kernel that was written but never (or never successfully) evaluated is not scored.
            report = ScoringReport(
                kernel="none", baseline_cycles=setup.baseline_cycles, roofline_cycles=setup.roofline_cycles
            )
            report.notes.append("no kernel reached 100% on the visible seed during the episode")
        else:
            report = score_candidates(
                setup.platform,
                setup.task,
                setup.config,
                self.spec.seed,
                [(f"evaluation {k.evaluation}", k.source) for k in candidates],
                baseline_cycles=setup.baseline_cycles,
                roofline=setup.roofline_cycles,
                secret=self.scoring_secret,
                baseline=setup.baseline_source,
            )
            scored = next(
                (k for k in candidates if f"evaluation {k.evaluation}" == report.kernel), candidates[0]
            )
            toolbox.workspace.write_best(scored.source)
        path = self.workspace_root / "scoring.json"
        path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        self.report = report
        return report

    # ------------------------------------------------------------------ other modes
    def _reset_mode(self) -> SessionStart:
        from kernelcraft.modes import get_mode

        self.mode = get_mode(self.spec.mode)
        started = self.mode.start(self.spec, self.workspace_root, self.sim_pool)
        self.setup, self.toolbox, self.report = started.setup, started.toolbox, None
        budget = self.spec.time_budget_s
        self.deadline = time.monotonic() + budget if budget else None
        return SessionStart(
            self.setup.system_prompt, self.setup.user_prompt, self.toolbox.specs, self.setup.iteration_cap
        )

    def _finish_mode(self) -> ScoringReport:
        report = self.mode.finish(self)
        path = self.workspace_root / "scoring.json"
        path.write_text(json.dumps(report.to_dict(), indent=2, default=str) + "\n", encoding="utf-8")
        self.report = report
        return report

    # ------------------------------------------------------------------ state
    @property
    def stats(self) -> ToolStats:
        return self._tools().stats

    @property
    def started(self) -> bool:
        return self.toolbox is not None

    def _tools(self) -> ToolBox:
        if self.toolbox is None:
            raise RuntimeError("the session has not been reset")
        return self.toolbox

    def _setup(self) -> EpisodeSetup:
        if self.setup is None:
            raise RuntimeError("the session has not been reset")
        return self.setup


# ---------------------------------------------------------------------------- set-up


def setup_episode(spec: EpisodeSpec, sim_pool: Any = None) -> EpisodeSetup:
    """Task, platform, visible instance, baseline cycles, roofline and prompts for a spec."""
    from kernelcraft.agent.sim_pool import pooled_platform
    from kernelcraft.platforms.registry import get_platform
    from kernelcraft.tasks import get_task

    task = get_task(spec.task)
    platform = get_platform(spec.platform)
    reason = platform.unsupported_reason(task)
    if reason is not None:
        raise PlatformError(f"task {task.id} is not supported on {platform.name}: {reason}")
    config = normalise_config(spec.config)
    platform = pooled_platform(platform, sim_pool)
    # The agent's own evaluations poison memory exactly as final scoring does: a kernel that
    # reads memory it never wrote must not look correct to the agent.
    instance = platform.prepare(task, config, spec.seed, poison=True)
    baseline_source, baseline_cycles = baseline_for(platform, task, config, instance)
    cap = spec.iteration_cap or task.iteration_cap
    system = prompts.system_prompt(platform, ToolBox.tool_specs())
    user = prompts.task_prompt(
        task_prompt_inputs(task, platform, config, instance, cap, spec),
        example=one_shot_example(platform, task.id) if spec.one_shot else None,
    )
    return EpisodeSetup(
        task,
        platform,
        instance,
        config,
        baseline_source,
        baseline_cycles,
        platform.roofline(instance),
        cap,
        system,
        user,
    )


def task_prompt_inputs(
    task: Task,
    platform: Platform,
    config: str,
    instance: Instance,
    iteration_cap: int,
    spec: EpisodeSpec | None = None,
) -> prompts.TaskPromptInputs:
    return prompts.TaskPromptInputs(
        platform=platform.name,
        task_id=task.id,
        task_name=task.name,
        level=task.level,
        config=config,
        description=task.description,
        params=dict(instance.params),
        dtypes=prompts.dtypes_text(platform, instance.tolerance),
        contract=instance.contract_text(),
        iteration_cap=iteration_cap,
        tool_calls_per_turn=spec.tool_calls_per_turn if spec else None,
        time_budget_s=spec.time_budget_s if spec else None,
    )


def one_shot_example(platform: Platform, task_id: str) -> prompts.OneShotExample | None:
    """The example kernel for the one-shot prompt: the baseline of another task, if one can be made."""
    for example_task, example_config in platform.one_shot_examples:
        if example_task == task_id:
            continue
        try:
            code = platform.baseline(example_task, example_config)
        except (ValueError, NotImplementedError):  # the baseline cannot lower it: try the next one
            continue
        return prompts.OneShotExample(example_task, example_config, code, platform.code_fence)
    return None


def baseline_for(
    platform: Platform, task: Task, config: str, instance: Instance
) -> tuple[str | None, int | None]:
    """The platform's baseline kernel and its cycles on the visible inputs.

    (None, None) when the platform has no baseline for the task yet or the baseline is not
    correct: the episode still runs and scores, it just has no speed-up.
    """
    try:
        source = platform.baseline(task, config)
    except NotImplementedError:
        return None, None
    evaluation = platform.evaluate(source, instance)
    if not evaluation.correct or evaluation.cycles is None:
        return None, None
    return source, int(evaluation.cycles)
