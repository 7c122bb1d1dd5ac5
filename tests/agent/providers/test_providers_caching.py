"""Prompt caching on every provider, through the official SDKs against the local fake servers.

What is checked: the cache markers in each provider's wire shape, the byte-for-byte
stability of each request's prefix from one turn to the next, cache reads and writes parsed
into Usage and priced, and Gemini's explicit context caches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kernelcraft.agent.messages import Message, ToolResult, Usage
from kernelcraft.agent.providers import create_model
from kernelcraft.agent.providers.google import EXPLICIT_CACHES
from kernelcraft.bench.metrics import parse_prices
from kernelcraft.episodes import TokenCounts

from .fake_servers import (
    AnthropicPromptCache,
    FakeServer,
    RecordedRequest,
    Reply,
    anthropic_agent,
    anthropic_message,
    gemini_cached_content,
    gemini_error,
    gemini_response,
    openai_completion,
    raw_elements,
    raw_members,
)
from .sample_conversation import KERNEL, TASK_PROMPT, TOOLS

pytestmark = pytest.mark.usefixtures("provider_keys")

# Long enough (about 2,000 tokens at 4 characters a token) to pass the 1,024-token minimum.
LONG_SYSTEM = "You write PLENA assembly kernels. " + "The ISA manual follows. " * 330
EPHEMERAL = {"type": "ephemeral"}


def opening(system: str = LONG_SYSTEM, task: str = TASK_PROMPT) -> list[Message]:
    return [Message(role="system", text=system), Message(role="user", text=task)]


def code(turn: int) -> str:
    return f"; attempt {turn}\n{KERNEL}"


# One tool-calling reply per provider, different every turn, carrying the provider state
# (thinking signatures, reasoning) that has to travel back verbatim.
def anthropic_turn(turn: int, calls: int = 1) -> Reply:
    thinking = {"type": "thinking", "thinking": f"Step {turn}.", "signature": f"sig-{turn}=="}
    uses = [
        {"type": "tool_use", "id": f"toolu_{turn}_{i}", "name": "write_code", "input": {"code": code(turn)}}
        for i in range(calls)
    ]
    return anthropic_message([thinking, *uses], stop_reason="tool_use")


def openai_turn(turn: int) -> Reply:
    call = (f"call_{turn}", "write_code", json.dumps({"code": code(turn)}))
    return openai_completion(tool_calls=[call], finish_reason="tool_calls")


def compatible_turn(turn: int) -> Reply:
    call = (f"call_{turn}", "write_code", json.dumps({"code": code(turn)}))
    extra = {"reasoning_content": f"Reasoning for step {turn}."}
    return openai_completion(tool_calls=[call], finish_reason="tool_calls", message_extra=extra)


def gemini_turn(turn: int) -> Reply:
    thought = {"text": f"Step {turn}.", "thought": True}
    call = {"functionCall": {"name": "write_code", "args": {"code": code(turn)}}, "thoughtSignature": "c2ln"}
    return gemini_response([thought, call])


def make(provider: str, server: FakeServer, **options: Any) -> Any:
    options.setdefault("retry_base_s", 0.01)
    spec = {
        "anthropic": "anthropic:claude-test",
        "openai": "openai:gpt-test",
        "openai-compatible": f"openai-compatible:{server.url}/v1#qwen3-coder",
        "google": "google:gemini-test",
    }[provider]
    if provider == "openai":
        options.setdefault("base_url", f"{server.url}/v1")
    elif provider in ("anthropic", "google"):
        options.setdefault("base_url", server.url)
    return create_model(spec, **options)


def play(
    model: Any, server: FakeServer, reply: Callable[[int], Reply], turns: int, history: list[Message]
) -> list[Usage]:
    """Run `turns` tool-calling turns, answering every call, as the agent loop does."""
    usages = []
    for turn in range(1, turns + 1):
        server.enqueue(reply(turn))
        response = model.generate(history, TOOLS)
        usages.append(response.usage)
        results = [ToolResult(c.id, c.name, f"{c.name} ok ({turn})") for c in response.message.tool_calls]
        history += [response.message, Message(role="tool", tool_results=results)]
    return usages


def generate_requests(server: FakeServer) -> list[RecordedRequest]:
    return [
        r for r in server.requests if r.path.endswith(("/messages", "/chat/completions", ":generateContent"))
    ]


_MARKER = re.compile(r',\s*"cache_control"\s*:\s*\{[^{}]*\}')

PROVIDERS = {
    # provider: (one turn's reply, the member holding the conversation)
    "anthropic": (anthropic_turn, "messages"),
    "openai": (openai_turn, "messages"),
    "openai-compatible": (compatible_turn, "messages"),
    "google": (gemini_turn, "contents"),
}


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_the_prefix_of_turn_n_is_the_prefix_of_turn_n_plus_1_byte_for_byte(
    server: FakeServer, provider: str
) -> None:
    reply, conversation = PROVIDERS[provider]
    play(make(provider, server), server, reply, 4, opening())
    requests = generate_requests(server)
    assert len(requests) == 4
    for before, after in zip(requests, requests[1:], strict=False):
        members, next_members = raw_members(before.raw), raw_members(after.raw)
        assert members.keys() == next_members.keys()
        for name, text in members.items():
            if name != conversation:  # tools, system prompt, settings: the same bytes every turn
                assert text == next_members[name], name
        sent, next_sent = raw_elements(members[conversation]), raw_elements(next_members[conversation])
        assert len(next_sent) == len(sent) + 2  # the model's turn and the tool results
        if provider == "anthropic":
            # Anthropic's breakpoint markers move forward; they are not part of the cached content.
            sent = [_MARKER.sub("", text) for text in sent]
            next_sent = [_MARKER.sub("", text) for text in next_sent]
        assert next_sent[: len(sent)] == sent


# -- Anthropic -----------------------------------------------------------------------


def markers(body: dict[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """Where the cache_control markers are: (part, index, marker)."""
    found = [("tools", i, t["cache_control"]) for i, t in enumerate(body["tools"]) if "cache_control" in t]
    system = body["system"] if isinstance(body["system"], list) else []
    found += [("system", i, b["cache_control"]) for i, b in enumerate(system) if "cache_control" in b]
    for i, message in enumerate(body["messages"]):
        found += [
            (f"messages[{i}]", j, b["cache_control"])
            for j, b in enumerate(message["content"])
            if "cache_control" in b
        ]
    return found


def test_anthropic_marks_tools_system_and_both_ends_of_the_conversation(server: FakeServer) -> None:
    play(make("anthropic", server), server, anthropic_turn, 3, opening())
    first, second, third = (r.body for r in generate_requests(server))
    last_tool = len(TOOLS) - 1
    assert markers(first) == [
        ("tools", last_tool, EPHEMERAL),
        ("system", 0, EPHEMERAL),
        ("messages[0]", 0, EPHEMERAL),
    ]
    # Four markers, the API's limit: the end of the previous request and of this one.
    assert markers(second) == [
        ("tools", last_tool, EPHEMERAL),
        ("system", 0, EPHEMERAL),
        ("messages[0]", 0, EPHEMERAL),
        ("messages[2]", 0, EPHEMERAL),
    ]
    assert [m[:2] for m in markers(third)][2:] == [("messages[2]", 0), ("messages[4]", 0)]
    assert third["messages"][3]["content"][0]["type"] == "thinking"  # never marked, echoed intact
    assert third["system"][0]["text"] == LONG_SYSTEM


def test_anthropic_one_hour_ttl_and_caching_off(server: FakeServer) -> None:
    play(make("anthropic", server, cache_ttl="1h"), server, anthropic_turn, 2, opening())
    assert {m[2]["ttl"] for m in markers(server.requests[-1].body)} == {"1h"}
    server.requests.clear()
    play(make("anthropic", server, prompt_cache="off"), server, anthropic_turn, 2, opening())
    assert all("cache_control" not in r.raw for r in server.requests)
    assert server.requests[0].body["system"] == LONG_SYSTEM


def test_anthropic_auto_ttl_turns_to_an_hour_after_a_slow_turn(server: FakeServer) -> None:
    now = [0.0]
    server.biller = AnthropicPromptCache(clock=lambda: now[0]).bill
    model = make("anthropic", server)  # cache_ttl=auto by default
    model.clock = lambda: now[0]
    history = opening()
    ttls, usages = [], []
    for pause in (0, 60, 290, 10, 1800):  # the third turn comes 290 s after the second
        now[0] += pause
        usages += play(model, server, anthropic_turn, 1, history)
        ttls.append({m[2].get("ttl", "5m") for m in markers(server.requests[-1].body)})
    # Once a turn took longer than 4 minutes, the episode stays on hour-long entries.
    assert ttls == [{"5m"}, {"5m"}, {"1h"}, {"1h"}, {"1h"}]
    second, third, fourth, fifth = usages[1:]
    assert third.cached_tokens == second.input_tokens  # 290 s: the 5-minute entry was still there
    assert third.cache_write_5m_tokens == 0 < third.cache_write_1h_tokens
    assert fifth.cached_tokens == fourth.input_tokens  # 30 minutes later, read from the hour-long entry


def test_a_fixed_ttl_never_changes(server: FakeServer) -> None:
    now = [0.0]
    model = make("anthropic", server, cache_ttl="5m")
    model.clock = lambda: now[0]
    history = opening()
    for pause in (0, 600):
        now[0] += pause
        play(model, server, anthropic_turn, 1, history)
    assert all("ttl" not in m[2] for r in server.requests for m in markers(r.body))


@pytest.fixture
def cache_clock() -> Iterator[list[float]]:
    now = [1000.0]
    yield now


def test_anthropic_reads_what_the_previous_turn_wrote(server: FakeServer, cache_clock: list[float]) -> None:
    server.biller = AnthropicPromptCache(clock=lambda: cache_clock[0]).bill
    model = make("anthropic", server)
    history = opening()
    first, second, third = play(model, server, anthropic_turn, 3, history)
    # Turn 1 writes its whole prompt; each later turn reads the previous prompt and writes the rest.
    assert first.cached_tokens == 0 and first.cache_write_5m_tokens == first.input_tokens > 1024
    assert second.cached_tokens == first.input_tokens
    assert second.cache_write_5m_tokens == second.input_tokens - second.cached_tokens > 0
    assert third.cached_tokens == second.input_tokens and third.cache_write_1h_tokens == 0

    cache_clock[0] += 301  # past the 5-minute lifetime: everything is written again
    server.enqueue(anthropic_turn(4))
    fourth = model.generate(history, TOOLS).usage
    assert fourth.cached_tokens == 0 and fourth.cache_write_5m_tokens == fourth.input_tokens


def test_anthropic_one_hour_entries_outlive_five_minutes(
    server: FakeServer, cache_clock: list[float]
) -> None:
    server.biller = AnthropicPromptCache(clock=lambda: cache_clock[0]).bill
    model = make("anthropic", server, cache_ttl="1h")
    history = opening()
    (first,) = play(model, server, anthropic_turn, 1, history)
    assert first.cache_write_1h_tokens == first.input_tokens and first.cache_write_5m_tokens == 0
    cache_clock[0] += 1800
    server.enqueue(anthropic_turn(2))
    second = model.generate(history, TOOLS).usage
    assert second.cached_tokens == first.input_tokens
    assert second.cache_write_1h_tokens == second.input_tokens - second.cached_tokens


def test_a_turn_of_many_blocks_still_reads_the_previous_prompt(
    server: FakeServer, cache_clock: list[float]
) -> None:
    """25 tool results in one turn put the new end beyond the API's 20-block lookback; the
    marker on the previous request's end is what still finds its entry."""
    server.biller = AnthropicPromptCache(clock=lambda: cache_clock[0]).bill
    model = make("anthropic", server)
    history = opening()
    (first,) = play(model, server, lambda turn: anthropic_turn(turn, calls=25), 1, history)
    server.enqueue(anthropic_turn(2))
    second = model.generate(history, TOOLS).usage
    assert second.cached_tokens == first.input_tokens


def test_a_new_task_reuses_the_cached_tools_and_system_prompt(
    server: FakeServer, cache_clock: list[float]
) -> None:
    server.biller = AnthropicPromptCache(clock=lambda: cache_clock[0]).bill
    model = make("anthropic", server)
    (first,) = play(model, server, anthropic_turn, 1, opening(task="Write a GELU kernel for C2."))
    (other,) = play(model, server, anthropic_turn, 1, opening(task="Write a softmax kernel for C3."))
    task_tokens = first.input_tokens - other.cached_tokens
    assert 0 < task_tokens < 50  # only the task prompt is new
    assert other.cache_write_5m_tokens == other.input_tokens - other.cached_tokens


@pytest.mark.parametrize(
    ("usage", "ttl", "expected"),
    [
        # input_tokens excludes cache reads and writes on the wire; ours includes them
        ({"cache_read_input_tokens": 500, "cache_creation_input_tokens": 300}, "5m", (810, 500, 300, 0)),
        ({"cache_creation_input_tokens": 300}, "1h", (310, 0, 0, 300)),  # no split: the lifetime asked for
        (
            {
                "cache_creation_input_tokens": 300,
                "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
            },
            "5m",
            (310, 0, 100, 200),
        ),
    ],
)
def test_anthropic_cache_usage_is_parsed(
    server: FakeServer, usage: dict[str, Any], ttl: str, expected: tuple[int, ...]
) -> None:
    server.enqueue(anthropic_message([{"type": "text", "text": "ok"}], input_tokens=10, **usage))
    got = make("anthropic", server, cache_ttl=ttl).generate(opening(), TOOLS).usage
    assert (
        got.input_tokens,
        got.cached_tokens,
        got.cache_write_5m_tokens,
        got.cache_write_1h_tokens,
    ) == expected


def test_cache_reads_and_writes_are_priced_as_billed(server: FakeServer) -> None:
    server.enqueue(
        anthropic_message(
            [{"type": "text", "text": "ok"}],
            input_tokens=1_000,
            output_tokens=2_000,
            cache_read_input_tokens=100_000,
            cache_creation_input_tokens=30_000,
            cache_creation={"ephemeral_5m_input_tokens": 10_000, "ephemeral_1h_input_tokens": 20_000},
        )
    )
    usage = make("anthropic", server).generate(opening(), TOOLS).usage
    tokens = TokenCounts(
        input=usage.input_tokens,
        output=usage.output_tokens,
        cached=usage.cached_tokens,
        cache_write_5m=usage.cache_write_5m_tokens,
        cache_write_1h=usage.cache_write_1h_tokens,
    )
    prices = parse_prices(
        '["claude-test"]\ninput = 3.0\ncached_input = 0.30\ncache_write_5m = 3.75\n'
        "cache_write_1h = 6.0\noutput = 15.0\n"
    )
    expected = (1_000 * 3.0 + 100_000 * 0.30 + 10_000 * 3.75 + 20_000 * 6.0 + 2_000 * 15.0) / 1e6
    assert prices.cost("anthropic:claude-test", tokens) == pytest.approx(expected)


def test_an_episode_records_cache_reads_and_writes(
    server: FakeServer, cache_clock: list[float], tmp_path: Path
) -> None:
    """The real episode (system prompt of the platform, tools, loop) against the billing fake:
    every turn's usage line and result.json carry reads and writes."""
    from kernelcraft.agent.episode import run_episode
    from kernelcraft.episodes import EpisodeSpec

    server.biller = AnthropicPromptCache(clock=lambda: cache_clock[0]).bill
    server.responder = anthropic_agent(lambda turn, body: [("check_syntax", {})] if turn < 3 else "Done.")
    options = {"base_url": server.url, "retry_base_s": "0.01"}
    spec = EpisodeSpec(model="anthropic:claude-test", task="silu", config="C1", model_options=options)
    result = run_episode(spec, tmp_path)

    lines = [json.loads(line) for line in (tmp_path / "transcript.jsonl").read_text().splitlines()]
    first, second, third = [line for line in lines if line["type"] == "usage"]
    assert first["cache_write_5m_tokens"] == first["input_tokens"] > 10_000  # the platform's system prompt
    assert (
        second["cached_tokens"] == first["input_tokens"] and third["cached_tokens"] == second["input_tokens"]
    )
    assert all(line["cache_write_1h_tokens"] == 0 for line in (first, second, third))
    turns = (first, second, third)
    assert result.tokens.input == sum(t["input_tokens"] for t in turns)
    assert result.tokens.cached == sum(t["cached_tokens"] for t in turns)
    assert result.tokens.cache_write_5m == sum(t["cache_write_5m_tokens"] for t in turns)


# -- OpenAI and compatible servers ----------------------------------------------------


def test_openai_sends_one_prompt_cache_key_per_task(server: FakeServer) -> None:
    play(make("openai", server), server, openai_turn, 2, opening())
    play(make("openai", server), server, openai_turn, 1, opening(task="Write a GELU kernel for C2."))
    keys = [r.body["prompt_cache_key"] for r in server.requests]
    assert keys[0] == keys[1] != keys[2]
    assert all(re.fullmatch(r"kernelcraft-[0-9a-f]{16}", key) for key in keys)

    server.requests.clear()
    play(make("openai", server, prompt_cache_key="run-0412"), server, openai_turn, 1, opening())
    assert server.requests[0].body["prompt_cache_key"] == keys[0].replace("kernelcraft", "run-0412")
    server.requests.clear()
    play(make("openai", server, prompt_cache="off"), server, openai_turn, 1, opening())
    assert "prompt_cache_key" not in server.requests[0].body


def test_compatible_servers_get_a_cache_key_only_when_one_is_named(server: FakeServer) -> None:
    play(make("openai-compatible", server), server, compatible_turn, 1, opening())
    assert "prompt_cache_key" not in server.requests[0].body
    play(make("openai-compatible", server, prompt_cache_key="run-7"), server, compatible_turn, 1, opening())
    assert server.requests[1].body["prompt_cache_key"].startswith("run-7-")


# -- Gemini explicit context caches -------------------------------------------------------


@pytest.fixture
def explicit_caches() -> Iterator[list[float]]:
    now = [5000.0]
    EXPLICIT_CACHES.clear()
    original = EXPLICIT_CACHES.clock
    EXPLICIT_CACHES.clock = lambda: now[0]
    yield now
    EXPLICIT_CACHES.clock = original
    EXPLICIT_CACHES.clear()


def by_method(server: FakeServer) -> list[tuple[str, str]]:
    return [(r.method, r.path.split("?")[0].rsplit("/", 1)[-1]) for r in server.requests]


def test_gemini_explicit_cache_holds_system_and_tools(
    server: FakeServer, explicit_caches: list[float]
) -> None:
    server.enqueue(gemini_cached_content("cachedContents/kc1", total_tokens=2048))
    usages = play(make("google", server, prompt_cache="explicit"), server, gemini_turn, 2, opening())
    assert by_method(server) == [
        ("POST", "cachedContents"),
        ("POST", "gemini-test:generateContent"),
        ("POST", "gemini-test:generateContent"),
    ]
    create = server.requests[0].body
    assert create["model"] == "models/gemini-test" and create["ttl"] == "3600s"  # auto: an hour
    assert create["systemInstruction"]["parts"] == [{"text": LONG_SYSTEM}]
    assert [d["name"] for d in create["tools"][0]["functionDeclarations"]] == [t.name for t in TOOLS]
    for request in server.requests[1:]:
        assert request.body["cachedContent"] == "cachedContents/kc1"
        assert "systemInstruction" not in request.body and "tools" not in request.body
    assert usages[0] == Usage(input_tokens=20, output_tokens=8)

    # Another episode with the same model, prompt and tools shares the cache.
    server.requests.clear()
    play(make("google", server, prompt_cache="explicit"), server, gemini_turn, 1, opening())
    assert by_method(server) == [("POST", "gemini-test:generateContent")]
    assert server.requests[0].body["cachedContent"] == "cachedContents/kc1"


def test_gemini_explicit_cache_is_extended_then_replaced(
    server: FakeServer, explicit_caches: list[float]
) -> None:
    server.enqueue(gemini_cached_content("cachedContents/kc1"))
    model = make("google", server, prompt_cache="explicit", cache_ttl="5m")
    play(model, server, gemini_turn, 1, opening())
    assert server.requests[0].body["ttl"] == "300s"

    explicit_caches[0] += 100  # within the first half of its lifetime: used as it is
    server.requests.clear()
    play(model, server, gemini_turn, 1, opening())
    assert by_method(server) == [("POST", "gemini-test:generateContent")]

    explicit_caches[0] += 100  # past half its lifetime: extended in place
    server.requests.clear()
    server.enqueue(gemini_cached_content("cachedContents/kc1"))
    play(model, server, gemini_turn, 1, opening())
    assert by_method(server) == [("PATCH", "kc1"), ("POST", "gemini-test:generateContent")]
    assert server.requests[0].body == {"ttl": "300s"}

    explicit_caches[0] += 400  # expired: a new cache
    server.requests.clear()
    server.enqueue(gemini_cached_content("cachedContents/kc2"))
    play(model, server, gemini_turn, 1, opening())
    assert by_method(server)[0] == ("POST", "cachedContents")
    assert server.requests[1].body["cachedContent"] == "cachedContents/kc2"


def test_gemini_without_an_explicit_cache_sends_the_prefix(
    server: FakeServer, explicit_caches: list[float]
) -> None:
    # Refused (prefix below the model's minimum): sent in full, and not asked again each turn.
    server.enqueue(
        gemini_error(400, "Cached content is too small. total_token_count=900, min_total_token_count=1024")
    )
    model = make("google", server, prompt_cache="explicit")
    play(model, server, gemini_turn, 2, opening())
    assert by_method(server) == [
        ("POST", "cachedContents"),
        ("POST", "gemini-test:generateContent"),
        ("POST", "gemini-test:generateContent"),
    ]
    assert all("systemInstruction" in r.body and "cachedContent" not in r.body for r in server.requests[1:])
    assert "too small" in (model.explicit_cache_error or "")


def test_gemini_request_naming_a_vanished_cache_is_sent_again_in_full(
    server: FakeServer, explicit_caches: list[float]
) -> None:
    server.enqueue(
        gemini_cached_content("cachedContents/gone"),
        gemini_error(404, "CachedContent not found (or permission denied)"),
    )
    response_usage = play(make("google", server, prompt_cache="explicit"), server, gemini_turn, 1, opening())
    assert by_method(server)[1:] == [("POST", "gemini-test:generateContent")] * 2
    assert server.requests[1].body["cachedContent"] == "cachedContents/gone"
    assert "cachedContent" not in server.requests[2].body and "systemInstruction" in server.requests[2].body
    assert response_usage[0].input_tokens == 20


def test_gemini_implicit_caching_needs_no_request(server: FakeServer, explicit_caches: list[float]) -> None:
    server.enqueue(gemini_response([{"text": "ok"}], prompt_tokens=3000, cached_tokens=2048))
    usage = make("google", server).generate(opening(), TOOLS).usage
    assert by_method(server) == [("POST", "gemini-test:generateContent")]
    assert usage.cached_tokens == 2048 and usage.input_tokens == 3000 and usage.cache_write_tokens == 0
