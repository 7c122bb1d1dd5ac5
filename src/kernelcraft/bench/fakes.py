"""Deterministic stand-ins for the episode runner and the task catalogue.

They let the runner, executors, metrics and reports be exercised end to end (tests, the
throughput benchmark) without a model, a simulator or network access. Every outcome is
a pure function of the episode spec, so two runs of the same matrix agree exactly.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

from kernelcraft.bench.matrix import TaskCatalog
from kernelcraft.episodes import EpisodeResult, EpisodeSpec, TokenCounts
from kernelcraft.platforms.registry import DEFAULT_PLATFORM

FAKE_TASK_SET_VERSION = "fake-1"
CONFIGS = ("C1", "C2", "C3", "C4", "C5")
# Seconds slow_fake_episode takes, and a file it appends "<key> <pid>" to on every start.
SLOW_SECONDS_ENV = "KERNELCRAFT_FAKE_EPISODE_SECONDS"
START_LOG_ENV = "KERNELCRAFT_FAKE_EPISODE_LOG"

# Three stand-in platforms: the default one (so a matrix that names none works) and two others.
A, B, C = DEFAULT_PLATFORM, "npu-b", "npu-c"
_TASKS = (
    # id, name, level, category, platforms
    ("silu", "SiLU", 1, "activation", (A, B, C)),
    ("relu", "ReLU", 1, "activation", (A, B, C)),
    ("gelu", "GELU", 1, "activation", (A, B, C)),
    ("softmax", "Softmax", 1, "normalisation", (A, B, C)),
    ("layernorm", "LayerNorm", 1, "normalisation", (A, B, C)),
    ("rmsnorm", "RMSNorm", 1, "normalisation", (A, B, C)),
    ("gemv", "GEMV", 1, "matmul", (A, B, C)),
    ("gemm", "GEMM", 1, "matmul", (A, B, C)),
    ("batch_matmul", "BatchMatMul", 1, "matmul", (A, B, C)),
    ("linear", "Linear", 1, "matmul", (A, B, C)),
    ("conv2d", "Conv2D", 1, "convolution", (B, C)),
    ("depthwise_conv", "DepthwiseConv", 1, "convolution", (B, C)),
    ("rope", "RoPE", 2, "attention", (A, B)),
    ("ffn", "FFN", 2, "block", (A, B, C)),
    ("swiglu", "SwiGLU", 2, "block", (A, B, C)),
    ("sdpa", "ScaledDotProduct", 2, "attention", (A, B)),
    ("flash_attention", "FlashAttention", 2, "attention", (A,)),
    ("mha", "MHA", 2, "attention", (A, B)),
    ("gqa", "GQA", 2, "attention", (A, B)),
    ("mqa", "MQA", 2, "attention", (A, B)),
    ("conv_block", "ConvBlock", 3, "block", (B, C)),
    ("decoder_llama", "DecoderBlock (LLaMA)", 3, "block", (A, B)),
    ("decoder_t5", "DecoderBlock (T5)", 3, "block", (A, B)),
)


@dataclass(frozen=True)
class FakeTask:
    id: str
    name: str
    level: int
    category: str
    platforms: tuple[str, ...]


def _fake_configs(task_id: str, platform: str) -> tuple[str, ...]:
    row = next((row for row in _TASKS if row[0] == task_id), None)
    return CONFIGS if row is not None and platform in row[4] else ()


def fake_catalog() -> TaskCatalog:
    """23 tasks shaped like the real set (20 on the default platform), five configurations each."""
    return TaskCatalog(
        tasks=tuple(FakeTask(*row) for row in _TASKS), version=FAKE_TASK_SET_VERSION, configs=_fake_configs
    )


def _level(task_id: str) -> int:
    return next((row[2] for row in _TASKS if row[0] == task_id), 1)


def fake_episode(spec: EpisodeSpec, episode_dir: Path) -> EpisodeResult:
    """A plausible episode: transcript, a kernel, and numbers drawn from the spec."""
    rng = random.Random(f"{spec.key()}|{spec.seed}")
    level = _level(spec.task)
    cap = spec.iteration_cap or {1: 15, 2: 20, 3: 25}.get(level, 15)
    success = rng.random() < {1: 0.7, 2: 0.4}.get(level, 0.1)
    iterations = rng.randint(3, cap)
    first_correct = rng.randint(1, iterations) if success else None
    evaluations = rng.randint(1, iterations)
    tool_calls = iterations + rng.randint(0, 3)
    baseline = rng.randint(10_000, 100_000)
    roofline = int(baseline / rng.uniform(1.5, 4.0))
    best = int(baseline / rng.uniform(0.8, 2.5)) if success else None
    errors = sorted({c for c in "SFT" if rng.random() < 0.3})
    output = rng.randint(2_000, 30_000)
    tokens = TokenCounts(
        input=rng.randint(20_000, 200_000), output=output, reasoning=rng.randint(0, output // 2)
    )
    kernel = f"; {spec.task} {spec.config} <fake kernel> & friends\nS_LD_FP f1, gp0, 0\n"
    (episode_dir / "kernel.asm").write_text(kernel)
    entries = [
        {"type": "message", "role": "system", "text": f"You write kernels for {spec.platform}."},
        {"type": "message", "role": "user", "text": f"Task {spec.task} config {spec.config}: <b>go</b>"},
        {"type": "tool_call", "id": "c1", "name": "write_code", "arguments": {"code": kernel}},
        {"type": "tool_result", "call_id": "c1", "name": "write_code", "content": "saved", "is_error": False},
        {"type": "tool_call", "id": "c2", "name": "run_evaluation", "arguments": {}},
        {
            "type": "tool_result",
            "call_id": "c2",
            "name": "run_evaluation",
            "content": f"match_rate={'100' if success else '37.5'}% cycles={best or baseline} <ok & done>",
            "is_error": not success,
        },
        {"type": "usage", "input_tokens": tokens.input, "output_tokens": tokens.output},
    ]
    with (episode_dir / "transcript.jsonl").open("w") as fh:
        for entry in entries:
            fh.write(json.dumps(entry) + "\n")
    return EpisodeResult.for_spec(
        spec,
        level=level,
        task_set_version=FAKE_TASK_SET_VERSION,
        success=success,
        visible_correct=success or rng.random() < 0.2,
        iterations=iterations,
        iteration_cap=cap,
        iterations_to_first_correct=first_correct,
        tool_calls=tool_calls,
        evaluations=evaluations,
        error_categories=errors,
        best_cycles=best,
        baseline_cycles=baseline,
        speedup=(baseline / best) if best else None,
        roofline_cycles=roofline,
        tokens=tokens,
        wall_time_s=round(rng.uniform(10, 600), 1),
        end_reason="model_stopped" if rng.random() < 0.6 else "iteration_cap",
    )


def slow_fake_episode(spec: EpisodeSpec, episode_dir: Path) -> EpisodeResult:
    """fake_episode that takes a while and leaves partial files on the way, like a real one."""
    log = os.environ.get(START_LOG_ENV)
    if log:
        with open(log, "a") as fh:  # one short append per start: atomic enough for a test log
            fh.write(f"{spec.key()} {os.getpid()}\n")
    seconds = float(os.environ.get(SLOW_SECONDS_ENV, "0.3"))
    steps = 5
    for step in range(steps):
        with (episode_dir / "transcript.jsonl").open("a") as fh:
            fh.write(json.dumps({"type": "message", "role": "assistant", "text": f"step {step}"}) + "\n")
        time.sleep(seconds / steps)
    return fake_episode(spec, episode_dir)


def failing_fake_episode(spec: EpisodeSpec, episode_dir: Path) -> EpisodeResult:
    """fake_episode, except configuration C2 always breaks the harness."""
    if spec.config == "C2":
        (episode_dir / "transcript.jsonl").write_text('{"type": "message", "role": "user", "text": "hi"}\n')
        raise RuntimeError(f"simulated harness failure in {spec.task}/{spec.config}")
    return fake_episode(spec, episode_dir)


def cpu_bound_fake_episode(spec: EpisodeSpec, episode_dir: Path) -> EpisodeResult:
    """fake_episode plus a little pure-Python work, to compare executors under load."""
    total = 0
    for i in range(200_000):
        total += i * i % 7
    return fake_episode(spec, episode_dir)
