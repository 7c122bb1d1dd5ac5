"""The zig-based toolchain: programs, symbols, line tables, and diagnostics in the author's terms."""

from __future__ import annotations

import tempfile

import pytest

from kernelcraft.platforms.coral.config import CoralConfig
from kernelcraft.platforms.coral.elf import read_program
from kernelcraft.platforms.coral.toolchain import _clean, build_program, linker_script

from .coral_helpers import kernel, needs_toolchain

pytestmark = needs_toolchain
CFG = CoralConfig()


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A temporary directory of the test's own, so that builds by other processes at the same
    time (parallel test workers) cannot look like leftovers of this one."""
    private = tmp_path / "scratch"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    return private


def test_build_directories_are_cut_from_messages_whatever_the_temporary_directory():
    assert _clean("/var/folders/x1/T/kc-coral-ab_12/kernel.S:3:5: error: bad") == "kernel.S:3:5: error: bad"
    assert _clean("ld.lld: error: /tmp/kc-coral-q/kernel.o: x") == "ld.lld: error: kernel.o: x"


def test_builds_an_elf_with_the_memory_map_and_line_table():
    source = kernel("    li a1, 5\n    la a2, buf", "buf: .word 7")
    out = build_program(source, "asm", CFG)
    assert out.ok and not [d for d in out.diagnostics if d.severity == "error"]
    program = read_program(out.elf, "kernel.S")
    assert program.entry == CFG.itcm_base == program.symbols["_start"]
    assert CFG.itcm_base <= program.symbols["main"] < CFG.itcm_end
    assert CFG.dtcm_base <= program.symbols["buf"] < CFG.dtcm_end
    main = program.symbols["main"]
    # kernel() puts "main:" on line 3, the body from line 4 (la is two instructions)
    assert program.line_of(main) == 4 and program.line_of(main + 4) == 5 and program.line_of(main + 8) == 5
    assert program.line_of(CFG.itcm_base) is None  # the crt is not the author's code


def test_assembler_errors_point_at_the_authors_lines_with_hints(scratch):
    source = kernel("    addi a0, a0, 5000\n    vfadd.vv v1, v2, v3\n    frobnicate a1")
    out = build_program(source, "asm", CFG)
    assert not out.ok
    by_line = {d.line: d for d in out.diagnostics}
    assert set(by_line) == {4, 5, 6}
    assert "2047" in by_line[4].message and by_line[4].text == "addi a0, a0, 5000"
    assert "vector float" in by_line[5].hint
    assert "mnemonic" in by_line[6].message
    for d in out.diagnostics:
        assert "/tmp" not in d.message and "kc-coral" not in d.message
    assert not list(scratch.iterdir())


def test_undefined_symbol_names_the_line_that_uses_it():
    out = build_program(kernel("    nop\n    call nowhere"), "asm", CFG)
    assert not out.ok
    (d,) = out.diagnostics
    assert d.line == 5 and "nowhere" in d.message and d.hint


def test_code_larger_than_the_itcm_is_a_diagnostic():
    out = build_program(kernel("    addi a1, a1, 1\n" * 2500), "asm", CFG)
    assert not out.ok
    (d,) = out.diagnostics
    assert "8 KB ITCM" in d.message and "overflows" in d.message and d.hint


def test_data_larger_than_the_dtcm_is_a_diagnostic():
    out = build_program(kernel("    la a0, big", "big: .space 40000"), "asm", CFG)
    assert not out.ok
    assert any("32 KB DTCM" in d.message for d in out.diagnostics)


def test_missing_main():
    out = build_program("    .text\nfoo: ret\n", "asm", CFG)
    assert not out.ok and "main" in out.diagnostics[0].message


def test_unallocated_extdata_section_is_an_error_with_the_fix():
    out = build_program(kernel("    la a0, ext") + "    .section .extdata\next: .space 64\n", "asm", CFG)
    assert not out.ok
    assert '"aw",@nobits' in out.diagnostics[0].hint


def test_extdata_labels_live_in_external_memory_above_every_task_buffer():
    from kernelcraft.platforms.coral import layout
    from kernelcraft.platforms.coral.platform import CoralPlatform
    from kernelcraft.tasks import get_task

    source = kernel("    la a0, ext") + '    .section .extdata,"aw",@nobits\next: .space 64\n'
    out = build_program(source, "asm", CFG)
    assert out.ok
    ext = read_program(out.elf).symbols["ext"]
    assert ext == CFG.ext_base + CFG.ext_size // 2
    highest = max(
        layout.plan(get_task(task), params, CFG).output.end
        for task, cells in CoralPlatform(CFG).shapes().items()
        for params in cells.values()
    )
    assert highest <= ext


def test_host_files_cannot_be_included():
    out = build_program('#include "/etc/passwd"\n' + kernel("nop"), "asm", CFG)
    assert not out.ok and out.diagnostics[0].line == 1
    out = build_program('    .incbin "/etc/hostname"\n' + kernel("nop"), "asm", CFG)
    assert not out.ok


def test_huge_source_is_refused_before_the_assembler_runs(scratch):
    out = build_program("# x\n" * (600 * 1024), "asm", CFG)
    assert not out.ok and "limit" in out.diagnostics[0].message
    assert not list(scratch.iterdir())


def test_toolchain_timeout_is_a_diagnostic():
    out = build_program(kernel("nop"), "asm", CFG, timeout=0.001)
    assert not out.ok and "longer than" in out.diagnostics[0].message


def test_c_errors_are_mapped_and_warnings_kept():
    source = "#include <stdint.h>\nint main(void) {\n  int unused;\n  return undeclared;\n}\n"
    out = build_program(source, "c", CFG)
    assert not out.ok
    errors = [d for d in out.diagnostics if d.severity == "error"]
    assert errors[0].line == 4 and "undeclared" in errors[0].message


def test_linker_script_follows_the_configuration():
    script = linker_script(CoralConfig(dtcm_size=64 * 1024))
    assert "LENGTH = 0x10000" in script and "ORIGIN = 0x20200000" in script  # .extdata: upper 2 MB


def _warnings(body: str) -> list:
    from kernelcraft.platforms.coral.runner import build

    built = build(kernel(body), "asm", CFG)
    assert built.program is not None
    return [d for d in built.diagnostics if d.severity == "warning"]


def test_misaligned_register_groups_are_warned_under_the_latest_vsetvli():
    found = _warnings(
        "    vsetvli t0, zero, e8, m4, ta, ma\n"  # line 4
        "    vadd.vv v3, v4, v8\n"  # vd misaligned for m4
        "    vwmacc.vv v8, v4, v12\n"  # fine: vd group of 8 at v8
        "    vsetvli t0, zero, e16, m2, ta, ma\n"
        "    vnsrl.wi v1, v2, 0\n"  # line 8: vd m2, vs2 m4
        "    vle8.v v3, (a0)\n"  # EMUL 1 at e16 m2: fine
    )
    assert [d.line for d in found] == [5, 8]
    assert "vd = v3 must start a group of 4 registers" in found[0].message and "line 4" in found[0].message
    assert "e8, m4" in found[0].message and found[0].text == "vadd.vv v3, v4, v8"
    assert "vd = v1" in found[1].message and "vs2 = v2 must start a group of 4" in found[1].message


def test_a_vtype_from_a_register_ends_what_is_known():
    assert not _warnings(
        "    vsetvli t0, zero, e8, m4, ta, ma\n    vsetvl t0, t1, t2\n    vadd.vv v3, v5, v7"
    )


def test_reading_the_user_cycle_counter_is_warned():
    found = _warnings("    rdcycle t0\n    csrr t1, mcycle")
    assert len(found) == 1 and found[0].line == 4 and "`cycle`" in found[0].message
    assert "mcycle" in found[0].hint


def test_the_baselines_draw_no_warnings():
    from kernelcraft.platforms.coral.platform import CoralPlatform

    platform = CoralPlatform(CFG)
    for task in ("relu", "gemm", "depthwise_conv", "softmax"):
        built = platform.build(platform.baseline(task, "C1"))
        assert built.ok and not [d for d in built.diagnostics if d.severity == "warning"], task


def test_every_documented_pseudo_instruction_assembles_to_what_the_docs_say():
    from kernelcraft.platforms.coral.decode import decode
    from kernelcraft.platforms.coral.docs import render_docs
    from kernelcraft.platforms.coral.isa import PSEUDO

    isa_doc = render_docs(CFG)["isa"]
    for pseudo in PSEUDO:
        out = build_program(kernel("    vsetvli t0, zero, e8, m1, ta, ma\n    " + pseudo.example), "asm", CFG)
        assert out.ok, pseudo.name
        program = read_program(out.elf, "kernel.S")
        main = program.symbols["main"]
        seg = next(s for s in program.segments if s.address <= main < s.address + len(s.data))
        words = [
            int.from_bytes(seg.data[main - seg.address + 4 * k : main - seg.address + 4 * k + 4], "little")
            for k in range(1, 1 + len(pseudo.expands_to))
        ]
        assert tuple(decode(w)[0].name for w in words) == pseudo.expands_to, pseudo.name
        assert f"| `{pseudo.name}` |" in isa_doc
    assert "vncvt.x.x.w" in isa_doc
