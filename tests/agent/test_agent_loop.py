"""The tool-calling loop on its own: turn order, result routing, cap and provider errors."""

from __future__ import annotations

from kernelcraft.agent.loop import run_loop
from kernelcraft.agent.messages import Message, ModelResponse, ProviderError, ToolCall, Usage
from kernelcraft.agent.session import Session, SessionStart
from kernelcraft.agent.tools import ToolBox, Workspace
from kernelcraft.agent.transcript import Transcript, read_transcript

from .agent_fakes import CORRECT, FakeInstance, FakePlatform


class ListModel:
    """Replays a list of turns (each a list of calls, or a text) and keeps what it was shown."""

    name = "list"

    def __init__(self, turns):
        self.turns = list(turns)
        self.seen: list[list[Message]] = []

    def generate(self, messages, tools):
        self.seen.append(list(messages))
        turn = self.turns.pop(0)
        if isinstance(turn, Exception):
            raise turn
        if isinstance(turn, str):
            return ModelResponse(Message(role="assistant", text=turn), Usage(10, 2))
        calls = [ToolCall(id=f"c{i}", name=name, arguments=args) for i, (name, args) in enumerate(turn)]
        return ModelResponse(Message(role="assistant", tool_calls=calls), Usage(10, 2, 1, 3))


def run(tmp_path, turns, cap=10):
    model = ListModel(turns)
    box = ToolBox(FakePlatform(), FakeInstance(), Workspace(tmp_path), baseline_cycles=100)
    with Transcript(tmp_path / "transcript.jsonl") as transcript:
        start = SessionStart("SYS", "USER", box.specs, cap)
        outcome = run_loop(model, Session.around(box), start, transcript)
    return outcome, model, box, read_transcript(tmp_path / "transcript.jsonl")


def test_all_calls_of_a_turn_run_in_order_and_come_back_together(tmp_path):
    turns = [[("write_code", {"code": CORRECT}), ("run_evaluation", {}), ("view_output", {})], "done"]
    outcome, model, box, events = run(tmp_path, turns)
    assert outcome.end_reason == "model_stopped" and outcome.iterations == 2
    second_view = model.seen[1]
    assert [m.role for m in second_view] == ["system", "user", "assistant", "tool"]
    results = second_view[3].tool_results
    assert [r.call_id for r in results] == ["c0", "c1", "c2"]
    assert "success: true" in results[1].content and not any(r.is_error for r in results)
    assert box.stats.first_correct_iteration == 1
    assert outcome.usage == Usage(20, 4, 1, 3)
    assert [e["type"] for e in events].count("tool_result") == 3


def test_cap_ends_after_running_the_last_turns_tools(tmp_path):
    turns = [[("write_code", {"code": CORRECT})], [("run_evaluation", {})], "never reached"]
    outcome, model, box, events = run(tmp_path, turns, cap=2)
    assert outcome.end_reason == "iteration_cap" and outcome.iterations == 2
    assert box.stats.evaluations == 1  # the capped turn's call still ran
    assert events[-1] == {**events[-1], "type": "end", "reason": "iteration_cap", "iteration": 2}


def test_provider_error_on_first_turn(tmp_path):
    outcome, _, box, events = run(tmp_path, [ProviderError("rate limited for good", status=429)])
    assert outcome.end_reason == "provider_error" and outcome.error == "rate limited for good"
    assert outcome.iterations == 0 and box.stats.tool_calls == 0
    assert events[-1]["reason"] == "provider_error" and events[-1]["status"] == 429


def test_tool_errors_are_shown_to_the_model_not_raised(tmp_path):
    turns = [[("run_evaluation", {}), ("grep_docs", {"query": 3})], "stop"]
    outcome, model, box, _ = run(tmp_path, turns)
    results = model.seen[1][3].tool_results
    assert all(r.is_error for r in results) and box.stats.tool_failures == 2
    assert outcome.end_reason == "model_stopped"
