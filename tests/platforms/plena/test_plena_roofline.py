"""The roofline stays a lower bound under both timing profiles: no baseline (the oracle kernel)
runs in fewer cycles than the bound for its instance."""

from __future__ import annotations

import pytest

from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, EMULATOR_CONFIG
from kernelcraft.platforms.plena.platform import PlenaPlatform

PLATFORMS = {cfg.timing_profile: PlenaPlatform(cfg) for cfg in (DEFAULT_CONFIG, EMULATOR_CONFIG)}
QUICK = ["silu", "softmax", "rmsnorm", "gemv", "gemm", "linear", "ffn", "sdpa", "mha"]
ALL = sorted((t, c) for t, configs in PLATFORMS["consistent"].shapes().items() for c in configs)


def _check(profile: str, task: str, config: str) -> None:
    platform = PLATFORMS[profile]
    assert platform.profile_name() == profile
    instance = platform.prepare(task, config, 0)
    oracle = platform.scripted_kernel("oracle", task, config)
    result = platform.evaluate(oracle, instance)
    assert result.correct and result.stats.timing_profile == profile
    bound = platform.roofline(instance)
    assert 0 < bound <= result.cycles, (bound, result.cycles)


@pytest.mark.parametrize("profile", sorted(PLATFORMS))
@pytest.mark.parametrize("task", QUICK)
def test_roofline_is_below_the_baseline(profile, task):
    _check(profile, task, "C1")


@pytest.mark.slow
@pytest.mark.parametrize("profile", sorted(PLATFORMS))
@pytest.mark.parametrize(("task", "config"), ALL)
def test_roofline_is_below_the_baseline_on_every_cell(profile, task, config):
    _check(profile, task, config)
