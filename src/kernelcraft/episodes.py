"""What an episode is (EpisodeSpec: one cell of a run matrix) and what came of it (EpisodeResult,
written as result.json in the episode folder). Below both agent/ and bench/: the agent runs
specs into results, the runner schedules specs and stores results."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from kernelcraft.platforms.registry import DEFAULT_PLATFORM


class TokenCounts(BaseModel):
    """An episode's tokens. ``input`` counts every prompt token: those read from the
    provider's prompt cache (``cached``) and those written to it (``cache_write_5m``,
    ``cache_write_1h``, by the entry's lifetime) included."""

    input: int = 0
    output: int = 0
    reasoning: int = 0
    cached: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0


class EpisodeResult(BaseModel):
    """Everything metrics and reports need about one episode; nothing they must recompute."""

    schema_version: int = 1
    task_set_version: str
    model: str
    platform: str
    task: str  # task id, e.g. "silu"
    level: int  # 1, 2 or 3
    config: str  # "C1".."C5"
    sample: int = 0
    success: bool = False  # passed the visible seed AND every hidden scoring seed
    visible_correct: bool = False  # some kernel reached 100% on the visible seed
    iterations: int = 0  # model turns used
    iteration_cap: int = 0
    iterations_to_first_correct: int | None = None
    tool_calls: int = 0
    evaluations: int = 0  # run_evaluation calls
    error_categories: list[str] = Field(default_factory=list)  # subset of "S", "F", "T"
    best_cycles: int | None = None  # cycles of the best kernel that passed final scoring
    baseline_cycles: int | None = None
    speedup: float | None = None  # baseline_cycles / best_cycles, when success
    # Lower bound on cycles for this task instance from the hardware configuration
    # (HBM traffic over bandwidth, MACs over peak rate); speed-ups beyond
    # baseline_cycles / roofline_cycles are physically impossible and get flagged.
    roofline_cycles: int | None = None
    timing_profile: str | None = None  # the platform's timing profile, when it has several
    scored_kernel: str | None = None  # which visible-correct kernel final scoring scored
    cycles_consistent: bool = True  # False: cycles differed between scoring runs (flagged)
    tokens: TokenCounts = Field(default_factory=TokenCounts)
    wall_time_s: float = 0.0
    end_reason: str = ""  # "model_stopped", "iteration_cap", "provider_error", ...
    error: str | None = None  # provider or harness error message, if any
    mode: str = "kernel"  # "kernel", "template", "codesign" (see kernelcraft.modes)
    mode_metrics: dict[str, Any] = Field(default_factory=dict)  # what a non-kernel mode measured

    @classmethod
    def for_spec(cls, spec: EpisodeSpec, *, level: int, task_set_version: str, **fields) -> EpisodeResult:
        """A result naming the episode `spec` describes; `fields` fills in the outcome."""
        fields.setdefault("iteration_cap", spec.iteration_cap or 0)
        return cls(
            task_set_version=task_set_version,
            model=spec.model,
            platform=spec.platform,
            task=spec.task,
            level=level,
            config=spec.config,
            sample=spec.sample,
            mode=spec.mode,
            **fields,
        )


class EpisodeSpec(BaseModel):
    """One cell of a run matrix: what to run. Its key names the episode folder."""

    model: str  # provider spec, e.g. "scripted:oracle", "openai:gpt-5.2"
    platform: str = DEFAULT_PLATFORM
    task: str
    config: str  # "C1".."C5"
    sample: int = 0
    seed: int = 0  # visible evaluation seed (hidden scoring seeds are derived, never shown)
    iteration_cap: int | None = None  # None: the level's default (15 / 20 / 25)
    one_shot: bool = False  # add an example kernel of another task to the prompt
    # Bounds every episode has: tool calls answered per model turn (more are refused), and
    # the episode's wall-clock budget in seconds (None: unbounded). Both are stated in the prompt.
    tool_calls_per_turn: int = 16
    time_budget_s: float | None = 7200.0
    model_options: dict[str, str] = Field(default_factory=dict)  # e.g. reasoning_effort
    # "kernel" (the benchmark episode), "template" or "codesign" (kernelcraft.modes). In template
    # mode `config` names the configurations the template is scored at: "all" or "C1,C2,...".
    mode: str = "kernel"

    def key(self) -> str:
        """Stable folder name; safe on every filesystem."""
        safe_model = "".join(c if c.isalnum() or c in "-._" else "_" for c in self.model)
        safe_config = "".join(c if c.isalnum() or c in "-._" else "_" for c in self.config)
        mode = "" if self.mode == "kernel" else f"{self.mode}/"
        return f"{safe_model}/{self.platform}/{mode}{self.task}/{safe_config}/s{self.sample}"
