"""Shared pieces of the adversarial suite: a model that replays fixed turns."""

from __future__ import annotations

import json
import time
from pathlib import Path

from kernelcraft.agent.messages import Message, ModelResponse, ToolCall, Usage
from kernelcraft.agent.transcript import read_transcript


class ReplayModel:
    """Replays turns: a list of (tool name, arguments) calls, or a final text. Arguments given
    as a string stand for raw (possibly invalid) JSON. `delay` seconds are spent per turn."""

    name = "replay"

    def __init__(self, turns, delay: float = 0.0):
        self.turns = list(turns)
        self.delay = delay

    def generate(self, messages, tools):
        time.sleep(self.delay)
        turn = self.turns.pop(0) if self.turns else "done"
        if isinstance(turn, str):
            return ModelResponse(Message(role="assistant", text=turn), Usage(5, 5))
        calls = []
        for i, (name, args) in enumerate(turn):
            if isinstance(args, str):
                calls.append(ToolCall(f"c{len(messages)}-{i}", name, None, args))
            else:
                calls.append(ToolCall(f"c{len(messages)}-{i}", name, args, json.dumps(args)))
        return ModelResponse(Message(role="assistant", text="", tool_calls=calls), Usage(5, 5))


def use_model(monkeypatch, model) -> None:
    monkeypatch.setattr("kernelcraft.agent.providers.create_model", lambda spec, **options: model)


def transcript(folder: Path) -> list[dict]:
    return read_transcript(folder / "transcript.jsonl")
