"""A long-lived sandbox answering calls: an interrupted call never shifts later answers."""

from __future__ import annotations

import signal

import pytest

from kernelcraft.sandbox import SandboxJob, SandboxServer

SPIN = "def main(n):\n    for _ in range(n):\n        pass\n    return n\n"


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def test_an_interrupted_call_does_not_shift_later_answers():
    job = SandboxJob(source=SPIN, runner="kernelcraft.sandbox.probes:call")
    previous = signal.signal(signal.SIGALRM, _interrupt)
    try:
        with SandboxServer(job) as server:
            assert server.call({"args": [3]}) == 3
            signal.setitimer(signal.ITIMER_REAL, 0.2)  # Ctrl-C while the call is still running
            with pytest.raises(KeyboardInterrupt):
                server.call({"args": [40_000_000]})
            signal.setitimer(signal.ITIMER_REAL, 0)
            assert server.call({"args": [5]}, wall_s=30) == 5  # its own answer, not the stale one
            assert server.call({"args": [7]}) == 7
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
