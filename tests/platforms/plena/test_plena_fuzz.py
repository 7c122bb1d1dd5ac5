"""Fuzzing: the assembler, decoder and simulator never raise, hang or fail internally."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernelcraft.platforms.base import RunLimits
from kernelcraft.platforms.plena.assembler import assemble, decode_word, decode_words, parse_hex
from kernelcraft.platforms.plena.config import PlenaConfig
from kernelcraft.platforms.plena.isa import INSTRUCTIONS, REGISTER_PREFIX, Kind
from kernelcraft.platforms.plena.machine import MemoryImage, run

# A small machine keeps every run cheap; addresses stay in range often enough to execute.
SMALL = PlenaConfig(vram_rows=256, mram_tiles=4, hbm_bytes=1 << 16, fpsram_words=256, intsram_words=256)
LIMITS = RunLimits(max_instructions=2_000, wall_time_s=2.0)
VALID = """\
S_ADDI_INT gp1, gp0, 64
S_LD_FP f1, gp0, 3
C_LOOP_START gp2, 3
V_ADD_VV gp1, gp1, gp0, 0
V_RED_SUM f2, gp1
H_PREFETCH_V gp1, gp0, a0, 0, 0
C_LOOP_END gp2
M_MM 0, gp0, gp1
M_MM_WO gp1, gp0, 0
"""
TOKENS = [spec.name for spec in INSTRUCTIONS] + [
    "gp0", "gp15", "gp16", "f7", "f9", "a0", "a8", ",", " ", "\t", "\n", ";", "//", "0x", "0b", "-1",
    "262143", "262144", "99999999999999999999", "label:", "0", "1", "007", "\u00e9", "\u0661", "\x00",
]  # fmt: skip

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MORE = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assemble_never_raises(text: str) -> None:
    result = assemble(text, SMALL)
    assert result.ok or result.errors
    for d in result.diagnostics:
        assert d.line >= 0 and d.column >= 0 and d.message
    if result.ok:  # whatever assembles, encodes and decodes back to itself
        again = decode_words(result.program.words(), SMALL)
        assert again.ok and again.program.to_text() == result.program.to_text()


@FAST
@given(st.text(max_size=300))
def test_assemble_random_text(text):
    _assemble_never_raises(text)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_assemble_token_soup(tokens):
    _assemble_never_raises(" ".join(tokens))


@st.composite
def mutated_programs(draw):
    text = VALID
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=3)))
        if action == "insert":
            text = text[:pos] + piece + text[pos:]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)) :]
        else:
            text = text[:pos] + piece + text[pos + len(piece) :]
    return text


@FAST
@given(mutated_programs())
def test_assemble_mutated_valid_program(text):
    _assemble_never_raises(text)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, (1 << 32) - 1))
def test_decode_random_words(word):
    decoded = decode_word(word, SMALL)
    assert hasattr(decoded, "message") or decoded.encode() == word


def test_parse_hex_junk():
    words, problems = parse_hex("0x12\n\nnot hex\n0xFFFFFFFFF\n; c\n")
    assert words == [0x12] and len(problems) == 2


# ----------------------------------------------------------------------------- random programs


def _operand(op, draw) -> str:
    if op.kind is Kind.ZERO:
        return "0"
    if op.kind is Kind.GP:
        return f"gp{draw(st.integers(0, 7))}"
    if op.kind in REGISTER_PREFIX:
        return f"{REGISTER_PREFIX[op.kind]}{draw(st.integers(0, 3))}"
    if op.choices is not None:
        return str(draw(st.sampled_from(op.choices)))
    return str(draw(st.one_of(st.integers(op.min_value, 4), st.sampled_from([8, 64, 128, 256, 4096]))))


_BODY_SPECS = [s for s in INSTRUCTIONS if s.name not in ("C_LOOP_START", "C_LOOP_END", "C_BREAK")]


@st.composite
def random_programs(draw, depth: int = 0):
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        choice = draw(st.integers(0, 9))
        if choice == 0:  # register setup with interesting values
            value = draw(st.sampled_from([0, 1, 8, 63, 64, 128, 4095, 4096, 1 << 17]))
            lines.append(f"S_ADDI_INT gp{draw(st.integers(1, 7))}, gp0, {value}")
        elif choice == 1 and depth < 2:
            reg = 8 + depth
            body = draw(random_programs(depth + 1))
            brk = ["C_BREAK"] if draw(st.booleans()) else []
            lines += [f"C_LOOP_START gp{reg}, {draw(st.integers(1, 5))}", *body, *brk, f"C_LOOP_END gp{reg}"]
        else:
            spec = draw(st.sampled_from(_BODY_SPECS))
            ops = [_operand(op, draw) for op in spec.operands]
            lines.append(f"{spec.name} {', '.join(ops)}".strip())
    return lines


def _run_is_safe(lines: list[str], poison: bool) -> None:
    result = assemble("\n".join(lines) + "\n", SMALL)
    if not result.ok:  # e.g. a random write to a loop counter register is still legal; others are not
        return
    start = time.perf_counter()
    execution = run(result.program, MemoryImage(poison=poison), LIMITS)
    assert time.perf_counter() - start < 10
    if execution.fault is not None:
        assert execution.fault.kind != "internal", execution.fault.format()
        assert execution.fault.message and execution.fault.pc is not None
    assert execution.stats.instructions <= LIMITS.max_instructions + len(lines) + 1


@FAST
@given(random_programs(), st.booleans())
def test_random_programs_run_safely(lines, poison):
    _run_is_safe(lines, poison)


@pytest.mark.slow
@MORE
@given(random_programs(), st.booleans())
def test_random_programs_run_safely_many(lines, poison):
    _run_is_safe(lines, poison)


@pytest.mark.slow
@MORE
@given(mutated_programs())
def test_assemble_mutated_valid_program_many(text):
    _assemble_never_raises(text)
