"""Prompt-cache tokens in metrics and reports: reads and writes priced as billed, hit rates shown."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from kernelcraft.bench.matrix import RunMatrix
from kernelcraft.bench.metrics import (
    PriceError,
    cache_hit_rate,
    group_metrics,
    load_prices,
    parse_prices,
)
from kernelcraft.bench.report import write_report
from kernelcraft.episodes import EpisodeResult, EpisodeSpec, TokenCounts

from .conftest import run_matrix

SONNET = """["anthropic:claude-x"]
input = 3.0
cached_input = 0.3
cache_write_5m = 3.75
cache_write_1h = 6.0
output = 15.0
"""


def result(tokens: TokenCounts, *, model: str = "anthropic:claude-x", task: str = "silu") -> EpisodeResult:
    return EpisodeResult(
        task_set_version="t", model=model, platform="plena", task=task, level=1, config="C1", tokens=tokens
    )


def test_each_part_of_the_input_is_priced_at_its_own_rate() -> None:
    prices = parse_prices(SONNET)
    tokens = TokenCounts(input=1_000_000, cached=600_000, cache_write_5m=200_000, cache_write_1h=100_000)
    # 100k uncached at 3.0, 600k read at 0.3, 200k written for 5 min at 3.75, 100k for 1 h at 6.0
    assert prices.cost("anthropic:claude-x", tokens) == pytest.approx(0.3 + 0.18 + 0.75 + 0.6)


def test_unset_cache_rates_are_the_input_rate() -> None:
    prices = parse_prices('["openai:m"]\ninput = 2.0\ncached_input = 0.2\noutput = 8.0\n')
    tokens = TokenCounts(input=1_000_000, cached=500_000, cache_write_5m=500_000)
    assert prices.cost("openai:m", tokens) == pytest.approx(1.0 + 0.1)  # writes at input: no premium


def test_counts_beyond_the_input_are_clamped_not_double_billed() -> None:
    prices = parse_prices(SONNET)
    tokens = TokenCounts(input=1_000_000, cached=900_000, cache_write_5m=400_000, cache_write_1h=50_000)
    # only 100k of input is left after the reads, so only that much is billed as written
    assert prices.cost("anthropic:claude-x", tokens) == pytest.approx(0.27 + 0.375)


def test_the_shipped_anthropic_prices_carry_the_cache_multipliers() -> None:
    prices = load_prices()
    anthropic = {name: p for name, p in prices.entries.items() if name.startswith("anthropic:")}
    assert anthropic
    for name, price in anthropic.items():
        assert price.cached_input == pytest.approx(0.1 * price.input), name
        assert price.cache_write_5m == pytest.approx(1.25 * price.input), name
        assert price.cache_write_1h == pytest.approx(2.0 * price.input), name
    assert prices.lookup("anthropic:claude-sonnet-4-5-20250929").cache_write_5m == 3.75


def test_cache_write_fields_are_validated() -> None:
    assert parse_prices('["m"]\ninput = 1\noutput = 1\ncache_write_1h = 2\n').lookup("m").cache_write_1h == 2
    with pytest.raises(PriceError, match="negative price"):
        parse_prices('["m"]\ninput = 1\noutput = 1\ncache_write_5m = -1\n')
    with pytest.raises(PriceError, match="unknown field 'cache_write'"):
        parse_prices('["m"]\ninput = 1\noutput = 1\ncache_write = 2\n')


def test_group_metrics_sum_cache_tokens_and_give_the_hit_rate() -> None:
    results = [
        result(TokenCounts(input=1000, output=10, cached=800, cache_write_5m=150)),
        result(TokenCounts(input=3000, output=30, cached=1200, cache_write_1h=1000)),
    ]
    m = group_metrics(results, parse_prices(SONNET))
    assert m.tokens == TokenCounts(
        input=4000, output=40, cached=2000, cache_write_5m=150, cache_write_1h=1000
    )
    assert m.cache_hit_rate == pytest.approx(0.5)
    assert m.to_json()["cache_hit_rate"] == pytest.approx(0.5)
    assert m.to_json()["tokens"]["cache_write_1h"] == 1000
    assert cache_hit_rate(TokenCounts()) is None


def test_result_json_keeps_cache_counts_and_reads_old_results() -> None:
    tokens = TokenCounts(input=10, cached=4, cache_write_5m=3, cache_write_1h=2)
    assert EpisodeResult.model_validate_json(result(tokens).model_dump_json()).tokens == tokens
    old = json.loads(result(TokenCounts(input=5)).model_dump_json())
    del old["tokens"]["cache_write_5m"], old["tokens"]["cache_write_1h"]
    assert EpisodeResult.model_validate(old).tokens.cache_write_5m == 0


def _run_with_tokens(root: Path, tokens: dict[str, TokenCounts]) -> Path:
    """A finished run of silu C1 per model, each episode reporting the given tokens."""

    def episode(spec: EpisodeSpec, episode_dir: Path) -> EpisodeResult:
        return EpisodeResult.for_spec(spec, level=1, task_set_version="t", tokens=tokens[spec.model])

    matrix = RunMatrix.model_validate({"models": list(tokens), "tasks": ["silu"], "configs": ["C1"]})
    run_matrix(root, matrix, episode)
    return root


def test_reports_show_the_hit_rate_per_model_next_to_tokens_and_cost(tmp_path: Path) -> None:
    run = _run_with_tokens(
        tmp_path / "run",
        {
            "anthropic:claude-x": TokenCounts(
                input=1_000_000, output=1000, cached=750_000, cache_write_5m=200_000
            ),
            "openai:gpt-x": TokenCounts(input=2_000_000, output=1000),
        },
    )
    files = write_report([run], tmp_path / "report", parse_prices(SONNET), tasks={})
    markdown = files.markdown.read_text()
    header = next(line for line in markdown.splitlines() if "Cache hit" in line)
    cells = [c.strip() for c in header.split("|")]
    hit, tokens = cells.index("Cache hit"), cells.index("Tokens in / out (reasoning)")
    assert cells[hit + 1] == "Cost" and hit == tokens + 1
    rows = [[c.strip() for c in line.split("|")] for line in markdown.splitlines() if line.startswith("|")]
    sonnet = next(row for row in rows if row[1].endswith("anthropic:claude-x") and len(row) == len(cells))
    other = next(row for row in rows if row[1].endswith("openai:gpt-x") and len(row) == len(cells))
    assert sonnet[hit] == "75%" and other[hit] == "0%"
    # 50k uncached at 3, 750k read at 0.3, 200k written at 3.75, 1k output at 15
    assert sonnet[hit + 1] == f"${0.15 + 0.225 + 0.75 + 0.015:,.2f}"

    with open(files.csv, newline="") as fh:
        csv_rows = {row["model"]: row for row in csv.DictReader(fh)}
    assert csv_rows["anthropic:claude-x"]["cache_write_5m_tokens"] == "200000"
    assert csv_rows["anthropic:claude-x"]["cache_write_1h_tokens"] == "0"
    summary = json.loads(files.summary.read_text())
    by_model = {c["model"]: c for c in summary["columns"]}
    assert by_model["anthropic:claude-x"]["cache_hit_rate"] == pytest.approx(0.75)
