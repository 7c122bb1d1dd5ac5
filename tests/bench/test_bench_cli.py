from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kernelcraft.cli.main import app

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args))


def _one_clear_line(result, text: str) -> None:
    assert result.exit_code == 2, result.output
    assert text in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_run_without_flags_runs_the_default_episode(tmp_path: Path, monkeypatch, fake_hooks):
    monkeypatch.chdir(tmp_path)
    result = _invoke("run")
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "runs").iterdir()
    folder = run_dir / "episodes" / "scripted_oracle" / "plena" / "silu" / "C1" / "s0"
    saved = json.loads((folder / "result.json").read_text())
    assert (saved["model"], saved["task"], saved["config"]) == ("scripted:oracle", "silu", "C1")
    assert "1 of 1 episodes" in result.stdout and "scripted:oracle" in result.stdout
    assert f"kernelcraft report runs/{run_dir.name}" in result.stdout


def test_rerun_resumes_and_a_changed_matrix_is_refused(tmp_path: Path, fake_hooks):
    out = str(tmp_path / "run")
    assert _invoke("run", "--task", "silu", "--config", "all", "--out", out, "-j", "2").exit_code == 0
    again = _invoke("run", "--task", "silu", "--config", "all", "--out", out)
    assert again.exit_code == 0 and "5 of 5 episodes already finished" in again.stdout
    _one_clear_line(_invoke("run", "--task", "gemm", "--out", out), "holds a different run matrix")
    extended = _invoke("run", "--task", "silu", "--config", "all", "--samples", "2", "--out", out)
    assert extended.exit_code == 0 and "5 of 10 episodes already finished" in extended.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "slu"], "unknown task 'slu' (did you mean 'silu'?)"),
        (["--config", "C7"], "unknown configuration 'C7'"),
        (["--executor", "slurm"], "unknown executor 'slurm'"),
        (["--option", "effort"], "--option expects key=value"),
        (["--run-file", "missing.yaml"], "cannot read run file missing.yaml"),
        (["--prices", "missing.toml"], "cannot read price table missing.toml"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, monkeypatch, fake_hooks, args, message):
    monkeypatch.chdir(tmp_path)
    _one_clear_line(_invoke("run", *args), message)
    assert not (tmp_path / "runs").exists()


def test_missing_episode_runner_is_a_clear_error(tmp_path: Path, monkeypatch, fake_hooks):
    monkeypatch.setenv("KERNELCRAFT_EPISODE_FN", "kernelcraft.bench.fakes:no_such_function")
    _one_clear_line(_invoke("run", "--out", str(tmp_path / "run")), "cannot load")


def test_run_file_on_the_command_line(tmp_path: Path, fake_hooks):
    run_file = tmp_path / "grid.toml"
    run_file.write_text('models = ["a:x", "b:y"]\ntasks = ["relu"]\nconfigs = ["C2", "C4"]\n')
    result = _invoke(
        "run",
        "--run-file",
        str(run_file),
        "--out",
        str(tmp_path / "run"),
        "--seed",
        "4",
        "--one-shot",
        "--option",
        "reasoning_effort=high",
        "--iteration-cap",
        "7",
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert len(manifest["episodes"]) == 4 and manifest["matrix"]["seed"] == 4
    for episode in manifest["episodes"]:
        assert episode["one_shot"] and episode["iteration_cap"] == 7
        assert episode["model_options"] == {"reasoning_effort": "high"}


def test_report_command(tmp_path: Path, fake_hooks):
    out = tmp_path / "run"
    assert _invoke("run", "--task", "silu", "--task", "gemm", "--out", str(out)).exit_code == 0
    result = _invoke("report", str(out))
    assert result.exit_code == 0, result.output
    for name in ("report.md", "report.html", "results.csv", "summary.json"):
        assert (out / "report" / name).is_file()
    _one_clear_line(_invoke("report", str(tmp_path / "nowhere")), "is not a directory")


def _real_episode_stack_missing() -> bool:
    names = ("kernelcraft.agent.episode", "kernelcraft.platforms.registry")
    return any(importlib.util.find_spec(name) is None for name in names)


@pytest.mark.skipif(_real_episode_stack_missing(), reason="the episode runner or platforms are not built yet")
def test_default_run_with_the_real_scripted_oracle(tmp_path: Path):
    result = _invoke("run", "--out", str(tmp_path / "run"))
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "run/episodes/scripted_oracle/plena/silu/C1/s0/result.json").read_text())
    assert saved["end_reason"] != "harness_error", saved["error"]
    assert saved["success"] is True


def test_a_model_that_cannot_be_created_stops_the_run_before_any_episode(tmp_path: Path, monkeypatch):
    if importlib.util.find_spec("openai") is None:
        pytest.skip("the openai SDK is not installed")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "run"
    result = _invoke("run", "--model", "openai:gpt-5.2", "--task", "silu", "--out", str(out))
    _one_clear_line(result, "OPENAI_API_KEY")
    assert not (out / "episodes").exists() or not any((out / "episodes").rglob("result.json"))
