"""The Anthropic adapter, driven through the official SDK against a local Messages API server."""

from __future__ import annotations

from typing import Any

import pytest

from kernelcraft.agent.messages import ProviderError
from kernelcraft.agent.providers import create_model

from .fake_servers import FakeServer, Reply, anthropic_error, anthropic_message
from .sample_conversation import (
    ANTHROPIC_KEY,
    KERNEL,
    SYSTEM_PROMPT,
    TASK_PROMPT,
    TOOLS,
    after_tool_turn,
    handwritten_assistant_turn,
    opening,
)

pytestmark = pytest.mark.usefixtures("provider_keys")

THINKING = {"type": "thinking", "thinking": "SiLU is x * sigmoid(x).", "signature": "EqQBCkYIBxgCKkD0c2ln=="}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"}
WRITE_CALL = {"type": "tool_use", "id": "toolu_01", "name": "write_code", "input": {"code": KERNEL}}
EPHEMERAL = {"type": "ephemeral"}


def make_model(server: FakeServer, **options: Any) -> Any:
    options.setdefault("retry_base_s", 0.01)
    return create_model("anthropic:claude-test", base_url=server.url, **options)


def test_tool_call_round_trip_with_thinking(server: FakeServer) -> None:
    server.enqueue(
        anthropic_message(
            [THINKING, {"type": "text", "text": "Writing it."}, WRITE_CALL],
            stop_reason="tool_use",
            input_tokens=300,
            output_tokens=90,
            cache_read_input_tokens=256,
        )
    )
    response = make_model(server, thinking_budget="4096").generate(opening(), TOOLS)

    request = server.requests[0]
    assert request.path == "/v1/messages"
    # SDK versions differ in where the key goes (x-api-key or a bearer token); either must carry it.
    sent_keys = (
        request.headers.get("x-api-key"),
        request.headers.get("authorization", "").removeprefix("Bearer "),
    )
    assert ANTHROPIC_KEY in sent_keys
    assert request.body["model"] == "claude-test"
    # caching is on by default: the system prompt travels as a marked block (see test_providers_caching)
    assert request.body["system"] == [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": EPHEMERAL}]
    assert request.body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": TASK_PROMPT, "cache_control": EPHEMERAL}]}
    ]
    assert request.body["tools"][0] == {
        "name": "write_code",
        "description": TOOLS[0].description,
        "input_schema": TOOLS[0].parameters,
    }
    assert request.body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert request.body["max_tokens"] > 4096

    message = response.message
    assert message.text == "Writing it."
    assert [(c.id, c.name, c.arguments) for c in message.tool_calls] == [
        ("toolu_01", "write_code", {"code": KERNEL})
    ]
    # cached prompt tokens are part of input, as for the other providers
    assert response.usage.input_tokens == 300 + 256 and response.usage.output_tokens == 90
    assert response.usage.cached_tokens == 256
    assert response.stop_reason == "tool_use"


def test_thinking_blocks_and_tool_results_go_back_in_wire_shape(server: FakeServer) -> None:
    server.enqueue(
        anthropic_message([THINKING, REDACTED, WRITE_CALL], stop_reason="tool_use"),
        anthropic_message([{"type": "text", "text": "Kernel written."}]),
    )
    model = make_model(server, thinking_budget=2048, max_tokens=8192)
    first = model.generate(opening(), TOOLS)
    history = after_tool_turn(first.message, is_error=True)
    second = model.generate(history, TOOLS)

    messages = server.requests[1].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [THINKING, REDACTED, WRITE_CALL]  # signatures intact, thinking first
    assert messages[2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "toolu_01",
            "content": "write_code ok",
            "is_error": True,
            "cache_control": EPHEMERAL,
        }
    ]
    assert server.requests[1].body["max_tokens"] == 8192
    assert second.message.text == "Kernel written." and second.stop_reason == "end_turn"
    assert second.message.provider_state is None


def test_handwritten_history_and_a_follow_up_user_turn_stay_alternating(server: FakeServer) -> None:
    from kernelcraft.agent.messages import Message

    server.enqueue(anthropic_message([{"type": "text", "text": "ok"}]))
    history = [
        *after_tool_turn(handwritten_assistant_turn()),
        Message(role="user", text="3 iterations left."),
    ]
    make_model(server).generate(history, TOOLS)
    messages = server.requests[0].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == [
        {"type": "text", "text": "Writing the kernel."},
        {"type": "tool_use", "id": "call_abc", "name": "write_code", "input": {"code": KERNEL}},
    ]
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_abc", "content": "write_code ok"},
        {"type": "text", "text": "3 iterations left.", "cache_control": EPHEMERAL},
    ]
    assert "thinking" not in server.requests[0].body


@pytest.mark.parametrize("status", [429, 500, 529])
def test_transient_error_then_success(server: FakeServer, status: int) -> None:
    server.enqueue(anthropic_error(status, "busy"), anthropic_message([{"type": "text", "text": "back"}]))
    response = make_model(server).generate(opening(), TOOLS)
    assert response.message.text == "back"
    assert len(server.requests) == 2


def test_timeout_is_retried_then_reported(server: FakeServer) -> None:
    server.enqueue(Reply(delay_s=2.0), Reply(delay_s=2.0))
    with pytest.raises(ProviderError) as info:
        make_model(server, timeout_s=0.2, max_retries=1).generate(opening(), TOOLS)
    assert str(info.value).startswith("anthropic: request timed out")
    assert "after 2 attempts" in str(info.value) and info.value.retryable
    assert len(server.requests) == 2


def test_unauthorized_fails_at_once_without_leaking_the_key(server: FakeServer) -> None:
    server.enqueue(anthropic_error(401, f"invalid x-api-key {ANTHROPIC_KEY}"), anthropic_message([]))
    with pytest.raises(ProviderError) as info:
        make_model(server).generate(opening(), TOOLS)
    assert len(server.requests) == 1
    assert info.value.status == 401 and not info.value.retryable
    assert ANTHROPIC_KEY not in str(info.value)
    assert str(info.value).startswith("anthropic: HTTP 401: invalid x-api-key")


def test_bad_request_is_not_retried(server: FakeServer) -> None:
    server.enqueue(
        anthropic_error(400, "messages: text content blocks must be non-empty"), anthropic_message([])
    )
    with pytest.raises(ProviderError, match="^anthropic: HTTP 400: messages: text content blocks"):
        make_model(server).generate(opening(), TOOLS)
    assert len(server.requests) == 1


def test_malformed_tool_input_becomes_a_call_without_arguments(server: FakeServer) -> None:
    bad = {"type": "tool_use", "id": "toolu_bad", "name": "write_code", "input": '{"code": "unterminated'}
    server.enqueue(
        anthropic_message([bad], stop_reason="tool_use"), anthropic_message([{"type": "text", "text": "ok"}])
    )
    model = make_model(server)
    first = model.generate(opening(), TOOLS)
    call = first.message.tool_calls[0]
    assert call.id == "toolu_bad" and call.arguments is None
    assert call.raw_arguments == '{"code": "unterminated'
    model.generate(after_tool_turn(first.message, is_error=True), TOOLS)
    echoed = server.requests[1].body["messages"][1]["content"][0]
    assert echoed["type"] == "tool_use" and echoed["input"] == {}  # the API only takes objects


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"thinking_budget": 512}, "at least 1024"),
        ({"thinking_budget": 4096, "max_tokens": 4096}, "must exceed thinking_budget"),
        ({"thinking_budget": 2048, "temperature": 0.5}, "temperature"),
    ],
)
def test_inconsistent_thinking_options_are_rejected(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        create_model("anthropic:claude-test", **options)
