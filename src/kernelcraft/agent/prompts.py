"""The system prompt (four parts, as in the paper) and the task prompt.

Parts 1 and 2 (role and workflow, tool specification) are shared by every platform;
parts 3 and 4 (ISA, memory layout and hardware; guidance) come from the platform's own
docs, and every platform fact (title, kernel language, file name, data types) comes from
the Platform API, so a new platform gets a complete prompt without touching this module. Templates
live in prompt_templates/ as Markdown so they can be read and reviewed as prose.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from kernelcraft.agent.messages import ToolSpec
from kernelcraft.platforms.api import Platform
from kernelcraft.platforms.judging import Tolerance

# Doc keys every platform provides (platform.docs()); missing ones render as a note.
PLATFORM_DOC_KEYS = ("isa", "memory_layout", "hardware")


def load_template(name: str) -> Template:
    text = resources.files("kernelcraft.agent").joinpath("prompt_templates", f"{name}.md").read_text("utf-8")
    return Template(text)


def _render(name: str, **values: Any) -> str:
    return load_template(name).safe_substitute(**{k: str(v) for k, v in values.items()}).strip()


def tool_list(specs: Iterable[ToolSpec]) -> str:
    """Part 2: each tool's name, purpose and arguments, exactly as the schemas say."""
    blocks = []
    for spec in specs:
        properties: Mapping[str, Any] = spec.parameters.get("properties", {})
        required = set(spec.parameters.get("required", []))
        if properties:
            args = "\n".join(
                f"  - `{name}` ({prop.get('type', 'any')}{', required' if name in required else ''}): "
                f"{prop.get('description', '')}"
                for name, prop in properties.items()
            )
        else:
            args = "  - no arguments"
        blocks.append(f"- `{spec.name}`: {spec.description}\n{args}")
    return "\n".join(blocks)


def system_prompt(platform: Platform, specs: Iterable[ToolSpec]) -> str:
    """The four parts joined: base, tools, platform content, platform guidance.

    Nothing here depends on the task or its level (the budget is in the task prompt), so every
    episode on a platform sends the same system prompt: one cacheable prefix.
    """
    title = platform.title
    parts = [
        _render("base", platform_title=title, kernel_language=platform.kernel_language),
        _render("tools", tool_list=tool_list(specs), kernel_file=f"kernel{platform.kernel_suffix}"),
        platform_section(platform),
        guidance_section(platform),
    ]
    return "\n\n".join(parts) + "\n"


def platform_section(platform: Platform) -> str:
    """Part 3: the platform's ISA, memory layout and hardware docs (every mode shows the same)."""
    docs: Mapping[str, str] = platform.docs()
    missing = "(not provided for this platform)"
    return _render(
        "platform",
        platform_title=platform.title,
        platform_kind=platform.kind,
        **{k: docs.get(k, missing).strip() for k in PLATFORM_DOC_KEYS},
    )


def guidance_section(platform: Platform) -> str:
    """Part 4: the platform's guidance."""
    guidance = platform.docs().get("guidance", "(not provided for this platform)")
    return _render("guidance", platform_title=platform.title, guidance=guidance.strip())


@dataclass(frozen=True)
class TaskPromptInputs:
    """What the task prompt states; gathered by the caller from the task and the prepared instance."""

    platform: str
    task_id: str
    task_name: str
    level: int
    config: str
    description: str
    params: Mapping[str, Any]
    dtypes: str
    contract: str
    iteration_cap: int
    tool_calls_per_turn: int | None = None
    time_budget_s: float | None = None


@dataclass(frozen=True)
class OneShotExample:
    """A correct kernel of another task, shown in the one-shot prompt."""

    task: str
    config: str
    code: str
    code_fence: str = "asm"


def task_prompt(inputs: TaskPromptInputs, example: OneShotExample | None = None) -> str:
    """The first user message, with an example kernel of another task for one-shot."""
    params = "\n".join(f"- {k} = {_value(v)}" for k, v in inputs.params.items()) or "- (none)"
    text = _render(
        "task",
        task_name=inputs.task_name,
        task_id=inputs.task_id,
        config=inputs.config,
        platform=inputs.platform,
        level=inputs.level,
        description=inputs.description.strip(),
        params=params,
        dtypes=inputs.dtypes.strip(),
        contract=inputs.contract.strip(),
        iteration_cap=inputs.iteration_cap,
        limits=_limits_text(inputs),
    )
    if example is not None:
        text += "\n\n" + _render(
            "one_shot",
            example_task=example.task,
            example_config=example.config,
            example_code=example.code.rstrip(),
            code_fence=example.code_fence,
        )
    return text + "\n"


def _limits_text(inputs: TaskPromptInputs) -> str:
    parts = []
    if inputs.tool_calls_per_turn:
        parts.append(f"At most {inputs.tool_calls_per_turn} tool calls are answered per turn.")
    if inputs.time_budget_s:
        parts.append(f"The session ends after {inputs.time_budget_s / 60:g} minutes of wall-clock time.")
    return "".join(part + " " for part in parts)


def dtypes_text(platform: Platform, tolerance: Tolerance | None = None) -> str:
    """The data-type paragraph, plus the correctness criterion when the instance has one."""
    text = platform.dtypes_text()
    if tolerance is not None and tolerance.exact:
        text += "\n\nCorrectness: every output element must equal the reference exactly."
    elif tolerance is not None:
        text += (
            "\n\nCorrectness: every output element y must satisfy |y - ref| <= "
            f"{tolerance.atol:g} + {tolerance.rtol:g} * |ref|, where ref is computed in float64 from the "
            "quantised inputs."
        )
    return text


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value)
    return str(value)
