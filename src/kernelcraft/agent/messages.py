"""Provider-neutral conversation types.

Every provider adapter translates these to and from its own wire format, so the
agent loop, the transcript and the scripted models never see a vendor SDK type.
"""

from __future__ import annotations

from dataclasses import asdict, astuple, dataclass, field
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: name, description and a JSON-schema for its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """One tool call requested by the model.

    ``arguments`` is the parsed JSON object when the model sent valid JSON; otherwise it
    is None and ``raw_arguments`` keeps what was sent, so the loop can answer with an
    error result instead of crashing.
    """

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str = ""


@dataclass(frozen=True)
class ToolResult:
    call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass
class Message:
    """One conversation turn.

    role "system" and "user" carry text; "assistant" carries text and/or tool calls
    (plus opaque provider state needed to continue, e.g. thinking signatures);
    "tool" carries the results of the previous assistant turn's tool calls.
    """

    role: Literal["system", "user", "assistant", "tool"]
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)
    # Provider-specific data that must be echoed back on the next request
    # (Anthropic thinking blocks, Gemini thought signatures). Never shown to users.
    provider_state: Any = None


@dataclass(frozen=True)
class Usage:
    """Tokens one or more turns used, counted the same way for every provider.

    ``input_tokens`` is every prompt token, however billed: it includes the tokens read
    from the provider's prompt cache (``cached_tokens``) and the tokens written to it
    (``cache_write_5m_tokens``, ``cache_write_1h_tokens``: Anthropic bills writes at a
    premium that depends on the entry's lifetime). ``output_tokens`` includes reasoning.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    def as_fields(self) -> dict[str, int]:
        """Every count by field name, as transcripts record a turn's usage."""
        return asdict(self)


@dataclass
class ModelResponse:
    message: Message  # role "assistant"
    usage: Usage
    stop_reason: str = ""  # provider's own finish/stop reason, normalised lower-case
    duration_s: float = 0.0


class ProviderError(Exception):
    """A provider call failed for good (after retries): the episode records it and ends."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class Model(Protocol):
    """What the agent loop needs from a model: one turn given the conversation and tools."""

    name: str

    def generate(self, messages: list[Message], tools: list[ToolSpec]) -> ModelResponse: ...
