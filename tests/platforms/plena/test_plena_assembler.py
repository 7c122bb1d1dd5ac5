"""Assembler diagnostics, the instruction table's consistency, and the binary round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernelcraft.platforms.base import Diagnostic
from kernelcraft.platforms.plena import semantics
from kernelcraft.platforms.plena.assembler import assemble, decode_word, decode_words, parse_hex
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, EMULATOR_CONFIG, PlenaConfig
from kernelcraft.platforms.plena.isa import (
    BY_NAME,
    FIELDS,
    INSTRUCTIONS,
    REGISTER_PREFIX,
    Kind,
    register_count,
)


def _errors(source: str, config: PlenaConfig = DEFAULT_CONFIG):
    result = assemble(source, config)
    assert not result.ok
    return result.errors


def test_unknown_mnemonic_suggests_closest_names():
    (err,) = _errors("S_ADDI_INT gp1, gp0, 1\n  V_ADD_V gp1, gp1, gp1\n")
    assert err.line == 2 and err.column == 3 and "unknown instruction 'V_ADD_V'" in err.message
    assert "V_ADD_VV" in err.hint and "V_ADD_VF" in err.hint


def test_wrong_register_class():
    (err,) = _errors("V_ADD_VF gp1, gp2, gp3")
    assert "wrong register class" in err.message and "an f register" in err.message
    assert err.column == len("V_ADD_VF gp1, gp2, ") + 1 and err.text == "gp3"


def test_register_out_of_range_depends_on_config():
    (err,) = _errors("S_ADD_FP f8, f1, f2")
    assert "f8" in err.message and "f0..f7" in err.hint
    assert assemble("S_ADD_FP f9, f1, f2", PlenaConfig(fp_regs=16)).ok


def test_immediate_out_of_range_hint_builds_the_constant():
    (err,) = _errors("S_ADDI_INT gp1, gp0, 300000")
    assert "out of range" in err.message
    assert "S_LUI_INT" in err.hint and "S_ADDI_INT" in err.hint
    assert f"{300000 >> 12}" in err.hint and f"{300000 & 0xFFF}" in err.hint


def test_negative_immediate():
    (err,) = _errors("S_ADDI_INT gp1, gp1, -4")
    assert "negative immediate" in err.message and "unsigned" in err.hint


def test_labels_are_rejected():
    (err,) = _errors("loop:\nS_ADDI_INT gp1, gp0, 1\n")
    assert err.line == 1 and "labels" in err.message


def test_unbalanced_loops():
    errs = _errors("C_LOOP_START gp1, 4\nS_ADDI_INT gp2, gp2, 1\n")
    assert "never closed" in errs[0].message and errs[0].line == 1
    errs = _errors("C_LOOP_END gp1\n")
    assert "without a matching" in errs[0].message
    errs = _errors("C_LOOP_START gp1, 2\nC_LOOP_START gp2, 2\nC_LOOP_END gp1\nC_LOOP_END gp2\n")
    assert any("closes the loop opened at line 2" in e.message for e in errs)
    errs = _errors("C_LOOP_START gp1, 2\nC_LOOP_START gp1, 2\nC_LOOP_END gp1\nC_LOOP_END gp1\n")
    assert any("already counts an enclosing loop" in e.message for e in errs)
    assert any("outside a loop" in e.message for e in _errors("C_BREAK\n"))
    assert any("must be in 1.." in e.hint for e in _errors("C_LOOP_START gp1, 0\nC_LOOP_END gp1\n"))


def test_several_errors_in_one_pass_with_positions():
    source = (
        "S_ADDI_INT gp1, gp0, 1\nFOO gp1\nV_ADD_VV gp1, f2, gp3\n\n"
        "S_ADDI_INT gp1, gp0, 999999 ; big\nM_MM 1, gp1, gp2\n"
    )
    errs = _errors(source)
    assert [(e.line, e.column) for e in errs] == [(2, 1), (3, 15), (5, 22), (6, 6)]
    assert "placeholder" in errs[3].message


def test_operand_count_and_syntax_hint():
    (err,) = _errors("V_EXP_V gp1")
    assert "takes 2 to 3 operands" in err.message and "V_EXP_V rd, rs1, [rmask]" in err.hint


def test_gp0_write_warns_but_assembles():
    result = assemble("S_ADDI_INT gp0, gp0, 5\nS_ADDI_INT gp0, gp0, 0\n")
    assert result.ok and len(result.warnings) == 1 and result.warnings[0].line == 1
    assert "gp0" in result.warnings[0].message
    looped = assemble("C_LOOP_START gp0, 2\nV_ADD_VV gp0, gp0, gp0\nC_LOOP_END gp0\n")
    assert looped.ok and [w.line for w in looped.warnings] == [1]  # the counter writes gp0


def test_number_forms_and_comments():
    result = assemble(
        "S_ADDI_INT gp1, gp0, 0x10 ; hex\nS_ADDI_INT gp2, gp0, 0b101 // bin\nS_ADDI_INT gp3, gp0, 007\n"
    )
    assert result.ok
    assert [ins.operands[2] for ins in result.program.instructions] == [16, 5, 7]


def test_flag_operand_choices():
    (err,) = _errors("V_ADD_VV gp1, gp1, gp1, 2")
    assert "rmask must be one of 0, 1" in err.message


# ----------------------------------------------------------------------------- the table


def test_opcodes_unique_and_fields_do_not_overlap():
    opcodes = [spec.opcode for spec in INSTRUCTIONS]
    assert len(set(opcodes)) == len(opcodes) and all(0 < op < 64 for op in opcodes)
    for spec in INSTRUCTIONS:
        used = (1 << FIELDS["opcode"][1]) - 1
        for op in spec.operands:
            shift, width = FIELDS[op.field]
            mask = ((1 << width) - 1) << shift
            assert not used & mask, f"{spec.name}: field {op.field} overlaps"
            assert shift + width <= 32
            used |= mask


def test_every_instruction_has_semantics_and_cost():
    assert semantics.check_complete() == []
    for spec in INSTRUCTIONS:
        assert spec.summary and spec.semantics
        for cfg in (DEFAULT_CONFIG, EMULATOR_CONFIG):
            cost = spec.timing(cfg)
            assert (cost is None) == (spec.unit.value == "memory")
            if cost is not None:
                assert cost.text and cost.source
                assert spec.cycles(cfg, tuple(o.default or 0 for o in spec.operands)) >= 1


def _operand_values(spec, draw):
    values = []
    for op in spec.operands:
        if op.kind is Kind.ZERO:
            values.append(0)
        elif op.kind in REGISTER_PREFIX:
            values.append(draw(st.integers(0, register_count(op.kind, DEFAULT_CONFIG) - 1)))
        elif op.choices is not None:
            values.append(draw(st.sampled_from(op.choices)))
        else:
            values.append(draw(st.integers(op.min_value, op.max_value)))
    return tuple(values)


@st.composite
def instructions(draw):
    spec = draw(st.sampled_from(INSTRUCTIONS))
    return spec, _operand_values(spec, draw)


@settings(max_examples=300, deadline=None)
@given(instructions())
def test_text_and_binary_round_trip(item):
    spec, values = item
    text = spec.name + (
        " "
        + ", ".join(
            "0"
            if op.kind is Kind.ZERO
            else f"{REGISTER_PREFIX[op.kind]}{v}"
            if op.kind in REGISTER_PREFIX
            else str(v)
            for op, v in zip(spec.operands, values, strict=True)
        )
        if spec.operands
        else ""
    )
    if spec.name in ("C_LOOP_START", "C_LOOP_END", "C_BREAK"):
        return  # structure-checked; covered by the program round trip below
    result = assemble(text)
    assert result.ok, result.diagnostics
    (ins,) = result.program.instructions
    assert ins.operands == values
    word = ins.encode()
    assert 0 <= word < 1 << 32 and word & 0x3F == spec.opcode
    decoded = decode_word(word)
    assert decoded.spec is spec and decoded.operands == values
    assert assemble(decoded.text()).program.instructions[0].encode() == word


def test_program_hex_round_trip():
    source = (
        "C_LOOP_START gp3, 200000\nS_LUI_INT gp1, 4194303\nC_BREAK\n"
        "V_SUB_VF gp1, gp2, f7, 1, 1\nC_LOOP_END gp3\n"
    )
    program = assemble(source).program
    words, problems = parse_hex(program.to_hex())
    assert not problems
    again = decode_words(words)
    assert again.ok and again.program.to_text() == program.to_text()


def test_decode_rejects_bad_words():
    assert "unknown opcode" in decode_word(0).message
    assert "outside its operand fields" in decode_word(BY_NAME["C_BREAK"].opcode | 1 << 31).message
    loop = BY_NAME["C_LOOP_START"].opcode | (1 << 6)  # count 0
    assert "invalid" in decode_word(loop).message
    assert "not 32 bits" in decode_word(1 << 40).message
    _, problems = parse_hex("0x1\nzz\n0x1FFFFFFFF\n")
    assert [p.line for p in problems] == [2, 3]


# Lines the public PLENA compiler emits with a trailing all-zero operand its own assembler ignores
# (PLENA_Compiler aten/plena/isa_attention.py, asm_templates/flashattn and preload templates).
COMPILER_SURPLUS = [
    ("S_RECI_FP f3, f3, 0", "S_RECI_FP f3, f3"),
    ("S_EXP_FP f2, f2, 0", "S_EXP_FP f2, f2"),
    ("V_EXP_V gp4, gp4, 1, 0", "V_EXP_V gp4, gp4, 1"),
    ("V_RED_SUM f2, gp4, 0, 0", "V_RED_SUM f2, gp4, 0"),
    ("H_PREFETCH_V gp1, gp2, a0, 0, 0, 0", "H_PREFETCH_V gp1, gp2, a0, 0, 0"),
]


@pytest.mark.parametrize(("line", "plain"), COMPILER_SURPLUS)
def test_public_compilers_surplus_zero_operand_is_accepted_with_a_warning(line, plain):
    result = assemble(line + "\n")
    assert result.ok
    (warning,) = result.warnings
    assert "surplus operand 0 ignored" in warning.message and warning.line == 1
    assert result.program.words() == assemble(plain + "\n").program.words()


def test_a_surplus_operand_that_is_not_zero_is_still_an_error():
    for line in ("S_RECI_FP f3, f3, 1", "V_EXP_V gp4, gp4, 1, 2", "V_ADD_VV gp1, gp2, gp3, 0, 0"):
        assert not assemble(line + "\n").ok, line


def test_disasm_explains_the_public_assemblers_rmask_at_bit_14():
    """PLENA_Compiler's encoder puts V_EXP_V/V_RECI_V/V_RED_MAX's rmask in its imm field (bit 14);
    the emulator reads rs3. Such a word is rejected with that explanation."""
    for name in ("V_EXP_V", "V_RECI_V", "V_RED_MAX"):
        spec = BY_NAME[name]
        word = spec.opcode | (1 << 6) | (2 << 10) | (1 << 14)
        diag = decode_word(word)
        assert isinstance(diag, Diagnostic) and "bit 14" in diag.message and "[21:18]" in diag.message
        ours = assemble(f"{name} {'f1' if name == 'V_RED_MAX' else 'gp1'}, gp2, 1\n").program.words()[0]
        assert ours == spec.opcode | (1 << 6) | (2 << 10) | (1 << 18)
    other = decode_word(BY_NAME["V_ADD_VV"].opcode | (1 << 22) | (1 << 26))
    assert "bit 14" not in other.message
