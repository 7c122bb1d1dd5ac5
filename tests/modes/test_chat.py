"""kernelcraft chat: a scripted model and a scripted engineer hold a codesign conversation."""

from __future__ import annotations

import json

from kernelcraft.agent.providers import create_model
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.modes.chat import run_chat


class ScriptedEngineer:
    """Types the given lines in order, then ends (as Ctrl-D would); records what was shown."""

    def __init__(self, lines: list[str]):
        self.lines = list(lines)
        self.shown: list[str] = []

    def agent(self, text: str) -> None:
        self.shown.append(f"agent: {text}")

    def tool_call(self, call) -> None:
        self.shown.append(f"call: {call.name}")

    def tool_result(self, result) -> None:
        self.shown.append(f"result: {result.content.splitlines()[0] if result.content else ''}")

    def info(self, text: str) -> None:
        self.shown.append(f"info: {text}")

    def ask(self) -> str | None:
        return self.lines.pop(0) if self.lines else None


SPEC = EpisodeSpec(
    model="scripted:codesign_proposer", task="get_transfer_index", config="C1", mode="codesign"
)


def events(folder) -> list[dict]:
    return [json.loads(line) for line in (folder / "transcript.jsonl").read_text().splitlines()]


def test_an_accepted_proposal_is_usable_at_once_and_the_conversation_is_saved(tmp_path):
    lines = ["/help", "/proposals", "/frobnicate", "/accept 9", "/accept 2", "/quit"]
    engineer = ScriptedEngineer(lines)
    result, outcome = run_chat(SPEC, tmp_path, lambda: create_model(SPEC.model), engineer)
    assert outcome.end_reason == "engineer_quit" and outcome.accepted == [2]
    assert result.success and result.mode_metrics["matched"] == {"V_TOPK_MASK": 1, "V_RED_MAX_IDX": 2}
    assert result.mode_metrics["accepted"] == [2] and result.mode_metrics["proposals"][1]["accepted"]
    shown = "\n".join(engineer.shown)
    assert "1. V_MASKED_TOPK gk, vcand, vscore, vd ~80 cycles" in shown
    assert "unknown command /frobnicate" in shown and "there is no proposal 9" in shown
    assert "proposal 2 (V_ARGMAX_ACC) is now part of this session's ISA" in shown
    found = events(tmp_path)
    kinds = [e["type"] for e in found]
    assert kinds[:3] == ["start", "system", "user"] and "accept" in kinds and kinds[-1] == "scoring"
    after = found[kinds.index("accept") :]
    docs = next(e["text"] for e in after if e["type"] == "tool_result" and e["name"] == "grep_docs")
    assert "### V_ARGMAX_ACC (added)" in docs  # the docs were regenerated
    checked = next(e["text"] for e in after if e["type"] == "tool_result" and e["name"] == "check_syntax")
    evaluated = next(e["text"] for e in after if e["type"] == "tool_result" and e["name"] == "run_evaluation")
    assert checked.startswith("success: true") and evaluated.startswith("success: true")  # assembled and run
    assert "V_ARGMAX_ACC" in (tmp_path / "kernel.s").read_text()
    assert json.loads((tmp_path / "result.json").read_text())["mode"] == "codesign"
    assert (tmp_path / "scoring.json").exists() and (tmp_path / "proposals.jsonl").exists()


class InterruptingModel:
    """Raises KeyboardInterrupt (Ctrl-C) on its second turn, then behaves."""

    def __init__(self):
        self.inner = create_model(SPEC.model)
        self.calls = 0

    def generate(self, messages, tools):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return self.inner.generate(messages, tools)


def test_ctrl_c_hands_the_floor_to_the_engineer(tmp_path):
    engineer = ScriptedEngineer(["please continue"])
    result, outcome = run_chat(SPEC, tmp_path, InterruptingModel, engineer)
    assert "info: interrupted: your turn" in engineer.shown
    types = [e["type"] for e in events(tmp_path)]
    assert "interrupt" in types and types.index("interrupt") < types.index("engineer")
    assert outcome.end_reason == "engineer_quit"
