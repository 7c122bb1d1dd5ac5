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


def load_npy(path: Path, max_elements: int, where: str = "the target memory"):
    """A numeric .npy file, flattened. The header is read first: a file asking for more
    elements than fit in `where` (or more than it holds) is refused before anything is allocated."""
    import numpy as np
    from numpy.lib import format as npy_format

    if not path.is_file():
        raise BadInput(f"file not found: {path}")
    try:
        with open(path, "rb") as fh:
            version = npy_format.read_magic(fh)
            if version == (1, 0):
                shape, _, dtype = npy_format.read_array_header_1_0(fh)
            else:
                shape, _, dtype = npy_format.read_array_header_2_0(fh)
            data_start = fh.tell()
    except (OSError, ValueError, SyntaxError) as exc:
        raise BadInput(f"cannot read {path} as .npy: {exc}") from None
    if dtype.hasobject or not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        raise BadInput(f"{path} holds {dtype}, not numbers")
    count = int(np.prod(shape, dtype=object)) if shape else 1
    if count > max_elements:
        raise BadInput(f"{path} holds {count} elements; at most {max_elements} fit in {where}")
    if data_start + count * dtype.itemsize > path.stat().st_size:
        raise BadInput(f"{path} is shorter than its header says ({count} elements of {dtype})")
    try:
        return np.load(path, allow_pickle=False).reshape(-1)
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read {path} as .npy: {exc}") from None


def save_npy(path: Path, data) -> None:
    """Write `data` to exactly `path` (numpy would append .npy to a name without it)."""
    import numpy as np

    try:
        with open(path, "wb") as fh:
            np.save(fh, data)
    except OSError as exc:
        raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None


def print_diagnostics(diagnostics, path: Path) -> None:
    err = console(stderr=True)
    for d in diagnostics:
        err.print(f"{path}: {d.format()}", soft_wrap=True)


def split_list(values: list[str] | None) -> list[str]:
    """Repeated options and comma lists alike: ['silu,gemm', 'relu'] -> ['silu', 'gemm', 'relu']."""
    out: list[str] = []
    for value in values or []:
        parts = [part.strip() for part in value.split(",") if part.strip()]
        if not parts:  # `-c ,` or `-t ""` must not quietly mean "the default"
            raise BadInput(f"{value!r} names nothing: give at least one name")
        out += parts
    return out
