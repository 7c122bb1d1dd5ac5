"""`kernelcraft boom ...`: the platform's own commands."""

from __future__ import annotations

from typer.testing import CliRunner

from kernelcraft.platforms.boom.cli import app

from .boom_helpers import kernel

RUNNER = CliRunner()


def test_sim_runs_a_file_and_reports_counters(tmp_path):
    path = tmp_path / "k.S"
    path.write_text(kernel("    ret"))
    result = RUNNER.invoke(app, ["sim", str(path), "--task", "vvadd"])
    assert result.exit_code == 1 and "INCORRECT" in result.stdout and "IPC" in result.stdout
    result = RUNNER.invoke(app, ["sim", "expert", "--task", "vvadd", "--poison", "--seed", "4"])
    assert result.exit_code == 0 and "CORRECT" in result.stdout


def test_bad_input_is_one_line_and_exit_code_two(tmp_path):
    path = tmp_path / "bad.S"
    path.write_text(kernel("    nonsense a0"))
    result = RUNNER.invoke(app, ["asm", str(path)])
    assert result.exit_code == 2 and "line 4" in result.output
    assert RUNNER.invoke(app, ["sim", str(tmp_path / "missing.S"), "--task", "vvadd"]).exit_code == 2
    assert RUNNER.invoke(app, ["sim", "expert", "--task", "gemm"]).exit_code == 2
    assert RUNNER.invoke(app, ["baseline", "nope"]).exit_code == 2


def test_baseline_prints_the_c_or_its_assembly_and_presets_list():
    c = RUNNER.invoke(app, ["baseline", "median", "--c"])
    assert c.exit_code == 0 and "median3" in c.stdout
    asm = RUNNER.invoke(app, ["baseline", "median"])
    assert asm.exit_code == 0 and "-O2" in asm.stdout and "kernel:" in asm.stdout
    presets = RUNNER.invoke(app, ["presets"])
    assert presets.exit_code == 0 and "3-wide" in presets.stdout and "mega" in presets.stdout
