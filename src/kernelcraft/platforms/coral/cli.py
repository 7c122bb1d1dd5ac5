"""Coral NPU's own commands: raw `sim`, `asm`, `disasm` and `baseline`.

Mounted as `kernelcraft coral ...`; `kernelcraft sim|asm|disasm --platform coral` forward here.
`sim` builds any program (a `.S` kernel, a `.c` file with RVV intrinsics, or a ready `.elf`) with
our start-up code and memory map, places input files at symbols or addresses, runs it with the
timing model and reports cycles, the stall breakdown and how it ended. Exit codes: 0 the program
halted cleanly with main returning 0, 1 it ran but faulted (or returned non-zero), 2 bad input
(missing file, bad option, build errors). Bad input is one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from ...cli.common import EXIT_BAD_INPUT, EXIT_FAULT, BadInput, fail, print_diagnostics, read_text, write_text
from ...cli.common import console as _console

app = typer.Typer(
    name="coral",
    help="Coral NPU's own tools: build and run RISC-V + RVV programs, disassemble, show baselines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
DTYPES = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "float32")


def _config(profile: str):
    from .config import CoralConfig

    if profile == "feb2026":
        return CoralConfig()
    if profile == "oct2025":
        return CoralConfig.oct2025()
    raise BadInput(f"--profile must be feb2026 or oct2025, got '{profile}'")


def _load(path: Path, config, language: str | None = None):
    """A Program from a .S/.s (assembly), .c (C with RVV intrinsics, clang -O2) or .elf file."""
    from .elf import ProgramError, read_program
    from .runner import build

    if not path.is_file():
        raise BadInput(f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".elf" or language == "elf":
        try:
            data = path.read_bytes()
            program = read_program(data)
            for name in ("kernel.S", "kernel.c"):  # the names our builds give the source file
                candidate = read_program(data, name)
                if candidate.line_rows:
                    return candidate, []
            return program, []
        except (ProgramError, OSError) as exc:
            raise BadInput(f"{path}: {exc}") from None
    lang = language or ("c" if suffix == ".c" else "asm")
    built = build(read_text(path), lang, config)
    return built.program, built.diagnostics


def _address(where: str, program, option: str) -> int:
    """A symbol of the program or an integer address (0x...)."""
    if where in program.symbols:
        return program.symbols[where]
    try:
        return int(where, 0)
    except ValueError:
        raise BadInput(f"{option}: '{where}' is neither a symbol of the program nor an address") from None


def _read_input(path_text: str, option: str) -> bytes:
    path = Path(path_text)
    if not path.is_file():
        raise BadInput(f"{option}: file not found: {path}")
    if path.suffix == ".npy":
        import numpy as np

        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BadInput(f"{option}: cannot read {path} as .npy: {exc}") from None
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise BadInput(f"{option}: {path} holds {array.dtype}, not numbers")
        return np.ascontiguousarray(array).tobytes()
    return path.read_bytes()


@dataclass(frozen=True)
class Dump:
    where: str
    count: int
    dtype: str
    path: Path | None


def parse_dump(spec: str) -> Dump:
    """WHERE:COUNT[:DTYPE][=OUT.npy] (COUNT elements of DTYPE, int8 by default)."""
    target, _, out = spec.partition("=")
    parts = target.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise BadInput(f"--dump expects SYMBOL_OR_ADDR:COUNT[:DTYPE][=OUT.npy], got '{spec}'")
    try:
        count = int(parts[1], 0)
    except ValueError:
        raise BadInput(f"--dump count '{parts[1]}' is not an integer") from None
    if count < 1:
        raise BadInput("--dump count must be at least 1")
    dtype = parts[2] if len(parts) == 3 else "int8"
    if dtype not in DTYPES:
        raise BadInput(f"--dump dtype '{dtype}' is not one of {', '.join(DTYPES)}")
    return Dump(parts[0], count, dtype, Path(out) if out else None)


@app.command("sim")
def sim_command(
    program_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A .S kernel, a .c program or an .elf.")
    ],
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", "-i", help="SYMBOL_OR_ADDR=FILE (.npy array or raw bytes), written before the run."
        ),
    ] = None,
    dump: Annotated[
        list[str] | None,
        typer.Option(
            "--dump", "-d", help="SYMBOL_OR_ADDR:COUNT[:DTYPE][=OUT.npy]: memory to show or save after."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Result, statistics and dumps as JSON.")] = False,
    profile: Annotated[
        str, typer.Option("--profile", help="RTL version: feb2026 (default) or oct2025.")
    ] = "feb2026",
    poison: Annotated[
        bool, typer.Option("--poison", help="Fill uninitialised memory with a pattern.")
    ] = False,
    functional: Annotated[bool, typer.Option("--functional", help="No timing model (faster).")] = False,
    max_instructions: Annotated[int, typer.Option("--max-instructions", min=1)] = 20_000_000,
    wall_time: Annotated[float, typer.Option("--wall-time", min=0.001, help="Wall-time limit (s).")] = 120.0,
    trace: Annotated[Path | None, typer.Option("--trace", help="Write a Chrome trace JSON here.")] = None,
) -> None:
    """Build and run a program; print cycles, stalls, how it ended and the dumps."""
    import numpy as np

    from ..base import RunLimits
    from .runner import run_program

    try:
        config = _config(profile)
        program, diagnostics = _load(program_file, config)
        if program is None:
            _report_build_failure(program_file, diagnostics, json_out)
            raise typer.Exit(EXIT_BAD_INPUT)
        placements = []
        for spec in inputs or []:
            where, sep, file_text = spec.partition("=")
            if not sep or not where or not file_text:
                raise BadInput(f"--input expects SYMBOL_OR_ADDR=FILE, got '{spec}'")
            placements.append((_address(where, program, "--input"), _read_input(file_text, "--input")))
        dumps = [parse_dump(spec) for spec in dump or []]
        for address, data in placements:
            _check_range(address, len(data), config, "--input")
        result = run_program(
            program,
            config,
            placements=placements,
            limits=RunLimits(max_instructions, wall_time),
            timing=not functional,
            poison=poison,
            trace=trace is not None,
        )
        dumped = {}
        for d in dumps:
            address = _address(d.where, program, "--dump")
            size = d.count * np.dtype(d.dtype).itemsize
            _check_range(address, size, config, "--dump")
            values = np.frombuffer(result.machine.mem.read(address, size), dtype=d.dtype)
            if d.path is not None:
                np.save(d.path, values)
            dumped[d.where] = values
        if trace is not None and result.trace is not None:
            from .chrome_trace import write_chrome_trace

            write_chrome_trace(program, result.trace, trace)
    except BadInput as exc:
        raise fail(str(exc)) from None
    _report(result, program, diagnostics, dumped, json_out, program_file)
    if result.fault is not None:
        raise typer.Exit(EXIT_FAULT)


def _check_range(address: int, size: int, config, option: str) -> None:
    from .memory import MemoryFault, locate

    try:
        locate(config, address, size, store=False)
    except MemoryFault as exc:
        raise BadInput(f"{option} [{address:#x}, {address + size:#x}): {exc.why}") from None


def _report_build_failure(path: Path, diagnostics, json_out: bool) -> None:
    if json_out:
        print(json.dumps({"ok": False, "diagnostics": [d.to_dict() for d in diagnostics]}, indent=2))
    else:
        print_diagnostics(diagnostics, path)


def _report(result, program, diagnostics, dumped: dict[str, Any], json_out: bool, path: Path) -> None:
    stop, stats, fault = result.stop, result.stats, result.fault
    ended = "mpause (main returned 0)" if fault is None else fault.kind
    if json_out:
        data = {
            "ok": fault is None,
            "ended": ended,
            "fault": fault.to_dict() if fault else None,
            "instructions": result.machine.instret,
            "stats": stats.to_dict() if stats else None,
            "return_value": _signed(result.machine.x[10]),
            "dumps": {k: v.tolist() for k, v in dumped.items()},
            "diagnostics": [d.to_dict() for d in diagnostics],
        }
        print(json.dumps(data, indent=2))
        return
    out = _console()
    print_diagnostics(diagnostics, path)
    out.print(f"ended: {ended} at pc {stop.pc:#x}")
    if fault is not None:
        out.print(fault.format())
    if stats is not None:
        out.print(f"cycles {stats.cycles:,}; {stats.instructions:,} instructions executed")
        for line in stats.summary_lines():
            out.print(line)
        mix = ", ".join(f"{k} {v}" for k, v in sorted(stats.mix.items(), key=lambda kv: -kv[1]))
        out.print(f"mix: {mix}")
    else:
        out.print(f"{result.machine.instret:,} instructions executed (functional run, no timing)")
    for where, values in dumped.items():
        out.print(f"{where}: {values.tolist()}", soft_wrap=True)


def _signed(value: int) -> int:
    return value - (1 << 32) if value & 0x80000000 else value


@app.command("asm")
def asm_command(
    kernel: Annotated[Path, typer.Argument(help="Kernel source (.S), or .c with RVV intrinsics.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the linked ELF here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Diagnostics and size as JSON.")] = False,
) -> None:
    """Build a kernel with our start-up code and memory map: diagnostics, code size and symbols."""
    try:
        config = _config("feb2026")
        program, diagnostics = _load(kernel, config)
        if program is not None and out is not None:
            out.write_bytes(program.elf)
    except (BadInput, OSError) as exc:
        raise fail(str(exc)) from None
    if json_out:
        print(
            json.dumps(
                {
                    "ok": program is not None,
                    "code_bytes": program.code_bytes if program else None,
                    "symbols": {k: f"{v:#x}" for k, v in program.symbols.items() if not k.startswith("__")}
                    if program
                    else {},
                    "diagnostics": [d.to_dict() for d in diagnostics],
                },
                indent=2,
            )
        )
    else:
        print_diagnostics(diagnostics, kernel)
        if program is not None:
            where = f", written to {out}" if out else ""
            _console().print(
                f"ok: {program.code_bytes} bytes of code in the ITCM{where}; main at "
                f"{program.symbols.get('main', 0):#x}"
            )
    if program is None:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("disasm")
def disasm_command(
    file: Annotated[Path, typer.Argument(help="An .elf, or a .S/.c source to build first.")],
    all_code: Annotated[bool, typer.Option("--all", help="Include the start-up code.")] = False,
) -> None:
    """List the program's instructions with addresses and kernel source lines."""
    from .decode import disassemble

    try:
        program, diagnostics = _load(file, _config("feb2026"))
    except BadInput as exc:
        raise fail(str(exc)) from None
    if program is None:
        print_diagnostics(diagnostics, file)
        raise typer.Exit(EXIT_BAD_INPUT)
    ranges = (
        [(program.text_start, program.text_end)]
        if all_code or not program.kernel_ranges
        else program.kernel_ranges
    )
    text = next(
        (
            s.data
            for s in program.segments
            if s.address <= program.text_start < s.address + max(len(s.data), 1)
        ),
        b"",
    )
    base = next((s.address for s in program.segments if s.data is text), 0)
    names = {v: k for k, v in program.symbols.items() if not k.startswith("__")}
    for lo, hi in ranges:
        for pc in range(lo, hi, 4):
            off = pc - base
            if off < 0 or off + 4 > len(text):
                continue
            if pc in names:
                print(f"{names[pc]}:")
            word = int.from_bytes(text[off : off + 4], "little")
            line = program.line_of(pc)
            where = f"  # line {line}" if line else ""
            print(f"  {pc:08x}:  {word:08x}  {disassemble(word, pc)}{where}")


@app.command("baseline")
def baseline_command(
    task: Annotated[str, typer.Argument(help="Task id, e.g. gemm.")],
    config: Annotated[str, typer.Argument(help="Configuration, C1..C5.")] = "C1",
    c_source: Annotated[
        bool, typer.Option("--c", help="Print the C source instead of the assembly.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write it here instead of stdout.")] = None,
) -> None:
    """Print a cell's compiler baseline: the C + RVV-intrinsics source, or its -O2 assembly."""
    from ..api import PlatformError
    from .platform import CoralPlatform

    platform = CoralPlatform()
    try:
        text = platform.baseline_c(task, config) if c_source else platform.baseline(task, config)
        if out is not None:
            write_text(out, text)
        else:
            print(text, end="")
    except (PlatformError, ValueError, BadInput) as exc:
        raise fail(str(exc)) from None


__all__ = ["app", "EXIT_BAD_INPUT", "EXIT_FAULT"]
