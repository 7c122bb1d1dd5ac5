"""Model text that no file or API accepts must not lose or skew an episode."""

from __future__ import annotations

import json

import anyio
from mcp import Client

from kernelcraft.agent.episode import run_episode
from kernelcraft.agent.mcp_server import build_server, create_session
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.registry import get_platform

from .adversarial_helpers import ReplayModel, transcript, use_model

PLENA = get_platform("plena")
SILU = PLENA.baseline("silu", "C1")
LONE = "\ud800"


def test_lone_surrogates_in_messages_and_arguments_keep_the_episode(tmp_path, monkeypatch):
    model = ReplayModel(
        [
            [
                ("write_code", {"code": SILU + f"; note {LONE}\n"}),
                ("grep_docs", {"query": f"V_EXP_V {LONE}"}),
            ],
            [("run_evaluation", {}), (f"bogus{LONE}", {})],
            f"done {LONE}",
        ]
    )
    use_model(monkeypatch, model)
    result = run_episode(EpisodeSpec(model="replay", task="silu", config="C1"), tmp_path)
    assert result.success and result.evaluations == 1 and result.end_reason == "model_stopped"
    events = transcript(tmp_path)  # every line parses
    assert events[-1]["type"] == "scoring"
    assert any(e["type"] == "assistant" and e.get("replaced_characters") for e in events)
    saved = (tmp_path / "kernel.s").read_text(encoding="utf-8")
    assert "\ufffd" in saved and LONE not in saved
    (tmp_path / "transcript.jsonl").read_bytes().decode("utf-8")  # valid UTF-8 throughout


def test_giant_immediates_are_syntax_errors_with_a_record(tmp_path, monkeypatch):
    giant = "S_ADDI_INT gp1, gp0, " + "9" * 5000 + "\n"
    model = ReplayModel([[("write_code", {"code": giant}), ("check_syntax", {}), ("run_evaluation", {})]])
    use_model(monkeypatch, model)
    result = run_episode(EpisodeSpec(model="replay", task="silu", config="C1"), tmp_path)
    assert "S" in result.error_categories and "T" not in result.error_categories
    texts = [e["text"] for e in transcript(tmp_path) if e["type"] == "tool_result"]
    assert "5000 characters" in texts[1] and "internal error" not in " ".join(texts)
    record = json.loads((tmp_path / "evaluations.jsonl").read_text().splitlines()[0])
    assert record["assembled"] is False and (tmp_path / record["kernel"]).is_file()


def test_mcp_answers_a_request_holding_surrogates(tmp_path):
    session = create_session("plena", "silu", "C1", 0, tmp_path / "ws")

    async def main():
        with anyio.fail_after(60):
            async with Client(build_server(session)) as client:
                saved = await client.call_tool("write_code", {"code": f"NOT_AN_OP{LONE} gp1\n"})
                assert not saved.is_error and "replaced with U+FFFD" in saved.content[0].text
                checked = await client.call_tool("check_syntax", {})
                assert "unknown instruction" in checked.content[0].text
                odd = await client.call_tool("grep_docs", {"query": LONE, f"k{LONE}": LONE})
                assert odd.is_error and "unknown argument" in odd.content[0].text

    anyio.run(main)


def test_mcp_over_stdio_answers_json_escaped_surrogates(tmp_path):
    """A raw client sends "\\ud800" escapes (valid JSON): the server still answers every request."""
    import subprocess
    import sys
    import time

    def request(number: int, method: str, params: dict) -> dict:
        return {"jsonrpc": "2.0", "id": number, "method": method, "params": params}

    client = {"name": "raw", "version": "1"}
    lines = [
        request(1, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": client}),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        request(2, "tools/call", {"name": "write_code", "arguments": {"code": "NOT_AN_OP\ud800 gp1"}}),
        request(3, "tools/call", {"name": "check_syntax", "arguments": {}}),
        request(4, "tools/call", {"name": "x\udfff", "arguments": {}}),
    ]
    payload = "".join(json.dumps(line) + "\n" for line in lines)
    payload = payload.replace("\\\\ud800", "\\ud800").replace("\\\\udfff", "\\udfff")  # JSON escapes
    command = [
        sys.executable,
        "-m",
        "kernelcraft.cli.main",
        "mcp",
        "-t",
        "silu",
        "-c",
        "C1",
        "-w",
        str(tmp_path),
    ]
    server = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    answers: dict[int, dict] = {}
    try:
        server.stdin.write(payload)
        server.stdin.flush()
        deadline = time.monotonic() + 120
        while len(answers) < 4 and time.monotonic() < deadline:
            line = server.stdout.readline()  # the server answers every request, so this returns
            if not line:
                break
            message = json.loads(line)
            if "id" in message:
                answers[message["id"]] = message
    finally:
        server.stdin.close()
        server.wait(timeout=60)
    assert set(answers) == {1, 2, 3, 4}
    assert "success: true" in answers[2]["result"]["content"][0]["text"]
    assert "NOT_AN_OP\ufffd" in answers[3]["result"]["content"][0]["text"]
    assert answers[4]["result"]["isError"]


def test_mcp_runs_a_sessions_calls_one_at_a_time(tmp_path):
    session = create_session("plena", "silu", "C1", 0, tmp_path / "ws")
    inside, overlaps = [0], []
    original = session.session.step

    def step(call, iteration=0):
        inside[0] += 1
        overlaps.append(inside[0])
        try:
            return original(call, iteration)
        finally:
            inside[0] -= 1

    session.session.step = step

    async def main():
        async with Client(build_server(session)) as client:
            await client.call_tool("write_code", {"code": SILU})
            async with anyio.create_task_group() as tg:
                for _ in range(6):
                    tg.start_soon(client.call_tool, "run_evaluation", {})

    anyio.run(main)
    assert max(overlaps) == 1
    numbers = [json.loads(line)["evaluation"] for line in (tmp_path / "ws" / "evaluations.jsonl").open()]
    assert numbers == [1, 2, 3, 4, 5, 6]
