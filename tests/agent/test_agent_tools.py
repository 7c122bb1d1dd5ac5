"""The six tools: what a model reads back for good and bad input, and what the ToolBox counts."""

from __future__ import annotations

import json

import pytest

from kernelcraft.agent.messages import ToolCall
from kernelcraft.agent.tools import (
    MAX_CODE_BYTES,
    MAX_RESULT_CHARS,
    TOOL_NAMES,
    ToolBox,
    Workspace,
    _truncate,
)

from .agent_fakes import CORRECT, FAULTING, SYNTAX_ERROR, WRONG, FakeInstance, FakePlatform


@pytest.fixture
def box(tmp_path) -> ToolBox:
    return ToolBox(
        FakePlatform(), FakeInstance(), Workspace(tmp_path / "ep"), baseline_cycles=100, clock_ghz=1.0
    )


def call(box: ToolBox, name: str, iteration: int = 1, **arguments):
    return box.run(name, arguments, iteration=iteration)


def test_six_tools_with_object_schemas(box):
    assert TOOL_NAMES == (
        "write_code",
        "check_syntax",
        "run_evaluation",
        "view_output",
        "get_instruction_size",
        "grep_docs",
    )
    for spec in box.specs:
        assert spec.parameters["type"] == "object"
        assert spec.description
    write = next(s for s in box.specs if s.name == "write_code")
    assert write.parameters["required"] == ["code"]


def test_write_code_saves_and_counts_lines(box):
    result = call(box, "write_code", code=CORRECT)
    assert not result.is_error
    assert "success: true" in result.content and "2 lines" in result.content
    assert box.workspace.kernel_path.read_text() == CORRECT


def test_write_code_rejects_oversized_and_empty_code(box):
    big = call(box, "write_code", code="; x\n" * (MAX_CODE_BYTES // 4 + 1))
    assert big.is_error and "limit" in big.content
    empty = call(box, "write_code", code="   \n")
    assert empty.is_error and "empty" in empty.content
    assert not box.workspace.kernel_path.exists()
    assert box.stats.tool_failures == 2


@pytest.mark.parametrize("tool", ["check_syntax", "run_evaluation", "view_output", "get_instruction_size"])
def test_tools_before_write_code_are_errors(box, tool):
    result = call(box, tool)
    assert result.is_error
    assert "write_code" in result.content
    assert box.stats.tool_failures == 1


def test_check_syntax_success_reports_instruction_count(box):
    call(box, "write_code", code=CORRECT)
    result = call(box, "check_syntax")
    assert not result.is_error
    assert "success: true" in result.content
    assert "0 error(s), 0 warning(s)" in result.content
    assert "instructions: 2" in result.content
    assert box.stats.syntax_errors == 0


def test_check_syntax_lists_every_error_with_line_and_hint(box):
    call(box, "write_code", code=SYNTAX_ERROR)
    result = call(box, "check_syntax")
    assert not result.is_error  # a failing check is a normal result the model acts on
    text = result.content
    assert "success: false" in text and "2 error(s)" in text
    assert "line 1:" in text and "line 2:" in text
    assert "hint:" in text and "V_BOGUS" in text
    assert box.stats.syntax_errors == 1


def test_run_evaluation_correct_kernel(box):
    call(box, "write_code", code=CORRECT)
    result = call(box, "run_evaluation", iteration=3)
    text = result.content
    assert "success: true" in text
    assert "match_rate: 100.00%" in text
    assert "cycles (latency): 20" in text
    assert "baseline: 100 cycles" in text and "5.00x" in text
    assert box.stats.best is not None and box.stats.best.cycles == 20
    assert box.stats.first_correct_iteration == 3
    assert box.stats.functional_failures == 0


def test_run_evaluation_wrong_kernel_counts_functional_failure(box):
    call(box, "write_code", code=WRONG)
    text = call(box, "run_evaluation").content
    assert "success: false" in text and "match_rate: 25.00%" in text
    assert "mse: 0.5" in text and "max_abs_err: 1.5" in text
    assert "view_output" in text
    assert box.stats.functional_failures == 1 and box.stats.best is None


def test_run_evaluation_fault_is_formatted(box):
    call(box, "write_code", code=FAULTING)
    text = call(box, "run_evaluation").content
    assert "fault: address fault at pc 1 (line 2)" in text
    assert "VRAM address out of range" in text
    assert box.stats.functional_failures == 1


def test_run_evaluation_syntax_error_does_not_run(box):
    call(box, "write_code", code=SYNTAX_ERROR)
    text = call(box, "run_evaluation").content
    assert "does not build" in text and "line 1:" in text
    assert box.platform.evaluated == 0
    assert box.stats.syntax_errors == 1 and box.stats.evaluations == 1
    viewed = call(box, "view_output")
    assert viewed.is_error and "did not build" in viewed.content


def test_best_kernel_keeps_lowest_cycles_and_first_correct_iteration(box):
    slow = "S_ADDI_INT gp1, gp0, 64\nS_ADDI_INT gp2, gp0, 64\n" + CORRECT
    call(box, "write_code", code=slow)
    call(box, "run_evaluation", iteration=2)
    call(box, "write_code", code=CORRECT)
    call(box, "run_evaluation", iteration=4)
    call(box, "write_code", code=WRONG)
    call(box, "run_evaluation", iteration=5)
    best = box.stats.best
    assert best.source == CORRECT and best.cycles == 20 and best.iteration == 4 and best.evaluation == 2
    assert box.stats.first_correct_iteration == 2


def test_evaluations_are_kept_on_disk(box):
    call(box, "write_code", code=WRONG)
    call(box, "run_evaluation", iteration=1)
    call(box, "write_code", code=CORRECT)
    call(box, "run_evaluation", iteration=2)
    kept = sorted(p.name for p in box.workspace.kernels_dir.iterdir())
    assert kept == ["eval_001.s", "eval_002.s"]
    assert (box.workspace.kernels_dir / "eval_001.s").read_text() == WRONG
    records = [json.loads(line) for line in box.workspace.evaluations_path.read_text().splitlines()]
    assert [r["correct"] for r in records] == [False, True]
    assert records[1]["cycles"] == 20 and records[1]["iteration"] == 2


def test_view_output_needs_an_evaluation_then_shows_rows(box):
    call(box, "write_code", code=WRONG)
    before = call(box, "view_output")
    assert before.is_error and "run_evaluation" in before.content
    call(box, "run_evaluation")
    after = call(box, "view_output")
    assert not after.is_error and "row 0: max_abs_err=1.5" in after.content


def test_get_instruction_size_by_category(box):
    call(box, "write_code", code=CORRECT)
    text = call(box, "get_instruction_size").content
    assert "total: 2" in text and "S: 1" in text and "V: 1" in text


def test_get_instruction_size_on_broken_kernel(box):
    call(box, "write_code", code=SYNTAX_ERROR)
    text = call(box, "get_instruction_size").content
    assert "success: false" in text and "V_BOGUS" in text


def test_grep_docs_returns_section_with_heading_path(box):
    text = call(box, "grep_docs", query="v_exp_v").content
    assert "=== isa > ISA > Vector instructions > V_EXP_V ===" in text
    assert "clamped" in text
    assert "C_LOOP_START" not in text.split("===")[2]  # the hit is the section, not the whole doc


def test_grep_docs_ranks_the_section_matching_all_words_first(box):
    text = call(box, "grep_docs", query="output layout VRAM").content
    first = text.split("\n")[0]
    assert first == "=== memory_layout > Memory layout > Output ==="


def test_grep_docs_no_matches(box):
    result = call(box, "grep_docs", query="tensorcore warp shuffle")
    assert not result.is_error and result.content.startswith("No matches")


def test_grep_docs_works_without_a_kernel_and_rejects_empty_query(box):
    assert not call(box, "grep_docs", query="loop").is_error
    assert call(box, "grep_docs", query="  ").is_error


def test_unknown_tool_is_an_error_listing_the_tools(box):
    result = box.call(ToolCall(id="1", name="compile", arguments={}))
    assert result.is_error and "unknown tool 'compile'" in result.content
    assert "write_code" in result.content
    assert box.stats.tool_failures == 1 and box.stats.tool_calls == 1


def test_invalid_json_arguments_are_an_error(box):
    result = box.call(ToolCall(id="1", name="write_code", arguments=None, raw_arguments='{"code": "x'))
    assert result.is_error and "not valid JSON" in result.content and '{"code": "x' in result.content
    assert box.stats.tool_failures == 1


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("write_code", {}, "needs the argument 'code'"),
        ("write_code", {"code": 5}, "must be a string, not number"),
        ("write_code", {"code": None}, "must be a string, not null"),
        ("write_code", {"code": "x", "workload": "silu"}, "unknown argument(s) workload"),
        ("check_syntax", {"verbose": True}, "unknown argument(s) verbose; it takes: none"),
        ("grep_docs", {"query": ["a"]}, "must be a string, not array"),
    ],
)
def test_bad_arguments_are_errors(box, name, arguments, expected):
    result = box.call(ToolCall(id="1", name=name, arguments=arguments))
    assert result.is_error
    assert expected in result.content


def test_platform_exception_becomes_error_result(box):
    def explode(program, instance, limits=None):
        raise RuntimeError("simulator broke")

    box.platform.run = explode
    call(box, "write_code", code=CORRECT)
    result = call(box, "run_evaluation")
    assert result.is_error and "simulator broke" in result.content


def test_results_are_truncated_with_a_note():
    text = _truncate("x" * (MAX_RESULT_CHARS + 50))
    assert len(text) < MAX_RESULT_CHARS + 100
    assert text.endswith("[... output truncated: 50 more characters]")


# ---------------------------------------------------------------------------- the real PLENA platform


@pytest.fixture
def real_box(tmp_path) -> ToolBox:
    from kernelcraft.platforms.registry import get_platform

    platform = get_platform("plena")
    return ToolBox(
        platform, platform.prepare("silu", "C1", 0), Workspace(tmp_path / "ep"), baseline_cycles=150
    )


def test_real_grep_docs_finds_the_instruction_entry_first(real_box):
    text = call(real_box, "grep_docs", query="V_RED_SUM").content
    assert text.split("\n")[0].endswith("> V_RED_SUM ===")
    assert call(real_box, "grep_docs", query="tensor core warp").content.startswith(
        "No section contains all of"
    )
    assert call(real_box, "grep_docs", query="warp").content.startswith("No matches")


def test_real_wrong_kernel_gets_a_row_diff_and_instruction_counts(real_box):
    call(real_box, "write_code", code="S_ADDI_INT gp1, gp0, 64\n")
    run = call(real_box, "run_evaluation").content
    assert "success: false" in run and "match_rate: " in run and "baseline: 150 cycles" in run
    rows = call(real_box, "view_output").content
    assert "row 0" in rows and "mismatched" in rows
    sizes = call(real_box, "get_instruction_size").content
    assert "total: 1" in sizes


def test_grep_docs_shows_partial_matches_when_no_section_has_every_word(box):
    result = call(box, "grep_docs", query="V_EXP_V zqxwv")
    assert "No section contains all of 'V_EXP_V zqxwv'" in result.content and "V_EXP_V" in result.content
    assert call(box, "grep_docs", query="zqxwv").content == "No matches for 'zqxwv'."
    assert call(box, "grep_docs", query="zqxwv qqqq").content == "No matches for 'zqxwv qqqq'."
