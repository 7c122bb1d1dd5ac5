"""The conversation every provider test replays, written once in provider-neutral types."""

from __future__ import annotations

from kernelcraft.agent.messages import Message, ToolCall, ToolResult, ToolSpec

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
GEMINI_KEY = "AIzaTest0123456789abcdefghij"

SYSTEM_PROMPT = "You write PLENA assembly kernels."
TASK_PROMPT = "Write a SiLU kernel for configuration C1."
KERNEL = "H_PREFETCH_V f1, a0, 0\n"

WRITE_CODE = ToolSpec(
    name="write_code",
    description="Replace the kernel source with the given code.",
    parameters={
        "type": "object",
        "properties": {"code": {"type": "string", "description": "assembly source"}},
        "required": ["code"],
    },
)
CHECK_SYNTAX = ToolSpec(
    name="check_syntax",
    description="Assemble the current kernel and report errors.",
    parameters={"type": "object", "properties": {}},
)
TOOLS = [WRITE_CODE, CHECK_SYNTAX]


def opening() -> list[Message]:
    return [Message(role="system", text=SYSTEM_PROMPT), Message(role="user", text=TASK_PROMPT)]


def after_tool_turn(assistant: Message, *, is_error: bool = False) -> list[Message]:
    """The opening, the model's tool-calling turn, and one result per call."""
    results = [
        ToolResult(call_id=call.id, name=call.name, content=f"{call.name} ok", is_error=is_error)
        for call in assistant.tool_calls
    ]
    return [*opening(), assistant, Message(role="tool", tool_results=results)]


def handwritten_assistant_turn() -> Message:
    """A tool-calling turn built without any provider state, as a scripted model would."""
    return Message(
        role="assistant",
        text="Writing the kernel.",
        tool_calls=[ToolCall(id="call_abc", name="write_code", arguments={"code": KERNEL})],
    )
