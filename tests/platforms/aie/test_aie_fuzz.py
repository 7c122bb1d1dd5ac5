"""Fuzzing: the assembler and the machine answer with a diagnostic or a fault, never an
exception or a hang."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernelcraft.platforms.aie.assembler import assemble
from kernelcraft.platforms.aie.config import DEFAULT_CONFIG
from kernelcraft.platforms.aie.isa import INSTRUCTIONS
from kernelcraft.platforms.aie.machine import new_machine
from kernelcraft.platforms.base import RunLimits

TOKENS = sorted({s.mnemonic for s in INSTRUCTIONS}) + [
    "nop",
    "nopa",
    "nopv",
    "r0",
    "r27",
    "p0",
    "p7",
    "m1",
    "wl0",
    "wh11",
    "x3",
    "y2",
    "bml0",
    "bmh8",
    "cm4",
    "amll2",
    "lc",
    "ls",
    "le",
    "lr",
    "s0",
    "dj1",
    "d0",
    "[p0, #32]",
    "[p1], #-64",
    "[p2], m0",
    "[p3, dj0]",
    "#0",
    "#28",
    "#-1",
    "#0x7fffffff",
    "#label",
    "label:",
    ";",
    ",",
    "[",
    "]",
    "#",
    ".p2align 4",
    "//",
    "x99",
    "#1/0",
    "#(",
    "ret lr",
    "\n",
    "\t",
    "é",
    "\x00",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40), st.text(max_size=40))
def test_assembler_never_raises_on_token_soup(tokens, noise):
    source = " ".join(tokens) + noise
    result = assemble(source)
    assert result.program is not None or result.errors


def _operand(draw, spec_operand):
    o = spec_operand
    if o.kind == "reg":
        cls = draw(st.sampled_from(o.classes))
        names = {
            "r": "r{}",
            "p": "p{}",
            "m": "m{}",
            "dn": "dn{}",
            "dj": "dj{}",
            "dc": "dc{}",
            "s": "s{}",
            "w": "wl{}",
            "x": "x{}",
            "am": "amll{}",
            "bm": "bml{}",
            "cm": "cm{}",
        }
        if cls == "special":
            return draw(st.sampled_from(["lc", "ls", "le", "lr", "sp"]))
        if cls == "cr":
            return draw(st.sampled_from(["crRnd", "crSat"]))
        if cls == "y":
            return f"y{draw(st.integers(2, 5))}"
        top = {
            "r": 31,
            "p": 7,
            "m": 7,
            "dn": 7,
            "dj": 7,
            "dc": 7,
            "s": 3,
            "w": 11,
            "x": 11,
            "am": 8,
            "bm": 8,
            "cm": 8,
        }[cls]
        return names[cls].format(draw(st.integers(0, top)))
    if o.kind == "imm":
        return f"#{draw(st.integers(o.lo, o.hi)) // o.step * o.step}"
    if o.kind == "label":
        return draw(st.sampled_from(["#top", "#0", "#64", "#-4"]))
    mode = draw(st.sampled_from([m for m in o.modes if m != "2d"] or ["post"]))
    p = draw(st.integers(0, 7))
    step = 32 if o.access == 32 else max(1, o.access)
    imm = draw(st.integers(-4, 4)) * step
    return {
        "idx": f"[p{p}, #{imm}]",
        "idxj": f"[p{p}, dj{p}]",
        "post": f"[p{p}], #{imm}",
        "postm": f"[p{p}], m{p}",
    }[mode]


@st.composite
def programs(draw):
    specs = [s for s in INSTRUCTIONS if s.generation == "aie-ml"]
    lines = ["top:"]
    for _ in range(draw(st.integers(1, 25))):
        spec = draw(st.sampled_from(specs))
        ops = ", ".join(_operand(draw, o) for o in spec.operands)
        lines.append(f"    {spec.mnemonic} {ops}")
    lines += ["    ret lr"] + ["    nop"] * 5
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.integers(0, 2**32 - 1))
def test_machine_never_raises_or_hangs(source, seed):
    result = assemble(source)
    if result.program is None:
        assert result.errors
        return
    rng = np.random.default_rng(seed)
    m = new_machine(DEFAULT_CONFIG, poison=bool(seed & 1))
    m.memory[:] = rng.integers(0, 256, m.memory.shape, dtype=np.uint8)
    args = {f"p{i}": 0x70000 + 64 * int(rng.integers(0, 1000)) for i in range(8)}
    args.update({f"m{i}": int(rng.integers(-64, 64)) * 32 & 0xFFFFF for i in range(8)})
    out = m.call(result.program, 0, args, RunLimits(max_instructions=3000, wall_time_s=5), rng=rng)
    assert out.fault is None or out.fault.kind in {
        "address",
        "alignment",
        "operand",
        "control",
        "instruction_limit",
        "write_collision",
        "loop_setup",
        "wall_time",
    }
    assert out.cycles >= 0
