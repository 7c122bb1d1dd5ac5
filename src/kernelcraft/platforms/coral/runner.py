"""Build-and-run helpers shared by the platform, the raw-mode CLI, tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

from ..base import Diagnostic, Fault, RunLimits
from .config import CoralConfig
from .elf import Program, ProgramError, read_program
from .machine import Machine, Stop
from .stats import CoralStats
from .timing import Timing
from .toolchain import KERNEL_NAME, SUPPORT_SOURCE, build_program


@dataclass
class Built:
    program: Program | None
    diagnostics: list[Diagnostic]


def build(source: str, language: str, config: CoralConfig, *, opt: str = "-O2") -> Built:
    """Assemble or compile `source` and link it with our crt: a Program, or the diagnostics."""
    extra = (("support.S", SUPPORT_SOURCE),)
    out = build_program(source, language, config, opt=opt, extra_objects=extra)
    if not out.ok:
        return Built(None, out.diagnostics)
    try:
        program = read_program(out.elf, KERNEL_NAME[language], language, source)
    except ProgramError as exc:
        return Built(None, out.diagnostics + [Diagnostic(0, 0, str(exc))])
    if program.code_bytes > config.itcm_size:
        return Built(
            None,
            out.diagnostics + [Diagnostic(0, 0, f"code does not fit the ITCM ({program.code_bytes} bytes)")],
        )
    return Built(program, out.diagnostics)


@dataclass
class RunResult:
    machine: Machine
    stop: Stop
    stats: CoralStats | None
    fault: Fault | None
    trace: list[tuple[int, int]] | None = None  # (pc, dispatch cycle) per instruction when traced


def run_program(
    program: Program,
    config: CoralConfig,
    *,
    placements: list[tuple[int, bytes]] = (),
    limits: RunLimits | None = None,
    timing: bool = True,
    poison: bool = False,
    trace: bool = False,
) -> RunResult:
    """Load a program, place input bytes, run to halt; a Fault for anything but a clean mpause."""
    limits = limits or RunLimits()
    machine = Machine(config, poison=poison)
    if timing:
        machine.timing = Timing(config, machine)
        if trace:
            machine.timing.trace = []
    machine.load_program(program)
    for address, data in placements:
        machine.mem.write(address, data)
    stop = machine.run(max_instructions=limits.max_instructions, wall_time_s=limits.wall_time_s)
    stats = machine.timing.stats(machine.instret) if machine.timing is not None else None
    traced = machine.timing.trace if machine.timing is not None else None
    return RunResult(machine, stop, stats, fault_of(stop, program, machine), traced)


def fault_of(stop: Stop, program: Program, machine: Machine) -> Fault | None:
    """The Fault a stop means, with the kernel-file line; None for a clean mpause."""
    if stop.kind == "mpause" or stop.kind == "stop_pc":
        return None
    line = program.line_of(stop.pc)
    state = {"pc": f"{stop.pc:#x}"}
    where = program.symbol_at(stop.pc)
    if where:
        state["symbol"] = where
    kind, message = stop.kind, stop.message
    fail = program.symbols.get("__crt_fail")
    if stop.kind == "ebreak" and fail is not None and stop.pc == fail:
        value = machine.x[10]
        signed = value - (1 << 32) if value & 0x80000000 else value
        kind = "nonzero_return"
        message = f"main returned {signed} (a0); a kernel must return 0"
        line = None
        state["a0"] = signed
    elif stop.kind == "ebreak":
        message = message or "ebreak: the core halts with a fault"
    elif stop.kind == "wfi":
        message = "wfi: the core waits for an interrupt that never comes"
    if stop.cause is not None:
        state["mcause"] = stop.cause
    if stop.tval is not None and stop.kind not in ("illegal_instruction",):
        state["mtval"] = f"{stop.tval:#x}"
    return Fault(kind, message, stop.pc, stop.instruction, line, state)
