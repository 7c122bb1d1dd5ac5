"""Anthropic Messages API adapter, with extended thinking, native tool use and prompt caching.

Prompt caching (on unless the prompt_cache option is off) marks four cache breakpoints, the
API's limit: the last tool (the tool schemas), the system prompt, the end of the previous
request (so its cached prefix is read back whatever the number of blocks in between) and
the end of this request (written for the next turn). The markers move with the conversation
but the content before them never changes, so every turn reads what the one before wrote.
Entries live 5 minutes (refreshed by every read) or, with cache_ttl=1h, an hour at a higher
write price; cache_ttl=auto (the default) switches an episode to hour-long entries once one
of its turns takes long enough that 5-minute entries would expire before the next request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import anthropic

from kernelcraft.agent.messages import Message, ModelResponse, ToolCall, ToolSpec, Usage
from kernelcraft.agent.providers.retry import (
    Failure,
    call_with_retries,
    classify_common,
    error_text,
    parse_retry_after,
)
from kernelcraft.agent.providers.settings import ProviderSettings, api_key_from_env

PROVIDER = "anthropic"
DEFAULT_MAX_TOKENS = 16_000  # the API requires a limit; this leaves room for a long kernel
MIN_THINKING_BUDGET = 1024  # the API's lower bound for budget_tokens
THINKING_BLOCK_TYPES = ("thinking", "redacted_thinking")
MAX_CACHE_BREAKPOINTS = 4  # the API rejects requests with more cache_control markers
# Under cache_ttl=auto, a gap between two requests longer than this (5 minutes less a margin
# for the time the API takes to write the entry) makes the episode's entries hour-long.
SLOW_TURN_S = 240.0


class AnthropicModel:
    """One Claude model; thinking blocks travel in Message.provider_state between turns."""

    clock: Callable[[], float] = staticmethod(time.monotonic)  # times the gaps between turns

    def __init__(self, settings: ProviderSettings, *, name: str | None = None, api_key: str | None = None):
        self.max_tokens = resolve_max_tokens(settings)
        if settings.thinking_budget is not None and settings.temperature is not None:
            raise ValueError("anthropic: temperature cannot be set together with thinking_budget")
        if api_key is None:
            api_key, _ = api_key_from_env(PROVIDER, "ANTHROPIC_API_KEY")
        self.name = name or f"{PROVIDER}:{settings.model}"
        self.settings = settings
        self._api_key = api_key
        client_kwargs: dict[str, Any] = {"api_key": api_key, "timeout": settings.timeout_s, "max_retries": 0}
        if settings.base_url:
            client_kwargs["base_url"] = settings.base_url
        self._client = anthropic.Anthropic(**client_kwargs)
        self.long_ttl = settings.cache_ttl == "1h"
        self._last_request_at: float | None = None

    @property
    def cache_control(self) -> dict[str, str] | None:
        """The marker for this request's breakpoints, or None with caching off."""
        if self.settings.prompt_cache == "off":
            return None
        # 5 minutes is the API's default, so its marker names no ttl.
        return {"type": "ephemeral", "ttl": "1h"} if self.long_ttl else {"type": "ephemeral"}

    def generate(self, messages: list[Message], tools: list[ToolSpec]) -> ModelResponse:
        now = self.clock()
        if self.settings.cache_ttl == "auto" and self._last_request_at is not None:
            self.long_ttl = self.long_ttl or now - self._last_request_at > SLOW_TURN_S
        self._last_request_at = now
        request = self.build_request(messages, tools)
        started = time.monotonic()
        reply = call_with_retries(
            lambda: self._client.messages.create(**request),
            lambda exc: classify_anthropic_error(exc, self.settings.timeout_s),
            self.settings.retry,
            provider=PROVIDER,
            secrets=[self._api_key],
        )
        response = parse_response(reply, default_write_ttl="1h" if self.long_ttl else "5m")
        response.duration_s = time.monotonic() - started
        return response

    def build_request(self, messages: list[Message], tools: list[ToolSpec]) -> dict[str, Any]:
        system = "\n\n".join(m.text for m in messages if m.role == "system" and m.text)
        request: dict[str, Any] = {
            "model": self.settings.model,
            "max_tokens": self.max_tokens,
            "messages": conversation_to_wire(messages),
        }
        if system:
            request["system"] = system
        if tools:
            request["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters} for t in tools
            ]
        marker = self.cache_control
        if marker is not None:
            mark_cache_breakpoints(request, marker)
        if self.settings.thinking_budget is not None:
            request["thinking"] = {"type": "enabled", "budget_tokens": self.settings.thinking_budget}
        if self.settings.temperature is not None:
            request["temperature"] = self.settings.temperature
        return request


def mark_cache_breakpoints(request: dict[str, Any], marker: dict[str, str]) -> None:
    """Put cache_control markers on tools, system prompt and the conversation's two ends.

    The API caches the prefix up to each marked block (tools, then system, then messages).
    A turn appends an assistant message and a user message, so the previous request ended
    at the user message three from the end; marking it too makes its cached prefix an
    exact hit however many blocks the last turn added (the API looks back only about 20
    blocks from a marker for an earlier entry). The request's dicts are built afresh for
    every call, so marking them in place touches nothing the conversation keeps.
    """
    targets: list[dict[str, Any]] = []
    if request.get("tools"):
        targets.append(request["tools"][-1])
    if isinstance(request.get("system"), str):
        request["system"] = [{"type": "text", "text": request["system"]}]
        targets.append(request["system"][0])
    messages = request["messages"]
    for index in (len(messages) - 3, len(messages) - 1):
        if index >= 0 and messages[index]["role"] == "user" and messages[index]["content"]:
            targets.append(messages[index]["content"][-1])
    for block in targets[-MAX_CACHE_BREAKPOINTS:]:
        block["cache_control"] = dict(marker)


def resolve_max_tokens(settings: ProviderSettings) -> int:
    """The output limit; with thinking it must exceed the budget, which counts against it."""
    budget = settings.thinking_budget
    if budget is None:
        return settings.max_tokens or DEFAULT_MAX_TOKENS
    if budget < MIN_THINKING_BUDGET:
        raise ValueError(f"anthropic: thinking_budget must be at least {MIN_THINKING_BUDGET}, got {budget}")
    if settings.max_tokens is None:
        return budget + DEFAULT_MAX_TOKENS
    if settings.max_tokens <= budget:
        raise ValueError(
            f"anthropic: max_tokens ({settings.max_tokens}) must exceed thinking_budget ({budget})"
        )
    return settings.max_tokens


def conversation_to_wire(messages: list[Message]) -> list[dict[str, Any]]:
    """Messages as alternating user/assistant turns; tool results ride in a user turn."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        role, blocks = (
            ("assistant", assistant_blocks(message))
            if message.role == "assistant"
            else (
                "user",
                user_blocks(message),
            )
        )
        if not blocks:
            continue
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"].extend(blocks)  # the API wants strictly alternating roles
        else:
            wire.append({"role": role, "content": blocks})
    return wire


def user_blocks(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for result in message.tool_results:
        block: dict[str, Any] = {
            "type": "tool_result",
            "tool_use_id": result.call_id,
            "content": result.content,
        }
        if result.is_error:
            block["is_error"] = True
        blocks.append(block)
    if message.text:
        blocks.append({"type": "text", "text": message.text})
    return blocks


def assistant_blocks(message: Message) -> list[dict[str, Any]]:
    # Thinking blocks must come back exactly as received (signature intact) before the tool use.
    blocks = list(thinking_blocks_from_state(message.provider_state))
    if message.text:
        blocks.append({"type": "text", "text": message.text})
    for call in message.tool_calls:
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments or {}})
    if not blocks:
        blocks.append({"type": "text", "text": "(no output)"})  # the API rejects empty turns
    return blocks


def thinking_blocks_from_state(state: Any) -> list[dict[str, Any]]:
    if not isinstance(state, dict) or state.get("provider") != PROVIDER:
        return []
    return [dict(block) for block in state.get("thinking_blocks", [])]


def parse_response(reply: Any, *, default_write_ttl: str = "5m") -> ModelResponse:
    texts: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[dict[str, Any]] = []
    for block in reply.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append(parse_tool_use(block))
        elif block.type in THINKING_BLOCK_TYPES:
            thinking.append(block.model_dump(mode="json", exclude_none=True))
    message = Message(
        role="assistant",
        text="".join(texts),
        tool_calls=calls,
        provider_state={"provider": PROVIDER, "thinking_blocks": thinking} if thinking else None,
    )
    return ModelResponse(
        message=message,
        usage=usage_from_wire(reply.usage, default_write_ttl=default_write_ttl),
        stop_reason=(reply.stop_reason or "").lower(),
    )


def parse_tool_use(block: Any) -> ToolCall:
    raw_input = block.input
    if isinstance(raw_input, dict):
        return ToolCall(
            id=block.id, name=block.name, arguments=raw_input, raw_arguments=json.dumps(raw_input)
        )
    # The SDK does not validate responses, so a non-object input reaches us as-is.
    raw = raw_input if isinstance(raw_input, str) else json.dumps(raw_input)
    try:
        parsed = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        parsed = None
    return ToolCall(
        id=block.id,
        name=block.name,
        arguments=parsed if isinstance(parsed, dict) else None,
        raw_arguments=raw,
    )


def usage_from_wire(usage: Any, *, default_write_ttl: str = "5m") -> Usage:
    """Anthropic counts cache reads and writes apart from input_tokens (which holds only the
    tokens after the last breakpoint); the other providers' input counts include cached
    tokens, and so does ours. Writes are split by lifetime as the API reports them; a
    response without the split is attributed to the lifetime that was asked for."""
    if usage is None:
        return Usage()
    details = getattr(usage, "output_tokens_details", None)
    cache_read = usage.cache_read_input_tokens or 0
    cache_write = usage.cache_creation_input_tokens or 0
    split = getattr(usage, "cache_creation", None)
    if split is not None:
        write_1h = split.ephemeral_1h_input_tokens or 0
        write_5m = split.ephemeral_5m_input_tokens or 0
        cache_write = max(cache_write, write_1h + write_5m)
        write_5m = cache_write - write_1h  # a total above the split's sum is taken as 5-minute
    elif default_write_ttl == "1h":
        write_5m, write_1h = 0, cache_write
    else:
        write_5m, write_1h = cache_write, 0
    return Usage(
        input_tokens=(usage.input_tokens or 0) + cache_read + cache_write,
        output_tokens=usage.output_tokens or 0,
        reasoning_tokens=(getattr(details, "thinking_tokens", None) or 0),
        cached_tokens=cache_read,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
    )


def classify_anthropic_error(exc: Exception, timeout_s: float | None = None) -> Failure:
    if isinstance(exc, anthropic.APIStatusError):
        return Failure(
            "status",
            exc.api_message or error_text(exc.body, fallback=exc.message),
            status=exc.status_code,
            retry_after_s=parse_retry_after(exc.response.headers),
        )
    if isinstance(exc, anthropic.APITimeoutError):
        return Failure("timeout", f"no response within {timeout_s:g} s" if timeout_s else "")
    if isinstance(exc, anthropic.APIConnectionError):
        return Failure("connection", exc.message)
    return classify_common(exc)
