"""The system prompt (four parts, as in the paper) and the task prompt.

Parts 1 and 2 (role and workflow, tool specification) are shared by every platform;
parts 3 and 4 (ISA, memory layout and hardware; guidance) come from the platform's own
docs, so a new platform gets a complete prompt without touching this module. Templates
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

# Which example kernel the one-shot prompt shows: a task of the same platform that is
# not the one being solved.
ONE_SHOT_EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    # platform: examples in order of preference; the first that is not the task itself is used
    "plena": (("sdpa", "C1"), ("gemm", "C1")),
}
PLATFORM_TITLES = {"plena": "PLENA"}
# Data types as the task prompt states them, for platforms that do not describe their own
# (a platform object may provide dtypes_text() instead).
PLATFORM_DTYPES = {
    "plena": (
        "Inputs are MXFP8 in HBM (E4M3 elements, one shared E8M0 scale per block of 8 elements); "
        "transfers to on-chip memory convert them to BF16. Everything on chip (VRAM, MRAM, FP "
        "registers, FP SRAM) is BF16; vector operations compute in FP32 and round the result to "
        "BF16; matrix products accumulate in FP32 and are rounded to BF16 when written out. The "
        "output is BF16 in VRAM."
    ),
}
# Doc keys every platform provides (platform.docs()); missing ones render as a note.
PLATFORM_DOC_KEYS = ("isa", "memory_layout", "hardware")


def load_template(name: str) -> Template:
    text = resources.files("kernelcraft.agent").joinpath("prompt_templates", f"{name}.md").read_text("utf-8")
    return Template(text)


def _render(name: str, **values: Any) -> str:
    return load_template(name).safe_substitute(**{k: str(v) for k, v in values.items()}).strip()


def platform_title(platform_name: str) -> str:
    return PLATFORM_TITLES.get(platform_name, platform_name)


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


def system_prompt(
    platform_name: str, docs: Mapping[str, str], specs: Iterable[ToolSpec], iteration_cap: int
) -> str:
    """The four parts joined: base, tools, platform content, platform guidance."""
    title = platform_title(platform_name)
    missing = "(not provided for this platform)"
    parts = [
        _render("base", platform_title=title, iteration_cap=iteration_cap),
        _render("tools", tool_list=tool_list(specs)),
        _render(
            "platform", platform_title=title, **{k: docs.get(k, missing).strip() for k in PLATFORM_DOC_KEYS}
        ),
        _render("guidance", platform_title=title, guidance=docs.get("guidance", missing).strip()),
    ]
    return "\n\n".join(parts) + "\n"


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


def task_prompt(inputs: TaskPromptInputs, example: tuple[str, str, str] | None = None) -> str:
    """The first user message; `example` = (task id, config, kernel source) for one-shot."""
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
    )
    if example is not None:
        ex_task, ex_config, ex_code = example
        text += "\n\n" + _render(
            "one_shot", example_task=ex_task, example_config=ex_config, example_code=ex_code.rstrip()
        )
    return text + "\n"


def one_shot_choices(platform_name: str, task_id: str) -> list[tuple[str, str]]:
    """(task id, config) candidates for the example kernel, best first, never the task itself."""
    return [choice for choice in ONE_SHOT_EXAMPLES.get(platform_name, ()) if choice[0] != task_id]


def dtypes_text(platform: Any, platform_name: str, tolerance: Any = None) -> str:
    """The data-type paragraph, plus the correctness criterion when the instance has one."""
    if hasattr(platform, "dtypes_text"):
        text = platform.dtypes_text()
    else:
        text = PLATFORM_DTYPES.get(platform_name, "See the I/O contract.")
    if tolerance is not None:
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
