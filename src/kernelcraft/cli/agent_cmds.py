"""`kernelcraft mcp`: the agent tools for one task instance, served over MCP stdio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from kernelcraft.platforms.registry import DEFAULT_PLATFORM

EXIT_BAD_INPUT = 2


def mcp(
    task: Annotated[str, typer.Option("--task", "-t", help="Task id, e.g. silu.")],
    config: Annotated[str, typer.Option("--config", "-c", help="Configuration C1..C5.")],
    platform: Annotated[str, typer.Option("--platform", "-p", help="Platform.")] = DEFAULT_PLATFORM,
    seed: Annotated[int, typer.Option("--seed", help="Visible evaluation seed.")] = 0,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace", "-w", help="Folder for kernel.s and evaluations (default ./kernelcraft-mcp/...)."
        ),
    ] = None,
) -> None:
    """Serve the six agent tools and the system and task prompts for one task over MCP stdio."""
    try:
        from kernelcraft.agent.mcp_server import create_session, serve_stdio
    except ModuleNotFoundError as exc:
        _fail(f"the MCP server needs the 'mcp' package: pip install 'kernelcraft[mcp]' ({exc.name} missing)")
    folder = workspace or Path("kernelcraft-mcp") / f"{platform}-{task}-{config}-s{seed}"
    try:
        session = create_session(platform, task, config, seed, folder)
    except (ValueError, KeyError, NotImplementedError) as exc:
        _fail(str(exc).strip("'\""))
    except OSError as exc:
        _fail(f"cannot use workspace {folder}: {exc.strerror or exc}")
    print(f"kernelcraft mcp: serving {session.label}; workspace {folder}", file=sys.stderr)
    serve_stdio(session)


def _fail(message: str) -> None:
    # stdout belongs to the MCP protocol: messages for people go to stderr.
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_BAD_INPUT)


def register(app: typer.Typer) -> None:
    app.command("mcp")(mcp)
