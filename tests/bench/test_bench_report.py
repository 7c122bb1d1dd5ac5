from __future__ import annotations

import builtins
import csv
import json
import re
from pathlib import Path

import pytest

from kernelcraft.bench.fakes import fake_episode
from kernelcraft.bench.matrix import RunMatrix
from kernelcraft.bench.metrics import parse_prices
from kernelcraft.bench.report import write_report
from kernelcraft.episodes import EpisodeResult, EpisodeSpec

from .conftest import run_matrix

MATRIX = RunMatrix.model_validate(
    {"models": ["a:x", "b:y"], "tasks": ["silu", "gemm", "ffn"], "configs": ["C1", "C2"], "samples": 2}
)
PRICES = parse_prices('["a:x"]\ninput = 1.0\noutput = 10.0\n')


def _results(run: Path) -> dict[str, EpisodeResult]:
    return {
        p.parent.relative_to(run / "episodes").as_posix(): EpisodeResult.model_validate_json(p.read_text())
        for p in (run / "episodes").rglob("result.json")
    }


def test_report_files_agree_with_the_results(tmp_path: Path):
    run = tmp_path / "run"
    run_matrix(run, MATRIX, fake_episode)
    files = write_report([run], tmp_path / "report", PRICES, tasks={})
    results = _results(run)

    with open(files.csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(results) == 24
    for row in rows:
        key = row["episode"].removeprefix("episodes/run/").removesuffix(".html")
        r = results[key]
        assert (row["model"], row["task"], row["config"], int(row["sample"])) == (
            r.model,
            r.task,
            r.config,
            r.sample,
        )
        assert row["success"] == str(r.success) and int(row["input_tokens"]) == r.tokens.input
        if r.success and row["speedup_clamped"] == "False":
            assert float(row["speedup"]) == pytest.approx(r.speedup, rel=1e-5)
        if r.model == "a:x":
            assert float(row["cost_usd"]) == pytest.approx(
                (r.tokens.input + 10 * r.tokens.output) / 1e6, abs=1e-6
            )
        else:
            assert row["cost_usd"] == ""
        assert (files.html.parent / row["episode"]).is_file()

    summary = json.loads(files.summary.read_text())
    for col in summary["columns"]:
        mine = [r for r in results.values() if r.model == col["model"]]
        assert col["episodes"] == len(mine) and col["successes"] == sum(r.success for r in mine)
        assert col["error_types"]["S"] == sum("S" in r.error_categories for r in mine)
    totals = summary["success_table"]["total"]
    expected = [f"{sum(r.success for r in results.values() if r.model == m)}/12" for m in ("a:x", "b:y")]
    assert totals == expected
    markdown = files.markdown.read_text()
    html_text = files.html.read_text()
    assert "| **TOTAL** | " + " | ".join(expected) + " |" in markdown
    assert all(f"<td>{t}</td>" in html_text for t in expected)
    assert html_text.count('src="data:image/png;base64,') == 4
    assert html_text.count('">details</a>') == 24
    assert "<link" not in html_text and "<script" not in html_text  # self-contained, no scripts


def test_several_runs_side_by_side(tmp_path: Path):
    one = RunMatrix.model_validate({"models": ["a:x"], "tasks": ["silu"], "configs": ["C1", "C2"]})
    run_matrix(tmp_path / "first", one, fake_episode)
    run_matrix(tmp_path / "second", one, fake_episode)
    files = write_report([tmp_path / "first", tmp_path / "second"], tmp_path / "report", PRICES, tasks={})
    summary = json.loads(files.summary.read_text())
    assert [c["label"] for c in summary["columns"]] == ["first · plena · a:x", "second · plena · a:x"]
    with open(files.csv, newline="") as fh:
        assert sorted({row["run"] for row in csv.DictReader(fh)}) == ["first", "second"]
    assert len(files.episode_pages) == 4


def _nasty_episode(spec: EpisodeSpec, episode_dir: Path) -> EpisodeResult:
    result = fake_episode(spec, episode_dir)
    entries = [
        {"type": "message", "role": "assistant", "text": "</pre><script>alert('x')</script> & \"q\""},
        {"type": "tool_call", "name": "write_code", "id": "<id>", "arguments": {"code": "a < b && c > d"}},
        {
            "type": "tool_result",
            "name": "run_evaluation",
            "content": "<img src=x onerror=alert(1)>",
            "is_error": True,
        },
        {"type": "weird<kind>", "payload": "<b>bold</b>"},
        {"type": "assistant", "iteration": 2, "text": "<u>plan</u>", "stop_reason": "tool_use"},
        {"type": "tool_result", "id": "c9", "name": "check_syntax", "text": "line 3: <bad> operand"},
        {"type": "end", "reason": "harness_error", "error": "E<1>", "traceback": "Traceback\n  <frame>"},
    ]
    lines = [json.dumps(e) for e in entries] + ["not json <i>at all</i>"]
    (episode_dir / "transcript.jsonl").write_text("\n".join(lines) + "\n")
    (episode_dir / "kernel.asm").write_text("; <kernel> & </pre>\n")
    return result


def test_episode_pages_escape_transcript_content(tmp_path: Path):
    run = tmp_path / "run"
    run_matrix(run, RunMatrix(models=[{"name": "a:<x>"}]), _nasty_episode)
    files = write_report([run], tmp_path / "report", PRICES, tasks={})
    page = files.episode_pages[0].read_text()
    assert "&lt;/pre&gt;&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;" in page
    assert "a &lt; b &amp;&amp; c &gt; d" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "weird&lt;kind&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "message · assistant · iteration 2" in page and "&lt;u&gt;plan&lt;/u&gt;" in page
    assert "line 3: &lt;bad&gt; operand" in page and "Traceback\n  &lt;frame&gt;</pre>" in page
    assert "error: E&lt;1&gt;" in page
    assert "not json &lt;i&gt;at all&lt;/i&gt;" in page and "1 transcript line(s) were not JSON" in page
    assert "; &lt;kernel&gt; &amp; &lt;/pre&gt;" in page
    assert "a:&lt;x&gt;" in page
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", page))
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "p",
        "a",
        "h1",
        "h2",
        "h3",
        "div",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "pre",
    }
    back = re.search(r'<a href="([^"]+)">← report</a>', page).group(1)
    assert (files.episode_pages[0].parent / back).resolve() == files.html.resolve()


def test_partial_run_directories_never_crash_the_report(tmp_path: Path):
    run = tmp_path / "run"
    store, specs = run_matrix(
        run, RunMatrix.model_validate({"tasks": ["silu"], "configs": ["all"]}), fake_episode
    )
    (store.final_dir(specs[0]) / "transcript.jsonl").unlink()
    (store.final_dir(specs[1]) / "result.json").write_text('{"model": 3}')
    (store.final_dir(specs[2]) / "kernel.asm").write_bytes(b"\xff\xfe\x00binary")
    store.new_work_dir(specs[3])
    (tmp_path / "bare" / "episodes").mkdir(parents=True)  # no manifest, no episodes
    files = write_report([run, tmp_path / "bare", tmp_path / "absent"], tmp_path / "report", PRICES, tasks={})
    notes = " ".join(files.notes)
    assert "unreadable result" in notes and "1 of 5 episodes have not finished" in notes
    assert "bare: no manifest.json" in notes and "absent: not a directory" in notes
    assert len(files.episode_pages) == 4
    pages = [p.read_text() for p in files.episode_pages]
    assert sum("This episode has no transcript.jsonl" in text for text in pages) == 1
    assert sum("(binary or unreadable file)" in text for text in pages) == 1


def test_report_without_matplotlib_has_a_note_instead_of_plots(tmp_path: Path, monkeypatch):
    run = tmp_path / "run"
    run_matrix(run, RunMatrix(), fake_episode)
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    files = write_report([run], tmp_path / "report", PRICES, tasks={})
    html_text = files.html.read_text()
    assert "matplotlib is not installed" in html_text and "data:image/png" not in html_text
    assert files.csv.is_file() and files.markdown.is_file()
