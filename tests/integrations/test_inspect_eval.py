"""The inspect_ai adapter, driven by inspect's mock model through `inspect_ai.eval`."""

from __future__ import annotations

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from kernelcraft.inspect_eval import SCORING_KEY, cell_samples, kernelcraft
from kernelcraft.platforms.registry import get_platform

BASELINE = get_platform("plena").baseline("silu", "C1")


def mock(*turns: ModelOutput):
    # Usage given up front: the mock model would otherwise count tokens with an encoding it
    # downloads, and tests run without a network.
    for turn in turns:
        turn.usage = ModelUsage(input_tokens=10, output_tokens=5, total_tokens=15)
    return get_model("mockllm/model", custom_outputs=list(turns))


def call(name: str, **arguments) -> ModelOutput:
    return ModelOutput.for_tool_call("mockllm/model", name, arguments)


def text(content: str) -> ModelOutput:
    return ModelOutput.from_content("mockllm/model", content)


def test_an_episode_through_inspect_is_scored_on_hidden_seeds(tmp_path):
    model = mock(
        call("write_code", code=BASELINE),
        call("run_evaluation"),
        text("done"),
    )
    [log] = inspect_eval(
        kernelcraft(task="silu", config="c1", workspace=str(tmp_path / "ws")),
        model=model,
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "success", log.error
    sample = log.samples[0]
    assert sample.scores["kernelcraft_scorer"].value == 1
    scoring = sample.metadata[SCORING_KEY]
    assert scoring["success"] and scoring["speedup"] == pytest.approx(1.0) and scoring["iterations"] == 3
    tool_messages = [m for m in sample.messages if m.role == "tool"]
    assert "Saved kernel.s" in tool_messages[0].text and "success: true" in tool_messages[1].text
    assert sample.messages[0].role == "system" and "# Role" in sample.messages[0].text
    assert (tmp_path / "ws" / sample.id / "best.s").read_text() == BASELINE


def test_a_model_that_never_evaluates_scores_zero(tmp_path):
    model = mock(call("write_code", code=BASELINE), text("done"))
    [log] = inspect_eval(kernelcraft(), model=model, log_dir=str(tmp_path), display="none")
    sample = log.samples[0]
    assert sample.scores["kernelcraft_scorer"].value == 0
    assert "no kernel reached 100%" in sample.scores["kernelcraft_scorer"].explanation


def test_cells_expand_and_bad_cells_are_clear():
    ids = [s.id for s in cell_samples("plena", "silu,gemm", "C1,c2")]
    assert ids == ["plena-silu-C1-s0", "plena-silu-C2-s0", "plena-gemm-C1-s0", "plena-gemm-C2-s0"]
    assert len(cell_samples("plena", "relu", "all", samples=2)) == 10
    with pytest.raises(ValueError, match="not supported"):
        cell_samples("plena", "conv2d", "C1")
    with pytest.raises(ValueError, match="unknown configuration"):
        cell_samples("plena", "silu", "C7")
