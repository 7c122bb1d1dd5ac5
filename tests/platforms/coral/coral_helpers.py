"""Shared helpers for the Coral tests: build once, run with or without timing, trace dispatches."""

from __future__ import annotations

import functools

import pytest

from kernelcraft.platforms.coral.config import CoralConfig
from kernelcraft.platforms.coral.machine import Machine
from kernelcraft.platforms.coral.runner import build, run_program
from kernelcraft.platforms.coral.timing import Timing
from kernelcraft.platforms.coral.toolchain import toolchain_available

needs_toolchain = pytest.mark.skipif(
    not toolchain_available(), reason="the ziglang toolchain is not installed"
)
FEB = CoralConfig()
OCT = CoralConfig.oct2025()


# A correct ReLU for relu C1 (x at 0x20000000, y at 0x20001000): the platform tests' known-good
# kernel. Not in the agent docs (it would be that task's answer).
RELU_C1 = """    # y = max(x, 0) for N int8 values in external memory, 128 per pass (e8, m8)
    .equ N, 512
    .equ X_ADDR, 0x20000000
    .equ Y_ADDR, 0x20001000
    .text
    .globl main
main:
    li a0, X_ADDR
    li a1, Y_ADDR
    li a2, N
1:  vsetvli t0, a2, e8, m8, ta, ma      # t0 = elements this pass (<= 128)
    vle8.v v8, (a0)
    vmax.vx v8, v8, zero
    vse8.v v8, (a1)
    add a0, a0, t0
    add a1, a1, t0
    sub a2, a2, t0
    bnez a2, 1b
    li a0, 0                            # success
    ret
"""


def kernel(body: str, data: str = "") -> str:
    """An assembly kernel: `main` runs body and returns 0; data goes in .data (DTCM)."""
    return f"""    .text
    .globl main
main:
{body}
    li a0, 0
    ret
    .data
    .balign 16
{data}
"""


@functools.lru_cache(maxsize=256)
def built(source: str, language: str = "asm", config: CoralConfig = FEB):
    result = build(source, language, config)
    assert result.program is not None, "\n".join(d.format() for d in result.diagnostics)
    return result.program


def run(
    source: str, config: CoralConfig = FEB, placements=(), timing: bool = True, language: str = "asm", **kw
):
    program = built(source, language, config)
    return run_program(program, config, placements=list(placements), timing=timing, **kw)


def cycles(body: str, config: CoralConfig = FEB, data: str = "") -> int:
    result = run(kernel(body, data), config)
    assert result.fault is None, result.fault.format()
    return result.stats.cycles


def steady(block: str, setup: str = "", reps: int = 8, config: CoralConfig = FEB, data: str = "") -> float:
    """Cycles per repetition of `block` in steady state: (cycles of 2N copies - N copies) / N."""
    one = cycles(setup + "\n" + block * reps, config, data)
    two = cycles(setup + "\n" + block * (2 * reps), config, data)
    return (two - one) / reps


def dispatch_trace(source: str, config: CoralConfig = FEB) -> list[tuple[int, int, str]]:
    """(pc, dispatch cycle, instruction text) of every executed instruction."""
    program = built(source, "asm", config)
    machine = Machine(config)
    machine.timing = Timing(config, machine)
    machine.timing.trace = []
    machine.load_program(program)
    stop = machine.run()
    assert stop.kind == "mpause", stop
    return [(pc, t, machine.code[pc].text) for pc, t in machine.timing.trace]


def dispatch_of(trace, text: str, occurrence: int = 0) -> int:
    """Dispatch cycle of the occurrence-th executed instruction whose text starts with `text`."""
    hits = [t for _pc, t, s in trace if s.startswith(text)]
    assert len(hits) > occurrence, f"{text!r} not executed {occurrence + 1} times"
    return hits[occurrence]
