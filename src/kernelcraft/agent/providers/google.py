"""Gemini adapter over google-genai ``models.generate_content``, with function calling.

Gemini caches repeated prefixes on its own (implicit caching); the request keeps its prefix
stable for that. With the prompt_cache option ``explicit`` the system instruction and the
tool declarations also go into an explicit context cache (a ``cachedContents`` resource)
that requests name instead of resending them; it is shared by every episode of the process
with the same model, prompt and tools, and kept alive while they run.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from kernelcraft.agent.messages import Message, ModelResponse, ProviderError, ToolCall, ToolSpec, Usage
from kernelcraft.agent.providers.retry import (
    Failure,
    call_with_retries,
    classify_common,
    parse_retry_after,
)
from kernelcraft.agent.providers.settings import ProviderSettings, api_key_from_env

PROVIDER = "google"
# Gemini may omit call ids; ours are marked so they are never sent back as if Gemini made them.
LOCAL_ID_PREFIX = "kc-call-"
# A call Gemini could not even emit (finish reason MALFORMED_FUNCTION_CALL) has no function-call
# part to pair a response with, so both sides of it travel as plain text.
MALFORMED_ID_PREFIX = "kc-call-malformed-"
# Gemini reports e.g. "Malformed function call: print(default_api.write_code(code=...".
_MALFORMED_NAME = re.compile(r"default_api\.(\w+)\(")
# "auto" is an hour: an expired cache must be created again, while an idle hour of storage
# for a system prompt costs a few cents at most.
TTL_SECONDS = {"5m": 300, "1h": 3600, "auto": 3600}
# A request naming a cache the server no longer has (expired, deleted) fails with one of these.
STALE_CACHE_STATUSES = (400, 403, 404)


class GoogleModel:
    """One Gemini model; the model's parts (with thought signatures) are echoed back verbatim."""

    def __init__(self, settings: ProviderSettings, *, name: str | None = None, api_key: str | None = None):
        if api_key is None:
            api_key, _ = api_key_from_env(PROVIDER, "GEMINI_API_KEY", "GOOGLE_API_KEY")
        self.name = name or f"{PROVIDER}:{settings.model}"
        self.settings = settings
        self._api_key = api_key
        http_options = types.HttpOptions(
            timeout=max(1, round(settings.timeout_s * 1000)),  # the SDK counts milliseconds
            retry_options=types.HttpRetryOptions(attempts=1),  # retries are ours, see retry.py
            base_url=settings.base_url,
        )
        self._client = genai.Client(api_key=api_key, vertexai=False, http_options=http_options)
        self.explicit_cache_error: str | None = None  # why the last explicit cache was refused

    def generate(self, messages: list[Message], tools: list[ToolSpec]) -> ModelResponse:
        contents = conversation_to_wire(messages)
        config = self.build_config(messages, tools)
        started = time.monotonic()
        cache = self.explicit_cache(config) if self.settings.prompt_cache == "explicit" else None
        try:
            reply = self._generate(contents, config if cache is None else cache.apply(config))
        except ProviderError as exc:
            if cache is None or exc.status not in STALE_CACHE_STATUSES:
                raise
            # The cache may have gone (expired, deleted): forget it and send the prefix in full.
            EXPLICIT_CACHES.forget(cache)
            reply = self._generate(contents, config)
        response = parse_response(reply)
        response.duration_s = time.monotonic() - started
        return response

    def _generate(self, contents: list[types.Content], config: types.GenerateContentConfig) -> Any:
        return self._with_retries(
            lambda: self._client.models.generate_content(
                model=self.settings.model, contents=contents, config=config
            )
        )

    def explicit_cache(self, config: types.GenerateContentConfig) -> ExplicitCache | None:
        """The live context cache holding this config's system instruction and tools.

        None when there is nothing to cache or the API refused to create one (a prefix
        below the model's minimum, a model without explicit caching): the request then
        sends its prefix in full and implicit caching still applies.
        """
        if config.system_instruction is None and not config.tools:
            return None
        prefix = config.model_dump(mode="json", include={"system_instruction", "tools"}, exclude_none=True)
        identity = [self.settings.base_url, _digest(self._api_key), self.settings.model, prefix]
        return EXPLICIT_CACHES.get_or_create(
            _digest(json.dumps(identity, sort_keys=True)),
            create=lambda: self._create_cache(config),
            extend=self._extend_cache,
            ttl_s=TTL_SECONDS[self.settings.cache_ttl],
        )

    def _create_cache(self, config: types.GenerateContentConfig) -> str | None:
        cache_config = types.CreateCachedContentConfig(
            display_name="kernelcraft",
            system_instruction=config.system_instruction,
            tools=config.tools,
            ttl=f"{TTL_SECONDS[self.settings.cache_ttl]}s",
        )
        try:
            created = self._with_retries(
                lambda: self._client.caches.create(model=self.settings.model, config=cache_config)
            )
        except ProviderError as exc:
            self.explicit_cache_error = str(exc)
            return None
        return created.name

    def _extend_cache(self, name: str) -> bool:
        ttl = f"{TTL_SECONDS[self.settings.cache_ttl]}s"
        try:
            self._with_retries(lambda: self._client.caches.update(name=name, config={"ttl": ttl}))
        except ProviderError:
            return False
        return True

    def _with_retries(self, call: Any) -> Any:
        return call_with_retries(
            call,
            lambda exc: classify_google_error(exc, self.settings.timeout_s),
            self.settings.retry,
            provider=PROVIDER,
            secrets=[self._api_key],
        )

    def build_config(self, messages: list[Message], tools: list[ToolSpec]) -> types.GenerateContentConfig:
        system = "\n\n".join(m.text for m in messages if m.role == "system" and m.text)
        config = types.GenerateContentConfig(
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )
        if system:
            config.system_instruction = system
        if tools:
            config.tools = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=t.name, description=t.description, parameters_json_schema=t.parameters
                        )
                        for t in tools
                    ]
                )
            ]
        # The API takes one of the two. A run's options may carry both (thinking_budget being
        # meant for Claude), so the level, Gemini's own control, wins.
        if self.settings.thinking_level is not None:
            config.thinking_config = types.ThinkingConfig(thinking_level=self.settings.thinking_level.upper())
        elif self.settings.thinking_budget is not None:
            config.thinking_config = types.ThinkingConfig(thinking_budget=self.settings.thinking_budget)
        if self.settings.max_tokens is not None:
            config.max_output_tokens = self.settings.max_tokens
        if self.settings.temperature is not None:
            config.temperature = self.settings.temperature
        return config


@dataclass
class ExplicitCache:
    """One context cache: its resource name (None: the API refused it) and when it expires."""

    key: str
    name: str | None
    expires_at: float  # on the registry's clock

    def apply(self, config: types.GenerateContentConfig) -> types.GenerateContentConfig:
        """The config naming this cache; what the cache holds may not be sent again."""
        return config.model_copy(
            update={"cached_content": self.name, "system_instruction": None, "tools": None}
        )


class ExplicitCaches:
    """The process's context caches, one per endpoint, key, model and prefix.

    Episodes run in threads and each builds its own model, so the caches live here: the
    first episode creates one, the others reuse it, and whoever finds it past half its
    lifetime extends it. A refused creation is remembered for half a lifetime too, so a
    model without explicit caching is not asked on every turn.
    """

    EXTEND_MARGIN_S = 10.0  # closer to expiry than this, a new cache is safer than extending

    def __init__(self) -> None:
        self._entries: dict[str, ExplicitCache] = {}
        self._lock = threading.Lock()
        self.clock = time.monotonic

    def get_or_create(
        self,
        key: str,
        *,
        create: Callable[[], str | None],
        extend: Callable[[str], bool],
        ttl_s: float,
    ) -> ExplicitCache | None:
        with self._lock:  # held across the API call, so concurrent episodes create one cache
            now = self.clock()
            entry = self._entries.get(key)
            if entry is not None and entry.expires_at - now > ttl_s / 2:
                return entry if entry.name else None
            if (
                entry is not None
                and entry.name
                and entry.expires_at - now > self.EXTEND_MARGIN_S
                and extend(entry.name)
            ):
                entry.expires_at = now + ttl_s
                return entry
            entry = ExplicitCache(key, create(), now + ttl_s)
            self._entries[key] = entry
            return entry if entry.name else None

    def forget(self, cache: ExplicitCache) -> None:
        with self._lock:
            if self._entries.get(cache.key) is cache:
                del self._entries[cache.key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


EXPLICIT_CACHES = ExplicitCaches()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def conversation_to_wire(messages: list[Message]) -> list[types.Content]:
    contents: list[types.Content] = []
    for message in messages:
        if message.role == "system":
            continue
        role = "model" if message.role == "assistant" else "user"
        parts = model_parts(message) if message.role == "assistant" else user_parts(message)
        if not parts:
            continue
        if contents and contents[-1].role == role:
            contents[-1].parts = [*(contents[-1].parts or []), *parts]  # keep turns alternating
        else:
            contents.append(types.Content(role=role, parts=parts))
    return contents


def user_parts(message: Message) -> list[types.Part]:
    parts: list[types.Part] = []
    for result in message.tool_results:
        if result.call_id.startswith(MALFORMED_ID_PREFIX):
            parts.append(types.Part(text=f"Result of the malformed {result.name} call: {result.content}"))
            continue
        response = types.FunctionResponse(
            id=None if result.call_id.startswith(LOCAL_ID_PREFIX) else result.call_id,
            name=result.name,
            response={"error": result.content} if result.is_error else {"output": result.content},
        )
        parts.append(types.Part(function_response=response))
    if message.text:
        parts.append(types.Part(text=message.text))
    return parts


def model_parts(message: Message) -> list[types.Part]:
    state = message.provider_state
    if isinstance(state, dict) and state.get("provider") == PROVIDER and state.get("parts"):
        # Gemini validates thought signatures on the parts it produced; send them back untouched.
        return [types.Part.model_validate_json(json.dumps(part)) for part in state["parts"]]
    parts: list[types.Part] = []
    if message.text:
        parts.append(types.Part(text=message.text))
    for call in message.tool_calls:
        if call.id.startswith(MALFORMED_ID_PREFIX):
            parts.append(types.Part(text=f"(malformed {call.name} call: {call.raw_arguments})"))
            continue
        call_id = None if call.id.startswith(LOCAL_ID_PREFIX) else call.id
        parts.append(
            types.Part(
                function_call=types.FunctionCall(id=call_id, name=call.name, args=call.arguments or {})
            )
        )
    return parts or [types.Part(text="(no output)")]


def parse_response(reply: Any) -> ModelResponse:
    if not reply.candidates:
        feedback = getattr(reply, "prompt_feedback", None)
        reason = getattr(feedback, "block_reason", None)
        reason = getattr(reason, "value", reason)
        raise ProviderError(
            f"{PROVIDER}: response contained no candidates" + (f" (blocked: {reason})" if reason else "")
        )
    candidate = reply.candidates[0]
    parts = (candidate.content.parts if candidate.content else None) or []
    texts: list[str] = []
    calls: list[ToolCall] = []
    for part in parts:
        if part.function_call is not None:
            calls.append(parse_function_call(part.function_call))
        elif part.text and not part.thought:
            texts.append(part.text)
    finish = candidate.finish_reason
    if finish == types.FinishReason.MALFORMED_FUNCTION_CALL and not calls:
        calls.append(malformed_call(candidate.finish_message or ""))
    state = None
    if parts:
        state = {
            "provider": PROVIDER,
            "parts": [json.loads(p.model_dump_json(exclude_none=True)) for p in parts],
        }
    message = Message(role="assistant", text="".join(texts), tool_calls=calls, provider_state=state)
    return ModelResponse(
        message=message,
        usage=usage_from_wire(reply.usage_metadata),
        stop_reason=(getattr(finish, "value", None) or str(finish or "")).lower(),
    )


def parse_function_call(call: Any) -> ToolCall:
    args = call.args
    return ToolCall(
        id=call.id or f"{LOCAL_ID_PREFIX}{uuid.uuid4().hex[:12]}",
        name=call.name or "",
        arguments=args if isinstance(args, dict) else None,
        raw_arguments=json.dumps(args) if args is not None else "",
    )


def malformed_call(finish_message: str) -> ToolCall:
    """Gemini's own report of a call it could not form; the loop answers it like bad JSON.

    Only some backends pass the finish message (with the attempted call) through the SDK;
    without it the tool name is unknown.
    """
    match = _MALFORMED_NAME.search(finish_message)
    return ToolCall(
        id=f"{MALFORMED_ID_PREFIX}{uuid.uuid4().hex[:12]}",
        name=match.group(1) if match else "unknown",
        arguments=None,
        raw_arguments=finish_message or "Gemini reported a malformed function call",
    )


def usage_from_wire(usage: Any) -> Usage:
    """Output counts thoughts too, as the other providers' output counts do."""
    if usage is None:
        return Usage()
    thoughts = usage.thoughts_token_count or 0
    return Usage(
        input_tokens=usage.prompt_token_count or 0,
        output_tokens=(usage.candidates_token_count or 0) + thoughts,
        reasoning_tokens=thoughts,
        cached_tokens=usage.cached_content_token_count or 0,
    )


def classify_google_error(exc: Exception, timeout_s: float | None = None) -> Failure:
    if isinstance(exc, genai_errors.APIError):
        headers = getattr(getattr(exc, "response", None), "headers", None)
        detail = exc.message or (exc.status or "")
        return Failure("status", str(detail), status=exc.code, retry_after_s=parse_retry_after(headers))
    if isinstance(exc, httpx2.TimeoutException):
        return Failure("timeout", f"no response within {timeout_s:g} s" if timeout_s else "")
    if isinstance(exc, httpx2.TransportError):
        return Failure("connection", str(exc) or type(exc).__name__)
    return classify_common(exc)
