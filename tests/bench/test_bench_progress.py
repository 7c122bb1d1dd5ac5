from __future__ import annotations

import io

from rich.console import Console

from kernelcraft.bench.progress import RunProgress
from kernelcraft.episodes import EpisodeResult, EpisodeSpec, TokenCounts

SPEC = EpisodeSpec(model="a:x", task="silu", config="C1")


def _result(success: bool, error: str | None = None) -> EpisodeResult:
    return EpisodeResult(
        task_set_version="t",
        model="a:x",
        platform="plena",
        task="silu",
        level=1,
        config="C1",
        success=success,
        error=error,
        tokens=TokenCounts(input=1500, output=250),
    )


def test_counts_done_running_failed_and_tokens():
    progress = RunProgress(total=5, already_done=1, enabled=False)
    progress.started(SPEC)
    progress.started(SPEC)
    progress.finished(SPEC, _result(True))
    progress.finished(SPEC, _result(False, error="harness_error: boom"))
    c = progress.counts
    assert (c.done, c.running, c.solved, c.failed, c.input_tokens, c.output_tokens) == (3, 0, 1, 1, 3000, 500)
    line = progress.status_line()
    assert line.startswith(
        "done 3/5 (solved 1) · running 0 · failed 1 · tokens 3.0k in / 500 out · elapsed 0:00:0"
    )


def test_quiet_when_not_a_terminal():
    buffer = io.StringIO()
    with RunProgress(total=2, console=Console(file=buffer)) as progress:
        progress.started(SPEC)
        progress.finished(SPEC, _result(True))
    assert buffer.getvalue() == ""


def test_draws_a_status_line_on_a_terminal():
    buffer = io.StringIO()
    with RunProgress(total=2, console=Console(file=buffer, force_terminal=True, width=200)) as progress:
        progress.finished(SPEC, _result(True))
    assert "done 1/2 (solved 1)" in buffer.getvalue()
