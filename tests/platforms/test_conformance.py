"""The conformance suite: what "a platform works" means, for every registered platform.

Parametrised over every platform in the registry and the Toy platform (the test double,
tests/platforms/toy_platform.py). A new platform passes this before anything else is
built on it. The default run checks configuration C1 of every supported task; the slow
run checks every supported cell.
"""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import pytest

from kernelcraft.agent.episode import run_episode
from kernelcraft.agent.scoring import score_kernel
from kernelcraft.agent.tools import ToolBox, Workspace
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.api import CONFIG_NAMES, BuildResult, Evaluation, Platform, PlatformError
from kernelcraft.platforms.registry import get_platform, platform_names, register_platform
from kernelcraft.tasks import FORMS, all_tasks, get_task

from .toy_platform import ToyPlatform

register_platform("toy", ToyPlatform)
NAMES = [*(n for n in platform_names() if n != "toy"), "toy"]
GARBAGE = [
    "",
    "\n\n;;;\n",
    "this is not assembly at all",
    "}{)(][ \t\x00\x01\x7f",
    "a" * 20000,
    "\ud800 lone surrogate \udfff",
    "1234567890" * 500,
    "label_only:\n" * 50,
    "\u202e right-to-left \u200b zero width",
]


@cache
def platform(name: str) -> Platform:
    return get_platform(name)


def supported_tasks(plat: Platform) -> list[str]:
    return [t.id for t in all_tasks() if plat.supports(t)]


def cells(slow: bool) -> list[tuple[str, str, str]]:
    out = []
    for name in NAMES:
        plat = platform(name)
        for task_id in supported_tasks(plat):
            configs = plat.config_names(task_id)
            out += [(name, task_id, c) for c in (configs if slow else configs[:1])]
    return out


def first_cell(plat: Platform) -> tuple[str, str]:
    task_id = supported_tasks(plat)[0]
    return task_id, plat.config_names(task_id)[0]


# ---------------------------------------------------------------------------- identity and tables


@pytest.mark.parametrize("name", NAMES)
def test_identity_and_configuration(name):
    plat = platform(name)
    assert plat.name == name and plat.title and plat.kernel_language
    assert plat.kernel_suffix.startswith(".") and plat.code_fence
    assert plat.numerics in FORMS and plat.clock_ghz > 0 and plat.dtypes_text().strip()
    assert dataclasses.is_dataclass(plat.config) and plat.config.__dataclass_params__.frozen
    assert hash(plat.config) == hash(type(plat).default_config())
    assert get_platform(name.upper()).name == name  # names are case-insensitive


@pytest.mark.parametrize("name", NAMES)
def test_shape_tables_name_real_tasks_in_the_platforms_form(name):
    plat = platform(name)
    shapes = plat.shapes()
    assert shapes, "a platform runs at least one task"
    for task_id, table in shapes.items():
        task = get_task(task_id)
        assert task.has_form(plat.numerics), f"{task_id} has no {plat.numerics} form"
        assert table and set(table) <= set(CONFIG_NAMES)
        for config, params in table.items():
            assert all(isinstance(v, int) for v in params.values()), (task_id, config)
    for task_id, reason in plat.unsupported().items():
        get_task(task_id)
        assert reason.strip() and not plat.supports(task_id)
    unsupported = next((t.id for t in all_tasks() if not plat.supports(t)), None)
    if unsupported is not None:
        with pytest.raises(PlatformError):
            plat.params(unsupported, "C1")
    task_id, config = first_cell(plat)
    with pytest.raises(PlatformError, match="unknown configuration"):
        plat.params(task_id, "C9")
    assert plat.params(task_id, config.lower()) == plat.params(task_id, config)


@pytest.mark.parametrize("name", NAMES)
def test_prepare_is_deterministic_and_states_a_contract(name):
    plat = platform(name)
    task_id, config = first_cell(plat)
    a = plat.prepare(task_id, config, 3)
    b = plat.prepare(task_id, config, 3)
    c = plat.prepare(task_id, config, 4)
    assert (a.reference == b.reference).all() and not (a.reference == c.reference).all()
    assert a.task.id == task_id and a.config_name == config and a.seed == 3 and a.profile == "normal"
    assert tuple(a.reference.shape) == tuple(a.output_shape) and not a.poison
    assert plat.prepare(task_id, config, 3, poison=True).poison
    assert task_id in a.label() and len(a.contract_text()) > 40
    with pytest.raises(ValueError):
        plat.prepare(task_id, config, 3, profile="no_such_profile")


# ---------------------------------------------------------------------------- baselines and bounds


def _check_baseline(name: str, task_id: str, config: str) -> None:
    plat = platform(name)
    instance = plat.prepare(task_id, config, 0)
    evaluation = plat.evaluate(plat.baseline(task_id, config), instance)
    assert isinstance(evaluation, Evaluation)
    assert evaluation.correct, evaluation.format_summary()
    bound = plat.roofline(instance)
    assert bound is None or 0 < bound <= evaluation.cycles, (bound, evaluation.cycles)


@pytest.mark.parametrize(("name", "task_id", "config"), cells(slow=False))
def test_baseline_is_correct_and_above_the_roofline(name, task_id, config):
    _check_baseline(name, task_id, config)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "task_id", "config"), [c for c in cells(slow=True) if c not in cells(False)]
)
def test_every_cell_baseline_is_correct_and_above_the_roofline(name, task_id, config):
    _check_baseline(name, task_id, config)


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", NAMES)
def test_garbage_source_gives_diagnostics_not_exceptions(name):
    plat = platform(name)
    task_id, config = first_cell(plat)
    instance = plat.prepare(task_id, config, 0)
    for source in GARBAGE + [plat.scripted_kernel("broken_syntax", task_id, config)]:
        built = plat.build(source)
        assert isinstance(built, BuildResult)
        if not built.ok:
            assert built.errors and all(d.message for d in built.errors)
        evaluation = plat.evaluate(source, instance)
        assert not evaluation.correct
    broken = plat.build(plat.scripted_kernel("broken_syntax", task_id, config))
    assert not broken.ok and all(d.line >= 0 for d in broken.diagnostics)


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_kernel_fails_and_the_diff_says_where(name):
    plat = platform(name)
    task_id, config = first_cell(plat)
    instance = plat.prepare(task_id, config, 0)
    evaluation = plat.evaluate(plat.scripted_kernel("broken_wrong", task_id, config), instance)
    assert evaluation.ok and not evaluation.correct and evaluation.match_rate < 1.0
    assert evaluation.diff is not None and "mismatched" in evaluation.format_rows()
    json.dumps(evaluation.to_dict())  # results must serialise


# ---------------------------------------------------------------------------- scoring


@pytest.mark.parametrize("name", NAMES)
def test_hidden_scoring_poisons_memory(name):
    plat = platform(name)
    task_id, config = first_cell(plat)
    cheat = plat.scripted_kernel("cheater", task_id, config)
    assert plat.evaluate(cheat, plat.prepare(task_id, config, 0)).correct  # right while memory is clean
    assert not plat.evaluate(cheat, plat.prepare(task_id, config, 0, poison=True)).correct
    report = score_kernel(
        plat, get_task(task_id), config, 0, cheat, kernel_label="best", baseline_cycles=None
    )
    assert not report.success and report.runs and all(run.poison for run in report.runs)


@pytest.mark.parametrize("name", NAMES)
def test_the_oracle_scripted_model_succeeds(name, tmp_path):
    task_id, config = first_cell(platform(name))
    result = run_episode(
        EpisodeSpec(model="scripted:oracle", platform=name, task=task_id, config=config), tmp_path
    )
    assert result.success and result.speedup == pytest.approx(1.0), result.error
    assert (tmp_path / f"best{platform(name).kernel_suffix}").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_instruction_size_and_build_keys(name):
    plat = platform(name)
    task_id, config = first_cell(plat)
    source = plat.baseline(task_id, config)
    built = plat.build(source)
    sizes = plat.instruction_size(built.program)
    assert sizes and all(isinstance(v, int) and v >= 0 for v in sizes.values())
    assert plat.build_key(source) == plat.build_key(source) != plat.build_key(source + "\n")


# ---------------------------------------------------------------------------- docs


@pytest.mark.parametrize("name", NAMES)
def test_docs_fill_the_prompt_and_are_searchable(name, tmp_path):
    plat = platform(name)
    docs = plat.docs()
    for key in ("isa", "memory_layout", "hardware", "guidance"):
        assert docs.get(key, "").strip(), f"docs lack {key}"
    task_id, config = first_cell(plat)
    box = ToolBox(plat, plat.prepare(task_id, config, 0), Workspace(tmp_path, plat.kernel_suffix))
    heading = next(line.lstrip("#").strip() for line in docs["isa"].splitlines()[1:] if line.startswith("##"))
    found = box.run("grep_docs", {"query": heading.split()[0]})
    assert not found.is_error and "No matches" not in found.content
    assert "No matches" in box.run("grep_docs", {"query": "zqxjkv_no_such_word"}).content
