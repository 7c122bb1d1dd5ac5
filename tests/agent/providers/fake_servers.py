"""Local stand-ins for the model providers' HTTP APIs.

Each test talks to a real HTTP server on 127.0.0.1 through the official SDK, so the
adapters are checked against the exact JSON shapes the SDKs send and parse. The server
replays scripted replies in order (or asks a responder when none is queued), records every
request it received with its raw body, and may pass each reply through a biller that fills
in usage from the request (``AnthropicPromptCache`` bills as the Messages API's cache does).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted HTTP answer; ``delay_s`` holds it back to provoke client timeouts."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or the raw text when it was not JSON
    raw: str = ""  # the body exactly as the client sent it


Responder = Callable[[RecordedRequest], Reply]
Biller = Callable[[RecordedRequest, Reply], Reply]


class FakeServer:
    """A threaded HTTP server on a random local port that replays queued replies."""

    def __init__(self, *, responder: Responder | None = None, biller: Biller | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.responder = responder
        self.biller = biller
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delayed reply
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:  # one request at a time, so billing sees them in arrival order
            self.requests.append(request)
            if self._replies:
                reply = self._replies.popleft()
            elif self.responder is not None:
                reply = self.responder(request)
            else:
                return Reply(status=500, body={"error": {"message": "fake server: no scripted reply left"}})
            return self.biller(request, reply) if self.biller is not None else reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                self._answer("POST")

            def do_PATCH(self) -> None:  # noqa: N802
                self._answer("PATCH")

            def do_GET(self) -> None:  # noqa: N802
                self._answer("GET")

            def do_DELETE(self) -> None:  # noqa: N802
                self._answer("DELETE")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                try:
                    body: Any = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = server._next_reply(RecordedRequest(method, self.path, headers, body, raw))
                if reply.delay_s and server._stopping.wait(reply.delay_s):
                    return
                payload = json.dumps(reply.body).encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test); nothing to answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # keep test output clean

        return Handler


# ---------------------------------------------------------------------------
# OpenAI Chat Completions wire format
# ---------------------------------------------------------------------------


def openai_completion(
    *,
    content: str | None = None,
    tool_calls: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    finish_reason: str = "stop",
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    reasoning_tokens: int = 0,
    cached_tokens: int = 0,
    message_extra: dict[str, Any] | None = None,
) -> Reply:
    """A ``chat.completion`` object; tool calls are (id, name, arguments-as-JSON-text)."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            for call_id, name, arguments in tool_calls
        ]
    message.update(message_extra or {})
    return Reply(
        body={
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": "gpt-test",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": reasoning_tokens, "audio_tokens": 0},
            },
        }
    )


def openai_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
    kind = {401: "invalid_request_error", 429: "rate_limit_exceeded"}.get(status, "server_error")
    return Reply(
        status=status,
        body={"error": {"message": message, "type": kind, "param": None, "code": None}},
        headers=headers or {},
    )


# ---------------------------------------------------------------------------
# Anthropic Messages wire format
# ---------------------------------------------------------------------------


def anthropic_message(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "end_turn",
    input_tokens: int = 12,
    output_tokens: int = 7,
    cache_read_input_tokens: int = 0,
    cache_creation_input_tokens: int = 0,
    cache_creation: dict[str, int] | None = None,
) -> Reply:
    """A Message; ``cache_creation`` is the write split by lifetime, sent only when given."""
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cache_creation_input_tokens,
        "cache_read_input_tokens": cache_read_input_tokens,
    }
    if cache_creation is not None:
        usage["cache_creation"] = cache_creation
    return Reply(
        body={
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        }
    )


TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass
class AnthropicPromptCache:
    """Bills Messages requests' input tokens as the API's prompt cache does.

    The prompt is a sequence of blocks: each tool, each system block, then each message's
    content blocks, in that order. A block marked with cache_control is a breakpoint: the
    prefix up to it is written to the cache (when it reaches ``min_tokens``) with the
    marker's lifetime; a later request reads the longest such prefix that one of its
    breakpoints, or a block up to ``lookback`` blocks before one, ends, and every entry a
    breakpoint finds has its lifetime refreshed. The
    usage then splits the prompt as the API does: tokens read, tokens written (by
    lifetime) and the rest in input_tokens. A block's token count is its JSON text (marker
    removed) over ``chars_per_token``; the numbers, not the tokenizer, are the point.
    """

    min_tokens: int = 1024  # the API's minimum cacheable prefix for Sonnet and Opus 4 models
    lookback: int = 20  # blocks before a breakpoint searched for an earlier entry
    chars_per_token: int = 4
    clock: Callable[[], float] = time.monotonic
    entries: dict[str, tuple[float, float]] = field(default_factory=dict)  # digest -> (expiry, ttl)

    def bill(self, request: RecordedRequest, reply: Reply) -> Reply:
        if reply.status != 200 or not isinstance(reply.body, dict) or reply.body.get("type") != "message":
            return reply
        blocks = prompt_blocks(request.body)
        ends = [0]  # ends[i]: tokens in the first i blocks
        digests = []
        running = hashlib.sha256(str(request.body.get("model")).encode())
        for text, _ in blocks:
            ends.append(ends[-1] + math.ceil(len(text) / self.chars_per_token))
            running.update(text.encode() + b"\0")
            digests.append(running.copy().hexdigest())
        breakpoints = [(i, marker.get("ttl", "5m")) for i, (_, marker) in enumerate(blocks) if marker]
        now = self.clock()
        read = 0  # blocks served from the cache
        for index, _ in breakpoints:
            for i in range(index, max(index - self.lookback, -1), -1):
                entry = self.entries.get(digests[i])
                if entry is not None and entry[0] > now:
                    self.entries[digests[i]] = (now + entry[1], entry[1])  # a hit refreshes
                    read = max(read, i + 1)
                    break
        written = {"5m": 0, "1h": 0}
        cached_to = read
        for index, ttl in breakpoints:
            if index + 1 <= cached_to or ends[index + 1] < self.min_tokens:
                continue
            written[ttl] += ends[index + 1] - ends[cached_to]
            self.entries[digests[index]] = (now + TTL_SECONDS[ttl], TTL_SECONDS[ttl])
            cached_to = index + 1
        reply = copy.deepcopy(reply)
        reply.body["usage"].update(
            input_tokens=ends[-1] - ends[cached_to],
            cache_read_input_tokens=ends[read],
            cache_creation_input_tokens=written["5m"] + written["1h"],
            cache_creation={
                "ephemeral_5m_input_tokens": written["5m"],
                "ephemeral_1h_input_tokens": written["1h"],
            },
        )
        return reply


# A scripted model's move on one turn: tool calls as (name, arguments), or a final text.
Step = list[tuple[str, dict[str, Any]]] | str


def anthropic_agent(script: Callable[[int, dict[str, Any]], Step], chars_per_token: int = 4) -> Responder:
    """A responder playing `script(turn, request body)` as Claude would answer on the wire.

    The turn is counted from the request's assistant messages, so the agent is stateless;
    output tokens are the reply's JSON length over `chars_per_token`.
    """

    def respond(request: RecordedRequest) -> Reply:
        turn = sum(m["role"] == "assistant" for m in request.body["messages"]) + 1
        step = script(turn, request.body)
        if isinstance(step, str):
            content, stop = [{"type": "text", "text": step}], "end_turn"
        else:
            content = [{"type": "text", "text": f"Turn {turn}."}]
            content += [
                {"type": "tool_use", "id": f"toolu_{turn:02d}_{i}", "name": name, "input": args}
                for i, (name, args) in enumerate(step)
            ]
            stop = "tool_use"
        output = math.ceil(len(json.dumps(content)) / chars_per_token)
        return anthropic_message(content, stop_reason=stop, output_tokens=output)

    return respond


def prompt_blocks(body: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """A Messages request as (canonical text, cache_control marker or None) per block."""
    out: list[tuple[str, dict[str, Any] | None]] = []

    def add(kind: str, block: Any) -> None:
        marker = block.get("cache_control") if isinstance(block, dict) else None
        plain = {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block
        out.append((json.dumps([kind, plain], sort_keys=True), marker))

    for tool in body.get("tools") or []:
        add("tool", tool)
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system or []:
        add("system", block)
    for message in body.get("messages", []):
        content = message["content"]
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content:
            add(message["role"], block)
    return out


def anthropic_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
    kind = {401: "authentication_error", 429: "rate_limit_error", 529: "overloaded_error"}.get(
        status, "api_error"
    )
    return Reply(
        status=status,
        body={"type": "error", "error": {"type": kind, "message": message}},
        headers=headers or {},
    )


# ---------------------------------------------------------------------------
# Gemini generateContent wire format
# ---------------------------------------------------------------------------


def gemini_response(
    parts: list[dict[str, Any]] | None,
    *,
    finish_reason: str = "STOP",
    finish_message: str | None = None,
    prompt_tokens: int = 20,
    candidates_tokens: int = 8,
    thoughts_tokens: int = 0,
    cached_tokens: int = 0,
) -> Reply:
    """A ``GenerateContentResponse``; ``parts=None`` leaves the candidate without content."""
    usage = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": candidates_tokens,
        "totalTokenCount": prompt_tokens + candidates_tokens + thoughts_tokens,
    }
    if thoughts_tokens:
        usage["thoughtsTokenCount"] = thoughts_tokens
    if cached_tokens:
        usage["cachedContentTokenCount"] = cached_tokens
    candidate: dict[str, Any] = {"finishReason": finish_reason, "index": 0}
    if parts is not None:
        candidate["content"] = {"role": "model", "parts": parts}
    if finish_message is not None:
        candidate["finishMessage"] = finish_message
    return Reply(
        body={
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": "gemini-test",
            "responseId": "resp-test",
        }
    )


def gemini_cached_content(name: str, *, model: str = "gemini-test", total_tokens: int = 0) -> Reply:
    """A ``CachedContent`` resource, as cachedContents create and patch return it."""
    return Reply(
        body={
            "name": name,
            "model": f"models/{model}",
            "displayName": "kernelcraft",
            "createTime": "2026-01-01T00:00:00.000000Z",
            "updateTime": "2026-01-01T00:00:00.000000Z",
            "expireTime": "2026-01-01T00:05:00.000000Z",
            "usageMetadata": {"totalTokenCount": total_tokens},
        }
    )


def gemini_error(code: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
    status = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED"}.get(
        code, "INTERNAL"
    )
    return Reply(
        status=code,
        body={"error": {"code": code, "message": message, "status": status}},
        headers=headers or {},
    )


# ---------------------------------------------------------------------------
# Raw request bodies
# ---------------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def raw_members(raw: str) -> dict[str, str]:
    """Each member of a JSON object as the exact text that was sent for its value."""
    return dict(_raw_items(raw, "{", "}", keyed=True))


def raw_elements(raw: str) -> list[str]:
    """Each element of a JSON array as the exact text that was sent."""
    return [text for _, text in _raw_items(raw, "[", "]", keyed=False)]


def _raw_items(raw: str, opening: str, closing: str, *, keyed: bool) -> list[tuple[str, str]]:
    i = _SPACE.match(raw, 0).end()
    if raw[i] != opening:
        raise ValueError(f"expected {opening!r} at {i}")
    items: list[tuple[str, str]] = []
    i = _SPACE.match(raw, i + 1).end()
    while raw[i] != closing:
        key = ""
        if keyed:
            key, i = _DECODER.raw_decode(raw, i)
            i = _SPACE.match(raw, i).end()
            if raw[i] != ":":
                raise ValueError(f"expected ':' at {i}")
            i = _SPACE.match(raw, i + 1).end()
        _, end = _DECODER.raw_decode(raw, i)
        items.append((key, raw[i:end]))
        i = _SPACE.match(raw, end).end()
        if raw[i] == ",":
            i = _SPACE.match(raw, i + 1).end()
    return items
