"""Scoring measures the kernel that was scored; secrets stay out of every file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kernelcraft.agent.episode import run_episode
from kernelcraft.cli.main import app
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.registry import get_platform, register_platform

from ..platforms.toy_platform import ToyPlatform
from .adversarial_helpers import ReplayModel, transcript, use_model

runner = CliRunner()
PLENA = get_platform("plena")


@pytest.fixture
def toy():
    register_platform("toy", ToyPlatform)  # idempotent; the conformance suite registers it too
    return get_platform("toy")


def test_a_faster_kernel_that_fails_hidden_scoring_falls_back_to_the_correct_one(tmp_path, monkeypatch, toy):
    """A kernel storing the visible outputs as constants is faster, correct on the visible run and
    wrong on hidden inputs: the slower general kernel is scored instead, and the report says why."""
    correct = toy.baseline("relu", "C1")
    visible = toy.prepare("relu", "C1", 7, poison=True)
    constants = "".join(
        f"li r1, {float(value)!r}\nli r2, {i}\nst r1, r2, 2048\n"
        for i, value in enumerate(visible.reference.reshape(-1))
    )
    hard_coded = constants + "halt\n"
    assert toy.evaluate(hard_coded, visible).correct
    assert toy.evaluate(hard_coded, visible).cycles < toy.evaluate(correct, visible).cycles
    model = ReplayModel(
        [
            [("write_code", {"code": correct}), ("run_evaluation", {})],
            [("write_code", {"code": hard_coded}), ("run_evaluation", {})],
            "done",
        ]
    )
    use_model(monkeypatch, model)
    result = run_episode(
        EpisodeSpec(model="replay", platform="toy", task="relu", config="C1", seed=7), tmp_path
    )
    scoring = json.loads((tmp_path / "scoring.json").read_text())
    assert result.success and result.scored_kernel == "evaluation 1" == scoring["kernel"]
    assert [r["kernel"] for r in scoring["rejected"]] == ["evaluation 2"]
    assert "fails on hidden inputs" in scoring["rejected"][0]["reason"]
    assert result.best_cycles == toy.evaluate(correct, visible).cycles
    assert (tmp_path / "best.toy").read_text() == correct


def test_hidden_seeds_come_from_a_secret_kept_in_the_manifest_only(tmp_path):
    def run(out, *extra):
        result = runner.invoke(app, ["run", "-t", "relu", "-c", "C1", "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        manifest = json.loads((out / "manifest.json").read_text())
        scoring = json.loads(next(out.rglob("scoring.json")).read_text())
        return manifest, [r["seed"] for r in scoring["runs"] if r["label"].startswith("hidden")]

    manifest_a, seeds_a = run(tmp_path / "a")
    manifest_b, seeds_b = run(tmp_path / "b")
    assert manifest_a["scoring_secret"] != manifest_b["scoring_secret"] and seeds_a != seeds_b
    fixed_1, seeds_1 = run(tmp_path / "c", "--scoring-secret", "lab-2026")
    fixed_2, seeds_2 = run(tmp_path / "d", "--scoring-secret", "lab-2026")
    assert seeds_1 == seeds_2 and fixed_1["scoring_secret"] == "lab-2026"
    assert "lab-2026" not in json.dumps(fixed_1["history"])
    for episode_file in (tmp_path / "c" / "episodes").rglob("*"):
        if episode_file.is_file():
            assert "lab-2026" not in episode_file.read_text(errors="replace"), episode_file


def test_a_key_the_model_echoes_into_its_kernel_is_redacted_everywhere(tmp_path, monkeypatch):
    key = "sk-live-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    kernel = PLENA.baseline("silu", "C1") + f"; {key}\n"
    use_model(monkeypatch, ReplayModel([[("write_code", {"code": kernel}), ("run_evaluation", {})], "done"]))
    episode = tmp_path / "ep"
    result = run_episode(EpisodeSpec(model="replay", task="silu", config="C1"), episode)
    assert result.success
    for path in episode.rglob("*"):
        if path.is_file():
            assert key not in path.read_text(errors="replace"), path
    assert "[redacted]" in (episode / "best.s").read_text()
    assert transcript(episode)
