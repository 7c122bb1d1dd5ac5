"""KernelCraft as a Gymnasium environment and as plain reward functions, for RL trainers.

One environment episode is one KernelCraft episode on the session core (agent.session):
- reset() returns the task prompt as the observation; `info` holds the system prompt and
  the six tools' JSON schemas (what a chat template needs to present them).
- step(action) is one model turn. The action is a tool call {"name": ..., "arguments": {...}},
  a list of them (several calls in one turn), or the same as JSON text. Any other text
  (or {"finish": ...}) is the model's final answer and ends the episode. The observation
  is the tool results' text, each headed by the tool's name.
- The episode terminates when the model answers without a tool call, and is truncated at
  the iteration cap (the task level's, as in the benchmark). At the end the best kernel is
  scored on hidden seeds with poisoned memory, exactly as a benchmark episode.

Reward (0 on every step but the last; see `reward`): 0 when the hidden-seed scoring fails;
1 + SPEEDUP_WEIGHT * clip(log2(speed-up over the platform's baseline), -1, 2) when it
passes, so a correct kernel always earns at least 1 - SPEEDUP_WEIGHT and an 8x faster one
1 + 2 * SPEEDUP_WEIGHT. `kernel_reward` scores one kernel source directly (the shape GRPO-
style trainers want: reward(prompt, completion)).

Needs the `env` extra (gymnasium).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from kernelcraft.agent.messages import ToolCall
from kernelcraft.agent.scoring import ScoringReport, score_kernel
from kernelcraft.agent.session import Session, baseline_for
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.api import normalise_config
from kernelcraft.platforms.registry import DEFAULT_PLATFORM, get_platform
from kernelcraft.tasks import get_task

SPEEDUP_WEIGHT = 0.5
MAX_TEXT = 1_000_000  # characters of an observation or an action
# Every character of the Basic Multilingual Plane but the surrogates: what prompts and tool
# results are written in.
TEXT_CHARSET = frozenset(chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c < 0xE000) | {
    "\n",
    "\t",
    "\r",
}


def reward(success: bool, speedup: float | None) -> float:
    """The documented reward of a finished episode (see the module docstring)."""
    if not success:
        return 0.0
    if not speedup or speedup <= 0:
        return 1.0
    return 1.0 + SPEEDUP_WEIGHT * min(2.0, max(-1.0, math.log2(speedup)))


def report_reward(report: ScoringReport) -> float:
    return reward(report.success, report.speedup)


def kernel_reward(
    source: str, *, task: str, config: str, platform: str = DEFAULT_PLATFORM, seed: int = 0
) -> float:
    """Score one kernel source as final scoring would (visible seed, hidden seeds, poison) and
    return its reward; 0 for a kernel that does not build, fails or faults."""
    plat = get_platform(platform)
    task_obj = get_task(task)
    config = normalise_config(config)
    instance = plat.prepare(task_obj, config, seed, poison=True)
    baseline_source, baseline_cycles = baseline_for(plat, task_obj, config, instance)
    report = score_kernel(
        plat,
        task_obj,
        config,
        seed,
        source,
        kernel_label="completion",
        baseline_cycles=baseline_cycles,
        baseline=baseline_source,
    )
    return report_reward(report)


class KernelCraftEnv(gym.Env):
    """Text in, tool calls out; one step per model turn. See the module docstring."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        task: str = "silu",
        config: str = "C1",
        platform: str = DEFAULT_PLATFORM,
        seed: int = 0,
        iteration_cap: int | None = None,
        workspace: str | Path | None = None,
        render_mode: str | None = None,
    ):
        self.spec_base = EpisodeSpec(
            model="env", platform=platform, task=task, config=config, seed=seed, iteration_cap=iteration_cap
        )
        self._workspace_root = Path(workspace) if workspace is not None else None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.render_mode = render_mode
        self.observation_space = spaces.Text(MAX_TEXT, min_length=0, charset=TEXT_CHARSET)
        self.action_space = spaces.Text(MAX_TEXT, min_length=0, charset=TEXT_CHARSET)
        self.session: Session | None = None
        self.iteration = 0
        self.cap = 0
        self.last_observation = ""
        self._episodes = 0

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        self._episodes += 1
        spec = self.spec_base if seed is None else self.spec_base.model_copy(update={"seed": int(seed)})
        self.session = Session(spec, self._new_workspace())
        start = self.session.reset()
        self.iteration, self.cap = 0, start.iteration_cap
        self.last_observation = start.task_prompt
        info = {
            "system_prompt": start.system_prompt,
            "tools": [
                {"name": t.name, "description": t.description, "parameters": t.parameters}
                for t in start.tools
            ],
            "iteration_cap": start.iteration_cap,
            "workspace": str(self.session.workspace_root),
        }
        return start.task_prompt, info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict]:
        if self.session is None or not self.session.started:
            raise RuntimeError("call reset() before step()")
        self.iteration += 1
        calls = parse_action(action)
        if calls is None:  # a final answer: the episode ends
            return self._end("", terminated=True)
        parts = []
        for i, call in enumerate(calls, 1):
            tool_call = ToolCall(
                id=f"env-{self.iteration}-{i}",
                name=str(call.get("name", "")),
                arguments=call.get("arguments") if isinstance(call.get("arguments", {}), dict) else None,
                raw_arguments=json.dumps(call.get("arguments", {}), default=str),
            )
            result = self.session.step(tool_call, iteration=self.iteration)
            parts.append(f"[{result.name}{' error' if result.is_error else ''}]\n{result.content}")
        observation = "\n\n".join(parts)
        if self.iteration >= self.cap:
            return self._end(observation, terminated=False)
        self.last_observation = observation
        return observation, 0.0, False, False, {"iteration": self.iteration}

    def render(self) -> str | None:
        return self.last_observation if self.render_mode == "ansi" else None

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # ------------------------------------------------------------------ internals
    def _end(self, observation: str, terminated: bool) -> tuple[str, float, bool, bool, dict]:
        report = self.session.finish()
        self.last_observation = observation
        info = {
            "iteration": self.iteration,
            "success": report.success,
            "speedup": report.speedup,
            "visible_correct": report.visible_correct,
            "scoring": report.to_dict(),
        }
        return observation, report_reward(report), terminated, not terminated, info

    def _new_workspace(self) -> Path:
        if self._workspace_root is not None:
            path = self._workspace_root / f"episode-{self._episodes:04d}"
            path.mkdir(parents=True, exist_ok=True)
            return path
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="kernelcraft-env-")
        path = Path(self._tmp.name) / f"episode-{self._episodes:04d}"
        path.mkdir()
        return path


def parse_action(action: Any) -> list[dict] | None:
    """Tool calls from an action, or None for a final answer (text that is not a tool call)."""
    if isinstance(action, str):
        try:
            action = json.loads(action)
        except (json.JSONDecodeError, RecursionError):
            return None
    if isinstance(action, dict):
        if "finish" in action or "name" not in action:
            return None
        return [action]
    if isinstance(action, list) and action and all(isinstance(a, dict) and "name" in a for a in action):
        return list(action)
    return None


gym.register(id="KernelCraft-v0", entry_point=KernelCraftEnv, disable_env_checker=True)
