"""Every tool call and every episode has a bound."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kernelcraft.agent.episode import run_episode
from kernelcraft.agent.session import Session
from kernelcraft.agent.tools import MAX_QUERY_CHARS
from kernelcraft.cli.main import app
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.plena.assembler import MAX_SUGGESTED
from kernelcraft.platforms.plena.machine import MAX_TRACE_EVENTS
from kernelcraft.platforms.registry import get_platform

from .adversarial_helpers import ReplayModel, transcript, use_model

PLENA = get_platform("plena")
SILU = PLENA.baseline("silu", "C1")


def session(tmp_path, **fields) -> Session:
    s = Session(EpisodeSpec(model="test", task="silu", config="C1", **fields), tmp_path)
    s.reset()
    return s


def test_grep_docs_refuses_a_huge_query_and_searches_few_words(tmp_path):
    s = session(tmp_path)
    huge = s.run_tool("grep_docs", {"query": "V_EXP_V " * 60_000})
    assert huge.is_error and f"limit is {MAX_QUERY_CHARS}" in huge.content
    many = " ".join(f"word{i}" for i in range(120)) + " V_EXP_V"
    assert not s.run_tool("grep_docs", {"query": many[: MAX_QUERY_CHARS - 1]}).is_error


def test_near_miss_mnemonics_get_bounded_hints_and_each_source_builds_once(tmp_path, monkeypatch):
    s = session(tmp_path)
    source = "\n".join(f"V_ADD_VX{i} gp1, gp2, gp3" for i in range(5000))
    built = PLENA.build(source)
    hints = [d.hint for d in built.diagnostics]
    assert len(hints) == 5000 and "did you mean" in hints[0]
    assert all("did you mean" not in hint for hint in hints[MAX_SUGGESTED:])  # no more suggestion searches
    calls = []
    original = type(PLENA).build
    monkeypatch.setattr(type(PLENA), "build", lambda self, src: calls.append(1) or original(self, src))
    s.run_tool("write_code", {"code": source})
    for tool in ("check_syntax", "run_evaluation", "get_instruction_size", "check_syntax"):
        text = s.run_tool(tool).content
    assert len(calls) == 1 and "... and 4950 more" in text


def test_tool_calls_beyond_the_per_turn_cap_are_refused(tmp_path, monkeypatch):
    turn = [("write_code", {"code": SILU})] + [("run_evaluation", {})] * 39
    use_model(monkeypatch, ReplayModel([turn, "done"]))
    result = run_episode(
        EpisodeSpec(model="replay", task="silu", config="C1", tool_calls_per_turn=5), tmp_path
    )
    assert result.evaluations == 4 and result.tool_calls == 40 and result.success
    refused = [
        e for e in transcript(tmp_path) if e["type"] == "tool_result" and "at most 5 tool calls" in e["text"]
    ]
    assert len(refused) == 35
    task_prompt = next(e["text"] for e in transcript(tmp_path) if e["type"] == "user")
    assert "At most 5 tool calls are answered per turn." in task_prompt


def test_the_time_budget_ends_the_episode_and_is_recorded(tmp_path, monkeypatch):
    use_model(
        monkeypatch, ReplayModel([[("write_code", {"code": SILU})], [("run_evaluation", {})]] * 5, delay=0.4)
    )
    result = run_episode(EpisodeSpec(model="replay", task="silu", config="C1", time_budget_s=0.5), tmp_path)
    assert result.end_reason == "time_budget" and result.iterations <= 2
    assert json.loads(result.model_dump_json())["end_reason"] == "time_budget"
    assert "ends after 0.00833333 minutes" in next(
        e["text"] for e in transcript(tmp_path) if e["type"] == "user"
    )


def test_a_spinning_kernel_traces_a_bounded_number_of_events(tmp_path):
    spin = "S_ADDI_INT gp1, gp0, 1\nC_LOOP_START gp2, 200000\nS_ADDI_INT gp1, gp1, 1\nC_LOOP_END gp2\n"
    kernel = tmp_path / "spin.s"
    kernel.write_text(spin)
    trace = tmp_path / "trace.json"
    result = CliRunner().invoke(app, ["eval", str(kernel), "-t", "silu", "-c", "C1", "--trace", str(trace)])
    assert result.exit_code == 1 and f"{MAX_TRACE_EVENTS} events written" in result.output
    data = json.loads(trace.read_text())
    assert data["otherData"]["truncated"] and data["otherData"]["events_dropped"] > 0
    assert any(e["name"].startswith("trace cut") for e in data["traceEvents"])
    assert trace.stat().st_size < 40_000_000


def test_simulations_get_the_platforms_limits_capped_by_the_time_left(tmp_path):
    aie = Session(EpisodeSpec(model="test", platform="aie", task="relu", config="C1"), tmp_path / "aie")
    aie.reset()
    assert aie._run_limits().wall_time_s == get_platform("aie").run_limits().wall_time_s == 600.0
    short = session(tmp_path / "short", time_budget_s=30.0)
    assert 0 < short._run_limits().wall_time_s <= 30.0
