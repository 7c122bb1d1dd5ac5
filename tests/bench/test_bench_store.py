from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernelcraft.bench.fakes import fake_catalog, fake_episode
from kernelcraft.bench.matrix import RunMatrix, build_specs
from kernelcraft.bench.store import RunDirError, RunStore, load_run, open_run
from kernelcraft.episodes import EpisodeSpec


def _spec(**kw) -> EpisodeSpec:
    return EpisodeSpec(**{"model": "a:x", "task": "silu", "config": "C1", **kw})


def test_episode_appears_only_when_committed(tmp_path: Path):
    store = RunStore(tmp_path)
    spec = _spec()
    work = store.new_work_dir(spec)
    assert work.parent == store.final_dir(spec).parent and work.name.startswith(".s0.tmp-")
    result = fake_episode(spec, work)
    assert not store.final_dir(spec).exists() and not store.is_finished(spec)
    final = store.commit(spec, work, result)
    assert final == store.final_dir(spec) and not work.exists()
    assert store.read_result(spec) == result
    assert (final / "kernel.asm").is_file() and (final / "transcript.jsonl").is_file()


def test_first_finished_result_wins_unless_replacing(tmp_path: Path):
    store = RunStore(tmp_path)
    spec = _spec()
    first = fake_episode(spec, store.new_work_dir(spec))
    store.commit(spec, store.new_work_dir(spec), first)
    second = first.model_copy(update={"iterations": 99})
    store.commit(spec, store.new_work_dir(spec), second)
    assert store.read_result(spec).iterations == first.iterations
    store.commit(spec, store.new_work_dir(spec), second, replace=True)
    assert store.read_result(spec).iterations == 99
    hidden = [p for p in store.final_dir(spec).parent.iterdir() if p.name.startswith(".")]
    assert len(hidden) == 1  # the first, never-committed work dir only
    assert store.clean_stale() == 1
    assert [p.name for p in store.final_dir(spec).parent.iterdir()] == ["s0"]


def _open(root: Path, matrix: RunMatrix, version: str | None = None) -> RunStore:
    catalog = fake_catalog()
    store = open_run(root, matrix, build_specs(matrix, catalog), version or catalog.version)
    store.unlock()
    return store


def test_manifest_records_the_run(tmp_path: Path):
    matrix = RunMatrix.model_validate({"tasks": ["silu", "gemm"], "samples": 2, "seed": 5})
    store = _open(tmp_path / "run", matrix)
    manifest = json.loads(store.manifest_path.read_text())
    assert manifest["task_set_version"] == "fake-1"
    assert manifest["kernelcraft_version"]
    assert "git_commit" in manifest and manifest["created"]
    assert manifest["matrix"]["seed"] == 5 and len(manifest["episodes"]) == 4
    assert set(manifest["seeds"]) == {"0", "1"}


def test_resume_refuses_a_different_matrix_but_extends_an_added_one(tmp_path: Path):
    root = tmp_path / "run"
    base = RunMatrix.model_validate({"tasks": ["silu"], "configs": ["C1", "C2"]})
    _open(root, base)
    _open(root, base)  # same matrix: fine
    with pytest.raises(RunDirError, match="different run matrix .*seed"):
        _open(root, base.model_copy(update={"seed": 1}))
    with pytest.raises(RunDirError, match="1 of its episodes are not in this one"):
        _open(root, base.model_copy(update={"configs": ["C1"]}))
    with pytest.raises(RunDirError, match="task set 'fake-1', now 'other'"):
        _open(root, base, version="other")
    _open(root, base.model_copy(update={"configs": ["C1", "C2", "C3"]}))
    manifest = json.loads((root / "manifest.json").read_text())
    assert [e["config"] for e in manifest["episodes"]] == ["C1", "C2", "C3"]
    assert [h["action"] for h in manifest["history"]] == ["created", "resumed", "extended"]


def test_refuses_foreign_directories_and_a_second_runner(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not empty and has no manifest.json"):
        _open(tmp_path, RunMatrix())
    catalog = fake_catalog()
    specs = build_specs(RunMatrix(), catalog)
    held = open_run(tmp_path / "run", RunMatrix(), specs, catalog.version)
    try:
        with pytest.raises(RunDirError, match="another kernelcraft run is using"):
            open_run(tmp_path / "run", RunMatrix(), specs, catalog.version)
    finally:
        held.unlock()


def test_opening_cleans_stale_work_folders(tmp_path: Path):
    root = tmp_path / "run"
    store = _open(root, RunMatrix())
    spec = build_specs(RunMatrix(), fake_catalog())[0]
    stale = store.new_work_dir(spec)
    (stale / "transcript.jsonl").write_text("{}\n")
    _open(root, RunMatrix())
    assert not stale.exists()


def test_load_run_reads_partial_directories(tmp_path: Path):
    root = tmp_path / "run"
    matrix = RunMatrix.model_validate({"tasks": ["silu"], "configs": ["C1", "C2", "C3"]})
    store = _open(root, matrix)
    specs = build_specs(matrix, fake_catalog())
    for spec in specs[:2]:
        work = store.new_work_dir(spec)
        store.commit(spec, work, fake_episode(spec, work))
    (store.final_dir(specs[1]) / "result.json").write_text("{not json")
    store.new_work_dir(specs[2])  # an episode that was running when the run was killed
    run = load_run(root)
    assert [e.key for e in run.episodes] == [specs[0].key()]
    assert run.missing == [specs[1].key(), specs[2].key()]
    assert len(run.unreadable) == 1 and run.unreadable[0][0].endswith("C2/s0/result.json")
