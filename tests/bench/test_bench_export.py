"""`kernelcraft export`: a run directory as a dataset that `datasets.load_dataset` reads."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kernelcraft.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    result = runner.invoke(
        app,
        [
            "run",
            "-m",
            "scripted:oracle",
            "-m",
            "scripted:broken",
            "-t",
            "relu,silu",
            "-c",
            "c1",
            "-o",
            str(root),
        ],
    )
    assert result.exit_code == 0, result.output
    return root


def test_rows_hold_prompts_messages_kernel_and_reward(run_dir, tmp_path, monkeypatch):
    out = tmp_path / "ds"
    result = runner.invoke(app, ["export", str(run_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    oracle = next(r for r in rows if r["model"] == "scripted:oracle" and r["task"] == "relu")
    assert oracle["success"] and oracle["reward"] == pytest.approx(1.0) and oracle["kernel"].strip()
    assert "# Role" in oracle["system_prompt"] and "task id: relu" in oracle["task_prompt"]
    roles = [m["role"] for m in oracle["messages"]]
    assert roles[:3] == ["assistant", "tool", "assistant"]
    assert oracle["messages"][0]["tool_calls"][0]["name"] == "write_code"
    assert json.loads(oracle["messages"][0]["tool_calls"][0]["arguments"])["code"] == oracle["kernel"]
    broken = next(r for r in rows if r["model"] == "scripted:broken")
    assert not broken["success"] and broken["reward"] == 0.0 and broken["kernel"] is None


def test_datasets_reads_both_files(run_dir, tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "ds"
    assert runner.invoke(app, ["export", str(run_dir), "-o", str(out)]).exit_code == 0
    as_json = datasets.load_dataset("json", data_files=str(out / "episodes.jsonl"), split="train")
    as_parquet = datasets.load_dataset("parquet", data_files=str(out / "episodes.parquet"), split="train")
    assert as_json.num_rows == as_parquet.num_rows == 4
    assert sorted(as_parquet["task"]) == sorted(as_json["task"])
    assert as_parquet[0]["messages"][0]["role"] == "assistant"


def test_secrets_in_kernels_stay_redacted(run_dir, tmp_path, monkeypatch):
    secret = "sk-export-secret-123456"
    kernel = next(run_dir.rglob("best.s"))
    kernel.write_text(kernel.read_text() + f"; {secret}\n")
    monkeypatch.setenv("SOME_API_KEY", secret)
    out = tmp_path / "ds"
    assert runner.invoke(app, ["export", str(run_dir), "-o", str(out), "-f", "jsonl"]).exit_code == 0
    text = (out / "episodes.jsonl").read_text()
    assert secret not in text and "[redacted]" in text
    assert not (out / "episodes.parquet").exists()


def test_bad_input_is_one_line(tmp_path):
    missing = runner.invoke(app, ["export", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "run directory not found" in missing.output
    empty = runner.invoke(app, ["export", str(tmp_path)])
    assert empty.exit_code == 2 and "no finished episodes" in empty.output
    assert "Traceback" not in missing.output + empty.output
