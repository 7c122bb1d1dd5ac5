"""`kernelcraft chat`: a codesign conversation with an agent in the terminal (see modes/chat.py)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from kernelcraft.cli.common import fail
from kernelcraft.platforms.registry import DEFAULT_PLATFORM

RESULT_LINES = 14
EXIT_INTERRUPTED = 130


class TerminalUI:
    """Rich rendering of the conversation; Ctrl-C or Ctrl-D at the prompt ends it."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console()

    def agent(self, text: str) -> None:
        self.console.print(Panel(Text(text), title="agent", title_align="left", border_style="cyan"))

    def tool_call(self, call: Any) -> None:
        self.console.print(Text(f"→ {call.name}({_summary(call)})", style="bold magenta"))

    def tool_result(self, result: Any) -> None:
        lines = result.content.splitlines()
        shown = "\n".join(lines[:RESULT_LINES]) + (
            f"\n… {len(lines) - RESULT_LINES} more lines" if len(lines) > RESULT_LINES else ""
        )
        self.console.print(Text(shown, style="red" if result.is_error else "dim"))

    def info(self, text: str) -> None:
        self.console.print(Text(text, style="yellow"))

    def ask(self) -> str | None:
        try:
            return self.console.input("[bold green]you> [/]")
        except (EOFError, KeyboardInterrupt):
            self.console.print()
            return None


def _summary(call: Any) -> str:
    args = call.arguments
    if not isinstance(args, dict):
        return "invalid JSON"
    if "code" in args:
        return f"{len(str(args['code']).splitlines())} lines"
    if "mnemonic" in args:
        return str(args["mnemonic"])
    text = json.dumps(args)
    return text if len(text) <= 80 else text[:77] + "..."


def chat(
    model: Annotated[str, typer.Option("--model", "-m", help="Model spec, e.g. openai:gpt-5.2.")],
    task: Annotated[str, typer.Option("--task", "-t", help="Task id, e.g. get_transfer_index.")],
    platform: Annotated[str, typer.Option("--platform", "-p", help="Platform.")] = DEFAULT_PLATFORM,
    config: Annotated[str, typer.Option("--config", "-c", help="Configuration.")] = "C1",
    seed: Annotated[int, typer.Option("--seed", help="Visible evaluation seed.")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the transcript and results.")
    ] = None,
    max_turns: Annotated[
        int, typer.Option("--max-turns", min=1, help="Agent turns in the whole conversation.")
    ] = 60,
    option: Annotated[list[str] | None, typer.Option("--option", help="Model option key=value.")] = None,
) -> None:
    """Talk to an agent working on a task with specialised instructions withheld; accept its proposals."""
    from kernelcraft.agent.messages import ProviderError
    from kernelcraft.agent.providers import create_model
    from kernelcraft.bench.matrix import MatrixError, mode_refusal, parse_options
    from kernelcraft.episodes import EpisodeSpec
    from kernelcraft.modes.chat import HELP, run_chat

    try:
        options = parse_options(option or [])
    except MatrixError as exc:
        raise fail(str(exc)) from None
    spec = EpisodeSpec(
        model=model,
        platform=platform,
        task=task,
        config=config,
        seed=seed,
        mode="codesign",
        model_options=options,
    )
    try:
        create_model(model, **options)
    except (ValueError, ProviderError) as exc:
        raise fail(f"model {model}: {exc}") from None
    problem = _cell_problem(platform, task, config) or mode_refusal(spec.mode, task, platform)
    if problem is not None:
        raise fail(problem)
    folder = out or Path("chats") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{task}"
    ui = TerminalUI()
    ui.info(f"kernelcraft chat: {model} on {platform} {task} {config}; transcript in {folder}\n{HELP}")
    try:
        result, outcome = run_chat(spec, folder, lambda: create_model(model, **options), ui, max_turns)
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise fail(str(exc).strip("'\"")) from None
    except KeyboardInterrupt:  # before the conversation started: there is nothing to save yet
        ui.info("interrupted before the conversation started")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    matched = result.mode_metrics.get("matched", {})
    ui.info(
        f"ended ({outcome.end_reason}) after {outcome.turns} agent turns: success {result.success}, "
        f"speed-up {result.speedup or '-'}; accepted {outcome.accepted or 'none'}; withheld instructions "
        f"matched by proposals: {matched or 'none'}. Files in {folder}"
    )


def _cell_problem(platform: str, task: str, config: str) -> str | None:
    """Why (platform, task, config) cannot run, said before the conversation's banner."""
    from kernelcraft.platforms.registry import get_platform
    from kernelcraft.tasks import get_task

    try:
        get_task(task)
        get_platform(platform).params(task, config)
    except (ValueError, ImportError) as exc:
        return str(exc)
    return None


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
