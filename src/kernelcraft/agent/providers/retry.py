"""One retry policy for every provider.

Vendor SDKs each retry differently; they are all run with their own retries off and
this layer decides instead, so an episode sees the same behaviour on every provider:
transient failures (rate limits, 5xx, timeouts, dropped connections) back off
exponentially with jitter, permanent ones (bad request, bad key) fail at once, and
what finally surfaces is a one-line ProviderError that never contains a key.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from kernelcraft.agent.messages import ProviderError

T = TypeVar("T")

# 408 request timeout, 409 lock contention, 429 rate limit; 5xx covers 529 "overloaded" too.
RETRYABLE_STATUSES = frozenset({408, 409, 429})
MAX_MESSAGE_CHARS = 300

# Shapes of API keys, scrubbed from messages even when the exact key is not known here.
_KEY_PATTERN = re.compile(r"(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{16,})")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait; ``sleep`` is injectable so tests need not wait."""

    max_retries: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def delay_s(self, retry_index: int, retry_after_s: float | None = None) -> float:
        """Wait before retry number ``retry_index`` (0-based).

        A server's Retry-After wins over our own schedule (it knows when capacity
        returns) but is capped, so a hostile or buggy header cannot stall a run.
        """
        if retry_after_s is not None:
            return max(0.0, min(retry_after_s, self.max_retry_after_s))
        ceiling = min(self.max_delay_s, self.base_delay_s * (2**retry_index))
        # Equal jitter: never less than half the ceiling, so backoff still grows.
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class Failure:
    """A provider exception reduced to what the retry decision and the message need."""

    kind: Literal["status", "timeout", "connection", "other"]
    detail: str
    status: int | None = None
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        if self.kind in ("timeout", "connection"):
            return True
        if self.kind == "status" and self.status is not None:
            return self.status in RETRYABLE_STATUSES or self.status >= 500
        return False


def call_with_retries(
    call: Callable[[], T],
    classify: Callable[[Exception], Failure],
    policy: RetryPolicy,
    *,
    provider: str,
    secrets: Iterable[str] = (),
) -> T:
    """Run ``call``; retry transient failures; raise ProviderError when it fails for good."""
    attempts = max(0, policy.max_retries) + 1
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - every SDK failure becomes a Failure
            failure = _safe_classify(classify, exc)
            if not failure.retryable or attempt == attempts:
                message = describe_failure(provider, failure, attempt, secrets)
                # "from None": the SDK exception may carry request details we must not print.
                raise ProviderError(message, retryable=failure.retryable, status=failure.status) from None
            policy.sleep(policy.delay_s(attempt - 1, failure.retry_after_s))
    raise AssertionError("unreachable")  # the loop always returns or raises


def _safe_classify(classify: Callable[[Exception], Failure], exc: Exception) -> Failure:
    try:
        return classify(exc)
    except Exception:  # noqa: BLE001 - a classifier bug must not hide the real failure
        return classify_common(exc)


def classify_common(exc: Exception) -> Failure:
    """Fallback for exceptions no SDK-specific rule recognised."""
    if isinstance(exc, TimeoutError):
        return Failure("timeout", str(exc) or "request timed out")
    if isinstance(exc, ConnectionError):
        return Failure("connection", str(exc) or "connection failed")
    return Failure("other", f"{type(exc).__name__}: {exc}")


def describe_failure(provider: str, failure: Failure, attempts: int, secrets: Iterable[str] = ()) -> str:
    """The one line a user sees: provider, status or failure kind, the provider's text."""
    if failure.kind == "status":
        head = f"{provider}: HTTP {failure.status}"
    elif failure.kind == "timeout":
        head = f"{provider}: request timed out"
    elif failure.kind == "connection":
        head = f"{provider}: connection failed"
    else:
        head = f"{provider}: request failed"
    detail = one_line(redact(failure.detail, secrets))
    tail = f" (after {attempts} attempts)" if attempts > 1 else ""
    return f"{head}: {detail}{tail}" if detail else f"{head}{tail}"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _KEY_PATTERN.sub("[redacted]", text)


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def error_text(body: Any, fallback: str = "") -> str:
    """The human part of a provider's JSON error body, whichever of the usual shapes it has."""
    if isinstance(body, list) and len(body) == 1:
        body = body[0]
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return body["message"]
    if isinstance(body, str) and body.strip():
        return body
    return fallback


def parse_retry_after(headers: Mapping[str, str] | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
