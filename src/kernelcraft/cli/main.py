"""The `kernelcraft` command line. Each area registers its own sub-commands."""

from __future__ import annotations

import importlib
import sys

import typer

app = typer.Typer(
    name="kernelcraft",
    help="KernelCraft: LLM agents writing close-to-metal kernels for new accelerators.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One module per area; each defines register(app). Kept as names so a broken optional
# area never stops the others from loading.
COMMAND_MODULES = (
    "kernelcraft.cli.platform_cmds",  # asm, disasm, sim
    "kernelcraft.cli.task_cmds",  # tasks, baseline
    "kernelcraft.cli.agent_cmds",  # mcp
    "kernelcraft.cli.bench_cmds",  # run, report
    "kernelcraft.cli.chat_cmds",  # chat
)

for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # area not built yet
        if exc.name != _name:
            raise
        continue
    _module.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # Ctrl-C outside any command's own handling (e.g. while starting)
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
