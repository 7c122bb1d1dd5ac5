"""`kernelcraft tasks / baseline / eval`, the platform object and the registry."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kernelcraft.cli.main import app
from kernelcraft.cli.task_cmds import evaluate_kernel_cli
from kernelcraft.platforms.plena.platform import PlenaPlatform
from kernelcraft.platforms.registry import PLATFORMS, get_platform

RELU_C1 = """S_ADDI_INT gp1, gp0, 0
C_SET_ADDR_REG a0, gp0, gp1
S_ADDI_INT gp2, gp0, 256
C_SET_SCALE_REG gp2
S_ADDI_INT gp3, gp0, 0
S_ADDI_INT gp4, gp0, 0
H_PREFETCH_V gp4, gp3, a0, 0, 0
C_LOOP_START gp5, 4
V_MAX_VF gp4, gp4, f0
S_ADDI_INT gp4, gp4, 64
C_LOOP_END gp5
"""


@pytest.fixture()
def kernel(tmp_path):
    path = tmp_path / "relu.s"
    path.write_text(RELU_C1)
    return path


def test_eval_exit_codes(kernel, tmp_path, capsys):
    assert evaluate_kernel_cli("plena", "relu", "C1", kernel) == 0
    out = capsys.readouterr().out
    assert "CORRECT" in out and "row 3" in out
    assert evaluate_kernel_cli("plena", "relu", "C2", kernel) == 1  # right code, wrong shape
    broken = tmp_path / "broken.s"
    broken.write_text("V_NOPE gp1\n")
    assert evaluate_kernel_cli("plena", "relu", "C1", broken) == 1
    capsys.readouterr()
    for args in (
        ("plena", "relux", "C1", kernel),
        ("plena", "relu", "C7", kernel),
        ("plena", "conv2d", "C1", kernel),
        ("tpu", "relu", "C1", kernel),
        ("plena", "relu", "C1", tmp_path / "missing.s"),
    ):
        assert evaluate_kernel_cli(*args) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
        assert "Traceback" not in captured.err


def test_eval_json_and_trace(kernel, tmp_path, capsys):
    trace = tmp_path / "trace.json"
    assert evaluate_kernel_cli("plena", "relu", "C1", kernel, seed=3, json_out=True, trace_path=trace) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["correct"] and data["match_rate"] == 1.0 and data["seed"] == 3
    assert data["diff"]["total"] == 256 and data["cycles"] > 0
    events = json.loads(trace.read_text())["traceEvents"]
    names = {e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    assert names == {"matrix", "vector", "scalar", "memory", "control"}
    ops = [e for e in events if e["ph"] == "X"]
    assert len(ops) == 20
    prefetch = next(e for e in ops if e["name"] == "H_PREFETCH_V")
    assert prefetch["args"]["line"] == 7 and prefetch["args"]["pc"] == 6 and prefetch["dur"] > 0


def test_cli_commands_through_typer(kernel, tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["tasks", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data["tasks"]) == 33 and sum(t["supported"] for t in data["tasks"]) == 20
    assert data["tasks"][0]["configs"]["C1"] == {"R": 4, "H": 64}
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 0 and "decoder_t5" in result.stdout
    assert runner.invoke(app, ["tasks", "--platform", "tpu"]).exit_code == 2
    result = runner.invoke(app, ["eval", str(kernel), "--task", "relu", "--config", "C1", "--poison"])
    assert result.exit_code == 0 and "CORRECT" in result.stdout
    result = runner.invoke(app, ["baseline", "--task", "relu", "--config", "C1", "--emit"])
    assert result.exit_code == 0
    # stdout is the kernel alone, ready to save as a .s file; the table goes to stderr
    assert "V_MAX_VF" in result.stdout and "correct" in result.stderr
    emitted = tmp_path / "emitted.s"
    emitted.write_text(result.stdout)
    assert runner.invoke(app, ["eval", str(emitted), "--task", "relu", "--config", "C1"]).exit_code == 0
    assert runner.invoke(app, ["baseline", "--task", "conv2d"]).exit_code == 2
    assert runner.invoke(app, ["baseline", "--task", "relu", "--config", "C9"]).exit_code == 2


def test_platform_object_and_registry():
    assert "plena" in PLATFORMS
    platform = get_platform("PLENA")
    assert isinstance(platform, PlenaPlatform) and platform.name == "plena"
    with pytest.raises(ValueError, match="known platforms: .*plena"):
        get_platform("tpu")
    built = platform.build(RELU_C1)
    program = built.program
    assert built.ok and built.size == len(program)
    assert platform.instruction_size(program) == {
        "matrix": 0,
        "vector": 1,
        "scalar": 5,
        "memory": 1,
        "control": 4,
    }
    instance = platform.prepare("relu", "C1", seed=0)
    assert platform.evaluate(program, instance).correct
    execution = platform.execute(program, instance.image)
    assert execution.ok and execution.stats.cycles > 0
    assert isinstance(platform.docs(), dict)
    assert "V_MAX_VF" in platform.baseline("relu", "C1")
