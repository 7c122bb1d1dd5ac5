"""KernelCraft as an inspect_ai task: `inspect eval kernelcraft/kernelcraft -T task=silu ...`.

Each sample is one cell (platform, task, configuration). The solver runs the benchmark's
episode on the session core: the same system and task prompts, the six tools with their
exact JSON schemas, one model turn per iteration up to the level's cap, ending when the
model answers without a tool call. The scorer is the benchmark's hidden-seed scoring with
poisoned memory; its value is 1 for success, and the metadata carries the speed-up, the
cycles and the reward of kernelcraft.env.

Task parameters (-T): platform (default the registry's default), task and config (a name,
a comma list, or "all"), seed, samples (episodes per cell), iteration_cap, workspace (a
folder for the episodes' files; default a temporary folder per sample).

Needs the `inspect` extra (inspect_ai).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import anyio
from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatMessageSystem, ChatMessageUser
from inspect_ai.scorer import Score, Target, mean, scorer
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import ToolDef, ToolParams

from kernelcraft.agent.messages import ToolCall, ToolSpec
from kernelcraft.agent.session import Session
from kernelcraft.env import report_reward
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.api import normalise_config
from kernelcraft.platforms.registry import DEFAULT_PLATFORM, get_platform
from kernelcraft.tasks import all_tasks

SCORING_KEY = "kernelcraft_scoring"


def cell_samples(platform: str, task_ids: str, configs: str, seed: int = 0, samples: int = 1) -> list[Sample]:
    """One sample per (task, configuration, sample) the platform runs."""
    plat = get_platform(platform)
    wanted = [t.strip() for t in task_ids.split(",") if t.strip()]
    tasks = [t.id for t in all_tasks() if plat.supports(t)] if wanted == ["all"] else wanted
    out = []
    for task_id in tasks:
        known = plat.config_names(task_id)
        if not known:
            raise ValueError(
                f"task {task_id} is not supported on {plat.name}: {plat.unsupported_reason(task_id)}"
            )
        chosen = (
            known if configs.strip().lower() == "all" else [normalise_config(c) for c in configs.split(",")]
        )
        for config in chosen:
            plat.params(task_id, config)  # a clear error for an unknown configuration
            for k in range(samples):
                out.append(
                    Sample(
                        input=f"{plat.name} {task_id} {config}",
                        id=f"{plat.name}-{task_id}-{config}-s{k}",
                        metadata={"platform": plat.name, "task": task_id, "config": config, "seed": seed + k},
                    )
                )
    return out


@task
def kernelcraft(
    platform: str = DEFAULT_PLATFORM,
    task: str = "silu",
    config: str = "C1",
    seed: int = 0,
    samples: int = 1,
    iteration_cap: int | None = None,
    workspace: str | None = None,
) -> Task:
    """KernelCraft cells as an inspect task (see the module docstring)."""
    return Task(
        dataset=MemoryDataset(cell_samples(platform, task, config, seed, samples), name="kernelcraft"),
        solver=kernelcraft_agent(iteration_cap=iteration_cap, workspace=workspace),
        scorer=kernelcraft_scorer(),
    )


@solver
def kernelcraft_agent(iteration_cap: int | None = None, workspace: str | None = None) -> Solver:
    """The benchmark's episode: prompts, six tools, one turn per iteration, hidden-seed scoring."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        meta = state.metadata
        spec = EpisodeSpec(
            model="inspect",
            platform=meta["platform"],
            task=meta["task"],
            config=meta["config"],
            seed=int(meta["seed"]),
            iteration_cap=iteration_cap,
        )
        with _workspace(workspace, str(state.sample_id)) as folder:
            session = Session(spec, folder)
            start = await anyio.to_thread.run_sync(session.reset)
            turn = {"n": 0}
            state.messages = [
                ChatMessageSystem(content=start.system_prompt),
                ChatMessageUser(content=start.task_prompt),
            ]
            state.tools = [_tool(session, tool_spec, turn) for tool_spec in start.tools]
            for iteration in range(1, start.iteration_cap + 1):
                turn["n"] = iteration
                state = await generate(state, tool_calls="single")
                if not state.output.message.tool_calls:
                    break
            report = await anyio.to_thread.run_sync(session.finish)
            state.metadata[SCORING_KEY] = {
                **report.to_dict(),
                "reward": report_reward(report),
                "iterations": turn["n"],
                "best_kernel": session.stats.best.source if session.stats.best else None,
            }
        return state

    return solve


@scorer(metrics=[mean()])
def kernelcraft_scorer():
    """1 when the best visible-correct kernel passes hidden scoring, else 0."""

    async def score(state: TaskState, target: Target) -> Score:
        result: dict[str, Any] | None = state.metadata.get(SCORING_KEY)
        if result is None:
            return Score(value=0, explanation="the episode did not finish")
        return Score(
            value=1 if result["success"] else 0,
            answer=result.get("best_kernel") or "",
            explanation="; ".join(result.get("notes", [])) or ("success" if result["success"] else "failed"),
            metadata={
                k: result.get(k)
                for k in (
                    "speedup",
                    "visible_cycles",
                    "baseline_cycles",
                    "roofline_cycles",
                    "reward",
                    "iterations",
                )
            },
        )

    return score


def _tool(session: Session, spec: ToolSpec, turn: dict[str, int]):
    async def execute(**arguments: Any) -> str:
        call = ToolCall(id=f"inspect-{turn['n']}", name=spec.name, arguments=arguments)
        result = await anyio.to_thread.run_sync(lambda: session.step(call, iteration=turn["n"]))
        return result.content

    return ToolDef(
        execute,
        name=spec.name,
        description=spec.description,
        parameters=ToolParams.model_validate(spec.parameters),
        max_output=0,  # results are already bounded by the tools
    ).as_tool()


class _workspace:
    """A given folder per sample, or a temporary one removed afterwards."""

    def __init__(self, root: str | None, sample_id: str):
        self.root, self.sample_id, self.tmp = root, sample_id, None

    def __enter__(self) -> Path:
        if self.root is not None:
            path = Path(self.root) / self.sample_id
            path.mkdir(parents=True, exist_ok=True)
            return path
        self.tmp = tempfile.TemporaryDirectory(prefix="kernelcraft-inspect-")
        return Path(self.tmp.name)

    def __exit__(self, *exc: object) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()
