"""Shared by the per-level baseline tests: the cell list and the correctness check."""

from __future__ import annotations

import pytest

from kernelcraft.platforms.plena.baseline import generate
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, PlenaConfig
from kernelcraft.platforms.plena.evaluation import evaluate, prepare

CONFIGS = ("C1", "C2", "C3", "C4", "C5")


def cells(tasks: tuple[str, ...], slow: tuple[str, ...] = ("C4", "C5")) -> list:
    """(task, config) parameters; the big configurations are marked slow."""
    return [pytest.param(t, c, marks=[pytest.mark.slow] if c in slow else []) for t in tasks for c in CONFIGS]


def check_cell(task: str, config: str, seed: int, profile: str, hw: PlenaConfig = DEFAULT_CONFIG) -> None:
    """The baseline is 100% correct on this instance with poisoned memory."""
    result = evaluate(generate(task, config, hw), prepare(task, config, seed, profile, poison=True, hw=hw))
    assert result.ok, result.format_summary()
    assert result.correct, result.format_summary() + "\n" + result.format_rows()
    assert result.match_rate == 1.0
