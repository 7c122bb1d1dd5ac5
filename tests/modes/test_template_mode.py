"""Template mode: templates reproduce the compiler, run only in the sandbox, and a scripted model
improves the FFN template's instruction count at every configuration it is scored at."""

from __future__ import annotations

import json

import pytest

from kernelcraft.agent.episode import run_episode
from kernelcraft.agent.session import Session
from kernelcraft.bench.matrix import RunMatrix, build_specs, load_task_catalog
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.modes import ModeError
from kernelcraft.modes.scripted import special_case_template
from kernelcraft.modes.template import TemplateLowerer
from kernelcraft.platforms.plena.template_edits import improve_template
from kernelcraft.platforms.registry import get_platform
from kernelcraft.sandbox import SandboxLimits

PLENA = get_platform("plena")
FFN = PLENA.templates()["ffn"]


def lower_in_process(source: str, config: str) -> str:
    namespace: dict = {}
    exec(compile(source, "template.py", "exec"), namespace)
    return namespace["generate"](config, PLENA.config)


def static_counts(source: str, configs=("C1", "C2")) -> dict[str, int]:
    return {c: PLENA.build(lower_in_process(source, c)).size for c in configs}


ORIGINAL = static_counts(FFN.source)
IMPROVED = static_counts(improve_template(FFN.source))


def test_the_improver_edit_saves_instructions_at_every_configuration():
    assert all(IMPROVED[c] < ORIGINAL[c] for c in ORIGINAL), (IMPROVED, ORIGINAL)


def test_the_ffn_template_is_the_compiler_at_every_configuration():
    for config in PLENA.config_names("ffn"):
        assert lower_in_process(FFN.source, config) == PLENA.baseline("ffn", config)


def test_the_template_imports_only_the_emitter_api():
    imports = [line for line in FFN.source.splitlines() if line.startswith(("import ", "from "))]
    modules = {line.split()[1] for line in imports}
    assert modules <= {"__future__", "contextlib", "dataclasses", "kernelcraft.platforms.plena.template_api"}
    assert FFN.allowed_imports == ("kernelcraft.platforms.plena.template_api",)
    assert "class Asm" in FFN.api_doc and "Asm.loop" in FFN.api_doc


@pytest.mark.slow
def test_every_template_is_the_compiler_at_every_configuration():
    for name, template in PLENA.templates().items():
        for config in PLENA.config_names(name):
            try:
                expected = PLENA.baseline(name, config)
            except NotImplementedError:
                with pytest.raises(NotImplementedError):
                    lower_in_process(template.source, config)
                continue
            assert lower_in_process(template.source, config) == expected, (name, config)


def lowerer(configs, **limits) -> TemplateLowerer:
    return TemplateLowerer(PLENA, FFN, configs, SandboxLimits(**limits) if limits else SandboxLimits())


def test_lowering_runs_in_the_sandbox_and_reports_each_configuration():
    lowering = lowerer(["C1", "C2"]).lower(special_case_template(FFN.source, "C2"))
    assert lowering.failure is None
    c1, c2 = lowering.kernels["C1"], lowering.kernels["C2"]
    assert c1.source is None and c1.error == "AssertionError: this template is tuned for C2 only"
    assert "template.py" in c1.traceback and "assert config_name == 'C2'" in c1.traceback
    assert c2.source == PLENA.baseline("ffn", "C2") and c2.build.ok


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("import os\n", "import of 'os' is not allowed"),
        ("import socket\n", "import of 'socket' is not allowed"),
        ("open('/etc/hostname')\n", "name 'open' is not defined"),
        ("x = [0] * (3 << 30)\n", "MemoryError"),
    ],
)
def test_a_template_that_tries_to_escape_gets_a_clear_failure(snippet, expected):
    lowering = lowerer(["C1"]).lower(FFN.source + snippet)
    assert lowering.failure is not None and expected in lowering.failure


def test_a_template_that_never_finishes_is_stopped():
    loop = "    while True:\n        pass\n"
    source = FFN.source.replace('    """Entry point:', loop + '    """Entry point:', 1)
    lowering = lowerer(["C1"], cpu_s=1, wall_s=20).lower(source)
    assert lowering.failure is not None and "CPU time" in lowering.failure


def tool_text(session: Session, name: str, **args) -> str:
    return session.run_tool(name, args).content


def test_template_tools_compare_every_configuration_with_the_original(tmp_path):
    spec = EpisodeSpec(model="custom", task="ffn", config="C1,C2", mode="template")
    session = Session(spec, tmp_path)
    start = session.reset()
    assert [t.name for t in start.tools][:2] == ["write_code", "check_syntax"] and len(start.tools) == 6
    assert "configuration: C1,C2" in start.task_prompt and "```python" in start.task_prompt
    assert "Template emitter API" in start.system_prompt
    assert tool_text(session, "check_syntax").startswith("Error: No template saved yet")
    assert tool_text(session, "write_code", code=improve_template(FFN.source)).startswith("success: true")
    checked = tool_text(session, "check_syntax")
    for config in ("C1", "C2"):
        assert f"| {config} | yes | yes | {IMPROVED[config]} ({ORIGINAL[config]}) |" in checked
    evaluated = tool_text(session, "run_evaluation")
    change = ((IMPROVED["C1"] / ORIGINAL["C1"]) * (IMPROVED["C2"] / ORIGINAL["C2"])) ** 0.5 - 1
    assert "general: yes" in evaluated and f"static instructions: {100 * change:+.1f}%" in evaluated
    assert f"C1: total {IMPROVED['C1']} ({ORIGINAL['C1']})" in tool_text(session, "get_instruction_size")
    assert "configuration C2: correct" in tool_text(session, "view_output", config="C2")
    assert "=== template_api" in tool_text(session, "grep_docs", query="hardware loop Asm.loop")
    record = json.loads((tmp_path / "evaluations.jsonl").read_text().splitlines()[-1])
    assert record["correct"] and record["per_config"]["C1"]["instructions"] == IMPROVED["C1"]
    assert (tmp_path / "templates" / "eval_001.py").read_text() == improve_template(FFN.source)


def test_the_template_system_prompt_fills_every_placeholder_and_names_the_emitter_api(tmp_path):
    start = Session(EpisodeSpec(model="custom", task="ffn", config="C1", mode="template"), tmp_path).reset()
    assert "${" not in start.system_prompt and "${" not in start.task_prompt
    assert f"# The {PLENA.title} {PLENA.kind}" in start.system_prompt
    grep = next(t for t in start.tools if t.name == "grep_docs")
    assert "emitter API" in grep.description and "emitter API" in start.system_prompt.split("# The ")[0]


def test_an_error_every_configuration_shares_is_shown_once(tmp_path):
    session = Session(EpisodeSpec(model="custom", task="ffn", config="C1,C2", mode="template"), tmp_path)
    session.reset()
    entry = "    return _GENERATOR(config_name, hw)"
    broken = FFN.source.replace(entry, entry + " + nope")
    assert broken != FFN.source
    tool_text(session, "write_code", code=broken)
    checked = tool_text(session, "check_syntax")
    assert "C1: the template raised NameError: name 'nope' is not defined" in checked
    assert "C2: the template raised the same error as C1" in checked
    assert checked.count("in generate") == 1


def test_the_scripted_improver_solves_a_template_episode(tmp_path):
    spec = EpisodeSpec(model="scripted:template_improver", task="ffn", config="C1,C2", mode="template")
    result = run_episode(spec, tmp_path)
    assert result.success and result.end_reason == "model_stopped" and result.mode == "template"
    metrics = result.mode_metrics
    assert metrics["general"] and metrics["configs"] == ["C1", "C2"]
    ratios = [IMPROVED[c] / ORIGINAL[c] for c in ("C1", "C2")]
    assert metrics["instruction_change"] == pytest.approx((ratios[0] * ratios[1]) ** 0.5 - 1)
    for config, entry in metrics["per_config"].items():
        assert entry["success"] and entry["instructions"] < entry["baseline_instructions"], config
        assert entry["cycles"] <= entry["baseline_cycles"]
    assert result.speedup is not None and result.speedup >= 1.0
    scoring = json.loads((tmp_path / "scoring.json").read_text())
    labels = [run["label"] for run in scoring["runs"]]
    assert labels == [f"{c} {r}" for c in ("C1", "C2") for r in ("visible", "hidden-1", "hidden-2")]
    assert len(scoring["runs"]) == 6 and all(run["correct"] for run in scoring["runs"])
    assert (tmp_path / "best_template.py").read_text() == improve_template(FFN.source)
    assert (tmp_path / "best_kernels" / "C2.s").exists()


def test_a_special_cased_template_is_reported_as_not_general(tmp_path):
    spec = EpisodeSpec(model="scripted:template_special_case", task="ffn", config="C1,C2", mode="template")
    result = run_episode(spec, tmp_path)
    assert not result.success and not result.mode_metrics["general"]
    assert result.mode_metrics["notes"] == ["not general: the best template was correct only at C2"]


def test_template_mode_needs_a_template(tmp_path):
    with pytest.raises(ModeError, match="no template for 'conv2d'"):
        Session(EpisodeSpec(model="custom", task="conv2d", config="all", mode="template"), tmp_path).reset()


def test_the_run_matrix_makes_one_template_episode_per_task():
    catalog = load_task_catalog()
    everything = build_specs(RunMatrix(tasks=["ffn", "gemm"], configs=["all"], mode="template"), catalog)
    cells = [(s.task, s.config, s.mode) for s in everything]
    assert cells == [("ffn", "all", "template"), ("gemm", "all", "template")]
    some = build_specs(RunMatrix(tasks=["ffn"], configs=["C1", "C3"], mode="template"), catalog)
    assert [s.config for s in some] == ["C1,C3"]
    assert some[0].key() == "scripted_template_improver/plena/template/ffn/C1_C3/s0"
    kernel = build_specs(RunMatrix(tasks=["ffn"], configs=["C1"]), catalog)[0]
    assert kernel.key() == "scripted_oracle/plena/ffn/C1/s0"


@pytest.mark.parametrize(
    ("mode", "model"),
    [
        ("kernel", "scripted:oracle"),
        ("template", "scripted:template_improver"),
        ("codesign", "scripted:codesign_proposer"),
    ],
)
def test_a_run_without_a_model_plays_the_modes_scripted_model(mode, model):
    assert RunMatrix(mode=mode).model_names() == [model]
    assert RunMatrix(mode=mode, models=["scripted:cheater"]).model_names() == ["scripted:cheater"]


def test_the_template_command_of_the_readme_succeeds_without_a_key(tmp_path):
    from typer.testing import CliRunner

    from kernelcraft.cli.main import app

    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "--mode", "template", "-t", "ffn", "-c", "C1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    (found,) = out.glob("episodes/**/result.json")
    episode = json.loads(found.read_text())
    assert episode["success"] and episode["mode_metrics"]["general"]
