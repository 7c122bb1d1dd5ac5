from __future__ import annotations

from pathlib import Path

import pytest

from kernelcraft.bench.matrix import (
    MatrixError,
    RunMatrix,
    build_specs,
    matrix_from_sources,
    sample_seed,
)


def test_defaults_give_the_one_embedded_episode(catalog):
    specs = build_specs(RunMatrix(), catalog)
    assert [(s.model, s.platform, s.task, s.config, s.sample) for s in specs] == [
        ("scripted:oracle", "plena", "silu", "C1", 0)
    ]
    assert specs[0].seed == sample_seed(0, 0)


def test_all_tasks_and_configs_keep_only_what_the_platform_supports(catalog):
    specs = build_specs(RunMatrix(tasks=["all"], configs=["all"]), catalog)
    assert len(specs) == 100  # 20 PLENA tasks x 5 configurations
    assert {s.task for s in specs}.isdisjoint({"conv2d", "depthwise_conv", "conv_block"})
    coral = build_specs(RunMatrix(platforms=["npu-c"], tasks=["all"]), catalog)
    assert "flash_attention" not in {s.task for s in coral} and "conv2d" in {s.task for s in coral}


def test_product_of_models_platforms_tasks_configs_samples(catalog):
    matrix = RunMatrix.model_validate(
        {
            "models": ["a:x", "b:y"],
            "platforms": ["plena", "npu-c"],
            "tasks": ["silu", "gemm"],
            "configs": ["C1", "C3"],
            "samples": 3,
        }
    )
    specs = build_specs(matrix, catalog)
    assert len(specs) == 2 * 2 * 2 * 2 * 3
    assert len({s.key() for s in specs}) == len(specs)


def test_named_task_is_skipped_only_where_unsupported(catalog):
    specs = build_specs(RunMatrix(platforms=["plena", "npu-c"], tasks=["flash_attention"]), catalog)
    assert {s.platform for s in specs} == {"plena"}


def test_seeds_are_deterministic_per_sample_and_shared_across_cells(catalog):
    matrix = RunMatrix.model_validate(
        {"models": ["a:x", "b:y"], "tasks": ["silu", "gemm"], "samples": 3, "seed": 7}
    )
    specs = build_specs(matrix, catalog)
    by_sample: dict[int, set[int]] = {}
    for spec in specs:
        by_sample.setdefault(spec.sample, set()).add(spec.seed)
    assert all(len(seeds) == 1 for seeds in by_sample.values())
    assert len({next(iter(s)) for s in by_sample.values()}) == 3
    assert [s.seed for s in build_specs(matrix, catalog)] == [s.seed for s in specs]
    other = build_specs(matrix.model_copy(update={"seed": 8}), catalog)
    assert [s.seed for s in other] != [s.seed for s in specs]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tasks": ["slu"]}, "unknown task 'slu' (did you mean 'silu'?)"),
        ({"tasks": ["nonsense_op"]}, "unknown task 'nonsense_op'; known tasks: silu, relu"),
        ({"configs": ["C9"]}, "unknown configuration 'C9' (task silu has C1, C2, C3, C4, C5 on plena)"),
        ({"platforms": ["tpu"]}, "unknown platform 'tpu': no task supports it"),
        ({"tasks": ["conv2d"]}, "task 'conv2d' is not supported on plena"),
        ({"tasks": ["all", "silu"]}, "task 'all' cannot be combined"),
    ],
)
def test_bad_cells_give_one_clear_line(catalog, fields, message):
    with pytest.raises(MatrixError) as info:
        build_specs(RunMatrix.model_validate(fields), catalog)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_run_file_yaml_and_toml_mean_the_same(tmp_path: Path, catalog):
    yaml_file = tmp_path / "run.yaml"
    yaml_file.write_text(
        "model:\n  - openai:gpt-5.2\n  - name: google:gemini-3-flash-preview\n"
        "    options: {thinking_level: medium}\n"
        "task: [silu, gemm]\nconfig: all\nsamples: 2\nseed: 3\niteration_cap: 9\none_shot: true\n"
        "option: {temperature: 0.5}\n"
    )
    toml_file = tmp_path / "run.toml"
    toml_file.write_text(
        'tasks = ["silu", "gemm"]\nconfigs = "all"\nsamples = 2\nseed = 3\n'
        "iteration_cap = 9\none_shot = true\n"
        "[options]\ntemperature = 0.5\n"
        '[[models]]\nname = "openai:gpt-5.2"\n'
        '[[models]]\nname = "google:gemini-3-flash-preview"\noptions = { thinking_level = "medium" }\n'
    )
    a = build_specs(matrix_from_sources(yaml_file), catalog)
    b = build_specs(matrix_from_sources(toml_file), catalog)
    assert a == b
    assert len(a) == 2 * 2 * 5 * 2
    gemini = next(s for s in a if s.model.startswith("google"))
    assert gemini.model_options == {"temperature": "0.5", "thinking_level": "medium"}
    assert gemini.iteration_cap == 9 and gemini.one_shot


def test_flags_override_the_run_file(tmp_path: Path, catalog):
    run_file = tmp_path / "run.yaml"
    run_file.write_text("tasks: [silu, gemm]\nconfigs: [C1, C2]\nsamples: 2\n")
    matrix = matrix_from_sources(run_file, {"tasks": ["relu"], "samples": None})
    specs = build_specs(matrix, catalog)
    assert {s.task for s in specs} == {"relu"} and {s.sample for s in specs} == {0, 1}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("run.yaml", "tasks: [silu\n", "is not valid YAML"),
        ("run.toml", "tasks = [", "is not valid TOML"),
        ("run.json", "{}", "must end in .yaml, .yml or .toml"),
        ("run.yaml", "- silu\n", "must hold a mapping"),
        ("run.yaml", "tasks: [silu]\nflavour: spicy\n", "unknown field 'flavour'"),
        ("run.yaml", "samples: 0\n", "samples: Input should be greater than or equal to 1"),
        ("run.yaml", "model: 'open ai'\n", "model name must be one word"),
        ("run.yaml", "model: a:b\nmodels: [c:d]\n", "give either 'model' or 'models'"),
    ],
)
def test_bad_run_files_give_one_clear_line(tmp_path: Path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(MatrixError) as info:
        matrix_from_sources(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_run_file(tmp_path: Path):
    with pytest.raises(MatrixError, match="cannot read run file"):
        matrix_from_sources(tmp_path / "absent.yaml")


def test_a_catalogue_that_raises_for_unknown_platforms(catalog):
    class StrictTask:
        id, name, level, category = "silu", "SiLU", 1, "activation"

    def configs(task_id: str, platform: str) -> list[str]:
        if platform != "plena":
            raise ValueError(f"unknown platform {platform!r}")
        return ["C1"]

    strict = type(catalog)(tasks=(StrictTask(),), version="v", configs=configs)
    assert len(build_specs(RunMatrix(), strict)) == 1
    with pytest.raises(MatrixError, match="unknown platform 'npu-c': no task supports it"):
        build_specs(RunMatrix(platforms=["npu-c"]), strict)
