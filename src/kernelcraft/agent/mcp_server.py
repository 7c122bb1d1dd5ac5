"""The six agent tools served over MCP (stdio), for agents that bring their own loop.

Any MCP client (an IDE agent, a CLI coding agent, a human with an inspector) gets exactly
the tools a benchmark model gets: same names, descriptions, JSON schemas and result text,
backed by the same ToolBox and workspace files. The system and task prompts are exposed
as MCP prompts so the client can show the agent the same instructions.
"""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

from kernelcraft.agent.messages import ToolCall
from kernelcraft.agent.session import Session
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.safetext import scrub_value

SERVER_NAME = "kernelcraft"
PROMPTS = {
    "system": "The system prompt: role, workflow, tools, ISA, memory layout, hardware and guidance.",
    "task": "The task prompt: operator, shapes, data types, I/O contract and iteration budget.",
}


@dataclass
class McpSession:
    """One task instance behind the server: the session core and its prompts."""

    session: Session
    system_prompt: str
    task_prompt: str
    label: str

    @property
    def toolbox(self):
        return self.session.toolbox


def create_session(platform: str, task: str, config: str, seed: int, workspace: Path) -> McpSession:
    """Prepare the instance and the tools; raises ValueError-like errors for bad task/config."""
    spec = EpisodeSpec(model="mcp", platform=platform, task=task, config=config, seed=seed)
    session = Session(spec, workspace)
    start = session.reset()
    return McpSession(
        session, start.system_prompt, start.task_prompt, f"{platform} {task} {config} seed {seed}"
    )


def build_server(session: McpSession) -> Server[Any]:
    """A low-level MCP server whose tool schemas are the native ToolSpecs, unchanged.

    A session's calls run one at a time, in the order they arrive (a client may send several
    requests before the first is answered); results are scrubbed of characters the protocol's
    JSON cannot carry, so every request gets a response.
    """
    calls = 0
    one_at_a_time = anyio.Lock()

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        tools = [
            types.Tool(name=spec.name, description=spec.description, input_schema=spec.parameters)
            for spec in session.session.toolbox.specs
        ]
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        nonlocal calls
        async with one_at_a_time:
            calls += 1
            call = ToolCall(id=f"mcp-{calls}", name=params.name, arguments=dict(params.arguments or {}))
            # Simulation is CPU-bound; keep the event loop answering while it runs.
            number = calls
            result = await anyio.to_thread.run_sync(lambda: session.session.step(call, iteration=number))
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=result.content)], is_error=result.is_error
        )

    async def list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[types.Prompt(name=name, description=text) for name, text in PROMPTS.items()]
        )

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        texts = {"system": session.system_prompt, "task": session.task_prompt}
        if params.name not in texts:
            raise ValueError(f"unknown prompt {params.name!r}; available: {', '.join(texts)}")
        message = types.PromptMessage(
            role="user", content=types.TextContent(type="text", text=texts[params.name])
        )
        return types.GetPromptResult(description=PROMPTS[params.name], messages=[message])

    return Server(
        SERVER_NAME,
        instructions=f"KernelCraft tools for {session.label}. Read the 'system' and 'task' prompts first.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


class _ScrubbedLines:
    """Stdin lines with lone surrogates (JSON escapes like \\ud800, valid JSON that the MCP
    SDK's parser rejects, dropping the request unanswered) replaced by U+FFFD."""

    def __init__(self, lines: Any):
        self.lines = lines

    async def __aiter__(self):
        async for line in self.lines:
            yield scrub_json_line(line)


def scrub_json_line(line: str) -> str:
    if "\\u" not in line:
        return line
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return line
    value, replaced = scrub_value(value)
    return json.dumps(value, ensure_ascii=False) + "\n" if replaced else line


def serve_stdio(session: McpSession) -> None:
    """Serve until the client closes stdin."""
    server = build_server(session)

    async def main() -> None:
        stdin = anyio.wrap_file(
            io.TextIOWrapper(io.FileIO(os.dup(sys.stdin.fileno()), "rb"), encoding="utf-8", errors="replace")
        )
        async with stdio_server(stdin=_ScrubbedLines(stdin)) as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    anyio.run(main)
