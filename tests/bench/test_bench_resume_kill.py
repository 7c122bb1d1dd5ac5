"""A run killed with SIGKILL resumes without redoing or duplicating finished episodes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ARGS = [
    "run",
    "--task",
    "silu",
    "--task",
    "relu",
    "--task",
    "gelu",
    "--config",
    "C1",
    "--config",
    "C3",
    "-j",
    "2",
]


def _env(log: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KERNELCRAFT_TASK_CATALOG": "kernelcraft.bench.fakes:fake_catalog",
        "KERNELCRAFT_EPISODE_FN": "kernelcraft.bench.fakes:slow_fake_episode",
        "KERNELCRAFT_FAKE_EPISODE_SECONDS": "0.6",
        "KERNELCRAFT_FAKE_EPISODE_LOG": str(log),
    }


def _finished(episodes: Path) -> dict[str, Path]:
    return {
        p.parent.relative_to(episodes).as_posix(): p
        for p in episodes.rglob("result.json")
        if not any(part.startswith(".") for part in p.relative_to(episodes).parts)
    }


def test_sigkill_mid_run_then_resume(tmp_path: Path):
    out = tmp_path / "run"
    log = tmp_path / "starts.log"
    command = [sys.executable, "-m", "kernelcraft.cli.main", *ARGS, "--out", str(out)]
    proc = subprocess.Popen(command, env=_env(log), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    episodes = out / "episodes"
    deadline = time.monotonic() + 60
    while len(_finished(episodes)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"

    before = {key: (path.stat().st_ino, path.read_bytes()) for key, path in _finished(episodes).items()}
    assert 2 <= len(before) < 6
    # Every visible episode folder (model/platform/task/config/sN) is complete; unfinished
    # work sits in hidden folders only.
    visible = [p for p in episodes.glob("*/*/*/*/*") if not p.name.startswith(".")]
    assert len(visible) == len(before)
    assert all((p / "result.json").is_file() for p in visible)
    assert any(p.name.startswith(".") for p in episodes.rglob("*")), (
        "killed episodes should leave work folders"
    )

    done = subprocess.run(command, env=_env(log), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{len(before)} of 6 episodes already finished" in done.stdout

    after = _finished(episodes)
    assert len(after) == 6
    for key, (inode, data) in before.items():
        assert after[key].stat().st_ino == inode and after[key].read_bytes() == data
    starts = Counter(line.split()[0] for line in log.read_text().splitlines())
    assert set(starts) == set(after)
    assert all(starts[key] == 1 for key in before), "a finished episode was run again"
    assert not [p for p in episodes.rglob(".*")], "stale work folders were not cleaned"
