"""Whole episodes with scripted models on the real PLENA platform: outcomes, files and transcripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernelcraft.agent.episode import run_episode
from kernelcraft.agent.messages import Message, ModelResponse, ProviderError, ToolCall, Usage
from kernelcraft.agent.session import setup_episode
from kernelcraft.agent.transcript import read_transcript
from kernelcraft.episodes import EpisodeSpec


def spec(model: str, task: str = "silu", **kw) -> EpisodeSpec:
    return EpisodeSpec(model=f"scripted:{model}", task=task, config="C1", seed=11, **kw)


def events(folder: Path, kind: str | None = None) -> list[dict]:
    all_events = read_transcript(folder / "transcript.jsonl")
    return [e for e in all_events if kind is None or e["type"] == kind]


def test_oracle_succeeds_on_silu_c1(tmp_path):
    result = run_episode(spec("oracle"), tmp_path)
    assert result.success and result.visible_correct
    assert result.end_reason == "model_stopped" and result.error is None
    assert result.error_categories == []
    assert result.iterations == 3 and result.iteration_cap == 15 and result.level == 1
    assert result.iterations_to_first_correct == 2
    assert result.tool_calls == 3 and result.evaluations == 1
    # The oracle's kernel is the baseline, so its cycles are the baseline's.
    assert result.baseline_cycles and result.best_cycles == result.baseline_cycles
    assert result.speedup == pytest.approx(1.0)
    assert 1 <= result.roofline_cycles < result.baseline_cycles
    assert result.tokens.input > 0 and result.tokens.output > 0
    assert result.task_set_version and result.wall_time_s > 0
    for name in (
        "kernel.s",
        "best.s",
        "transcript.jsonl",
        "scoring.json",
        "evaluations.jsonl",
        "kernels/eval_001.s",
    ):
        assert (tmp_path / name).is_file(), name
    scoring = json.loads((tmp_path / "scoring.json").read_text())
    assert scoring["success"] and scoring["kernel"] == "evaluation 1"
    hidden = [r for r in scoring["runs"] if r["label"].startswith("hidden")]
    assert len(hidden) == 2 and all(r["poison"] and r["correct"] for r in hidden)
    assert {r["profile"] for r in hidden} == {"large", "mixed_signs"}
    assert all(r["seed"] != 11 for r in hidden)


def test_oracle_transcript_records_every_event(tmp_path):
    run_episode(spec("oracle"), tmp_path)
    all_events = events(tmp_path)
    types = [e["type"] for e in all_events]
    assert types[:3] == ["start", "system", "user"]
    assert types.count("assistant") == 3 and types.count("usage") == 3
    assert types.count("tool_call") == 3 and types.count("tool_result") == 3
    assert "end" in types and all("time" in e for e in all_events)
    system = events(tmp_path, "system")[0]["text"]
    assert "no human in the loop" in system.lower() and "write_code" in system
    user = events(tmp_path, "user")[0]["text"]
    assert "task id: silu" in user and "I/O contract" in user and "15 iterations" in user
    calls = events(tmp_path, "tool_call")
    assert [c["name"] for c in calls] == ["write_code", "check_syntax", "run_evaluation"]
    assert calls[0]["arguments"]["code"] == (tmp_path / "kernel.s").read_text()
    results = events(tmp_path, "tool_result")
    assert "match_rate: 100.00%" in results[2]["text"] and results[2]["is_error"] is False
    assert {"duration_s", "iteration"} <= set(results[2])
    usage = events(tmp_path, "usage")[0]
    assert {"input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens", "duration_s"} <= set(usage)
    end = events(tmp_path, "end")[0]
    assert end["reason"] == "model_stopped" and end["iteration"] == 3


def test_silent_model_ends_with_tool_use_failure(tmp_path):
    result = run_episode(spec("silent"), tmp_path)
    assert result.end_reason == "model_stopped" and result.iterations == 1
    assert not result.success and not result.visible_correct
    assert result.error_categories == ["T"]
    assert result.tool_calls == 0 and result.best_cycles is None and result.speedup is None
    assert not (tmp_path / "best.s").exists()
    assert json.loads((tmp_path / "scoring.json").read_text())["kernel"] == "none"


def test_unknown_tool_is_answered_with_an_error(tmp_path):
    result = run_episode(spec("unknown_tool"), tmp_path)
    assert result.end_reason == "model_stopped" and result.error_categories == ["T"]
    (tool_result,) = events(tmp_path, "tool_result")
    assert tool_result["is_error"] and "unknown tool 'compile_and_run'" in tool_result["text"]


def test_bad_json_is_recorded_raw_and_answered(tmp_path):
    result = run_episode(spec("bad_json"), tmp_path)
    assert result.error_categories == ["T"] and not result.success
    (call,) = events(tmp_path, "tool_call")
    assert "arguments" not in call and call["raw_arguments"].startswith('{"code": ')
    (tool_result,) = events(tmp_path, "tool_result")
    assert tool_result["is_error"] and "not valid JSON" in tool_result["text"]


def test_looper_hits_the_iteration_cap(tmp_path):
    result = run_episode(spec("looper", iteration_cap=5), tmp_path)
    assert result.end_reason == "iteration_cap"
    assert result.iterations == 5 and result.iteration_cap == 5 and result.tool_calls == 5
    assert result.evaluations == 0 and "T" in result.error_categories  # never evaluated
    # It wrote a correct kernel but never saw it pass: not a success, and nothing is scored.
    assert not result.success and not result.visible_correct
    assert json.loads((tmp_path / "scoring.json").read_text())["kernel"] == "none"
    assert events(tmp_path, "end")[0]["reason"] == "iteration_cap"
    assert len(events(tmp_path, "assistant")) == 5


def test_cheater_sees_its_kernel_fail_on_poisoned_memory(tmp_path):
    """The agent's own evaluations poison memory as scoring does: no misleading CORRECT."""
    result = run_episode(spec("cheater", task="relu"), tmp_path)
    assert not result.visible_correct and result.iterations_to_first_correct is None
    assert not result.success and result.best_cycles is None and result.speedup is None
    assert result.error_categories == ["F"]
    evaluation = next(e["text"] for e in events(tmp_path, "tool_result") if e["name"] == "run_evaluation")
    assert "success: false" in evaluation and "NaN" in evaluation
    scoring = json.loads((tmp_path / "scoring.json").read_text())
    assert scoring["kernel"] == "none" and not scoring["runs"]


def test_broken_model_sees_syntax_and_functional_errors(tmp_path):
    result = run_episode(spec("broken"), tmp_path)
    assert result.error_categories == ["F", "S"]
    assert result.end_reason == "model_stopped" and not result.success
    texts = [e["text"] for e in events(tmp_path, "tool_result")]
    assert any("success: false" in t and "line 2" in t for t in texts)  # check_syntax on the broken code
    assert any("match_rate:" in t and "success: false" in t for t in texts)  # the wrong kernel's run
    scoring = json.loads((tmp_path / "scoring.json").read_text())
    assert scoring["kernel"] == "none" and not scoring["visible_correct"] and not scoring["runs"]


class _FailsOnTurn:
    """Calls a tool on turn 1, then the provider fails for good."""

    name = "failing"

    def __init__(self, fail_turn: int, message: str):
        self.fail_turn, self.message, self.turn = fail_turn, message, 0

    def generate(self, messages, tools):
        self.turn += 1
        if self.turn >= self.fail_turn:
            raise ProviderError(self.message, status=500)
        call = ToolCall(
            id="c1", name="grep_docs", arguments={"query": "loop"}, raw_arguments='{"query": "loop"}'
        )
        return ModelResponse(Message(role="assistant", tool_calls=[call]), Usage(100, 10, 5, 50))


def test_provider_error_mid_episode_is_recorded(tmp_path, monkeypatch):
    model = _FailsOnTurn(2, "server exploded after retries")
    monkeypatch.setattr("kernelcraft.agent.providers.create_model", lambda spec, **options: model)
    result = run_episode(spec("oracle"), tmp_path)
    assert result.end_reason == "provider_error"
    assert result.error == "server exploded after retries"
    assert result.iterations == 1 and result.tool_calls == 1
    assert result.tokens.input == 100 and result.tokens.reasoning == 5 and result.tokens.cached == 50
    end = events(tmp_path, "end")[0]
    assert end["reason"] == "provider_error" and end["status"] == 500


def test_provider_error_when_creating_the_model(tmp_path, monkeypatch):
    def refuse(spec, **options):
        raise ProviderError("OPENAI_API_KEY is not set")

    monkeypatch.setattr("kernelcraft.agent.providers.create_model", refuse)
    result = run_episode(spec("oracle"), tmp_path)
    assert result.end_reason == "provider_error" and "OPENAI_API_KEY" in result.error


def test_harness_failure_becomes_a_result(tmp_path, monkeypatch):
    def broken_platform(name):
        raise RuntimeError("platform exploded")

    monkeypatch.setattr("kernelcraft.platforms.registry.get_platform", broken_platform)
    result = run_episode(spec("oracle"), tmp_path)
    assert result.end_reason == "harness_error" and "platform exploded" in result.error
    assert not result.success
    assert events(tmp_path, "end")[0]["reason"] == "harness_error"


def test_unknown_task_is_a_harness_error_not_an_exception(tmp_path):
    result = run_episode(EpisodeSpec(model="scripted:oracle", task="no_such_task", config="C1"), tmp_path)
    assert result.end_reason == "harness_error" and "no_such_task" in result.error


def test_unknown_scripted_model_is_a_harness_error(tmp_path):
    result = run_episode(EpisodeSpec(model="scripted:nobody", task="silu", config="C1"), tmp_path)
    assert result.end_reason == "harness_error" and "oracle" in result.error


def test_api_keys_never_reach_the_transcript(tmp_path, monkeypatch):
    secret = "sk-test-1234567890abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", secret)

    class Leaky:
        name = "leaky"

        def generate(self, messages, tools):
            return ModelResponse(Message(role="assistant", text=f"my key is {secret}"), Usage())

    monkeypatch.setattr("kernelcraft.agent.providers.create_model", lambda spec, **options: Leaky())
    run_episode(spec("oracle"), tmp_path)
    text = (tmp_path / "transcript.jsonl").read_text()
    assert secret not in text and "[redacted]" in text


def test_one_shot_prompt_shows_a_labelled_example_of_another_task(tmp_path):
    setup = setup_episode(spec("oracle", one_shot=True))
    user = setup.user_prompt
    assert "Example: a correct kernel for a different task" in user
    assert "DIFFERENT operator" in user and "```asm" in user
    plain = setup_episode(spec("oracle")).user_prompt
    assert "a correct kernel for a different task" not in plain and user.startswith(plain.rstrip())
