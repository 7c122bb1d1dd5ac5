"""Scripted models: names, determinism, and reading the task from the conversation."""

from __future__ import annotations

import pytest

from kernelcraft.agent.messages import Message
from kernelcraft.agent.providers import create_model
from kernelcraft.agent.providers.scripted import SCRIPTS, create_scripted_model, task_from_conversation
from kernelcraft.agent.tools import TOOL_SPECS

TASK_PROMPT = "# Task: SiLU\n\ntask id: silu\nconfiguration: C1\nplatform: plena\n"


def conversation() -> list[Message]:
    return [Message(role="system", text="SYS"), Message(role="user", text=TASK_PROMPT)]


def test_all_named_scripts_exist():
    kernel_mode = {"oracle", "silent", "unknown_tool", "bad_json", "looper", "cheater", "broken"}
    # The scripts of the other modes live in kernelcraft.modes.scripted.
    other_modes = {"template_improver", "template_special_case", "codesign_proposer"}
    assert set(SCRIPTS) == kernel_mode | other_modes


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError) as info:
        create_scripted_model("genius")
    message = str(info.value)
    assert "genius" in message and all(name in message for name in SCRIPTS)


def test_created_through_the_provider_spec():
    model = create_model("scripted:silent", reasoning_effort="high")
    assert model.name == "scripted:silent"
    reply = model.generate(conversation(), list(TOOL_SPECS))
    assert reply.message.text and not reply.message.tool_calls and reply.stop_reason == "stop"


def test_usage_is_deterministic_and_grows_with_the_conversation():
    model = create_scripted_model("oracle")
    first = model.generate(conversation(), list(TOOL_SPECS))
    again = model.generate(conversation(), list(TOOL_SPECS))
    assert first.usage == again.usage and first.usage.output_tokens > 1
    longer = conversation() + [first.message, Message(role="tool")]
    assert model.generate(longer, list(TOOL_SPECS)).usage.input_tokens > first.usage.input_tokens


def test_bad_json_script_sends_unparsed_arguments():
    reply = create_scripted_model("bad_json").generate(conversation(), list(TOOL_SPECS))
    (call,) = reply.message.tool_calls
    assert call.arguments is None and call.raw_arguments.startswith("{")


def test_task_is_read_from_the_first_user_message():
    ref = task_from_conversation(conversation())
    assert (ref.task, ref.config, ref.platform) == ("silu", "C1", "plena")
    with pytest.raises(ValueError):
        task_from_conversation([Message(role="user", text="write a kernel")])
