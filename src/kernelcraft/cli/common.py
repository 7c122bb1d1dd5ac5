"""What every command shares: exit codes, one-line errors, file reading and writing.

Bad input is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

EXIT_OK = 0
EXIT_FAULT = 1  # the kernel ran but faulted, or was evaluated and is not correct
EXIT_BAD_INPUT = 2


class BadInput(Exception):
    """A user mistake: reported as one line, exit code 2."""


def console(stderr: bool = False) -> Console:
    out = Console(stderr=stderr, markup=False, emoji=False, highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 120)
    return out


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr; raise the returned Exit (code 2)."""
    console(stderr=True).print(f"error: {message}", soft_wrap=True)
    return typer.Exit(EXIT_BAD_INPUT)


def read_text(path: Path) -> str:
    if not path.is_file():
        raise BadInput(f"file not found: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {path}: {exc}") from None


def write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc}") from None


def parse_int(text: str, what: str) -> int:
    """A non-negative integer in any Python base prefix (0x.., 0b..)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise BadInput(f"{what} '{text}' is not an integer") from None
    if value < 0:
        raise BadInput(f"{what} must not be negative, got {value}")
    return value


def print_diagnostics(diagnostics, path: Path) -> None:
    err = console(stderr=True)
    for d in diagnostics:
        err.print(f"{path}: {d.format()}", soft_wrap=True)


def split_list(values: list[str] | None) -> list[str]:
    """Repeated options and comma lists alike: ['silu,gemm', 'relu'] -> ['silu', 'gemm', 'relu']."""
    out: list[str] = []
    for value in values or []:
        out += [part.strip() for part in value.split(",") if part.strip()]
    return out
