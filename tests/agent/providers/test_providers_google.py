"""The Gemini adapter, driven through google-genai against a local generateContent server."""

from __future__ import annotations

from typing import Any

import pytest

from kernelcraft.agent.messages import ProviderError
from kernelcraft.agent.providers import create_model
from kernelcraft.agent.providers.google import malformed_call

from .fake_servers import FakeServer, Reply, gemini_error, gemini_response
from .sample_conversation import (
    GEMINI_KEY,
    KERNEL,
    SYSTEM_PROMPT,
    TASK_PROMPT,
    TOOLS,
    after_tool_turn,
    handwritten_assistant_turn,
    opening,
)

pytestmark = pytest.mark.usefixtures("provider_keys")

SIGNATURE = "c2lnbmF0dXJlLW9mLXRoZS10aG91Z2h0"  # base64, as Gemini sends it
THOUGHT = {"text": "Prefetch then apply sigmoid.", "thought": True}
WRITE_CALL = {"functionCall": {"name": "write_code", "args": {"code": KERNEL}}, "thoughtSignature": SIGNATURE}
CHECK_CALL = {"functionCall": {"id": "fc-7", "name": "check_syntax", "args": {}}}


def make_model(server: FakeServer, **options: Any) -> Any:
    options.setdefault("retry_base_s", 0.01)
    return create_model("google:gemini-test", base_url=server.url, **options)


def only_request_body(server: FakeServer) -> dict[str, Any]:
    assert len(server.requests) == 1
    return server.requests[0].body


def test_function_call_round_trip(server: FakeServer) -> None:
    server.enqueue(
        gemini_response(
            [THOUGHT, {"text": "Writing it."}, WRITE_CALL, CHECK_CALL],
            prompt_tokens=400,
            candidates_tokens=60,
            thoughts_tokens=120,
            cached_tokens=128,
        )
    )
    response = make_model(server, thinking_level="high").generate(opening(), TOOLS)

    request = server.requests[0]
    assert request.path.endswith("/models/gemini-test:generateContent")
    assert request.headers["x-goog-api-key"] == GEMINI_KEY
    body = only_request_body(server)
    assert body["contents"] == [{"role": "user", "parts": [{"text": TASK_PROMPT}]}]
    assert body["systemInstruction"]["parts"] == [{"text": SYSTEM_PROMPT}]
    declarations = body["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declarations] == ["write_code", "check_syntax"]
    schema = declarations[0].get("parametersJsonSchema", declarations[0].get("parameters_json_schema"))
    assert schema == TOOLS[0].parameters
    thinking = body["generationConfig"]["thinkingConfig"]
    assert thinking.get("thinkingLevel", thinking.get("thinking_level")) == "HIGH"

    message = response.message
    assert message.text == "Writing it."  # the thought summary is not answer text
    assert [(c.name, c.arguments) for c in message.tool_calls] == [
        ("write_code", {"code": KERNEL}),
        ("check_syntax", {}),
    ]
    assert message.tool_calls[0].id and message.tool_calls[1].id == "fc-7"
    assert response.usage.input_tokens == 400
    assert response.usage.output_tokens == 180 and response.usage.reasoning_tokens == 120
    assert response.usage.cached_tokens == 128
    assert response.stop_reason == "stop"


def test_multi_turn_echoes_signed_parts_and_sends_function_responses(server: FakeServer) -> None:
    server.enqueue(gemini_response([THOUGHT, WRITE_CALL, CHECK_CALL]), gemini_response([{"text": "Done."}]))
    model = make_model(server, thinking_budget=2048)
    first = model.generate(opening(), TOOLS)
    history = after_tool_turn(first.message)
    history[-1].tool_results[1] = type(history[-1].tool_results[1])(
        call_id="fc-7", name="check_syntax", content="line 1: unknown opcode", is_error=True
    )
    second = model.generate(history, TOOLS)

    contents = server.requests[1].body["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert contents[1]["parts"] == [THOUGHT, WRITE_CALL, CHECK_CALL]  # signature untouched
    assert contents[2]["parts"] == [
        {"functionResponse": {"name": "write_code", "response": {"output": "write_code ok"}}},
        {
            "functionResponse": {
                "id": "fc-7",
                "name": "check_syntax",
                "response": {"error": "line 1: unknown opcode"},
            }
        },
    ]
    thinking = server.requests[1].body["generationConfig"]["thinkingConfig"]
    assert thinking.get("thinkingBudget", thinking.get("thinking_budget")) == 2048
    assert second.message.text == "Done." and second.message.tool_calls == []


def test_handwritten_history_becomes_function_call_parts(server: FakeServer) -> None:
    server.enqueue(gemini_response([{"text": "ok"}]))
    make_model(server, max_tokens=1000, temperature=0.2).generate(
        after_tool_turn(handwritten_assistant_turn()), TOOLS
    )
    body = only_request_body(server)
    assert body["contents"][1] == {
        "role": "model",
        "parts": [
            {"text": "Writing the kernel."},
            {"functionCall": {"id": "call_abc", "name": "write_code", "args": {"code": KERNEL}}},
        ],
    }
    assert body["contents"][2]["parts"][0]["functionResponse"]["id"] == "call_abc"
    assert body["generationConfig"]["maxOutputTokens"] == 1000
    assert body["generationConfig"]["temperature"] == 0.2
    assert "thinkingConfig" not in body["generationConfig"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_error_then_success(server: FakeServer, status: int) -> None:
    server.enqueue(gemini_error(status, "try later"), gemini_response([{"text": "back"}]))
    assert make_model(server).generate(opening(), TOOLS).message.text == "back"
    assert len(server.requests) == 2


def test_timeout_is_retried_then_reported(server: FakeServer) -> None:
    server.enqueue(Reply(delay_s=2.0), Reply(delay_s=2.0))
    with pytest.raises(ProviderError) as info:
        make_model(server, timeout_s=0.2, max_retries=1).generate(opening(), TOOLS)
    assert str(info.value).startswith("google: request timed out")
    assert "after 2 attempts" in str(info.value) and info.value.retryable
    assert len(server.requests) == 2


@pytest.mark.parametrize("status", [400, 401, 403])
def test_auth_and_request_errors_fail_at_once_without_leaking_the_key(
    server: FakeServer, status: int
) -> None:
    server.enqueue(
        gemini_error(status, f"API key not valid: {GEMINI_KEY}"), gemini_response([{"text": "no"}])
    )
    with pytest.raises(ProviderError) as info:
        make_model(server).generate(opening(), TOOLS)
    assert len(server.requests) == 1
    assert info.value.status == status and not info.value.retryable
    assert GEMINI_KEY not in str(info.value)
    assert str(info.value).startswith(f"google: HTTP {status}: API key not valid")


def test_malformed_function_call_becomes_a_call_without_arguments(server: FakeServer) -> None:
    server.enqueue(
        gemini_response(None, finish_reason="MALFORMED_FUNCTION_CALL"),
        gemini_response([{"text": "retrying"}]),
    )
    model = make_model(server)
    first = model.generate(opening(), TOOLS)
    assert first.stop_reason == "malformed_function_call"
    (call,) = first.message.tool_calls
    assert call.arguments is None and call.raw_arguments

    model.generate(after_tool_turn(first.message, is_error=True), TOOLS)
    contents = server.requests[1].body["contents"]
    # No function-call part exists for it, so neither side may be sent as one.
    assert all("functionCall" not in p and "functionResponse" not in p for c in contents for p in c["parts"])
    assert contents[1]["parts"][0]["text"].startswith("(malformed")
    assert contents[2]["parts"][0]["text"].startswith(f"Result of the malformed {call.name} call")


def test_malformed_call_report_names_the_tool_when_gemini_says_which() -> None:
    call = malformed_call('Malformed function call: print(default_api.write_code(code="unterminated))')
    assert call.name == "write_code" and call.arguments is None
    assert "unterminated" in call.raw_arguments


def test_blocked_prompt_is_a_provider_error(server: FakeServer) -> None:
    server.enqueue(Reply(body={"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {}}))
    with pytest.raises(ProviderError, match=r"no candidates \(blocked: SAFETY\)$"):
        make_model(server).generate(opening(), TOOLS)


def test_thinking_level_wins_over_a_budget_meant_for_another_provider(server: FakeServer) -> None:
    server.enqueue(gemini_response([{"text": "ok"}]))
    make_model(server, thinking_level="low", thinking_budget=4096).generate(opening(), TOOLS)
    thinking = only_request_body(server)["generationConfig"]["thinkingConfig"]
    assert thinking.get("thinkingLevel", thinking.get("thinking_level")) == "LOW"
    assert "thinkingBudget" not in thinking and "thinking_budget" not in thinking


def test_google_api_key_is_the_fallback(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    monkeypatch.setenv("GOOGLE_API_KEY", "AIzaFallback0123456789abcd")
    server.enqueue(gemini_response([{"text": "hi"}]))
    make_model(server).generate(opening(), TOOLS)
    assert server.requests[0].headers["x-goog-api-key"] == "AIzaFallback0123456789abcd"
