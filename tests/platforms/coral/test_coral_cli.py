"""Raw mode: `kernelcraft sim|asm|disasm --platform coral` and `kernelcraft coral ...`, exit codes 0/1/2."""

from __future__ import annotations

import json
import tempfile

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from kernelcraft.cli import platform_cmds

from .coral_helpers import needs_toolchain

pytestmark = needs_toolchain

KERNEL = """    .text
    .globl main
main:
    la a0, src
    li a1, 0x20000100
    lw t0, 0(a0)
    lw t1, 4(a0)
    add t2, t0, t1
    sw t2, 0(a1)
    li a0, 0
    ret
    .data
    .globl src
src: .word 1, 2
"""
C_PROGRAM = """#include <riscv_vector.h>
#include <stdint.h>
int main(void) {
  int8_t *x = (int8_t *)0x20000000;
  size_t vl = __riscv_vsetvl_e8m1(16);
  __riscv_vse8_v_i8m1(x + 16, __riscv_vadd_vx_i8m1(__riscv_vle8_v_i8m1(x, vl), 5, vl), vl);
  return 0;
}
"""


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    platform_cmds.register(app)
    return app


@pytest.fixture
def invoke(app):
    runner = CliRunner()

    def call(*args):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    return call


@pytest.fixture
def files(tmp_path):
    (tmp_path / "k.S").write_text(KERNEL)
    (tmp_path / "p.c").write_text(C_PROGRAM)
    (tmp_path / "bad.S").write_text("    .text\n    .globl main\nmain:\n    addi a0, a0\n")
    (tmp_path / "trap.S").write_text("    .text\n    .globl main\nmain:\n    nop\n    ebreak\n")
    np.save(tmp_path / "words.npy", np.array([40, 2], dtype=np.int32))
    np.save(tmp_path / "bytes.npy", np.arange(16, dtype=np.int8))
    return tmp_path


def test_sim_places_inputs_at_symbols_and_dumps_memory_as_json(invoke, files):
    result = invoke(
        "sim",
        "--platform",
        "coral",
        files / "k.S",
        "--input",
        f"src={files / 'words.npy'}",
        "--dump",
        "0x20000100:1:int32",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ok"] and data["dumps"]["0x20000100"] == [42]
    assert data["stats"]["cycles"] > 0 and data["stats"]["instructions"] == data["instructions"]
    assert set(data["stats"]["stalls"]) <= {
        "fetch",
        "branch",
        "scoreboard",
        "lsu",
        "external_memory",
        "rvv_queue",
        "vector_config",
        "retirement",
        "unit",
        "serialise",
    }


def test_sim_prints_cycles_stalls_and_how_it_ended(invoke, files):
    result = invoke("sim", "--platform", "coral", files / "k.S", "--dump", "src:2:int32")
    assert result.exit_code == 0
    assert "ended: mpause" in result.output and "cycles" in result.output and "src: [1, 2]" in result.output


def test_sim_runs_c_with_rvv_intrinsics_and_an_address_input(invoke, files):
    out = files / "y.npy"
    result = invoke(
        "coral",
        "sim",
        files / "p.c",
        "--input",
        f"0x20000000={files / 'bytes.npy'}",
        "--dump",
        f"0x20000010:16={out}",
    )
    assert result.exit_code == 0, result.output
    assert (np.load(out) == np.arange(16) + 5).all()


def test_asm_writes_an_elf_that_sim_and_disasm_read(invoke, files):
    elf = files / "k.elf"
    result = invoke("asm", "--platform", "coral", files / "k.S", "-o", elf)
    assert result.exit_code == 0 and "bytes of code" in result.output and elf.is_file()
    result = invoke("sim", "--platform", "coral", elf, "--functional")
    assert result.exit_code == 0 and "functional run" in result.output
    listing = invoke("disasm", "--platform", "coral", elf).output
    assert "main:" in listing and "add t2, t0, t1" in listing and "# line" in listing


def test_faults_exit_1_with_pc_line_and_instruction(invoke, files):
    result = invoke("sim", "--platform", "coral", files / "trap.S")
    assert result.exit_code == 1
    assert "ebreak" in result.output and "line 5" in result.output


def test_bad_input_exits_2_without_a_traceback_or_temp_files(invoke, files, tmp_path, monkeypatch):
    # A temporary directory of its own: other processes building kernels at the same time
    # (parallel test workers) must not make this look like a leak.
    private = tmp_path / "scratch"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    result = invoke("sim", "--platform", "coral", files / "bad.S")
    assert result.exit_code == 2 and "line 4" in result.output
    assert str(private) not in result.output and "kc-coral-" not in result.output
    assert invoke("sim", "--platform", "coral", files / "missing.S").exit_code == 2
    assert invoke("sim", "--platform", "coral", files / "k.S", "--dump", "nowhere:4").exit_code == 2
    assert invoke("sim", "--platform", "coral", files / "k.S", "--dump", "src:0").exit_code == 2
    assert (
        invoke(
            "sim", "--platform", "coral", files / "k.S", "--input", "0x40000000=" + str(files / "words.npy")
        ).exit_code
        == 2
    )
    assert invoke("sim", "--platform", "coral", files / "k.S", "--profile", "2019").exit_code == 2
    (files / "huge.S").write_text("# x\n" * (1 << 19))
    assert invoke("sim", "--platform", "coral", files / "huge.S").exit_code == 2
    assert not list(private.iterdir())


def test_endless_loop_is_a_fault_not_a_hang(invoke, files):
    (files / "loop.S").write_text("    .text\n    .globl main\nmain:\n1:  j 1b\n")
    result = invoke("sim", "--platform", "coral", files / "loop.S", "--max-instructions", "20000")
    assert result.exit_code == 1 and "instruction_limit" in result.output


def test_baseline_command_prints_the_c_source_and_its_assembly(invoke):
    c = invoke("coral", "baseline", "relu", "C1", "--c").output
    assert "__riscv_vmax_vx_i8m1" in c and "#define P_R 4" in c
    asm = invoke("coral", "baseline", "relu", "c1").output
    assert "vmax.vx" in asm and "main:" in asm
    assert invoke("coral", "baseline", "rope", "C1").exit_code == 2
