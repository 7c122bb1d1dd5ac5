"""Local stand-ins for the model providers' HTTP APIs.

Each test talks to a real HTTP server on 127.0.0.1 through the official SDK, so the
adapters are checked against the exact JSON shapes the SDKs send and parse. The server
replays scripted replies in order and records every request it received.
"""

from __future__ import annotations

import json
import threading
from collections import deque
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


class FakeServer:
    """A threaded HTTP server on a random local port that replays queued replies."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
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
        with self._lock:
            self.requests.append(request)
            if self._replies:
                return self._replies.popleft()
        return Reply(status=500, body={"error": {"message": "fake server: no scripted reply left"}})

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                try:
                    body: Any = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = server._next_reply(RecordedRequest("POST", self.path, headers, body))
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
) -> Reply:
    return Reply(
        body={
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": cache_read_input_tokens,
            },
        }
    )


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


def gemini_error(code: int, message: str, *, headers: dict[str, str] | None = None) -> Reply:
    status = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED"}.get(
        code, "INTERNAL"
    )
    return Reply(
        status=code,
        body={"error": {"code": code, "message": message, "status": status}},
        headers=headers or {},
    )
