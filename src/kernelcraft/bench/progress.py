"""Live progress of a run on the terminal; silent when output is not a terminal."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from kernelcraft.episodes import EpisodeResult, EpisodeSpec


def human_count(n: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}{suffix}"
    return f"{n:.0f}"


def human_duration(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


@dataclass
class ProgressCounts:
    total: int
    done: int = 0  # finished, including episodes finished by an earlier invocation
    running: int = 0
    solved: int = 0
    failed: int = 0  # ended with an error (harness or provider)
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


class RunProgress:
    """Counts episodes as executors report them; thread-safe.

    Used as a context manager it draws a one-line live status on a terminal and
    nothing otherwise, so logs and CI output stay clean.
    """

    def __init__(
        self, total: int, already_done: int = 0, console: Console | None = None, enabled: bool | None = None
    ):
        self.counts = ProgressCounts(total=total, done=already_done)
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self.console = console or Console(stderr=True)
        self.enabled = self.console.is_terminal if enabled is None else enabled
        self._live: Live | None = None

    def started(self, spec: EpisodeSpec) -> None:
        with self._lock:
            self.counts.running += 1

    def finished(self, spec: EpisodeSpec, result: EpisodeResult) -> None:
        with self._lock:
            c = self.counts
            c.running = max(0, c.running - 1)
            c.done += 1
            c.solved += int(result.success)
            c.failed += int(result.error is not None)
            c.input_tokens += result.tokens.input
            c.output_tokens += result.tokens.output
            c.reasoning_tokens += result.tokens.reasoning

    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def status_line(self) -> str:
        with self._lock:
            c = self.counts
            return (
                f"done {c.done}/{c.total} (solved {c.solved}) · running {c.running} · failed {c.failed} · "
                f"tokens {human_count(c.input_tokens)} in / {human_count(c.output_tokens)} out · "
                f"elapsed {human_duration(self.elapsed())}"
            )

    def __rich__(self) -> Text:
        return Text(self.status_line())

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None
