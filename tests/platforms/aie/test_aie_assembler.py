"""Assembler: syntax, bundle rules and their diagnostics (line, column, hint), static hazards."""

from __future__ import annotations

import pytest

from kernelcraft.platforms.aie.assembler import assemble
from kernelcraft.platforms.aie.config import AieConfig
from kernelcraft.platforms.aie.isa import INSTRUCTIONS, bundle_bytes

TAIL = "    ret lr\n" + "    nop\n" * 5


def errors(src: str, config: AieConfig | None = None):
    result = assemble(src, config) if config else assemble(src)
    return [d for d in result.diagnostics if d.severity == "error"]


def one_error(src: str, line: int, fragment: str):
    errs = errors(src)
    assert errs, "expected an error"
    match = [e for e in errs if fragment in e.message]
    assert match, [e.message for e in errs]
    e = match[0]
    assert e.line == line and e.column >= 1 and e.hint, e
    return e


@pytest.mark.parametrize(
    "bundle, fragment",
    [
        ("vlda wl0, [p0, #0] ; vlda wl1, [p1, #0]", "slot A"),  # one op per slot
        ("movxm r1, #100000 ; mov r2, r3", "slot M"),  # the long format takes X and M
        ("add r1, r2, r3 ; movxm r4, #5", "slots X and M"),
        ("vlda amll0, [p0, #0] ; vst amll1, [p1, #0]", "two accumulator"),  # one acc memory op
        ("vldb amll0, [p0, #0]", "wants"),  # only load unit A loads accumulators
        ("vlda wl0, [p0, #16]", "step 32"),  # vector offsets are 32-byte multiples
        ("vlda wl0, [p0, #2048]", "out of range"),
        ("add r1, r2, #100", "out of range"),
        ("vmac.f bml0, bml0, x0, x2", "operand"),  # wrong operand count
        ("vmacf bml0, bml0, x0, x2, r0", "unknown instruction"),
        ("vmac.f bml0, bml0, x0, wl2, r0", "wants"),  # register class
        ("mov r1, r2 ; mov r3, r4", "slot M"),
        ("add r1, r2, #1 ; add r1, r3, #1", "slot X"),
        ("vlda wl0, [r0, #0]", "pointer"),
        ("vlda.2d wl0, [p0], m1", ".2d needs"),
        ("vlda wl0, [p0], d0", "2-D step"),
        ("inv r1, r2", "AIE-ML v2"),
        ("nop ; vlda wl0, [p0, #0]", "nop"),
        ("mov r1, r2 ; nopm", "slot M"),
    ],
)
def test_each_bundle_rule_has_a_located_diagnostic(bundle, fragment):
    src = f"kernel:\n    {bundle}\n" + TAIL
    e = one_error(src, 2, fragment)
    assert e.text


def test_same_register_written_twice_landing_together():
    one_error("kernel:\n    vlda wl0, [p0], #32 ; padds [p0], #32\n" + TAIL, 2, "written twice")


def test_undefined_label_and_duplicate_label():
    one_error("kernel:\n    j #nowhere\n" + "    nop\n" * 5, 2, "unknown name")
    one_error("kernel:\n    nop\nkernel:\n    nop\n" + TAIL, 3, "defined twice")


def test_program_memory_limit():
    body = "    vmac.f bml0, bml0, x0, x2, r0 ; vlda wl0, [p0, #0] ; vldb wl1, [p1, #0] ; vst wl2, [p2, #0]\n"
    src = "kernel:\n" + body * 1400 + TAIL
    # 12-byte bundles (V+A+B+S slots); bundle 1366 (line 1367) is the first past 16 KB.
    e = one_error(src, 2 + 16384 // 12, "program memory")
    assert "bytes" in e.message


def test_bundle_sizes_follow_the_slot_widths():
    from kernelcraft.platforms.aie.isa import Slot

    assert bundle_bytes([]) == 2  # a lone nop
    assert bundle_bytes([Slot.V]) == 4
    assert bundle_bytes([Slot.L]) == 6
    assert bundle_bytes([Slot.V, Slot.A, Slot.B, Slot.S, Slot.X, Slot.M]) == 16


def test_zol_last_bundle_is_widened_and_aligned():
    src = (
        "kernel:\n    movxm ls, #body\n    movxm le, #last\n    movxm lc, #2\n"
        + "    nop\n" * 7
        + "body:\n    nop\nlast:\n    add r1, r1, #1\n"
        + TAIL
    )
    result = assemble(src)
    p = result.program
    last = p.bundles[p.index_of[p.labels["last"]]]
    assert last.size == 16 and last.address % 16 == 0
    assert p.labels["body"] % 16 == 0


def test_parses_peano_style_listing_with_directives_expressions_and_comments():
    src = (
        """
    .text
    .globl k
    .p2align 4
k:                  // entry
    nopb ; nopa ; nops ; movxm m2, #4*4*4 * 8 ; nopv   // an expression immediate
    mova r0, #(2+3)*4
    .p2align 4
.Lx: nop
    ret lr
"""
        + "    nop\n" * 5
    )
    result = assemble(src)
    assert result.program is not None, [d.format() for d in result.diagnostics]
    op = result.program.bundles[0].ops[0]
    assert op.args[1] == 512


def test_static_hazard_warning_names_the_register_and_cycles():
    src = "kernel:\n    vlda wl0, [p0, #0]\n    vst wl0, [p1, #0]\n" + TAIL
    result = assemble(src)
    assert result.program is not None
    warns = [d for d in result.diagnostics if d.severity == "warning"]
    assert len(warns) == 1 and warns[0].line == 3
    assert "wl0" in warns[0].message and "6 cycle" in warns[0].message


def test_no_static_hazards_in_interlocked_mode():
    src = "kernel:\n    vlda wl0, [p0, #0]\n    vst wl0, [p1, #0]\n" + TAIL
    result = assemble(src, AieConfig(pipeline="interlocked"))
    assert result.diagnostics == []


def test_loop_carried_hazard_is_found_statically():
    src = (
        "kernel:\n    movxm ls, #body\n    movxm le, #last\n    movxm lc, #4\n"
        + "    nop\n" * 7
        + "body:\n    vst wl0, [p1, #0]\nlast:\n    vlda wl0, [p0, #0]\n"
        + TAIL
    )
    warns = [d for d in assemble(src).diagnostics if d.severity == "warning"]
    assert any("wl0" in w.message and w.line == 13 for w in warns)


def test_every_table_entry_assembles_from_its_own_syntax():
    """Each operand form in the table is reachable: build an instance from its syntax line."""
    samples = {
        "reg": {
            "r": "r1",
            "p": "p1",
            "m": "m1",
            "dn": "dn1",
            "dj": "dj1",
            "dc": "dc1",
            "s": "s1",
            "special": "lc",
            "cr": "crRnd",
            "w": "wl1",
            "x": "x1",
            "y": "y2",
            "am": "amll1",
            "bm": "bml1",
            "cm": "cm1",
        },
    }
    cfg = AieConfig(generation="aie2p-scalar")
    for spec in INSTRUCTIONS:
        parts = []
        for o in spec.operands:
            if o.kind == "reg":
                parts.append("lr" if spec.mnemonic == "ret" else samples["reg"][o.classes[0]])
            elif o.kind == "imm":
                parts.append(f"#{o.lo}")
            elif o.kind == "label":
                parts.append("#kernel")
            else:
                mode = o.modes[0]
                parts.append(
                    {"idx": "[p2, #0]", "post": "[p2], #32" if o.access else "[p2], #4", "postm": "[p2], m1"}[
                        mode
                    ]
                )
        text = f"{spec.mnemonic} {', '.join(parts)}"
        src = f"kernel:\n    {text}\n" + "    nop\n" * 6
        errs = [e for e in errors(src, cfg) if "written twice" not in e.message]
        assert not errs, (text, [e.format() for e in errs])
