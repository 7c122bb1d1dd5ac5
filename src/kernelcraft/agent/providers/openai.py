"""OpenAI Chat Completions adapter (also the base for OpenAI-compatible servers).

OpenAI caches long prompt prefixes on its own. The request keeps its prefix byte-stable
(tools and system prompt first, the conversation only appended to, nothing per turn before
it) and names a ``prompt_cache_key`` per task, so every turn of an episode, and every
sample of the same cell, is routed to where its prefix is already cached.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

import openai

from kernelcraft.agent.messages import Message, ModelResponse, ProviderError, ToolCall, ToolSpec, Usage
from kernelcraft.agent.providers.retry import Failure, call_with_retries, classify_common, error_text
from kernelcraft.agent.providers.retry import parse_retry_after as _parse_retry_after
from kernelcraft.agent.providers.settings import MAX_CACHE_KEY_CHARS, ProviderSettings, api_key_from_env


class OpenAIModel:
    """One model behind the Chat Completions API, with native function calling."""

    provider = "openai"
    # Newer OpenAI models reject max_tokens; most self-hosted servers only know it.
    token_limit_field = "max_completion_tokens"
    # Whether a prompt_cache_key is sent when the user named none (servers other than
    # OpenAI may not know the field).
    derives_cache_key = True

    def __init__(self, settings: ProviderSettings, *, name: str | None = None, api_key: str | None = None):
        if api_key is None:
            api_key, _ = api_key_from_env(self.provider, "OPENAI_API_KEY")
        self.name = name or f"{self.provider}:{settings.model}"
        self.settings = settings
        self._api_key = api_key
        client_kwargs: dict[str, Any] = {"api_key": api_key, "timeout": settings.timeout_s, "max_retries": 0}
        if settings.base_url:
            client_kwargs["base_url"] = settings.base_url
        self._client = openai.OpenAI(**client_kwargs)

    def generate(self, messages: list[Message], tools: list[ToolSpec]) -> ModelResponse:
        request = self.build_request(messages, tools)
        started = time.monotonic()
        completion = call_with_retries(
            lambda: self._client.chat.completions.create(**request),
            lambda exc: classify_openai_error(exc, self.settings.timeout_s),
            self.settings.retry,
            provider=self.provider,
            secrets=[self._api_key],
        )
        response = self.parse_response(completion)
        response.duration_s = time.monotonic() - started
        return response

    # -- request -----------------------------------------------------------------

    def build_request(self, messages: list[Message], tools: list[ToolSpec]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [wire for message in messages for wire in self.message_to_wire(message)],
        }
        if tools:
            request["tools"] = [tool_to_wire(tool) for tool in tools]
        if self.settings.reasoning_effort:
            request["reasoning_effort"] = self.settings.reasoning_effort
        if self.settings.max_tokens is not None:
            request[self.token_limit_field] = self.settings.max_tokens
        if self.settings.temperature is not None:
            request["temperature"] = self.settings.temperature
        key = self.cache_key(messages)
        if key is not None:
            request["prompt_cache_key"] = key
        return request

    def cache_key(self, messages: list[Message]) -> str | None:
        """``<run namespace>-<digest of system prompt and task prompt>``, or None.

        The digest makes the key per task cell without anyone passing the task in; the
        namespace is the prompt_cache_key option (per run) or "kernelcraft".
        """
        namespace = self.settings.prompt_cache_key
        if self.settings.prompt_cache == "off" or (namespace is None and not self.derives_cache_key):
            return None
        return prompt_cache_key(messages, namespace or "kernelcraft")

    def message_to_wire(self, message: Message) -> list[dict[str, Any]]:
        if message.role in ("system", "user"):
            return [{"role": message.role, "content": message.text}]
        if message.role == "tool":
            wires: list[dict[str, Any]] = [
                {
                    "role": "tool",
                    "tool_call_id": result.call_id,
                    # Chat Completions has no error flag; say it in the content instead.
                    "content": f"Error: {result.content}" if result.is_error else result.content,
                }
                for result in message.tool_results
            ]
            if message.text:  # a note beside the results has no place in a tool message
                wires.append({"role": "user", "content": message.text})
            return wires
        wire: dict[str, Any] = {"role": "assistant", "content": message.text or None}
        if message.tool_calls:
            wire["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": arguments_text(call)},
                }
                for call in message.tool_calls
            ]
        elif wire["content"] is None:
            wire["content"] = ""
        return [wire]

    # -- response ----------------------------------------------------------------

    def parse_response(self, completion: Any) -> ModelResponse:
        if not completion.choices:
            raise ProviderError(f"{self.provider}: response contained no choices")
        choice = completion.choices[0]
        wire = choice.message
        calls = [parse_tool_call(call) for call in (wire.tool_calls or []) if call.type == "function"]
        message = Message(
            role="assistant",
            text=wire.content or "",
            tool_calls=calls,
            provider_state=self.state_from_message(wire),
        )
        return ModelResponse(
            message=message,
            usage=usage_from_wire(completion.usage),
            stop_reason=(choice.finish_reason or "").lower(),
        )

    def state_from_message(self, wire: Any) -> Any:
        """Provider data to echo back next turn; plain Chat Completions needs none."""
        return None


def prompt_cache_key(messages: list[Message], namespace: str) -> str:
    """A stable key for a conversation: the namespace and a digest of how it opens."""
    system = "\n\n".join(m.text for m in messages if m.role == "system")
    task = next((m.text for m in messages if m.role == "user"), "")
    digest = hashlib.sha256(f"{system}\0{task}".encode()).hexdigest()[:16]
    return f"{namespace[: MAX_CACHE_KEY_CHARS - len(digest) - 1]}-{digest}"


def tool_to_wire(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
    }


def arguments_text(call: ToolCall) -> str:
    # A call whose arguments did not parse is sent back verbatim, so the model sees its own output.
    return call.raw_arguments if call.arguments is None else json.dumps(call.arguments)


def parse_tool_call(wire: Any) -> ToolCall:
    raw = wire.function.arguments or ""
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except (json.JSONDecodeError, TypeError):
        parsed = None
    return ToolCall(
        id=wire.id or f"call_{uuid.uuid4().hex[:12]}",
        name=wire.function.name,
        arguments=parsed if isinstance(parsed, dict) else None,
        raw_arguments=raw,
    )


def usage_from_wire(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    completion_details = getattr(usage, "completion_tokens_details", None)
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        reasoning_tokens=(getattr(completion_details, "reasoning_tokens", None) or 0),
        cached_tokens=(getattr(prompt_details, "cached_tokens", None) or 0),
    )


def classify_openai_error(exc: Exception, timeout_s: float | None = None) -> Failure:
    if isinstance(exc, openai.APIStatusError):
        return Failure(
            "status",
            error_text(exc.body, fallback=exc.message),
            status=exc.status_code,
            retry_after_s=_parse_retry_after(exc.response.headers),
        )
    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", f"no response within {timeout_s:g} s" if timeout_s else "")
    if isinstance(exc, openai.APIConnectionError):
        return Failure("connection", exc.message)
    return classify_common(exc)
