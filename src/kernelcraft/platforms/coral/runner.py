"""Build-and-run helpers shared by the platform, the raw-mode CLI, tests and benchmarks."""

from __future__ import annotations

import gc
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from ..base import Diagnostic, Fault, RunLimits
from .config import CoralConfig
from .decode import decode
from .elf import Program, ProgramError, read_program
from .lint import describe_misaligned, lint, misaligned
from .machine import Machine, Stop
from .memory import POISON_PATTERN
from .stats import CoralStats
from .timing import Timing
from .toolchain import KERNEL_NAME, SUPPORT_SOURCE, build_program


@dataclass(frozen=True)
class CoralFault(Fault):
    """A Fault whose pc, an address in the ITCM, reads in hex like every other address."""

    pc_format = "#x"


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
    return Built(program, out.diagnostics + (lint(program) if language == "asm" else []))


@dataclass
class RunResult:
    machine: Machine
    stop: Stop
    stats: CoralStats | None
    fault: Fault | None
    trace: list[tuple[int, int]] | None = None  # (pc, dispatch cycle) per instruction when traced
    reuse: tuple | None = None  # (config, ITCM) when the machine may go back to a pool


def run_program(
    program: Program,
    config: CoralConfig,
    *,
    placements: list[tuple[int, bytes]] = (),
    limits: RunLimits | None = None,
    timing: bool = True,
    poison: bool = False,
    trace: bool = False,
    reuse: bool = False,
) -> RunResult:
    """Load a program, place input bytes, run to halt; a Fault for anything but a clean mpause.

    `reuse`: run on a machine an earlier run of this same Program object left (reset in place),
    keeping its decoded instructions and compiled blocks; the caller hands it back with
    `release(program, result)` once it has read what it needs, and must not read it after."""
    limits = limits or RunLimits()
    reusable = reuse and timing and not trace
    kept = _checkout(program, config, poison) if reusable else None
    if kept is None:
        machine = Machine(config, poison=poison)
        if timing:
            machine.timing = Timing(config, machine)
            if trace:
                machine.timing.trace = []
        machine.load_program(program)
    else:
        machine = kept[0]
        machine.load_program(program, keep_code=True)
    for address, data in placements:
        machine.mem.write(address, data)
    itcm = None
    if reusable:
        itcm = bytes(machine.mem.itcm)
        if kept is not None and kept[1] != itcm:  # the placements wrote code: decode it again
            machine.load_program(program)
            for address, data in placements:
                machine.mem.write(address, data)
    collecting = gc.isenabled()
    gc.disable()  # a run leaves little garbage; collecting in the middle of one costs ~5%
    try:
        stop = machine.run(max_instructions=limits.max_instructions, wall_time_s=limits.wall_time_s)
    finally:
        if collecting:
            gc.enable()
    stats = machine.timing.stats(machine.instret) if machine.timing is not None else None
    traced = machine.timing.trace if machine.timing is not None else None
    fault = fault_of(stop, program, machine)
    return RunResult(machine, stop, stats, fault, traced, (config, itcm) if reusable else None)


# Machines kept for running a program again (hidden scoring runs one program on several seeds):
# per Program object, while it lives, one machine per configuration, with the ITCM its decoded
# instructions came from; the POOL_SIZE most recently used in all (each holds its memory and
# compiled blocks). A machine is taken out while it runs, so two runs never share one.
POOL_SIZE = 8
_POOL: OrderedDict = OrderedDict()  # (id(program), config) -> (machine, ITCM)
_WATCHED: set[int] = set()  # ids of programs with a finalizer
_GONE: list[int] = []  # ids of programs that died: their machines are dropped at the next use
_LOCK = threading.Lock()


def _purge() -> None:
    """Drop the machines of programs that died (under _LOCK). The finalizer only appends to _GONE:
    it may run inside a collection anywhere. Should an id be reused before this, the new
    program still never runs stale code: run_program compares the ITCM the code came from."""
    while _GONE:
        program_id = _GONE.pop()
        _WATCHED.discard(program_id)
        for key in [key for key in _POOL if key[0] == program_id]:
            del _POOL[key]


def _checkout(program: Program, config: CoralConfig, poison: bool) -> tuple[Machine, bytes] | None:
    with _LOCK:
        _purge()
        kept = _POOL.pop((id(program), config), None)
    if kept is not None:
        kept[0].reset(poison)
    return kept


def release(program: Program, result: RunResult) -> None:
    """Hand a reusable run's machine back for the program's next run (the result's machine must
    not be read afterwards: the next run resets it)."""
    if result.reuse is None:
        return
    config, itcm = result.reuse
    result.reuse = None
    with _LOCK:
        _purge()
        if id(program) not in _WATCHED:
            _WATCHED.add(id(program))
            weakref.finalize(program, _GONE.append, id(program))
        _POOL[(id(program), config)] = (result.machine, itcm)
        while len(_POOL) > POOL_SIZE:
            _POOL.popitem(last=False)


# Registers the ilp32 calling convention makes main preserve (ra aside: main could not have
# returned without it), by number. The start-up code calls main with every s-register zero.
CALLEE_SAVED = {"sp": 2, "s0": 8, "s1": 9, **{f"s{i}": 16 + i for i in range(2, 12)}}


def abi_fault(program: Program, machine: Machine) -> Fault | None:
    """A Fault when main returned (through the start-up code's mpause) with sp or s0-s11 changed."""
    entry = {name: 0 for name in CALLEE_SAVED}
    entry["sp"] = program.symbols.get("__stack_end", 0)
    changed = {
        name: machine.x[number] for name, number in CALLEE_SAVED.items() if machine.x[number] != entry[name]
    }
    if not changed:
        return None
    detail = ", ".join(f"{name} = {value:#x} (was {entry[name]:#x})" for name, value in changed.items())
    return CoralFault(
        "abi",
        f"main returned with callee-saved registers changed: {detail}. The ilp32 calling convention "
        "requires sp and s0-s11 to be as they were at entry: save the s-registers you use on the "
        "stack and restore them (and sp) before `ret`",
        None,
        "",
        None,
        {name: f"{value:#x}" for name, value in changed.items()},
    )


def fault_of(stop: Stop, program: Program, machine: Machine) -> Fault | None:
    """The Fault a stop means, with the kernel-file line; None for a clean mpause."""
    if stop.kind == "mpause":
        halt = program.symbols.get("__crt_halt")
        return abi_fault(program, machine) if halt is not None and stop.pc == halt else None
    if stop.kind == "stop_pc":
        return None
    line = program.line_of(stop.pc)
    state = {"pc": f"{stop.pc:#x}"}
    where = program.symbol_at(stop.pc) if program.text_start <= stop.pc < program.text_end + 16 else None
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
    message += _hints(stop, program, machine)
    return CoralFault(kind, message, stop.pc, stop.instruction, line, state)


# What memory nobody wrote holds under poison, read as a 32-bit word at each byte offset.
_POISON_WORDS = tuple(
    int.from_bytes((POISON_PATTERN * 2)[k : k + 4], "little") for k in range(len(POISON_PATTERN))
)
_POISON_NEAR = 0x10000  # an address this close to a poison word was computed from one


def looks_like_poison(address: int) -> bool:
    return any(abs(address - word) < _POISON_NEAR for word in _POISON_WORDS)


def _hints(stop: Stop, program: Program, machine: Machine) -> str:
    """Extra sentences for faults whose usual cause can be told from where and how they happened."""
    hints = []
    if stop.kind in ("illegal_instruction", "instruction_access") and _past_the_code(stop.pc, program):
        hints.append(
            "the pc ran past the last instruction of your code: does main end with `ret` (li a0, 0 then ret)?"
        )
    if "must be multiples of" in stop.message and stop.tval is not None:
        found = decode(stop.tval)
        if found is not None:
            bad = misaligned(found[0], found[1], machine.v.sew, machine.v.lmul)
            if bad:
                hints.append(describe_misaligned(bad, machine.v.sew, machine.v.lmul))
    if stop.tval is not None and stop.kind.endswith(("_access", "fetch")) and looks_like_poison(stop.tval):
        hints.append(
            "the address looks like poison (memory nobody wrote holds the bytes "
            f"{POISON_PATTERN.hex(' ')} repeated, {_POISON_WORDS[0]:#x} as a word): it was computed from "
            "memory you never wrote"
        )
    return "".join(f"; {h}" if i or stop.message else h for i, h in enumerate(hints))


def _past_the_code(pc: int, program: Program) -> bool:
    """Whether pc is just past the end of a range of the kernel's own code (within 16 bytes)."""
    ranges = program.kernel_ranges or ((program.text_start, program.text_end),)
    return any(hi <= pc < hi + 16 for _lo, hi in ranges) and not program.in_kernel(pc)
