"""What a model can send the case-study modes: every bad proposal gets a clear error result and
nothing is half-recorded; a template's generated kernels are bounded like written ones."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kernelcraft.agent.session import Session
from kernelcraft.agent.tools import MAX_CODE_BYTES
from kernelcraft.cli.main import app
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.modes.scripted import VECTOR_AND


@pytest.fixture(scope="module")
def codesign(tmp_path_factory):
    folder = tmp_path_factory.mktemp("codesign")
    spec = EpisodeSpec(model="custom", task="get_transfer_index", config="C1", mode="codesign")
    session = Session(spec, folder)
    session.reset()
    return session, folder


def propose(session: Session, **changes) -> str:
    result = session.run_tool("propose_instruction", {**VECTOR_AND, **changes})
    return result.content


def renamed(operands, **names):
    return [{**o, "name": names.get(o["name"], o["name"])} for o in VECTOR_AND["operands"]]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mnemonic": "V_" + "A" * 1_000_000}, "the mnemonic is at most 32 characters"),
        ({"mnemonic": "ÄÖÜ_X"}, "the mnemonic must be ASCII letters, digits and underscores"),
        ({"semantics": "x" * 1_000_000}, "the semantics are at most 4000 characters"),
        ({"cost": 10**30}, "the cost is at most 1000000 cycles"),
        ({"operands": renamed(VECTOR_AND["operands"], vd="v d, x")}, "operand 1: the name must be"),
        ({"operands": renamed(VECTOR_AND["operands"], va="n" * 100_000)}, "operand 2: the name must be"),
        (
            {"operands": [{**o, "doc": "d" * 1_000_000} for o in VECTOR_AND["operands"]]},
            "operand vd: the doc is at most 500 characters",
        ),
    ],
    ids=[
        "1MB mnemonic",
        "non-ASCII mnemonic",
        "1MB semantics",
        "huge cost",
        "name with spaces",
        "100kB name",
        "1MB operand doc",
    ],
)
def test_oversized_or_malformed_proposals_are_refused_and_nothing_is_recorded(codesign, changes, expected):
    session, folder = codesign
    before = len(session.toolbox.proposals)
    text = propose(session, **changes)
    assert text.startswith("Error: ") and expected in text, text[:300]
    assert "internal error" not in text
    assert len(session.toolbox.proposals) == before
    records = folder / "proposals.jsonl"
    lines = records.read_text().splitlines() if records.exists() else []
    assert len(lines) == before


def test_a_recorded_proposal_has_its_files_and_its_number(codesign):
    session, folder = codesign
    text = propose(session, mnemonic="v_and_ok")
    assert text.startswith("success: true"), text
    number = session.toolbox.proposals[-1].number
    records = [json.loads(line) for line in (folder / "proposals.jsonl").read_text().splitlines()]
    assert [r["number"] for r in records] == list(range(1, number + 1))
    assert (folder / "proposals" / f"{number:02d}_V_AND_OK.py").exists()


def test_generated_kernels_are_bounded_like_written_ones(tmp_path):
    session = Session(EpisodeSpec(model="custom", task="ffn", config="C1", mode="template"), tmp_path)
    session.reset()
    lines = MAX_CODE_BYTES // len("S_ADDI_INT gp1, gp1, 1\n") + 10
    code = f"def generate(config_name, hw):\n    return 'S_ADDI_INT gp1, gp1, 1\\n' * {lines}\n"
    session.run_tool("write_code", {"code": code})
    text = session.run_tool("check_syntax", {}).content
    assert text.startswith("success: false")
    assert f"C1: the generated kernel is {lines * 23} bytes; kernels are limited to {MAX_CODE_BYTES}" in text
    assert "the template raised" not in text  # the harness refused it; the template raised nothing
    assert "| C1 | NO |" in text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--mode", "bogus", "-t", "relu"], "unknown mode 'bogus'"),
        (["--mode", "template", "-p", "boom", "-t", "vvadd"], "boom has no template for 'vvadd'"),
        (
            ["--mode", "codesign", "-p", "boom", "-t", "vvadd"],
            "codesign mode needs instruction extensions to withhold; boom defines none",
        ),
        (["--mode", "template", "-p", "boom", "-t", "all"], "no task can run in this mode"),
        (["--mode", "template", "-p", "plena", "-t", "ffn", "-c", "C9"], "unknown configuration 'C9'"),
    ],
    ids=["unknown mode", "no template", "no extensions", "no task at all", "unknown config"],
)
def test_a_mode_the_target_cannot_run_is_one_line_and_exit_2(tmp_path, args, expected):
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", "-m", "scripted:oracle", *args, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and expected in result.output, result.output
    assert len(result.output.strip().splitlines()) <= 2  # one message (rich may wrap it)
    assert not out.exists()


LOOPS_WHEN_COMPARED = (  # well formed on the 8 smoke trials, then spins: only comparison sees it
    "import numpy as np\nCALLS = [0]\n\ndef reference(a, b):\n    CALLS[0] += 1\n"
    "    while CALLS[0] > 8:\n        pass\n    return a\n"
)


def test_slow_references_cannot_stall_the_comparison_at_the_end(tmp_path, monkeypatch):
    import time

    from kernelcraft.modes import codesign
    from kernelcraft.sandbox import SandboxLimits

    monkeypatch.setattr(codesign, "COMPARE_BUDGET_S", 4.0)
    monkeypatch.setattr(codesign, "COMPARE_LIMITS", SandboxLimits(cpu_s=2, wall_s=3))
    session = Session(
        EpisodeSpec(model="custom", task="get_transfer_index", config="C1", mode="codesign"), tmp_path
    )
    session.reset()
    selector = {  # the signature of S_SELECT_INT, so each is compared with it
        "operands": [
            {"name": "vd", "kind": "int_vector", "access": "write"},
            {"name": "va", "kind": "int_vector", "access": "read"},
            {"name": "vb", "kind": "int_vector", "access": "read"},
            {"name": "vm", "kind": "vector", "access": "read"},
        ],
        "reference": LOOPS_WHEN_COMPARED.replace("(a, b)", "(a, b, m)"),
    }
    for n in range(4):
        assert propose(session, mnemonic=f"S_SPIN{n}", **selector).startswith("success: true")
    started = time.monotonic()
    report = session.finish()
    assert time.monotonic() - started < 12.0
    errors = [m.get("error", "") for p in report.proposals for m in p["matches"]]
    assert "cpu_time" in errors[0] or "timeout" in errors[0]
    assert any("not compared: the comparison budget" in e for e in errors[1:]), errors
    assert report.matched == {}


def test_a_reference_that_prints_past_the_file_limit_is_told_so(codesign):
    session, _ = codesign
    chatty = (
        "import numpy as np\n\ndef reference(a, b):\n"
        "    print('x' * (64 << 20))\n    return ((a != 0) & (b != 0)).astype(float)\n"
    )
    text = propose(session, mnemonic="V_AND_LOUD", reference=chatty)
    assert text.startswith("success: false")
    assert "more output or file data than the sandbox allows" in text


def recorded_lines(folder) -> int:
    log = folder / "proposals.jsonl"
    return len(log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ("return (2 * a + 2 * b + 1) / 2", ".5 at element 0"),  # a fraction where an index belongs
        ("out = (a + b).astype(float)\n    out[3] = float('nan')\n    return out", "nan at element 3"),
        ("out = (a + b).astype(float)\n    out[0] = float('inf')\n    return out", "inf at element 0"),
    ],
    ids=["fraction", "NaN", "infinity"],
)
def test_an_integer_operand_refuses_values_that_are_not_whole_numbers(codesign, body, shown):
    session, folder = codesign
    before = recorded_lines(folder)
    adder = {
        "operands": [
            {"name": "vd", "kind": "int_vector", "access": "write"},
            {"name": "va", "kind": "int_vector", "access": "read"},
            {"name": "vb", "kind": "int_vector", "access": "read"},
        ],
        "reference": f"import numpy as np\n\ndef reference(a, b):\n    {body}\n",
    }
    text = propose(session, mnemonic="V_ADD_HALVES", **adder)
    assert text.startswith("success: false"), text
    assert "vd is an integer operand" in text and shown in text, text
    after = recorded_lines(folder)
    assert after == before


def test_a_whole_float_is_accepted_for_an_integer_operand(codesign):
    session, _ = codesign
    adder = {
        "operands": [
            {"name": "vd", "kind": "int_vector", "access": "write"},
            {"name": "va", "kind": "int_vector", "access": "read"},
            {"name": "vb", "kind": "int_vector", "access": "read"},
        ],
        "reference": "import numpy as np\n\ndef reference(a, b):\n    return (a + b).astype(float)\n",
    }
    assert propose(session, mnemonic="V_ADD_WHOLE", **adder).startswith("success: true")
