"""Deterministic models that play fixed scripts of tool calls through the Model protocol.

They exercise the loop, the tools, scoring and the run machinery end to end without a
network or an API key, and each one stands for a behaviour a real model shows: solving
the task, never calling a tool, calling tools wrongly, looping, cheating, giving up.
They read the task from the conversation (the task prompt names task, configuration and
platform) and may use harness internals, e.g. to fetch the platform's baseline kernel.
Token usage is derived from text lengths, so transcripts are reproducible.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernelcraft.agent.messages import Message, ModelResponse, ToolCall, ToolSpec, Usage

_FIELD = re.compile(r"^(task id|configuration|platform):\s*(\S+)\s*$", re.MULTILINE)
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class TaskRef:
    task: str
    config: str
    platform: str


def task_from_conversation(messages: list[Message]) -> TaskRef:
    """The task the first user message states (lines 'task id: ...', 'configuration: ...')."""
    text = next((m.text for m in messages if m.role == "user"), "")
    fields = {key: value for key, value in _FIELD.findall(text)}
    if "task id" not in fields or "configuration" not in fields:
        raise ValueError("the task prompt does not name a task id and configuration")
    if "platform" not in fields:
        raise ValueError("the task prompt does not name a platform")
    return TaskRef(fields["task id"], fields["configuration"], fields["platform"])


def platform_kernel(ref: TaskRef, kind: str) -> str:
    """A kernel of the stated platform for the stated task: "oracle" (its compiler baseline),
    "cheater", "broken_syntax" or "broken_wrong" (see Platform.scripted_kernel)."""
    from kernelcraft.platforms.registry import get_platform

    return get_platform(ref.platform).scripted_kernel(kind, ref.task, ref.config)


def baseline_kernel(ref: TaskRef) -> str:
    """The platform's compiler baseline for the task: the oracle's answer."""
    return platform_kernel(ref, "oracle")


# A step is what the model does on one turn: a list of (tool name, arguments) calls, or a
# final text. Arguments may be a callable of the task (for code that depends on it) or a
# raw string standing for invalid JSON.
Call = tuple[str, Any]
Step = list[Call] | str
Script = Callable[[TaskRef, int, list[Message]], Step]


def _oracle(ref: TaskRef, turn: int, messages: list[Message]) -> Step:
    if turn == 1:
        return [("write_code", {"code": baseline_kernel(ref)})]
    if turn == 2:
        return [("check_syntax", {}), ("run_evaluation", {})]
    return "The baseline-style kernel is correct; done."


def _silent(ref: TaskRef, turn: int, messages: list[Message]) -> Step:
    return "I would write a kernel that tiles the input into vector rows and applies the operator."


def _unknown_tool(ref: TaskRef, turn: int, messages: list[Message]) -> Step:
    if turn == 1:
        return [("compile_and_run", {"source": "nop"})]
    return "That tool is not available; stopping."


def _bad_json(ref: TaskRef, turn: int, messages: list[Message]) -> Step:
    if turn == 1:
        return [("write_code", '{"code": "nop\\n')]  # unterminated JSON
    return "My tool call was malformed; stopping."


def _looper(ref: TaskRef, turn: int, messages: list[Message]) -> Step:
    if turn == 1:
        return [("write_code", {"code": baseline_kernel(ref)})]
    return [("check_syntax", {})]


def _cheater(ref: TaskRef, turn: int, messages: list[Message]) -> Step:
    if turn == 1:
        return [("write_code", {"code": platform_kernel(ref, "cheater")}), ("run_evaluation", {})]
    return "The kernel passes; done."


def _broken(ref: TaskRef, turn: int, messages: list[Message]) -> Step:
    if turn == 1:
        return [("write_code", {"code": platform_kernel(ref, "broken_syntax")}), ("check_syntax", {})]
    if turn == 2:
        return [
            ("write_code", {"code": platform_kernel(ref, "broken_wrong")}),
            ("run_evaluation", {}),
            ("view_output", {}),
        ]
    return "I cannot get this kernel right; giving up."


def _mode_script(name: str) -> Script:
    """A script of a non-kernel mode; those live with the modes (kernelcraft.modes.scripted)."""

    def play(ref: TaskRef, turn: int, messages: list[Message]) -> Step:
        from kernelcraft.modes.scripted import SCRIPTS as MODE_SCRIPTS

        return MODE_SCRIPTS[name](ref, turn, messages)

    return play


SCRIPTS: dict[str, Script] = {
    "oracle": _oracle,
    "silent": _silent,
    "unknown_tool": _unknown_tool,
    "bad_json": _bad_json,
    "looper": _looper,
    "cheater": _cheater,
    "broken": _broken,
    "template_improver": _mode_script("template_improver"),
    "template_special_case": _mode_script("template_special_case"),
    "codesign_proposer": _mode_script("codesign_proposer"),
}


class ScriptedModel:
    """Plays one script; counts its own turns from the conversation so it is stateless."""

    def __init__(self, script_name: str, script: Script):
        self.name = f"scripted:{script_name}"
        self._script = script

    def generate(self, messages: list[Message], tools: list[ToolSpec]) -> ModelResponse:
        turn = sum(1 for m in messages if m.role == "assistant") + 1
        step = self._script(task_from_conversation(messages), turn, messages)
        if isinstance(step, str):
            reply = Message(role="assistant", text=step)
        else:
            calls = [_tool_call(turn, i, name, args) for i, (name, args) in enumerate(step, 1)]
            reply = Message(role="assistant", text="", tool_calls=calls)
        return ModelResponse(
            message=reply,
            usage=_usage(messages, reply),
            stop_reason="tool_use" if reply.tool_calls else "stop",
        )


def _tool_call(turn: int, index: int, name: str, args: Any) -> ToolCall:
    call_id = f"call_{turn}_{index}"
    if isinstance(args, str):  # invalid JSON, kept raw as a provider would
        return ToolCall(id=call_id, name=name, arguments=None, raw_arguments=args)
    return ToolCall(id=call_id, name=name, arguments=args, raw_arguments=json.dumps(args))


def _message_chars(message: Message) -> int:
    chars = len(message.text)
    chars += sum(len(c.name) + len(c.raw_arguments) for c in message.tool_calls)
    chars += sum(len(r.content) for r in message.tool_results)
    return chars


def _usage(messages: list[Message], reply: Message) -> Usage:
    prompt_chars = sum(_message_chars(m) for m in messages)
    return Usage(
        input_tokens=prompt_chars // CHARS_PER_TOKEN + 1,
        output_tokens=_message_chars(reply) // CHARS_PER_TOKEN + 1,
    )


def create_scripted_model(name: str, **options: Any) -> ScriptedModel:
    """The scripted model called `name`; options are accepted and ignored (they tune real models)."""
    script = SCRIPTS.get(name)
    if script is None:
        raise ValueError(f"unknown scripted model {name!r}; choose one of: {', '.join(SCRIPTS)}")
    return ScriptedModel(name, script)
