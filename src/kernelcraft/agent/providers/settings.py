"""Typed, validated provider options.

Options arrive as strings or ints from the command line; they are checked once here,
before any episode starts, so a typo fails with one clear line instead of an HTTP 400
halfway through a benchmark.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kernelcraft.agent.messages import ProviderError
from kernelcraft.agent.providers.retry import RetryPolicy

COMMON_OPTIONS = (
    "max_tokens",
    "temperature",
    "timeout_s",
    "max_retries",
    "retry_base_s",
    "base_url",
    "prompt_cache",
)
PROVIDER_OPTIONS: dict[str, tuple[str, ...]] = {
    "openai": ("reasoning_effort", "prompt_cache_key"),
    "openai-compatible": ("reasoning_effort", "prompt_cache_key"),
    "anthropic": ("thinking_budget", "cache_ttl"),
    "google": ("thinking_level", "thinking_budget", "cache_ttl"),
}
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
THINKING_LEVELS = ("minimal", "low", "medium", "high")
# on: every provider's prompt caching is used (Anthropic needs it asked for); off: nothing is
# asked for (OpenAI and Gemini still cache long prefixes on their own); explicit: as on, and
# Gemini models also keep system prompt and tools in an explicit context cache.
PROMPT_CACHE_MODES = ("on", "off", "explicit")
# auto: Anthropic entries live 5 minutes until a turn of the episode takes longer than that
# would survive, then 1 hour; Gemini explicit caches live 1 hour (storage is cheap).
CACHE_TTLS = ("auto", "5m", "1h")
MAX_CACHE_KEY_CHARS = 64
DEFAULT_TIMEOUT_S = 600.0  # reasoning models can think for minutes before the first byte


@dataclass(frozen=True)
class ProviderSettings:
    model: str
    max_tokens: int | None = None
    temperature: float | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    base_url: str | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    thinking_level: str | None = None
    prompt_cache: str = "on"
    cache_ttl: str = "auto"
    prompt_cache_key: str | None = None


def parse_settings(provider: str, model: str, options: Mapping[str, Any]) -> ProviderSettings:
    """Validate ``options`` for ``provider``.

    Options whose value is None count as unset. A run applies one set of options to every
    model in its matrix, so an option meant for another provider (reasoning_effort on a
    Claude model) is dropped here; only names no provider knows are errors.
    """
    known = set(COMMON_OPTIONS).union(*PROVIDER_OPTIONS.values())
    unknown = sorted(key for key, value in options.items() if value is not None and key not in known)
    if unknown:
        raise ValueError(
            f"unknown model option(s): {', '.join(unknown)} (accepted: {', '.join(sorted(known))})"
        )
    allowed = COMMON_OPTIONS + PROVIDER_OPTIONS[provider]
    given = {key: value for key, value in options.items() if value is not None and key in allowed}
    retry = RetryPolicy()
    retry_kwargs: dict[str, Any] = {}
    if "max_retries" in given:
        retry_kwargs["max_retries"] = _number(given, "max_retries", int, minimum=0)
    if "retry_base_s" in given:
        retry_kwargs["base_delay_s"] = _number(given, "retry_base_s", float, minimum=0)
    if retry_kwargs:
        retry = RetryPolicy(**retry_kwargs)
    return ProviderSettings(
        model=model,
        max_tokens=_number(given, "max_tokens", int, minimum=1),
        temperature=_number(given, "temperature", float, minimum=0),
        timeout_s=_number(given, "timeout_s", float, minimum=0.001) or DEFAULT_TIMEOUT_S,
        retry=retry,
        base_url=_base_url(given.get("base_url")),
        reasoning_effort=_choice(given, "reasoning_effort", REASONING_EFFORTS),
        thinking_budget=_number(given, "thinking_budget", int, minimum=0),
        thinking_level=_choice(given, "thinking_level", THINKING_LEVELS),
        prompt_cache=_choice(given, "prompt_cache", PROMPT_CACHE_MODES) or "on",
        cache_ttl=_choice(given, "cache_ttl", CACHE_TTLS) or "auto",
        prompt_cache_key=_cache_key(given.get("prompt_cache_key")),
    )


def _number(given: Mapping[str, Any], key: str, kind: type, *, minimum: float) -> Any:
    if key not in given:
        return None
    raw = given[key]
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = kind(raw)
    except (TypeError, ValueError):
        raise ValueError(
            f"option {key} must be a{'n integer' if kind is int else ' number'}, got {raw!r}"
        ) from None
    if value < minimum:
        raise ValueError(f"option {key} must be at least {minimum}, got {raw!r}")
    return value


def _choice(given: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str | None:
    if key not in given:
        return None
    value = str(given[key]).strip().lower()
    if value not in choices:
        raise ValueError(f"option {key} must be one of {', '.join(choices)}, got {given[key]!r}")
    return value


def _base_url(raw: Any) -> str | None:
    if raw is None:
        return None
    url = str(raw).strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base URL must start with http:// or https://, got {raw!r}")
    return url.rstrip("/")


def _cache_key(raw: Any) -> str | None:
    if raw is None:
        return None
    key = str(raw).strip()
    if not key or len(key) > MAX_CACHE_KEY_CHARS or any(ch.isspace() for ch in key):
        raise ValueError(
            f"option prompt_cache_key must be 1 to {MAX_CACHE_KEY_CHARS} characters "
            f"without spaces, got {raw!r}"
        )
    return key


def api_key_from_env(provider: str, *names: str) -> tuple[str, str]:
    """The first non-empty key among ``names``, with its variable name; a clear error if none."""
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value, name
    raise ProviderError(f"{provider}: no API key; set {' or '.join(names)}")
