"""The MCP server: same tools and schemas as the native loop, over the official MCP client."""

from __future__ import annotations

import subprocess
import sys

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from kernelcraft.agent.mcp_server import McpSession, build_server
from kernelcraft.agent.session import Session
from kernelcraft.agent.tools import TOOL_SPECS, ToolBox, Workspace
from kernelcraft.platforms.plena.baseline import generate

from .agent_fakes import CORRECT, FakeInstance, FakePlatform


def fake_session(tmp_path) -> McpSession:
    toolbox = ToolBox(FakePlatform(), FakeInstance(), Workspace(tmp_path), baseline_cycles=100)
    return McpSession(Session.around(toolbox), "SYSTEM PROMPT TEXT", "TASK PROMPT TEXT", "fake task")


def text(result) -> str:
    return "\n".join(block.text for block in result.content)


def test_in_process_tools_match_native_specs(tmp_path):
    session = fake_session(tmp_path)

    async def main():
        async with Client(build_server(session)) as client:
            tools = (await client.list_tools()).tools
            assert [t.name for t in tools] == [s.name for s in TOOL_SPECS]
            for tool, spec in zip(tools, TOOL_SPECS, strict=True):
                assert tool.description == spec.description
                assert tool.input_schema == spec.parameters
            early = await client.call_tool("view_output", {})
            assert early.is_error and "write_code" in text(early)
            saved = await client.call_tool("write_code", {"code": CORRECT})
            assert not saved.is_error and "2 lines" in text(saved)
            run = await client.call_tool("run_evaluation", {})
            assert "success: true" in text(run) and "baseline: 100 cycles" in text(run)
            unknown = await client.call_tool("compile", {})
            assert unknown.is_error and "unknown tool" in text(unknown)
            prompts = (await client.list_prompts()).prompts
            assert {p.name for p in prompts} == {"system", "task"}
            task = await client.get_prompt("task")
            assert task.messages[0].content.text == "TASK PROMPT TEXT"

    anyio.run(main)
    assert (tmp_path / "kernel.s").read_text() == CORRECT
    assert session.toolbox.stats.tool_calls == 4 and session.toolbox.stats.best is not None


def test_stdio_server_runs_the_real_platform(tmp_path):
    """`kernelcraft mcp` as a subprocess, driven by the official stdio client."""
    workspace = tmp_path / "ws"
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "kernelcraft.cli.main",
            "mcp",
            "--task",
            "silu",
            "--config",
            "C1",
            "--workspace",
            str(workspace),
        ],
    )
    kernel = generate("silu", "C1")

    async def main():
        with anyio.fail_after(60):
            async with Client(params) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                assert names == [s.name for s in TOOL_SPECS]
                saved = await client.call_tool("write_code", {"code": kernel})
                assert "success: true" in text(saved)
                syntax = await client.call_tool("check_syntax", {})
                assert "success: true" in text(syntax) and "0 error(s)" in text(syntax)
                run = await client.call_tool("run_evaluation", {})
                assert "success: true" in text(run) and "match_rate: 100.00%" in text(run)
                task = await client.get_prompt("task")
                assert "task id: silu" in task.messages[0].content.text

    anyio.run(main)
    assert (workspace / "kernel.s").read_text() == kernel
    assert (workspace / "kernels" / "eval_001.s").is_file()


@pytest.mark.parametrize(("task", "message"), [("no_such_task", "no_such_task"), ("silu", "C9")])
def test_cli_rejects_bad_task_or_config_without_traceback(tmp_path, task, message):
    config = "C9" if task == "silu" else "C1"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kernelcraft.cli.main",
            "mcp",
            "--task",
            task,
            "--config",
            config,
            "--workspace",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
