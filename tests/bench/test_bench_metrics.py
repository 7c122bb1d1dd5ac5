from __future__ import annotations

import math
from pathlib import Path

import pytest

from kernelcraft.bench.metrics import (
    Column,
    PriceError,
    Record,
    TaskInfo,
    episode_speedup,
    fast_p,
    geomean,
    group_metrics,
    load_prices,
    parse_prices,
    pass_at_k,
    pass_at_k_by_cell,
    speedup_table,
    success_table,
    summarize,
)
from kernelcraft.episodes import EpisodeResult, TokenCounts


def R(
    task="silu", config="C1", success=False, speedup=None, model="a:x", level=1, sample=0, **kw
) -> EpisodeResult:
    baseline = kw.pop("baseline_cycles", 1000)
    best = kw.pop("best_cycles", int(baseline / speedup) if speedup else None)
    return EpisodeResult(
        task_set_version="t",
        model=model,
        platform=kw.pop("platform", "plena"),
        task=task,
        level=level,
        config=config,
        sample=sample,
        success=success,
        speedup=speedup,
        baseline_cycles=baseline,
        best_cycles=best,
        **kw,
    )


def test_pass_at_k_matches_hand_computed_values():
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # C(3,2) / C(5,2)
    assert pass_at_k(5, 2, 4) == 1.0  # fewer than k failures: some draw must succeed
    assert pass_at_k(3, 0, 2) == 0.0
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - math.comb(7, 5) / math.comb(10, 5))
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_pass_at_k_averages_over_cells_and_needs_samples():
    results = [R(config="C1", success=s, sample=i) for i, s in enumerate([True, False, False, False])]
    results += [R(config="C2", success=s, sample=i) for i, s in enumerate([True, True, False, False])]
    by_k = pass_at_k_by_cell(results)
    assert by_k[1] == pytest.approx((0.25 + 0.5) / 2)
    assert by_k[2] == pytest.approx(((1 - 3 / 6) + (1 - 1 / 6)) / 2)
    assert by_k[4] == 1.0 and set(by_k) == {1, 2, 4}
    assert pass_at_k_by_cell([R(config="C1"), R(config="C2")]) == {}


def test_geomean_and_fast_p():
    assert geomean([2, 8]) == pytest.approx(4)
    assert geomean([1, 2, 4]) == pytest.approx(2)
    assert geomean([]) is None
    results = [R(success=True, speedup=s) for s in (0.5, 1.25, 1.6, 2.5)] + [R(), R(speedup=3.0)]
    assert [fast_p(results, p) for p in (0, 1, 1.5, 2)] == pytest.approx([4 / 6, 3 / 6, 2 / 6, 1 / 6])
    m = group_metrics(results)
    assert m.geomean_speedup == pytest.approx((0.5 * 1.25 * 1.6 * 2.5) ** 0.25)
    assert m.success_rate == pytest.approx(4 / 6)


def test_speedup_above_the_roofline_is_clamped_and_flagged():
    s = episode_speedup(R(success=True, speedup=3.0, roofline_cycles=500))
    assert (s.value, s.raw, s.clamped, s.bound) == (2.0, 3.0, True, 2.0)
    ok = episode_speedup(R(success=True, speedup=1.5, roofline_cycles=500))
    assert (ok.value, ok.clamped) == (1.5, False)
    assert episode_speedup(R(success=False, speedup=1.5)) is None
    derived = episode_speedup(R(success=True, best_cycles=400, baseline_cycles=1000))
    assert derived.value == pytest.approx(2.5)
    m = group_metrics([R(success=True, speedup=3.0, roofline_cycles=500), R(success=True, speedup=8.0)])
    assert m.clamped_speedups == 1 and m.geomean_speedup == pytest.approx(4.0)  # sqrt(2 * 8)


def _records() -> list[Record]:
    rows = []
    for model, silu, gemm, ffn in (("a:x", 3, 2, 1), ("b:y", 1, 0, None)):
        for task, k, level in (("silu", silu, 1), ("gemm", gemm, 1), ("ffn", ffn, 2)):
            if k is None:
                continue
            for i in range(5):
                rows.append(
                    Record(
                        "",
                        R(
                            task=task,
                            config=f"C{i + 1}",
                            success=i < k,
                            model=model,
                            level=level,
                            speedup=1.0 + i if i < k else None,
                        ),
                    )
                )
    return rows


def test_success_table_groups_by_level_with_subtotals():
    tasks = {"silu": TaskInfo(0, "SiLU"), "gemm": TaskInfo(1, "GEMM"), "ffn": TaskInfo(2, "FFN")}
    table = success_table(list(reversed(_records())), tasks)
    a, b = Column("", "plena", "a:x"), Column("", "plena", "b:y")
    assert set(table.columns) == {a, b}
    assert [row.name for row in table.levels[1]] == ["SiLU", "GEMM"]
    assert table.levels[1][0].cells == {a: (3, 5), b: (1, 5)}
    assert table.subtotals[1] == {a: (5, 10), b: (1, 10)}
    assert table.subtotals[2] == {a: (1, 5)}  # b:y did not run FFN: no cell, shown as "–"
    assert table.total == {a: (6, 15), b: (1, 10)}
    summary = summarize(_records(), None, tasks)
    assert summary["success_table"]["total"] == ["6/15", "1/10"]
    assert summary["success_table"]["levels"][1]["subtotal"] == ["1/5", None]


def test_speedup_table_keeps_the_best_correct_sample_per_config():
    records = [
        Record("", R(config="C1", success=True, speedup=s, sample=i)) for i, s in enumerate((1.2, 1.8))
    ]
    records += [Record("", R(config="C2", success=False, sample=0))]
    table = speedup_table(records)[Column("", "plena", "a:x")]["silu"]
    assert table["C1"].value == pytest.approx(1.8) and table["C2"] is None


def test_tool_use_iterations_errors_and_tokens():
    results = [
        R(
            success=True,
            speedup=1.0,
            iterations_to_first_correct=3,
            tool_calls=10,
            evaluations=4,
            error_categories=["S", "F"],
            tokens=TokenCounts(input=100, output=10, reasoning=5),
        ),
        R(
            success=True,
            speedup=1.0,
            iterations_to_first_correct=5,
            tool_calls=6,
            evaluations=2,
            error_categories=["S", "S"],
            tokens=TokenCounts(input=200, output=20),
        ),
        R(tool_calls=2, evaluations=0, error_categories=["T"], end_reason="iteration_cap"),
    ]
    m = group_metrics(results)
    assert m.mean_iterations_to_first_correct == 4
    assert m.mean_tool_calls == 6 and m.mean_evaluations == 2
    assert m.error_types == {"S": 2, "F": 1, "T": 1}
    assert (m.tokens.input, m.tokens.output, m.tokens.reasoning) == (300, 30, 5)
    assert m.mean_total_tokens == pytest.approx(330 / 3)  # reasoning is part of output
    assert m.end_reasons == {"iteration_cap": 1, "unknown": 2}


def test_cost_from_the_price_table(tmp_path: Path):
    prices = parse_prices(
        '["vendor:model-1"]\ninput = 1.0\ncached_input = 0.1\noutput = 10.0\n'
        '["vendor:model-*"]\ninput = 2.0\noutput = 20.0\n["*"]\ninput = 9.0\noutput = 9.0\n'
    )
    tokens = TokenCounts(input=2_000_000, cached=1_000_000, output=500_000)
    assert prices.cost("vendor:model-1", tokens) == pytest.approx(1.0 + 0.1 + 5.0)
    assert prices.cost("vendor:model-2", tokens) == pytest.approx(4.0 + 10.0)  # longest pattern wins
    assert prices.cost("other:thing", tokens) == pytest.approx(9 * 2.5)
    assert parse_prices('["model-1"]\ninput = 1\noutput = 2\n').lookup("vendor:model-1").output == 2

    shipped = load_prices()
    assert shipped.cost("scripted:oracle", tokens) == 0.0
    assert shipped.lookup("openai:gpt-5.2") is not None
    override = tmp_path / "p.toml"
    override.write_text('["openai:gpt-5.2"]\ninput = 0\noutput = 1\n')
    assert load_prices(override).cost("openai:gpt-5.2", TokenCounts(output=1_000_000)) == 1.0

    m = group_metrics(
        [R(model="vendor:model-1", tokens=tokens), R(model="nobody", tokens=tokens)],
        parse_prices('["vendor:*"]\ninput = 1\noutput = 1\n'),
    )
    assert m.cost_usd == pytest.approx(2.5) and m.unpriced_models == ["nobody"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[x\n", "not valid TOML"),
        ('["m"]\ninput = 1\n', "needs numeric"),
        ('["m"]\ninput = "a"\noutput = 1\n', "needs numeric"),
        ('["m"]\ninput = 1\noutput = 1\nbonus = 2\n', "unknown field 'bonus'"),
        ('["m"]\ninput = -1\noutput = 1\n', "negative price"),
        ("m = 3\n", "must be a table"),
    ],
)
def test_bad_price_tables(text, message):
    with pytest.raises(PriceError, match=message):
        parse_prices(text)
