"""Prompts: the four system-prompt parts, the task prompt, and one-shot example choice."""

from __future__ import annotations

from kernelcraft.agent import prompts
from kernelcraft.agent.session import one_shot_example
from kernelcraft.agent.tools import TOOL_SPECS
from kernelcraft.platforms.judging import EXACT, Tolerance
from kernelcraft.platforms.registry import get_platform

from .agent_fakes import FakePlatform


class Undocumented(FakePlatform):
    def docs(self) -> dict[str, str]:
        return {}


def test_system_prompt_has_four_parts_in_order():
    text = prompts.system_prompt(FakePlatform(), TOOL_SPECS)
    markers = ["# Role", "# Tools", "# The PLENA accelerator", "# Guidance for PLENA"]
    positions = [text.index(m) for m in markers]
    assert positions == sorted(positions)
    assert "no human in the loop" in text.lower()
    assert "match_rate == 100%" in text and "baseline latency" in text and "no tool calls" in text
    assert "the task states your budget" in text
    assert "in PLENA assembly" in text and "`kernel.s`" in text
    for spec in TOOL_SPECS:
        assert f"`{spec.name}`" in text
    assert "`code` (string, required)" in text and "`query` (string, required)" in text
    assert "V_EXP_V rd, rs1, rmask" in text  # ISA reference
    assert "column-block-major" in text  # memory layout
    assert "VLEN = 64" in text  # hardware
    assert "zero the register first" in text  # guidance


def test_missing_docs_are_marked_not_silently_dropped():
    text = prompts.system_prompt(Undocumented(), TOOL_SPECS)
    assert text.count("(not provided for this platform)") == 4


def test_task_prompt_states_task_shapes_contract_and_budget():
    inputs = prompts.TaskPromptInputs(
        platform="plena",
        task_id="gemm",
        task_name="GEMM",
        level=1,
        config="C2",
        description="Y = X W.",
        params={"M": 8, "K": 128},
        dtypes="BF16 on chip.",
        contract="CONTRACT BODY",
        iteration_cap=15,
    )
    text = prompts.task_prompt(inputs)
    for needle in (
        "task id: gemm",
        "configuration: C2",
        "platform: plena",
        "- M = 8",
        "- K = 128",
        "BF16 on chip.",
        "CONTRACT BODY",
        "15 iterations",
        "Y = X W.",
    ):
        assert needle in text
    example = prompts.OneShotExample("sdpa", "C1", "S_ADDI_INT gp1, gp0, 1", "riscv")
    with_example = prompts.task_prompt(inputs, example=example)
    assert "baseline for **sdpa** (configuration C1)" in with_example
    assert "```riscv\nS_ADDI_INT gp1, gp0, 1\n```" in with_example


def test_one_shot_example_is_never_the_task_itself():
    plena = get_platform("plena")
    assert one_shot_example(plena, "silu").task == "sdpa"
    example = one_shot_example(plena, "sdpa")
    assert (example.task, example.config, example.code_fence) == ("gemm", "C1", "asm")
    assert example.code == plena.baseline("gemm", "C1")


def test_dtypes_text_adds_the_tolerance():
    text = prompts.dtypes_text(FakePlatform(), Tolerance(0.012, 0.01))
    assert "MXFP8" in text and "0.012 + 0.01 * |ref|" in text
    exact = prompts.dtypes_text(FakePlatform(), EXACT)
    assert "equal the reference exactly" in exact
