"""kernelcraft chat under pressure: whatever the agent, the engineer or the keyboard does, the
conversation is saved (transcript and result.json) and the engineer reads a clear line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kernelcraft.agent.session import Session
from kernelcraft.cli.main import app
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.modes.chat import run_chat
from kernelcraft.modes.scripted import VECTOR_AND

from .adversarial_helpers import ReplayModel, transcript

SPEC = EpisodeSpec(model="custom", task="get_transfer_index", config="C1", mode="codesign")


class Engineer:
    """Types the given lines, then ends (as Ctrl-D would); keeps what was shown."""

    def __init__(self, lines):
        self.lines = list(lines)
        self.shown: list[str] = []

    def agent(self, text):
        self.shown.append(f"agent: {text}")

    def tool_call(self, call):
        self.shown.append(f"call: {call.name}")

    def tool_result(self, result):
        self.shown.append(f"result: {result.content}")

    def info(self, text):
        self.shown.append(f"info: {text}")

    def ask(self):
        return self.lines.pop(0) if self.lines else None


def test_accept_with_a_bad_number_says_how_to_use_it(tmp_path):
    model = ReplayModel([[("propose_instruction", VECTOR_AND)], "proposed"])
    lines = ["/accept", "/accept abc", "/accept -1", "/accept 1 2", "/accept \u0661", "/accept 0", "/quit"]
    engineer = Engineer(lines)
    run_chat(SPEC, tmp_path, lambda: model, engineer)
    infos = [s for s in engineer.shown if s.startswith("info: ")]
    usage = [s for s in infos if "usage: /accept N" in s]
    assert len(usage) == 5, infos  # no number, not a number, negative, two numbers, not ASCII digits
    assert not any("unknown command /accept" in s for s in infos)
    assert any("there is no proposal 0; proposals: [1]" in s for s in infos)
    assert json.loads((tmp_path / "result.json").read_text())["mode_metrics"]["accepted"] == []


def test_ctrl_c_while_scoring_still_saves_the_conversation(tmp_path, monkeypatch):
    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(Session, "finish", interrupted)
    model = ReplayModel([[("propose_instruction", VECTOR_AND)], "proposed"])
    result, outcome = run_chat(SPEC, tmp_path, lambda: model, Engineer(["/quit"]))
    assert outcome.end_reason == "interrupted" and not result.success
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["end_reason"] == "interrupted" and "scoring was interrupted" in saved["error"]
    assert saved["iterations"] == 2 and saved["tool_calls"] == 1
    events = transcript(tmp_path)
    assert [e["type"] for e in events[-2:]] == ["end", "interrupt"] and events[-1]["during"] == "scoring"


def test_a_harness_failure_mid_chat_still_saves_the_conversation(tmp_path):
    class Broken(ReplayModel):
        def generate(self, messages, tools):
            if len(self.turns) == 1:
                raise RuntimeError("the model client fell over")
            return super().generate(messages, tools)

    model = Broken([[("propose_instruction", VECTOR_AND)], "never reached"])
    result, outcome = run_chat(SPEC, tmp_path, lambda: model, Engineer([]))
    assert outcome.end_reason == "harness_error"
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["end_reason"] == "harness_error" and "the model client fell over" in saved["error"]
    assert saved["mode_metrics"]["proposals"][0]["mnemonic"] == "V_AND_VV"  # scored as far as it got
    events = transcript(tmp_path)
    assert events[-2]["type"] == "end" and events[-2]["reason"] == "harness_error"
    assert events[-1]["type"] == "scoring"


def test_a_chat_folder_is_reportable(tmp_path):
    model = ReplayModel([[("propose_instruction", VECTOR_AND)], "proposed"])
    run_chat(SPEC, tmp_path / "chat", lambda: model, Engineer([]))
    result = CliRunner().invoke(app, ["report", str(tmp_path / "chat"), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "No finished episodes" not in result.output and "(1 episode pages)" in result.output


def test_a_slow_accepted_instruction_cannot_outlast_the_runs_wall_time():
    import time

    from kernelcraft.platforms.base import RunLimits
    from kernelcraft.platforms.behaviour import AddedInstruction, Behaviour, parse_operands
    from kernelcraft.platforms.registry import get_platform
    from kernelcraft.tasks import get_task

    def slow(a, b):  # each call stays under the sandbox's per-call limit; together they would not
        time.sleep(0.05)
        return a

    behaviour = Behaviour("V_SLOW", parse_operands(VECTOR_AND["operands"]), slow)
    platform = get_platform("plena").with_instructions([AddedInstruction(behaviour, "slow", 1, "a test")])
    build = platform.build("C_LOOP_START gp5, 400\nV_SLOW gp1, gp2, gp3\nC_LOOP_END gp5\n")
    instance = platform.prepare(get_task("get_transfer_index"), "C1", 0)
    started = time.monotonic()
    evaluation = platform.run(build.program, instance, RunLimits(wall_time_s=0.5))
    assert time.monotonic() - started < 3.0  # 400 calls would take 20 s
    assert evaluation.fault is not None and evaluation.fault.kind == "wall_time"


def test_ctrl_c_anywhere_in_the_cli_is_one_line_and_exit_130(monkeypatch, capsys):
    import pytest

    from kernelcraft.cli import main as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "app", interrupted)  # e.g. while typer builds the command line
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 130
    assert capsys.readouterr().err.strip() == "interrupted"


@pytest.mark.parametrize(
    ("cell", "said"),
    [
        (["--task", "nosuch"], "unknown task 'nosuch'"),
        (["--task", "silu", "-c", "C9"], "unknown configuration 'C9' for task silu"),
        (["--task", "silu", "-p", "nope"], "unknown platform 'nope'"),
    ],
    ids=["task", "configuration", "platform"],
)
def test_a_cell_that_cannot_run_is_refused_before_the_conversation_starts(tmp_path, cell, said):
    folder = tmp_path / "chat"
    result = CliRunner().invoke(
        app, ["chat", "-m", "scripted:codesign_proposer", *cell, "-o", str(folder)], input="/quit\n"
    )
    assert result.exit_code == 2, result.output
    assert said in result.output
    assert "transcript in" not in result.output and "/accept" not in result.output
    assert not folder.exists()
