"""Bad input at the command line: one line and exit 2, never a traceback."""

from __future__ import annotations

import errno
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kernelcraft.bench.store import RunStore
from kernelcraft.cli.main import app
from kernelcraft.platforms.registry import get_platform

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def relu_kernel(tmp_path):
    path = tmp_path / "relu.s"
    path.write_text(get_platform("plena").baseline("relu", "C1"))
    return path


def test_unwritable_folders_are_one_line(tmp_path, relu_kernel):
    run = invoke("run", "-t", "relu", "-o", "/proc/kernelcraft-x")
    assert run.exit_code == 2 and "cannot use run directory /proc/kernelcraft-x" in run.output
    good = tmp_path / "run"
    assert invoke("run", "-t", "relu", "-o", str(good)).exit_code == 0
    report = invoke("report", str(good), "--out", "/proc/kernelcraft-x")
    assert report.exit_code == 2 and "cannot write the report" in report.output
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    mcp = invoke("mcp", "-t", "silu", "-c", "C1", "--workspace", str(a_file))
    assert mcp.exit_code == 2 and "cannot use workspace" in mcp.output


def test_npy_headers_are_checked_before_allocating(tmp_path, relu_kernel):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }"
    header += " " * (118 - len(header)) + "\n"
    huge = tmp_path / "huge.npy"
    huge.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
    result = invoke("sim", str(relu_kernel), "--hbm", f"x={huge}@0")
    assert (
        result.exit_code == 2 and "1099511627776 elements" in result.output and "fit in HBM" in result.output
    )
    short = tmp_path / "short.npy"
    np.save(short, np.zeros(64, dtype=np.float32))
    short.write_bytes(short.read_bytes()[:-16])
    truncated = invoke("sim", str(relu_kernel), "--vram", f"{short}@0")
    assert truncated.exit_code == 2 and "shorter than its header" in truncated.output


def test_dump_writes_exactly_the_path_it_reports(tmp_path, relu_kernel):
    target = tmp_path / "out_without_suffix"
    result = invoke("sim", str(relu_kernel), "--dump", f"vram:0:64={target}")
    assert result.exit_code == 0 and f"to {target}" in result.output
    assert target.is_file() and not (tmp_path / "out_without_suffix.npy").exists()
    assert np.load(target).shape == (64,)


def test_a_corrupt_result_is_kept_aside_and_rerun_on_resume(tmp_path):
    out = tmp_path / "run"
    assert invoke("run", "-t", "relu,silu", "-o", str(out)).exit_code == 0
    bad = next(p for p in (out / "episodes").rglob("result.json") if "/relu/" in p.as_posix())
    bad.write_text('{"truncated": ')
    resumed = invoke("run", "-t", "relu,silu", "-o", str(out))
    assert resumed.exit_code == 0 and "1 of 2 episodes already finished" in resumed.output
    assert json.loads(bad.read_text())["success"] is True
    kept = list((out / "corrupt").rglob("result.json"))
    assert len(kept) == 1 and kept[0].read_text() == '{"truncated": '
    report = invoke("report", str(out))
    assert report.exit_code == 0


def test_a_full_disk_stops_the_run_cleanly_and_says_how_to_resume(tmp_path, monkeypatch):
    out = tmp_path / "run"
    original = RunStore.commit
    commits = []

    def commit(self, spec, work_dir, result, replace=False):
        if commits:
            raise OSError(errno.ENOSPC, "No space left on device")
        commits.append(spec.key())
        return original(self, spec, work_dir, result, replace)

    monkeypatch.setattr(RunStore, "commit", commit)
    result = invoke("run", "-t", "relu,silu,gelu", "-o", str(out))
    assert result.exit_code == 2
    assert "No space left on device" in result.output and f"--out {out} to resume" in result.output
    assert len(list((out / "episodes").rglob("result.json"))) == 1
    monkeypatch.setattr(RunStore, "commit", original)
    resumed = invoke("run", "-t", "relu,silu,gelu", "-o", str(out))
    assert resumed.exit_code == 0 and "1 of 3 episodes already finished" in resumed.output


@pytest.mark.parametrize(
    "args",
    [
        ("run", "-c", ","),
        ("run", "-t", " , "),
        ("run", "-p", ""),
        ("baseline", "-t", "relu", "-c", ","),
    ],
)
def test_a_list_option_that_names_nothing_is_refused(tmp_path, args):
    result = invoke(*args, *(["-o", str(tmp_path / "run")] if args[0] == "run" else []))
    assert result.exit_code == 2 and "names nothing" in result.output
    assert not (tmp_path / "run").exists()
