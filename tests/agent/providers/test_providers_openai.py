"""The OpenAI adapter, driven through the official SDK against a local Chat Completions server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kernelcraft.agent.messages import ProviderError
from kernelcraft.agent.providers import create_model
from kernelcraft.agent.providers.openai import OpenAIModel
from kernelcraft.agent.providers.retry import RetryPolicy
from kernelcraft.agent.providers.settings import ProviderSettings

from .fake_servers import FakeServer, Reply, openai_completion, openai_error
from .sample_conversation import (
    KERNEL,
    OPENAI_KEY,
    SYSTEM_PROMPT,
    TASK_PROMPT,
    TOOLS,
    after_tool_turn,
    handwritten_assistant_turn,
    opening,
)

pytestmark = pytest.mark.usefixtures("provider_keys")


def make_model(server: FakeServer, **options: Any) -> Any:
    options.setdefault("retry_base_s", 0.01)
    return create_model("openai:gpt-test", base_url=f"{server.url}/v1", **options)


def write_code_call(call_id: str = "call_1") -> tuple[str, str, str]:
    return (call_id, "write_code", json.dumps({"code": KERNEL}))


def test_tool_call_round_trip(server: FakeServer) -> None:
    server.enqueue(
        openai_completion(
            content="Let me write it.",
            tool_calls=[write_code_call(), ("call_2", "check_syntax", "{}")],
            finish_reason="tool_calls",
            prompt_tokens=120,
            completion_tokens=40,
            reasoning_tokens=25,
            cached_tokens=64,
        )
    )
    response = make_model(server).generate(opening(), TOOLS)

    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.body["model"] == "gpt-test"
    assert request.body["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": TASK_PROMPT},
    ]
    assert request.body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "write_code",
            "description": TOOLS[0].description,
            "parameters": TOOLS[0].parameters,
        },
    }
    assert "reasoning_effort" not in request.body and "max_completion_tokens" not in request.body

    message = response.message
    assert message.role == "assistant" and message.text == "Let me write it."
    assert [(c.id, c.name, c.arguments) for c in message.tool_calls] == [
        ("call_1", "write_code", {"code": KERNEL}),
        ("call_2", "check_syntax", {}),
    ]
    assert response.usage.input_tokens == 120 and response.usage.output_tokens == 40
    assert response.usage.reasoning_tokens == 25 and response.usage.cached_tokens == 64
    assert response.stop_reason == "tool_calls"
    assert response.duration_s > 0


def test_multi_turn_sends_previous_call_and_results_in_wire_shape(server: FakeServer) -> None:
    server.enqueue(openai_completion(tool_calls=[write_code_call()], finish_reason="tool_calls"))
    server.enqueue(openai_completion(content="Done."))
    model = make_model(server)
    first = model.generate(opening(), TOOLS)
    second = model.generate(after_tool_turn(first.message, is_error=True), TOOLS)

    messages = server.requests[1].body["messages"]
    assert messages[2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "write_code", "arguments": json.dumps({"code": KERNEL})},
            }
        ],
    }
    assert messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "Error: write_code ok"}
    assert second.message.text == "Done." and second.message.tool_calls == []
    assert second.stop_reason == "stop"


def test_handwritten_history_is_accepted(server: FakeServer) -> None:
    server.enqueue(openai_completion(content="ok"))
    make_model(server).generate(after_tool_turn(handwritten_assistant_turn()), TOOLS)
    messages = server.requests[0].body["messages"]
    assert messages[2]["content"] == "Writing the kernel."
    assert json.loads(messages[2]["tool_calls"][0]["function"]["arguments"]) == {"code": KERNEL}
    assert messages[3] == {"role": "tool", "tool_call_id": "call_abc", "content": "write_code ok"}


def test_text_beside_tool_results_follows_them_as_a_user_message(server: FakeServer) -> None:
    server.enqueue(openai_completion(content="ok"))
    history = after_tool_turn(handwritten_assistant_turn())
    history[-1].text = "2 iterations left."
    make_model(server).generate(history, TOOLS)
    assert server.requests[0].body["messages"][3:] == [
        {"role": "tool", "tool_call_id": "call_abc", "content": "write_code ok"},
        {"role": "user", "content": "2 iterations left."},
    ]


def test_reasoning_and_sampling_options_reach_the_request(server: FakeServer) -> None:
    server.enqueue(openai_completion(content="ok"))
    make_model(server, reasoning_effort="HIGH", max_tokens="2048", temperature="0.3").generate(
        opening(), TOOLS
    )
    body = server.requests[0].body
    assert body["reasoning_effort"] == "high"
    assert body["max_completion_tokens"] == 2048 and "max_tokens" not in body
    assert body["temperature"] == 0.3


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_error_then_success(server: FakeServer, status: int) -> None:
    server.enqueue(openai_error(status, "try again"), openai_completion(content="recovered"))
    response = make_model(server).generate(opening(), TOOLS)
    assert response.message.text == "recovered"
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body


def test_retry_after_header_sets_the_wait(server: FakeServer) -> None:
    sleeps: list[float] = []
    server.enqueue(
        openai_error(429, "slow down", headers={"retry-after": "30"}),
        openai_error(429, "slow down", headers={"retry-after-ms": "20"}),
        openai_completion(content="ok"),
    )
    retry = RetryPolicy(base_delay_s=0.01, max_retry_after_s=0.05, sleep=sleeps.append)
    settings = ProviderSettings(model="gpt-test", base_url=f"{server.url}/v1", retry=retry)
    OpenAIModel(settings).generate(opening(), TOOLS)
    assert sleeps == [0.05, 0.02]


def test_persistent_rate_limit_becomes_provider_error(server: FakeServer) -> None:
    server.enqueue(*[openai_error(429, "Rate limit reached for gpt-test")] * 3)
    with pytest.raises(ProviderError) as info:
        make_model(server, max_retries=2).generate(opening(), TOOLS)
    assert str(info.value) == "openai: HTTP 429: Rate limit reached for gpt-test (after 3 attempts)"
    assert info.value.status == 429 and info.value.retryable
    assert len(server.requests) == 3


def test_timeout_is_retried_then_reported(server: FakeServer) -> None:
    server.enqueue(Reply(delay_s=2.0), Reply(delay_s=2.0))
    with pytest.raises(ProviderError) as info:
        make_model(server, timeout_s=0.2, max_retries=1).generate(opening(), TOOLS)
    assert "timed out" in str(info.value) and "after 2 attempts" in str(info.value)
    assert info.value.retryable and info.value.status is None
    assert len(server.requests) == 2


def test_unauthorized_fails_at_once_without_leaking_the_key(server: FakeServer) -> None:
    server.enqueue(
        openai_error(401, f"Incorrect API key provided: {OPENAI_KEY}."), openai_completion(content="no")
    )
    with pytest.raises(ProviderError) as info:
        make_model(server).generate(opening(), TOOLS)
    assert len(server.requests) == 1
    assert info.value.status == 401 and not info.value.retryable
    assert OPENAI_KEY not in str(info.value) and OPENAI_KEY not in repr(info.value.args)
    assert str(info.value).startswith("openai: HTTP 401: Incorrect API key provided")


def test_connection_refused_is_a_provider_error() -> None:
    with FakeServer() as gone:
        url = f"{gone.url}/v1"
    model = create_model("openai:gpt-test", base_url=url, retry_base_s=0.01, max_retries=1, timeout_s=2)
    with pytest.raises(ProviderError, match=r"^openai: connection failed.*\(after 2 attempts\)$"):
        model.generate(opening(), TOOLS)


def test_malformed_arguments_become_a_call_without_arguments(server: FakeServer) -> None:
    server.enqueue(
        openai_completion(
            tool_calls=[("call_bad", "write_code", '{"code": "unterminated')], finish_reason="tool_calls"
        ),
        openai_completion(tool_calls=[("call_list", "write_code", "[1, 2]")], finish_reason="tool_calls"),
        openai_completion(content="ok"),
    )
    model = make_model(server)
    first = model.generate(opening(), TOOLS)
    call = first.message.tool_calls[0]
    assert call.arguments is None and call.raw_arguments == '{"code": "unterminated'
    assert model.generate(opening(), TOOLS).message.tool_calls[0].arguments is None  # JSON, but not an object

    model.generate(after_tool_turn(first.message, is_error=True), TOOLS)
    echoed = server.requests[2].body["messages"][2]["tool_calls"][0]["function"]["arguments"]
    assert echoed == '{"code": "unterminated'  # the model sees exactly what it sent


def test_empty_choices_is_a_provider_error(server: FakeServer) -> None:
    reply = openai_completion(content="x")
    reply.body["choices"] = []
    server.enqueue(reply)
    with pytest.raises(ProviderError, match="no choices"):
        make_model(server).generate(opening(), TOOLS)
