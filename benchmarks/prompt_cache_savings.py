"""What prompt caching saves: input tokens billed per episode, and a matrix's cost at list prices.

Runs real episodes (the platform's system prompt, the six tools, the agent loop, the
simulator, scoring) with an anthropic: model whose server is the local fake Messages API
from the provider tests. The fake plays a scripted agent (write the baseline kernel, check
and evaluate it, then grep the docs, try variants, view the output and measure the size,
turn after turn until the iteration cap) and bills input as Anthropic's prompt cache does:
a marked prefix of at least 1,024 tokens is written (1.25x the input price for 5-minute
entries, 2x for 1-hour ones) and read back (0.1x) by a later request within its lifetime.
Time is simulated: every model turn advances the cache's clock by --turn-seconds. Token
counts are JSON characters over 4, so absolute numbers approximate a real tokenizer's; the
ratios between the modes are the point.

The same cells are run with prompt_cache=off, and on with cache_ttl=5m, 1h and auto (the
default: 5-minute entries until a turn takes over 4 minutes), one episode after another as
a run with concurrency 1 would, and priced with the shipped prices.toml.

    python benchmarks/prompt_cache_savings.py
    python benchmarks/prompt_cache_savings.py --tasks silu,decoder_llama --configs C1,C2 --turn-seconds 400
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernelcraft.agent.episode import run_episode
from kernelcraft.agent.messages import Message
from kernelcraft.agent.providers.anthropic import AnthropicModel
from kernelcraft.agent.providers.scripted import TaskRef, baseline_kernel, task_from_conversation
from kernelcraft.bench.metrics import PriceTable, cache_hit_rate, load_prices
from kernelcraft.episodes import EpisodeResult, EpisodeSpec, TokenCounts
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import all_tasks

DEFAULT_PLATFORM = EpisodeSpec.model_fields["platform"].default
DEFAULT_CONFIGS = "C1"  # with every task the platform supports: 20 cells on the default platform
MODEL = "anthropic:claude-sonnet-4-5"  # the spec the episodes run; costs are shown for several
PRICED_MODELS = ("anthropic:claude-sonnet-4-5", "anthropic:claude-opus-4-5", "anthropic:claude-haiku-4-5")
MODES = (("off", "auto"), ("on", "5m"), ("on", "1h"), ("on", "auto"))
FAKE_KEY = "sk-ant-local-fake-server"  # only ever sent to the local fake server


def _fake_servers() -> Any:
    """The provider tests' fake servers (tests/ is not a package, so load the file)."""
    path = Path(__file__).resolve().parents[1] / "tests" / "agent" / "providers" / "fake_servers.py"
    spec = importlib.util.spec_from_file_location("kernelcraft_fake_servers", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def _kernel(ref: TaskRef) -> str:
    return baseline_kernel(ref)


def _task_of(body: dict[str, Any]) -> TaskRef:
    first = body["messages"][0]["content"]
    text = next(block["text"] for block in first if block.get("type") == "text")
    return task_from_conversation([Message(role="user", text=text)])


def _opcode(kernel: str, turn: int) -> str:
    opcodes = [line.split()[0] for line in kernel.splitlines() if line.strip() and line.strip()[0].isalpha()]
    return opcodes[turn % len(opcodes)] if opcodes else "output layout"


def agent_script(stop_after: int | None) -> Any:
    """What the scripted agent does on each turn; it never stops early unless told to."""

    def script(turn: int, body: dict[str, Any]) -> Any:
        kernel = _kernel(_task_of(body))
        if stop_after is not None and turn > stop_after:
            return "The kernel is correct and no variant was faster; done."
        if turn == 1:
            return [("write_code", {"code": kernel})]
        if turn == 2:
            return [("check_syntax", {}), ("run_evaluation", {})]
        return [
            [("grep_docs", {"query": _opcode(kernel, turn)})],
            [("write_code", {"code": f"{kernel}\n; variant {turn}\n"}), ("run_evaluation", {})],
            [("view_output", {})],
            [("get_instruction_size", {})],
        ][(turn - 3) % 4]

    return script


@dataclass
class ModeRun:
    label: str
    results: list[EpisodeResult]

    def total(self) -> TokenCounts:
        fields = TokenCounts.model_fields
        return TokenCounts(**{f: sum(getattr(r.tokens, f) for r in self.results) for f in fields})


def run_mode(
    fakes: Any,
    cells: list[tuple[str, str]],
    prompt_cache: str,
    ttl: str,
    args: argparse.Namespace,
    root: Path,
) -> list[EpisodeResult]:
    clock = [0.0]
    cache = fakes.AnthropicPromptCache(clock=lambda: clock[0])
    AnthropicModel.clock = staticmethod(lambda: clock[0])  # the adapter times turns on the same clock

    def bill(request: Any, reply: Any) -> Any:
        clock[0] += args.turn_seconds
        return cache.bill(request, reply)

    results = []
    with fakes.FakeServer(responder=fakes.anthropic_agent(agent_script(args.turns)), biller=bill) as server:
        options = {"base_url": server.url, "prompt_cache": prompt_cache, "cache_ttl": ttl, "max_retries": "0"}
        for task, config in cells:
            spec = EpisodeSpec(
                model=MODEL, platform=args.platform, task=task, config=config, model_options=options
            )
            result = run_episode(spec, root / f"{prompt_cache}-{ttl}" / task / config)
            if result.error:
                raise SystemExit(f"{task} {config}: {result.end_reason}: {result.error}")
            results.append(result)
    return results


def billed_input_equivalent(tokens: TokenCounts) -> float:
    """Input tokens at the full input rate that would cost the same (Anthropic's multipliers)."""
    uncached = tokens.input - tokens.cached - tokens.cache_write_5m - tokens.cache_write_1h
    return uncached + 0.1 * tokens.cached + 1.25 * tokens.cache_write_5m + 2.0 * tokens.cache_write_1h


def _k(n: float) -> str:
    return f"{n / 1000:,.1f}k"


def report(runs: list[ModeRun], prices: PriceTable, args: argparse.Namespace, cells: int) -> None:
    first = runs[0].results
    turns = f"at most {args.turns}" if args.turns else "up to the iteration cap (15 / 20 / 25 by level)"
    print(f"{cells} cells; turns per episode: {turns}; {args.turn_seconds:g} s per turn")
    print("tokens: JSON characters / 4; every episode runs against one fake server, one after another")
    print(f"mean model turns per episode: {statistics.mean(r.iterations for r in first):.1f}")
    print()
    header = (
        f"{'mode':<14}{'input/ep':>11}{'uncached':>11}{'read':>11}{'written 5m':>12}{'written 1h':>12}"
        f"{'hit rate':>10}{'billed eq./ep':>15}{'median':>10}"
    )
    print(
        "Input tokens per episode (mean over cells); 'billed eq.' = full-price input tokens costing the same"
    )
    print(header)
    for run in runs:
        t, n = run.total(), len(run.results)
        uncached = t.input - t.cached - t.cache_write_5m - t.cache_write_1h
        per_episode = [billed_input_equivalent(r.tokens) for r in run.results]
        print(
            f"{run.label:<14}{_k(t.input / n):>11}{_k(uncached / n):>11}{_k(t.cached / n):>11}"
            f"{_k(t.cache_write_5m / n):>12}{_k(t.cache_write_1h / n):>12}"
            f"{100 * (cache_hit_rate(t) or 0):>9.1f}%{_k(sum(per_episode) / n):>15}"
            f"{_k(statistics.median(per_episode)):>10}"
        )
    longest = max(range(len(first)), key=lambda i: (first[i].iterations, first[i].tokens.input))
    print()
    r0 = first[longest]
    print(f"The longest episode ({r0.task} {r0.config}, {r0.iterations} turns):")
    for run in runs:
        r = run.results[longest]
        print(
            f"  {run.label:<12} input {r.tokens.input:>9,}  read {r.tokens.cached:>9,}  "
            f"written {r.tokens.cache_write_5m + r.tokens.cache_write_1h:>8,}  "
            f"billed eq. {billed_input_equivalent(r.tokens):>11,.0f}"
        )
    print()
    print(f"Cost of the {cells}-cell matrix at list prices (prices.toml), input + output; change from off:")
    print(f"{'model':<30}" + "".join(f"{run.label:>20}" for run in runs))
    for name in PRICED_MODELS:
        costs = [sum(prices.cost(name, r.tokens) or 0.0 for r in run.results) for run in runs]
        cells_text = [f"${costs[0]:,.2f}"] + [
            f"${c:,.2f} ({100 * (c / costs[0] - 1):+.0f}%)" for c in costs[1:]
        ]
        print(f"{name:<30}" + "".join(f"{text:>20}" for text in cells_text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", default=DEFAULT_PLATFORM)
    parser.add_argument("--tasks", default="all", help="comma-separated task ids (default: all supported)")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help="comma-separated configurations")
    parser.add_argument(
        "--turns", type=int, default=None, help="stop after this many turns (default: the cap)"
    )
    parser.add_argument("--turn-seconds", type=float, default=30.0, help="simulated seconds per model turn")
    args = parser.parse_args(argv)
    if args.tasks == "all":
        platform = get_platform(args.platform)
        tasks = [task.id for task in all_tasks() if platform.unsupported_reason(task) is None]
    else:
        tasks = args.tasks.split(",")
    cells = [(t, c) for t in tasks for c in args.configs.split(",")]

    os.environ["ANTHROPIC_API_KEY"] = FAKE_KEY
    os.environ.pop("ANTHROPIC_BASE_URL", None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    fakes = _fake_servers()
    prices = load_prices()
    runs = []
    with tempfile.TemporaryDirectory(prefix="kernelcraft-cache-") as tmp:
        for prompt_cache, ttl in MODES:
            label = "off" if prompt_cache == "off" else f"on ({ttl})"
            runs.append(ModeRun(label, run_mode(fakes, cells, prompt_cache, ttl, args, Path(tmp))))
    report(runs, prices, args, len(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
