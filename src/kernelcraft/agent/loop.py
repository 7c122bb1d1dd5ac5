"""The native tool-calling loop: one model turn per iteration, every tool call answered.

There is no scaffold beyond this: the model decides what to call and when to stop, which
is what the benchmark measures. The loop ends when the model answers without tool calls
("model_stopped"), when the iteration cap is reached ("iteration_cap"), when the episode's
time budget is used up ("time_budget"), or when the provider fails for good
("provider_error"); a provider failure is recorded, never raised. Model text that no file or
API accepts (lone surrogates) is replaced with U+FFFD on arrival, and the transcript records
how many characters were replaced.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

from kernelcraft.agent.messages import Message, Model, ProviderError, ToolCall, ToolResult, Usage
from kernelcraft.agent.session import Session, SessionStart
from kernelcraft.agent.transcript import Transcript
from kernelcraft.safetext import scrub, scrub_value

MODEL_STOPPED = "model_stopped"
ITERATION_CAP = "iteration_cap"
PROVIDER_ERROR = "provider_error"
TIME_BUDGET = "time_budget"


@dataclass
class LoopOutcome:
    end_reason: str
    iterations: int  # model turns that produced a response
    usage: Usage
    messages: list[Message] = field(default_factory=list)
    error: str | None = None


def run_loop(model: Model, session: Session, start: SessionStart, transcript: Transcript) -> LoopOutcome:
    """Drive the conversation until the model stops, the cap is hit, or the provider fails."""
    messages = [
        Message(role="system", text=start.system_prompt),
        Message(role="user", text=start.task_prompt),
    ]
    transcript.write("system", text=start.system_prompt)
    transcript.write("user", text=start.task_prompt)
    specs = start.tools
    iteration_cap = start.iteration_cap
    usage = Usage()
    iteration = 0
    while iteration < iteration_cap:
        turn = iteration + 1
        if session.out_of_time:
            transcript.write("end", reason=TIME_BUDGET, iteration=iteration)
            return LoopOutcome(TIME_BUDGET, iteration, usage, messages)
        started = time.perf_counter()
        try:
            response = model.generate(messages, specs)
        except ProviderError as exc:
            transcript.write("end", reason=PROVIDER_ERROR, iteration=turn, error=str(exc), status=exc.status)
            return LoopOutcome(PROVIDER_ERROR, iteration, usage, messages, error=str(exc))
        iteration = turn
        duration = response.duration_s or (time.perf_counter() - started)
        usage = usage + response.usage
        reply, replaced = _scrubbed(response.message)
        messages.append(reply)
        transcript.write(
            "assistant",
            iteration=turn,
            text=reply.text,
            stop_reason=response.stop_reason,
            tool_calls=len(reply.tool_calls),
            **({"replaced_characters": replaced} if replaced else {}),
        )
        transcript.write(
            "usage", iteration=turn, duration_s=round(duration, 3), **_usage_fields(response.usage)
        )
        if not reply.tool_calls:
            transcript.write("end", reason=MODEL_STOPPED, iteration=turn)
            return LoopOutcome(MODEL_STOPPED, iteration, usage, messages)
        results: list[ToolResult] = []
        for call in reply.tool_calls:
            results.append(serve_call(session, transcript, call, turn))
        messages.append(Message(role="tool", tool_results=results))
    transcript.write("end", reason=ITERATION_CAP, iteration=iteration)
    return LoopOutcome(ITERATION_CAP, iteration, usage, messages)


def _scrubbed(message: Message) -> tuple[Message, int]:
    """The model's message with lone surrogates replaced (text, tool names and arguments):
    echoing them back to the provider or writing them anywhere would fail."""
    text, total = scrub(message.text)
    calls = []
    for call in message.tool_calls:
        name, n_name = scrub(call.name)
        arguments, n_args = scrub_value(call.arguments)
        raw, n_raw = scrub(call.raw_arguments)
        total += n_name + n_args + n_raw
        calls.append(ToolCall(call.id, name, arguments, raw))
    if not total:
        return message, 0
    return dataclasses.replace(message, text=text, tool_calls=calls), total


def _usage_fields(usage: Usage) -> dict[str, int]:
    return usage.as_fields()  # cache reads and writes included


def serve_call(session: Session, transcript: Transcript, call: ToolCall, turn: int) -> ToolResult:
    """Answer one tool call through the session, with the call and its result in the transcript."""
    arguments = (
        {"arguments": call.arguments} if call.arguments is not None else {"raw_arguments": call.raw_arguments}
    )
    transcript.write("tool_call", iteration=turn, id=call.id, name=call.name, **arguments)
    started = time.perf_counter()
    result = session.step(call, iteration=turn)
    transcript.write(
        "tool_result",
        iteration=turn,
        id=call.id,
        name=call.name,
        text=result.content,
        is_error=result.is_error,
        duration_s=round(time.perf_counter() - started, 3),
    )
    return result
