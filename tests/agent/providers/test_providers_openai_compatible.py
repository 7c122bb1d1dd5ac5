"""OpenAI-compatible servers (vLLM, SGLang, Ollama, DeepSeek) through the OpenAI SDK."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kernelcraft.agent.messages import ProviderError
from kernelcraft.agent.providers import create_model

from .fake_servers import FakeServer, Reply, openai_completion, openai_error
from .sample_conversation import KERNEL, OPENAI_KEY, TOOLS, after_tool_turn, opening


def make_model(server: FakeServer, **options: Any) -> Any:
    options.setdefault("retry_base_s", 0.01)
    return create_model(f"openai-compatible:{server.url}/v1#qwen3-coder", **options)


def test_local_server_needs_no_key_and_gets_max_tokens(server: FakeServer) -> None:
    server.enqueue(openai_completion(content="hi"))
    model = make_model(server, max_tokens=512, reasoning_effort="low")
    assert model.name == f"openai-compatible:{server.url}/v1#qwen3-coder"
    assert model.generate(opening(), TOOLS).message.text == "hi"
    request = server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer not-needed"
    assert request.body["model"] == "qwen3-coder"
    assert request.body["max_tokens"] == 512 and "max_completion_tokens" not in request.body
    assert request.body["reasoning_effort"] == "low"


def test_key_comes_from_its_own_variable(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)  # must not be sent to a third-party server
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", "or-key-123456")
    server.enqueue(openai_error(401, "bad key or-key-123456"))
    with pytest.raises(ProviderError) as info:
        make_model(server).generate(opening(), TOOLS)
    assert server.requests[0].headers["authorization"] == "Bearer or-key-123456"
    assert "or-key-123456" not in str(info.value)


def test_reasoning_content_is_kept_and_echoed_back(server: FakeServer) -> None:
    server.enqueue(
        openai_completion(
            tool_calls=[("call_1", "write_code", json.dumps({"code": KERNEL}))],
            finish_reason="tool_calls",
            message_extra={"reasoning_content": "First prefetch the vector."},
        ),
        openai_completion(content="done", message_extra={"reasoning": "All good."}),
    )
    model = make_model(server)
    first = model.generate(opening(), TOOLS)
    assert first.message.tool_calls[0].arguments == {"code": KERNEL}
    second = model.generate(after_tool_turn(first.message), TOOLS)
    assert second.message.text == "done"
    assert second.message.provider_state == {"provider": "openai-compatible", "reasoning": "All good."}

    assistant = server.requests[1].body["messages"][2]
    assert assistant["reasoning_content"] == "First prefetch the vector."
    assert assistant["tool_calls"][0]["id"] == "call_1"
    assert server.requests[1].body["messages"][3] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "write_code ok",
    }


def test_missing_tool_call_id_gets_one(server: FakeServer) -> None:
    server.enqueue(openai_completion(tool_calls=[("", "check_syntax", "{}")], finish_reason="tool_calls"))
    call = make_model(server).generate(opening(), TOOLS).message.tool_calls[0]
    assert call.id and call.name == "check_syntax" and call.arguments == {}


def test_server_errors_are_retried(server: FakeServer) -> None:
    server.enqueue(openai_error(502, "bad gateway"), Reply(delay_s=2.0), openai_completion(content="up"))
    model = make_model(server, timeout_s=0.3, max_retries=2)
    assert model.generate(opening(), TOOLS).message.text == "up"
    assert len(server.requests) == 3


def test_spec_base_url_can_be_overridden(server: FakeServer) -> None:
    server.enqueue(openai_completion(content="here"))
    model = create_model("openai-compatible:http://192.0.2.1:9/v1#m", base_url=f"{server.url}/v1")
    assert model.generate(opening(), TOOLS).message.text == "here"
    assert len(server.requests) == 1
