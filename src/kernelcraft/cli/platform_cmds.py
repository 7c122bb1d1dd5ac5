"""`kernelcraft asm|disasm|sim --platform P ...`, `kernelcraft P ...` and `kernelcraft docs`.

A platform's own commands (raw simulation, assembling, disassembling) live in its folder as
a Typer app (Platform.cli()). They are mounted as `kernelcraft <platform> <command>`, and
`kernelcraft <command> --platform <platform> ...` forwards the rest of the line to them,
so each platform keeps its own options (memory placements, input symbols, dumps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.main

from kernelcraft.cli.common import BadInput, console, fail
from kernelcraft.platforms.registry import DEFAULT_PLATFORM

FORWARDED = {
    "asm": "Check and encode (or build) a kernel: diagnostics, then the program.",
    "disasm": "Turn a program back into assembly text.",
    "sim": "Run a kernel on a platform's simulator: raw inputs in, statistics and dumps out.",
}
_FORWARD_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def _split_platform(args: list[str]) -> tuple[str, list[str]]:
    """Take --platform/-p NAME (or --platform=NAME) out of the arguments; the default platform otherwise."""
    rest: list[str] = []
    platform = DEFAULT_PLATFORM
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("--platform", "-p"):
            if i + 1 >= len(args):
                raise BadInput(f"{arg} needs a platform name")
            platform, i = args[i + 1], i + 2
            continue
        if arg.startswith("--platform="):
            platform = arg.partition("=")[2]
        else:
            rest.append(arg)
        i += 1
    return platform, rest


def platform_app(name: str) -> typer.Typer:
    from kernelcraft.platforms.registry import get_platform

    try:
        platform = get_platform(name)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    app = platform.cli()
    if app is None:
        raise BadInput(f"platform {platform.name} has no commands of its own")
    return app


def forward(command: str, args: list[str]) -> None:
    try:
        platform, rest = _split_platform(args)
        app = platform_app(platform)
        group = typer.main.get_command(app)
        if command not in getattr(group, "commands", {}):
            known = ", ".join(sorted(getattr(group, "commands", {}))) or "none"
            raise BadInput(f"platform {platform} has no '{command}' command (its commands: {known})")
    except BadInput as exc:
        raise fail(str(exc)) from None
    group.commands[command].main(args=rest, prog_name=f"kernelcraft {command} --platform {platform}")


def _forwarder(command: str):
    def run(ctx: typer.Context) -> None:
        forward(command, list(ctx.args))

    run.__doc__ = (
        FORWARDED[command] + f" Options depend on --platform (default {DEFAULT_PLATFORM}); add --help."
    )
    return run


def docs_command(
    platform: Annotated[str, typer.Option("--platform", "-p", help="Target platform.")] = DEFAULT_PLATFORM,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Directory for the Markdown files.")] = None,
) -> None:
    """Write the agent-facing docs (isa, memory_layout, hardware, guidance, ...) as Markdown."""
    from kernelcraft.platforms.registry import get_platform

    try:
        try:
            plat = get_platform(platform)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
        folder = out or Path("docs") / plat.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            paths = []
            for name, text in plat.docs().items():
                path = folder / f"{name}.md"
                path.write_text(text, encoding="utf-8")
                paths.append(path)
        except OSError as exc:
            raise BadInput(f"cannot write docs to {folder}: {exc}") from None
    except BadInput as exc:
        raise fail(str(exc)) from None
    for path in paths:
        console().print(str(path))


def register(app: typer.Typer) -> None:
    for command in FORWARDED:
        app.command(command, context_settings=_FORWARD_SETTINGS, add_help_option=False)(_forwarder(command))
    app.command("docs")(docs_command)
    _mount_platform_apps(app)


def _mount_platform_apps(app: typer.Typer) -> None:
    """`kernelcraft <platform> ...` for every registered platform with commands of its own."""
    from kernelcraft.platforms.registry import platform_names

    for name in platform_names():
        try:
            sub = platform_app(name)
        except (BadInput, ImportError):  # no commands, or an optional dependency missing:
            continue  # `kernelcraft <command> --platform <name>` then says why
        app.add_typer(sub, name=name)
