"""The shared retry layer, without any network: decisions, waits and the final message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kernelcraft.agent.messages import ProviderError
from kernelcraft.agent.providers.retry import (
    Failure,
    RetryPolicy,
    call_with_retries,
    describe_failure,
    error_text,
    parse_retry_after,
    redact,
)


class FlakyCall:
    """Raises the given exceptions in turn, then returns "done"."""

    def __init__(self, *failures: Exception):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


class StatusError(Exception):
    def __init__(self, status: int, text: str = "", retry_after: float | None = None):
        super().__init__(text)
        self.status, self.text, self.retry_after = status, text, retry_after


def classify(exc: Exception) -> Failure:
    if isinstance(exc, StatusError):
        return Failure("status", exc.text, status=exc.status, retry_after_s=exc.retry_after)
    if isinstance(exc, TimeoutError):
        return Failure("timeout", "slow")
    raise RuntimeError("classifier does not know this one")


def policy(sleeps: list[float], **kwargs: float) -> RetryPolicy:
    return RetryPolicy(base_delay_s=0.01, sleep=sleeps.append, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 529])
def test_transient_status_is_retried_until_success(status: int) -> None:
    sleeps: list[float] = []
    call = FlakyCall(StatusError(status), StatusError(status))
    assert call_with_retries(call, classify, policy(sleeps), provider="p") == "done"
    assert call.calls == 3
    assert len(sleeps) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_permanent_status_fails_at_once(status: int) -> None:
    sleeps: list[float] = []
    call = FlakyCall(StatusError(status, "no good"))
    with pytest.raises(ProviderError) as info:
        call_with_retries(call, classify, policy(sleeps), provider="openai")
    assert call.calls == 1 and sleeps == []
    assert info.value.status == status and info.value.retryable is False
    assert str(info.value) == f"openai: HTTP {status}: no good"


def test_exhausted_retries_report_status_text_and_attempts() -> None:
    sleeps: list[float] = []
    call = FlakyCall(*[StatusError(429, "Rate limit\nreached")] * 5)
    with pytest.raises(ProviderError) as info:
        call_with_retries(call, classify, policy(sleeps, max_retries=2), provider="anthropic")
    assert call.calls == 3
    assert str(info.value) == "anthropic: HTTP 429: Rate limit reached (after 3 attempts)"
    assert info.value.retryable is True and info.value.status == 429


def test_timeouts_are_retried_then_reported() -> None:
    call = FlakyCall(TimeoutError(), TimeoutError())
    with pytest.raises(ProviderError, match=r"^google: request timed out: slow \(after 2 attempts\)$"):
        call_with_retries(call, classify, policy([], max_retries=1), provider="google")


def test_zero_retries_means_one_attempt() -> None:
    call = FlakyCall(StatusError(500))
    with pytest.raises(ProviderError):
        call_with_retries(call, classify, policy([], max_retries=0), provider="p")
    assert call.calls == 1


def test_unknown_exception_falls_back_to_a_non_retryable_failure() -> None:
    call = FlakyCall(KeyError("boom"))
    with pytest.raises(ProviderError, match="KeyError") as info:
        call_with_retries(call, classify, policy([]), provider="p")
    assert call.calls == 1 and info.value.retryable is False
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling() -> None:
    retry = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0)
    for index, ceiling in enumerate([1.0, 2.0, 4.0, 5.0, 5.0]):
        waits = [retry.delay_s(index) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 1  # jittered, not a fixed schedule


def test_retry_after_wins_but_is_capped() -> None:
    retry = RetryPolicy(base_delay_s=10.0, max_retry_after_s=3.0)
    assert retry.delay_s(0, retry_after_s=0.5) == 0.5
    assert retry.delay_s(0, retry_after_s=1000.0) == 3.0
    sleeps: list[float] = []
    call = FlakyCall(StatusError(429, retry_after=2.0))
    call_with_retries(call, classify, policy(sleeps, max_retry_after_s=1.5), provider="p")
    assert sleeps == [1.5]


def test_parse_retry_after_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 01 Jan 2025 12:00:30 GMT"}, now=now) == 30.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None


def test_keys_are_redacted_from_messages() -> None:
    secret = "my-very-private-key-123"
    failure = Failure("status", f"bad key {secret} and sk-proj-abcdefgh12345678", status=401)
    message = describe_failure("openai", failure, 1, secrets=[secret])
    assert secret not in message and "sk-proj-abcdefgh12345678" not in message
    assert message.count("[redacted]") == 2
    assert redact("AIzaSyA0123456789abcdefghijk here") == "[redacted] here"


def test_long_details_are_one_bounded_line() -> None:
    message = describe_failure("p", Failure("other", "x\n" * 1000), 1)
    assert "\n" not in message and len(message) < 400


def test_error_text_understands_the_usual_body_shapes() -> None:
    assert error_text({"error": {"message": "nested"}}) == "nested"
    assert error_text({"error": "flat"}) == "flat"
    assert error_text({"message": "top"}) == "top"
    assert error_text([{"error": {"message": "listed"}}]) == "listed"
    assert error_text("<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert error_text(None, fallback="fb") == "fb"
