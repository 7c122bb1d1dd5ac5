"""Harness overhead per tool call, excluding simulation, and the worst case over adversarial input.

Every call goes through the session core (Session.step) on a real platform instance. The time
the platform spends simulating (Platform.run) is measured separately and subtracted, so the
figure is what the harness itself adds: argument checks, builds (cached per source), diff
formatting, docs search, file writes. Target: a median under 50 ms per call.

The adversarial set is the inputs that were once unbounded: a 2 MB kernel of near-miss
mnemonics, a 500 KB grep query, 5,000-digit immediates, lone surrogates, 40 calls in one turn.
Each must stay bounded.

Usage: python benchmarks/tool_overhead.py [--platform plena] [--task silu] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from kernelcraft.agent.messages import ToolCall
from kernelcraft.agent.session import Session
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.registry import get_platform


class Timed:
    """Wraps the platform's run() to add up simulation time."""

    def __init__(self, platform):
        self.platform, self.seconds = platform, 0.0
        self.original = platform.run

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.original(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


def measure(session: Session, timed: Timed, name: str, arguments: dict, turn: int) -> float:
    """Milliseconds one call spends outside simulation."""
    before = timed.seconds
    started = time.perf_counter()
    session.step(ToolCall(f"b{turn}", name, arguments, ""), iteration=turn)
    return 1000 * ((time.perf_counter() - started) - (timed.seconds - before))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default="plena")
    parser.add_argument("--task", default="silu")
    parser.add_argument("--config", default="C1")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    platform = get_platform(args.platform)
    kernel = platform.baseline(args.task, args.config)
    typical = [
        ("write_code", {"code": kernel}),
        ("check_syntax", {}),
        ("run_evaluation", {}),
        ("view_output", {}),
        ("get_instruction_size", {}),
        ("grep_docs", {"query": "loop counter"}),
    ]
    per_tool: dict[str, list[float]] = {name: [] for name, _ in typical}
    with tempfile.TemporaryDirectory() as folder:
        session = Session(
            EpisodeSpec(model="bench", platform=args.platform, task=args.task, config=args.config),
            Path(folder),
        )
        session.reset()
        timed = Timed(session.toolbox.platform)
        session.toolbox.platform.run = timed
        turn = 0
        for _ in range(args.runs):
            for name, arguments in typical:
                turn += 1
                per_tool[name].append(measure(session, timed, name, arguments, turn))
        print(f"{args.platform} {args.task} {args.config}: harness milliseconds per call, outside simulation")
        print(f"{'tool':<22} {'median':>8} {'min':>8} {'max':>8}")
        for name, values in per_tool.items():
            print(f"{name:<22} {statistics.median(values):>8.2f} {min(values):>8.2f} {max(values):>8.2f}")
        everything = [v for values in per_tool.values() for v in values]
        print(f"{'all calls':<22} {statistics.median(everything):>8.2f}  (target: median < 50 ms)")

        near_miss = "\n".join(f"V_ADD_VX{i} gp1, gp2, gp3" for i in range(70_000))
        adversarial = [
            ("2 MB near-miss kernel: write", "write_code", {"code": near_miss}),
            ("2 MB near-miss kernel: check", "check_syntax", {}),
            ("  the same again (cached)", "check_syntax", {}),
            ("  its evaluation", "run_evaluation", {}),
            ("500 KB grep query", "grep_docs", {"query": "V_EXP_V " * 62_500}),
            ("5000-digit immediate", "write_code", {"code": "S_ADDI_INT gp1, gp0, " + "9" * 5000}),
            ("  its check", "check_syntax", {}),
            ("lone surrogates", "write_code", {"code": "\ud800" * 10_000}),
        ]
        print("\nadversarial input (milliseconds, outside simulation)")
        worst = 0.0
        for label, name, arguments in adversarial:
            turn += 1
            ms = measure(session, timed, name, arguments, turn)
            worst = max(worst, ms)
            print(f"{label:<34} {ms:>10.1f}")
        turn += 1
        started = time.perf_counter()
        for i in range(40):
            session.step(ToolCall(f"t{i}", "run_evaluation", {}, ""), iteration=turn)
        print(
            f"{'40 evaluations in one turn':<34} {1000 * (time.perf_counter() - started):>10.1f}"
            f"  (all but {session.spec.tool_calls_per_turn} refused, simulation included)"
        )
        print(f"worst adversarial call: {worst:.1f} ms")


if __name__ == "__main__":
    main()
