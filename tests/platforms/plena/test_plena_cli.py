"""`kernelcraft asm / disasm / sim / docs` through typer's CliRunner, including bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from kernelcraft.cli import platform_cmds
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG
from kernelcraft.platforms.plena.mx import mx_roundtrip


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    platform_cmds.register(app)
    return app


@pytest.fixture
def invoke(app):
    runner = CliRunner()

    def call(*args: str):
        result = runner.invoke(app, [str(a) for a in args])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    return call


KERNEL = "S_ADDI_INT gp1, gp0, 64\nS_LD_FP f1, gp0, 0\nV_ADD_VF gp1, gp0, f1\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "k.s").write_text(KERNEL)
    np.save(tmp_path / "x.npy", np.arange(64, dtype=np.float32))
    np.save(tmp_path / "f.npy", np.array([2.5], dtype=np.float32))
    return tmp_path


def test_asm_writes_hex_and_disasm_reads_it_back(invoke, files):
    out = files / "k.hex"
    result = invoke("asm", files / "k.s", "-o", out)
    assert result.exit_code == 0 and "3 instructions" in result.output
    assert out.read_text().splitlines() == ["0x00100062", "0x0000005E", "0x0000404E"]
    result = invoke("disasm", out)
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "S_ADDI_INT gp1, gp0, 64",
        "S_LD_FP f1, gp0, 0",
        "V_ADD_VF gp1, gp0, f1, 0",
    ]


def test_asm_errors_as_json_exit_2(invoke, files):
    bad = files / "bad.s"
    bad.write_text("S_ADDI_INT gp1, gp0, 1\nFOO gp1\nS_ADDI_INT gp1, gp0, 999999\n")
    result = invoke("asm", bad, "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False and [d["line"] for d in data["diagnostics"]] == [2, 3]
    assert "S_LUI_INT" in data["diagnostics"][1]["hint"]
    result = invoke("asm", bad)
    assert result.exit_code == 2 and "unknown instruction 'FOO'" in result.stderr


def test_sim_places_inputs_and_dumps_regions(invoke, files):
    out = files / "out.npy"
    result = invoke(
        "sim", files / "k.s", "--vram", f"{files / 'x.npy'}@0", "--fpsram", f"{files / 'f.npy'}@0",
        "--dump", f"vram:64:64={out}", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] and data["stats"]["cycles"] == 3 and data["stats"]["opcode_counts"]["V_ADD_VF"] == 1
    np.testing.assert_array_equal(np.load(out), np.arange(64) + 2.5)


def test_sim_hbm_placement_is_mxfp8(invoke, files):
    x = np.random.default_rng(0).normal(size=256).astype(np.float32)
    np.save(files / "h.npy", x)
    kernel = files / "load.s"
    kernel.write_text("S_ADDI_INT gp1, gp0, 256\nC_SET_SCALE_REG gp1\nH_PREFETCH_V gp0, gp0, a0, 0, 0\n")
    out, raw = files / "v.npy", files / "hbm.npy"
    result = invoke(
        "sim", kernel, "--hbm", f"x={files / 'h.npy'}@0", "--dump", f"vram:0:256={out}",
        "--dump", f"hbm:256:32={raw}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "cycles" in result.stdout and "H_PREFETCH_V 1" in result.stdout
    np.testing.assert_array_equal(np.load(out), mx_roundtrip(x).astype(np.float32))
    assert np.load(raw).dtype == np.uint8 and np.load(raw).size == 32


def test_sim_fault_exit_1_and_limits(invoke, files):
    kernel = files / "f.s"
    kernel.write_text("S_ADDI_INT gp1, gp0, 3\nV_EXP_V gp1, gp1\n")
    result = invoke("sim", kernel)
    assert result.exit_code == 1 and "alignment fault at pc 1 (line 2)" in result.stderr
    data = json.loads(invoke("sim", kernel, "--json").stdout)
    assert data["fault"]["kind"] == "alignment" and data["fault"]["line"] == 2
    loop = files / "loop.s"
    loop.write_text("C_LOOP_START gp1, 100000\nS_ADDI_INT gp2, gp2, 1\nC_LOOP_END gp1\n")
    result = invoke("sim", loop, "--max-instructions", "1000", "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["fault"]["kind"] == "instruction_limit"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sim", "missing.s"], "file not found"),
        (["sim", "{k}", "--platform", "nope"], "unknown platform 'nope'"),
        (["asm", "{k}", "--platform", "nope"], "unknown platform"),
        (["disasm", "missing.hex"], "file not found"),
        (["sim", "{k}", "--dump", "vram:0"], "REGION:ADDR:COUNT=OUT.npy"),
        (["sim", "{k}", "--dump", "sram:0:4={tmp}/o.npy"], "is not one of"),
        (["sim", "{k}", "--dump", "vram:x:4={tmp}/o.npy"], "not an integer"),
        (["sim", "{k}", "--dump", "vram:{vtop}:4={tmp}/o.npy"], "outside vram"),
        (["sim", "{k}", "--vram", "x.npy"], "FILE.npy@ADDR"),
        (["sim", "{k}", "--vram", "nothere.npy@0"], "file not found"),
        (["sim", "{k}", "--vram", "{x}@-5"], "must not be negative"),
        (["sim", "{k}", "--vram", "{x}@{vlast}"], "outside"),
        (["sim", "{k}", "--hbm", "{x}@0"], "NAME=FILE.npy@ADDR"),
        (["sim", "{k}", "--hbm", "t={odd}@0"], "multiple of the MX block"),
        (["sim", "{k}", "--hbm", "t={x}@999999999999"], "exceed HBM"),
        (["sim", "{k}", "--fpsram", "{notnpy}@0"], "cannot read"),
        (["docs", "--platform", "nope"], "unknown platform"),
    ],
)
def test_bad_input_is_one_line_exit_2(invoke, files, args, message):
    np.save(files / "odd.npy", np.ones(5, np.float32))
    (files / "notnpy.npy").write_text("hello")
    names = {
        "k": files / "k.s",
        "x": files / "x.npy",
        "odd": files / "odd.npy",
        "notnpy": files / "notnpy.npy",
    }
    names.update(tmp=files, vtop=DEFAULT_CONFIG.vram_elems, vlast=DEFAULT_CONFIG.vram_elems - 1)
    result = invoke(*[a.format(**names) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert not list(files.glob("o.npy"))
    assert len(result.stderr.strip().splitlines()) == 1


def test_disasm_bad_words(invoke, files):
    hexfile = files / "p.hex"
    hexfile.write_text("0x00000000\nzz\n")
    result = invoke("disasm", hexfile)
    assert result.exit_code == 2 and "unknown opcode" in result.stderr and "not a hex word" in result.stderr


def test_docs_command_writes_four_files(invoke, tmp_path):
    result = invoke("docs", "--out", tmp_path / "d")
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "guidance.md",
        "hardware.md",
        "isa.md",
        "memory_layout.md",
    ]


def test_sim_with_task_delegates(invoke, files, monkeypatch):
    calls = []

    def fake(platform, task, config, kernel_path, seed, json_out, trace_path):
        calls.append((platform, task, config, str(kernel_path), seed, json_out, trace_path))
        return 1

    import kernelcraft.cli.task_cmds as task_cmds

    monkeypatch.setattr(task_cmds, "evaluate_kernel_cli", fake)
    result = invoke("sim", files / "k.s", "--task", "gemm", "--config", "C2", "--seed", "7", "--json")
    assert result.exit_code == 1
    assert calls == [("plena", "gemm", "C2", str(files / "k.s"), 7, True, None)]


def test_sim_timing_profile_and_poisoned_read_warnings(invoke, tmp_path):
    kernel = tmp_path / "k.s"
    kernel.write_text(
        "S_ADDI_INT gp1, gp0, 128\nV_EXP_V gp1, gp1, 0\nM_MM 0, gp0, gp1\nM_MM_WO gp0, gp0, 0\n"
    )
    consistent = json.loads(invoke("sim", kernel, "--json").output)
    emulator = json.loads(invoke("sim", kernel, "--json", "--timing", "emulator").output)
    assert (
        consistent["stats"]["timing_profile"] == "consistent"
        and emulator["stats"]["timing_profile"] == "emulator"
    )
    assert consistent["stats"]["cycles"] < emulator["stats"]["cycles"]  # M_MM: 4 cycles against 64
    assert consistent["warnings"] == []  # not poisoned: not tracked
    poisoned = json.loads(invoke("sim", kernel, "--json", "--poison").output)
    assert any("which nothing wrote" in w["message"] and w["line"] == 2 for w in poisoned["warnings"])
    assert invoke("sim", kernel, "--timing", "fast").exit_code == 2
