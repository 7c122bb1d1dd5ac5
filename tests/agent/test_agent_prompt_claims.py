"""The shared prompt text must not contradict what a platform's own docs say about its hardware."""

from __future__ import annotations

from kernelcraft.agent import prompts
from kernelcraft.agent.tools import ToolBox
from kernelcraft.platforms.registry import get_platform


def test_performance_advice_does_not_promise_overlap_on_a_blocking_machine():
    platform = get_platform("plena")
    assert "DMA does not overlap compute" in platform.docs()["hardware"]
    system = prompts.system_prompt(platform, ToolBox.tool_specs())
    phase2 = system.split("## Phase 2: performance", 1)[1].split("\n## ", 1)[0]
    assert "overlap" not in phase2.lower()
