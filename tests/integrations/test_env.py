"""The Gymnasium environment and the reward functions, on the real PLENA platform."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from kernelcraft.env import KernelCraftEnv, kernel_reward, parse_action, reward
from kernelcraft.platforms.registry import get_platform

PLENA = get_platform("plena")
BASELINE = PLENA.baseline("silu", "C1")


def test_an_oracle_episode_earns_the_success_reward(tmp_path):
    env = gym.make("KernelCraft-v0", task="silu", config="c1", workspace=tmp_path)
    observation, info = env.reset(seed=5)
    assert "task id: silu" in observation and "configuration: C1" in observation
    assert "# Role" in info["system_prompt"] and [t["name"] for t in info["tools"]][0] == "write_code"
    obs, r, terminated, truncated, _ = env.step({"name": "write_code", "arguments": {"code": BASELINE}})
    assert "[write_code]" in obs and r == 0.0 and not (terminated or truncated)
    obs, r, terminated, truncated, _ = env.step(
        json.dumps([{"name": "check_syntax", "arguments": {}}, {"name": "run_evaluation", "arguments": {}}])
    )
    assert "[run_evaluation]\nsuccess: true" in obs and r == 0.0
    obs, r, terminated, truncated, info = env.step("The kernel is correct; done.")
    assert terminated and not truncated and info["success"] and info["speedup"] == pytest.approx(1.0)
    assert r == pytest.approx(1.0)
    assert (tmp_path / "episode-0001" / "best.s").read_text() == BASELINE
    env.close()


def test_the_cap_truncates_and_bad_calls_are_observations(tmp_path):
    env = KernelCraftEnv(task="relu", config="C1", iteration_cap=2, workspace=tmp_path)
    env.reset()
    obs, r, terminated, truncated, _ = env.step({"name": "compile", "arguments": {}})
    assert "[compile error]" in obs and "unknown tool" in obs and not truncated
    obs, r, terminated, truncated, info = env.step({"name": "write_code", "arguments": "not an object"})
    assert truncated and not terminated and r == 0.0 and not info["success"]
    assert "[write_code error]" in obs


def test_step_before_reset_is_a_clear_error():
    with pytest.raises(RuntimeError, match="reset"):
        KernelCraftEnv().step("done")


def test_actions_and_rewards():
    assert parse_action("plain text answer") is None
    assert parse_action({"finish": "done"}) is None
    assert parse_action('{"name": "grep_docs", "arguments": {"query": "V_EXP_V"}}')[0]["name"] == "grep_docs"
    assert parse_action([]) is None and parse_action("[1, 2]") is None
    assert reward(False, 3.0) == 0.0 and reward(True, None) == 1.0
    assert reward(True, 1.0) == 1.0 and reward(True, 2.0) == pytest.approx(1.5)
    assert reward(True, 1000.0) == pytest.approx(2.0) and reward(True, 0.01) == pytest.approx(0.5)


def test_kernel_reward_scores_a_completion_on_hidden_seeds():
    assert kernel_reward(BASELINE, task="silu", config="C1") == pytest.approx(1.0)
    assert kernel_reward("NOT AN INSTRUCTION", task="silu", config="C1") == 0.0
    cheat = PLENA.scripted_kernel("cheater", "silu", "C1")
    assert kernel_reward(cheat, task="silu", config="C1") == 0.0  # visible-correct, fails poisoned memory
