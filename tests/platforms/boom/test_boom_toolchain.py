"""Building kernels: diagnostics on the kernel's own lines, no host files, clean temp dirs."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path

from kernelcraft.platforms.boom import program, toolchain

from .boom_helpers import PLATFORM, kernel


def _errors(source: str):
    built = PLATFORM.build(source)
    assert not built.ok
    return built.errors


def test_assembler_errors_point_at_the_kernel_line_never_a_temp_path():
    errors = _errors(kernel("    add a0, a0, a1\n    lw a0, 5000(a1)\n    ret"))
    assert [(e.line, e.column) for e in errors] == [(5, 12)]
    assert errors[0].text == "lw a0, 5000(a1)" and "12-bit" in errors[0].hint
    for e in errors:
        assert "/tmp" not in e.format() and tempfile.gettempdir() not in e.format()


def test_undefined_labels_and_a_missing_entry_are_link_errors_with_lines():
    errors = _errors(kernel("    call nowhere\n    ret"))
    assert errors[0].line == 4 and "undefined symbol: nowhere" in errors[0].message
    errors = _errors("    .text\n    .globl main\nmain:\n    ret\n")
    assert "undefined symbol: kernel" in errors[0].message and ".globl kernel" in errors[0].hint


def test_the_preprocessor_runs_and_lines_survive_it():
    source = "#define N 7\n// comment\n" + kernel("    li a0, N\n    lw a0, 9999(a1)\n    ret")
    errors = _errors(source)
    assert errors[0].line == 7 and errors[0].text == "lw a0, 9999(a1)"


def test_file_inclusion_is_refused_before_anything_runs():
    for line in (
        '#include "/etc/passwd"',
        '    .incbin "/etc/passwd"',
        '    .include "x.s"',
        "# include <stdio.h>",
    ):
        errors = _errors(kernel("    ret") + line + "\n")
        assert errors[0].line == 5 and "inclusion" in errors[0].message


def test_text_that_is_not_text_is_a_diagnostic():
    errors = _errors(kernel("    ret # \ud800"))
    assert errors[0].line == 4


def test_pmp_entries_boom_lacks_are_rejected():
    errors = _errors(kernel("    csrw pmpaddr12, a0\n    ret"))
    assert errors[0].line == 4 and "pmpaddr12" in errors[0].message
    assert PLATFORM.build(kernel("    csrw pmpaddr7, a0\n    ret")).ok


def test_temporary_directories_are_removed(tmp_path, monkeypatch):
    # A temporary directory of the test's own (builds by parallel test workers must not look
    # like leftovers), with zig's cache where it usually is, so the build stays warm.
    monkeypatch.setenv(
        "ZIG_GLOBAL_CACHE_DIR",
        os.environ.get("ZIG_GLOBAL_CACHE_DIR", str(Path(tempfile.gettempdir()) / "kernelcraft-zig-cache")),
    )
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    PLATFORM.build(kernel("    ret"))
    PLATFORM.build(kernel("    bogus"))
    toolchain.compile_c("int kernel(void) { return 1; }")
    assert not list(tmp_path.glob("kc-boom-*"))


def test_a_hung_tool_becomes_a_diagnostic(monkeypatch):
    monkeypatch.setattr(toolchain, "TIMEOUT_S", 0.0001)
    built = PLATFORM.build(kernel("    ret") + "# fresh source, so nothing is cached\n")
    assert not built.ok and "timed out" in built.errors[0].message


def test_programs_pickle_and_rebuild_identically():
    source = kernel("    li a0, 3\n    ret")
    prog = PLATFORM.build(source).program
    again = pickle.loads(pickle.dumps(prog))
    assert again == prog and again.line_at(again.kernel_start) == 4
    assert program.build(source)[0].elf == prog.elf  # deterministic build


def test_instruction_counts_and_compressed_encodings():
    prog = PLATFORM.build(kernel("    lw a0, 0(a1)\n    mul a0, a0, a0\n    beqz a0, 1f\n1:  ret")).program
    counts = PLATFORM.instruction_size(prog)
    assert counts["total"] == 4 and counts["load"] == 1 and counts["mul_div"] == 1
    assert counts["branch"] == 1 and counts["jump"] == 1 and counts["compressed"] >= 2


def test_c_compile_errors_name_the_c_line():
    asm, diagnostics = toolchain.compile_c("int kernel(void) {\n  return undefined_name;\n}\n")
    assert asm is None and diagnostics[0].line == 2 and "undefined_name" in diagnostics[0].message
