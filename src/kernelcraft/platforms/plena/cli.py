"""PLENA's own commands: `asm`, `disasm` and raw `sim` with memory placements and dumps.

Mounted as `kernelcraft plena asm|disasm|sim`; `kernelcraft asm|disasm|sim --platform plena`
forward here. Exit codes: 0 success, 1 the kernel ran but faulted, 2 bad input (missing file,
bad option, assembly errors). Bad input is one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from ...cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAULT,
    BadInput,
    fail,
    load_npy,
    print_diagnostics,
    read_text,
    save_npy,
    write_text,
)
from ...cli.common import console as _console
from ...cli.common import parse_int as _int

DUMP_REGIONS = ("vram", "mram", "fpsram", "intsram", "hbm")
app = typer.Typer(
    name="plena",
    help="PLENA's own tools: assemble, disassemble, and run a kernel on raw memory placements.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _load_npy(path_text: str, max_elements: int, where: str):
    return load_npy(Path(path_text), max_elements, where)


def _split_at(spec: str, option: str, target: str) -> tuple[str, int]:
    """'FILE@N' -> (FILE, N)."""
    file_text, sep, where = spec.rpartition("@")
    if not sep or not file_text or not where:
        raise BadInput(f"{option} expects FILE.npy@{target}, got '{spec}'")
    return file_text, _int(where, f"{option} {target.lower()}")


def _diagnostics_json(diagnostics) -> list[dict[str, Any]]:
    return [d.to_dict() for d in diagnostics]


# ----------------------------------------------------------------------------- asm / disasm


@app.command("asm")
def asm_command(
    kernel: Annotated[Path, typer.Argument(help="Assembly source file.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the hex words here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Diagnostics and size as JSON.")] = False,
) -> None:
    """Check and encode a kernel: diagnostics, then the binary (one 0xXXXXXXXX word per line)."""
    from kernelcraft.platforms.plena.assembler import assemble

    try:
        result = assemble(read_text(kernel))
        if result.ok and out is not None:
            write_text(out, result.program.to_hex())
    except BadInput as exc:
        raise fail(str(exc)) from None
    if json_out:
        data = {
            "ok": result.ok,
            "instructions": len(result.program) if result.ok else None,
            "diagnostics": _diagnostics_json(result.diagnostics),
            "output": str(out) if out is not None and result.ok else None,
        }
        print(json.dumps(data, indent=2))
    else:
        print_diagnostics(result.diagnostics, kernel)
        if result.ok:
            where = f", written to {out}" if out is not None else ""
            _console().print(f"ok: {len(result.program)} instructions{where}")
    if not result.ok:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("disasm")
def disasm_command(
    program: Annotated[Path, typer.Argument(help="Hex file: one 0xXXXXXXXX word per line.")],
) -> None:
    """Turn hex words back into canonical assembly text."""
    from kernelcraft.platforms.plena.assembler import decode_words, parse_hex

    try:
        words, problems = parse_hex(read_text(program))
    except BadInput as exc:
        raise fail(str(exc)) from None
    result = decode_words(words)
    problems = list(problems) + list(result.diagnostics)
    print_diagnostics(problems, program)
    if result.program is None or any(d.severity == "error" for d in problems):
        raise typer.Exit(EXIT_BAD_INPUT)
    print(result.program.to_text(), end="")


# ----------------------------------------------------------------------------- sim


@dataclass(frozen=True)
class Dump:
    region: str
    address: int
    count: int
    path: Path


_DUMP = re.compile(r"^(?P<region>[a-z]+):(?P<addr>[^:=]+):(?P<count>[^:=]+)=(?P<path>.+)$")


def parse_dump(spec: str) -> Dump:
    match = _DUMP.match(spec)
    if match is None:
        raise BadInput(f"--dump expects REGION:ADDR:COUNT=OUT.npy, got '{spec}'")
    region = match["region"]
    if region not in DUMP_REGIONS:
        raise BadInput(f"--dump region '{region}' is not one of {', '.join(DUMP_REGIONS)}")
    count = _int(match["count"], "--dump count")
    if count == 0:
        raise BadInput("--dump count must be at least 1")
    return Dump(region, _int(match["addr"], "--dump address"), count, Path(match["path"]))


def build_image(hbm: list[str], vram: list[str], fpsram: list[str], intsram: list[str], config):
    """A MemoryImage from the command-line placements (HBM tensors are quantised to MXFP8)."""
    import numpy as np

    from kernelcraft.platforms.plena.machine import MemoryImage
    from kernelcraft.platforms.plena.mx import quantize_blocks

    image = MemoryImage()
    hbm_bytes = np.zeros(0, dtype=np.uint8)
    placed: list[tuple[int, int, str]] = []  # (start, end, name): a later tensor must not overwrite one
    for spec in hbm:
        name, sep, rest = spec.partition("=")
        if not sep or not name:
            raise BadInput(f"--hbm expects NAME=FILE.npy@ADDR, got '{spec}'")
        file_text, addr = _split_at(rest, "--hbm", "ADDR")
        values = _load_npy(file_text, config.hbm_bytes, "HBM").astype(np.float32)
        if values.size % config.mx_block:
            raise BadInput(
                f"--hbm {name}: {values.size} elements is not a multiple of the MX block ({config.mx_block})"
            )
        end = addr + values.size + values.size // config.mx_block
        if end > config.hbm_bytes:
            raise BadInput(f"--hbm {name}: bytes [{addr}, {end}) exceed HBM ({config.hbm_bytes} bytes)")
        for start, stop, other in placed:
            if addr < stop and start < end:
                raise BadInput(
                    f"--hbm {name}: bytes [{addr}, {end}) (elements then scales) overlap {other} at "
                    f"[{start}, {stop})"
                )
        placed.append((addr, end, name))
        elements, scales = quantize_blocks(values, config.mx_block, config.mx_quantiser)
        if end > hbm_bytes.size:
            hbm_bytes = np.concatenate([hbm_bytes, np.zeros(end - hbm_bytes.size, dtype=np.uint8)])
        hbm_bytes[addr : addr + values.size] = elements
        hbm_bytes[addr + values.size : end] = scales
    if hbm:
        image.hbm = hbm_bytes
    for option, specs, target, size, what in (
        ("--vram", vram, image.vram, config.vram_elems, "ADDR"),
        ("--fpsram", fpsram, image.fpsram, config.fpsram_words, "SLOT"),
        ("--intsram", intsram, image.intsram, config.intsram_words, "SLOT"),
    ):
        for spec in specs:
            file_text, where = _split_at(spec, option, what)
            values = _load_npy(file_text, size, option.removeprefix("--").upper())
            if where + values.size > size:
                raise BadInput(f"{option} {spec}: [{where}, {where + values.size}) is outside 0..{size}")
            if option == "--intsram" and (values.min(initial=0) < 0 or values.max(initial=0) >= 1 << 32):
                raise BadInput(f"{option} {spec}: values must be u32")
            target[where] = values.astype(np.float32) if option != "--intsram" else values.astype(np.uint64)
    return image


def read_region(machine, dump: Dump):
    import numpy as np

    memory = {
        "vram": machine.vram,
        "mram": machine.mram,
        "fpsram": machine.fpsram,
        "intsram": machine.intsram,
        "hbm": machine.hbm,
    }[dump.region]
    if dump.address + dump.count > memory.size:
        raise BadInput(
            f"--dump {dump.region}:{dump.address}:{dump.count} is outside {dump.region} (size {memory.size})"
        )
    data = memory[dump.address : dump.address + dump.count]
    if dump.region in ("vram", "mram", "fpsram"):
        return data.astype(np.float32)
    return data.copy()


def _stats_tables(stats, fault) -> tuple[Table, Table]:
    summary = Table(title="simulation" + (" (stopped by a fault)" if fault else ""), show_header=False)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    summary.add_row("cycles", f"{stats.cycles:,} ({stats.timing_profile} timing)")
    summary.add_row("latency", f"{stats.latency_ns:,.0f} ns")
    summary.add_row("instructions executed", f"{stats.instructions:,}")
    summary.add_row("HBM bytes read", f"{stats.hbm_read_bytes:,} ({stats.hbm_useful_read_bytes:,} needed)")
    summary.add_row(
        "HBM bytes written", f"{stats.hbm_write_bytes:,} ({stats.hbm_useful_write_bytes:,} needed)"
    )
    summary.add_row("MACs", f"{stats.macs:,}")
    summary.add_row("MAC utilisation", f"{stats.mac_utilization:.2%}")
    units = Table(title="per unit")
    for name in ("unit", "instructions", "busy cycles", "share of cycles"):
        units.add_column(name, justify="left" if name == "unit" else "right")
    for unit, busy in stats.unit_busy_cycles.items():
        share = busy / stats.cycles if stats.cycles else 0.0
        units.add_row(unit, f"{stats.instruction_mix.get(unit, 0):,}", f"{busy:,}", f"{share:.1%}")
    return summary, units


@app.command("sim")
def sim_command(
    kernel: Annotated[Path, typer.Argument(help="Assembly source file.")],
    hbm: Annotated[
        list[str] | None, typer.Option("--hbm", help="NAME=FILE.npy@ADDR: tensor as MXFP8 at HBM byte ADDR.")
    ] = None,
    vram: Annotated[
        list[str] | None, typer.Option("--vram", help="FILE.npy@ADDR: BF16 at VRAM element.")
    ] = None,
    fpsram: Annotated[list[str] | None, typer.Option("--fpsram", help="FILE.npy@SLOT: BF16 FP SRAM.")] = None,
    intsram: Annotated[
        list[str] | None, typer.Option("--intsram", help="FILE.npy@SLOT: u32 INT SRAM.")
    ] = None,
    dump: Annotated[
        list[str] | None,
        typer.Option(
            "--dump", help="REGION:ADDR:COUNT=OUT.npy, REGION one of vram, mram, fpsram, intsram, hbm."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Statistics and fault as JSON.")] = False,
    max_instructions: Annotated[
        int | None, typer.Option("--max-instructions", min=1, help="Dynamic instruction limit.")
    ] = None,
    wall_time: Annotated[
        float | None, typer.Option("--wall-time", min=0.001, help="Wall-time limit (s).")
    ] = None,
    task: Annotated[
        str | None, typer.Option("--task", "-t", help="Evaluate against this task instead.")
    ] = None,
    config: Annotated[str, typer.Option("--config", "-c", help="Task configuration (with --task).")] = "C1",
    seed: Annotated[int, typer.Option("--seed", help="Task instance seed (with --task).")] = 0,
    trace: Annotated[Path | None, typer.Option("--trace", help="Chrome trace output (with --task).")] = None,
    timing: Annotated[
        str, typer.Option("--timing", help="Timing profile: consistent (the default) or emulator.")
    ] = "consistent",
    poison: Annotated[
        bool, typer.Option("--poison", help="Poison unset memory as scoring does; warn about reads of it.")
    ] = False,
) -> None:
    """Run a kernel on the simulator: raw memory placements in, statistics and dumps out.

    With --task, evaluate the kernel against that task's reference instead.
    """
    if task is not None:
        from kernelcraft.cli.task_cmds import evaluate_kernel_cli

        raise typer.Exit(evaluate_kernel_cli("plena", task, config, kernel, seed, json_out, trace))

    from dataclasses import replace

    from kernelcraft.platforms.base import RunLimits
    from kernelcraft.platforms.plena.assembler import assemble
    from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, TIMING_PROFILES
    from kernelcraft.platforms.plena.machine import run

    try:
        if timing not in TIMING_PROFILES:
            raise BadInput(f"--timing must be one of {', '.join(TIMING_PROFILES)}")
        cfg = replace(DEFAULT_CONFIG, timing_profile=timing)
        dumps = [parse_dump(d) for d in dump or []]
        result = assemble(read_text(kernel), cfg)
        image = build_image(hbm or [], vram or [], fpsram or [], intsram or [], cfg)
        image.poison = poison
    except BadInput as exc:
        raise fail(str(exc)) from None
    if not result.ok:
        if json_out:
            print(json.dumps({"ok": False, "diagnostics": _diagnostics_json(result.diagnostics)}, indent=2))
        else:
            print_diagnostics(result.diagnostics, kernel)
        raise typer.Exit(EXIT_BAD_INPUT)
    defaults = RunLimits()
    limits = RunLimits(
        max_instructions=max_instructions or defaults.max_instructions,
        wall_time_s=wall_time or defaults.wall_time_s,
    )
    execution = run(result.program, image, limits)
    written = []
    try:
        for d in dumps:
            data = read_region(execution.machine, d)
            save_npy(d.path, data)
            written.append({"region": d.region, "address": d.address, "count": d.count, "path": str(d.path)})
    except BadInput as exc:
        raise fail(str(exc)) from None
    fault = execution.fault
    if json_out:
        data = {
            "ok": fault is None,
            "fault": fault.to_dict() if fault else None,
            "stats": execution.stats.to_dict(),
            "dumps": written,
            "warnings": _diagnostics_json(result.warnings + execution.warnings),
        }
        print(json.dumps(data, indent=2, default=str))
    else:
        print_diagnostics(result.warnings + execution.warnings, kernel)
        console = _console()
        for table in _stats_tables(execution.stats, fault):
            console.print(table)
        mix = ", ".join(f"{name} {count:,}" for name, count in execution.stats.opcode_counts.items())
        console.print(f"instruction mix: {mix}", soft_wrap=True)
        for w in written:
            console.print(f"wrote {w['region']}[{w['address']}:+{w['count']}] to {w['path']}")
        if fault is not None:
            _console(stderr=True).print(fault.format(), soft_wrap=True)
    if fault is not None:
        raise typer.Exit(EXIT_FAULT)
