"""Codesign mode: proposals are recorded through the sandbox, compared with the withheld
instructions by behaviour whatever their names and operand order, and a scripted model that
proposes equivalents of withheld instructions is credited with them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kernelcraft.agent.episode import run_episode
from kernelcraft.agent.session import Session
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.modes.scripted import MASKED_TOPK, RUNNING_ARGMAX, VECTOR_AND
from kernelcraft.platforms.behaviour import Behaviour, compare, parse_operands, run_reference
from kernelcraft.platforms.registry import get_platform

PLENA = get_platform("plena")
WITHHELD = {b.mnemonic: b for b in PLENA.instruction_extensions()["dllm"].behaviours}
VLEN = PLENA.config.vlen


def trusted(proposal: dict, fn) -> tuple[Behaviour, object]:
    behaviour = Behaviour(proposal["mnemonic"], parse_operands(proposal["operands"]), fn)
    return behaviour, lambda inputs: run_reference(behaviour, inputs, VLEN)


def masked_topk(k, candidates, scores):
    idx = np.flatnonzero(candidates != 0)
    out = np.zeros(len(scores))
    out[idx[np.argsort(-scores[idx], kind="stable")][:k]] = 1.0
    return out


def test_an_equivalent_with_other_names_and_order_matches_by_behaviour():
    behaviour, run = trusted(MASKED_TOPK, masked_topk)
    match = compare(behaviour, run, WITHHELD["V_TOPK_MASK"], VLEN)
    assert match.equivalent and match.pairing == {"gk": "rs3", "vcand": "rs2", "vscore": "rs1", "vd": "rd"}


def test_near_misses_do_not_match():
    unstable = trusted(MASKED_TOPK, lambda k, c, s: masked_topk(k, c, -s))  # smallest instead of largest
    assert compare(*unstable, WITHHELD["V_TOPK_MASK"], VLEN).agreement < 0.9

    def argmax_ties_to_later(best, row, base, where):
        top = row.max()
        return (float(top), int(base + np.argmax(row))) if top >= best else (best, where)

    loose = compare(*trusted(RUNNING_ARGMAX, argmax_ties_to_later), WITHHELD["V_RED_MAX_IDX"], VLEN)
    assert 0.5 < loose.agreement < 1.0  # differs only where the row's maximum ties the running one
    assert compare(*trusted(VECTOR_AND, lambda a, b: a * b), WITHHELD["V_TOPK_MASK"], VLEN) is None


def tool(session: Session, name: str, **args) -> str:
    return session.run_tool(name, args).content


@pytest.fixture()
def session(tmp_path):
    spec = EpisodeSpec(model="custom", task="get_transfer_index", config="C1", mode="codesign")
    session = Session(spec, tmp_path)
    start = session.reset()
    assert "propose_instruction" in [t.name for t in start.tools]
    assert "# ISA co-design" in start.system_prompt
    return session


def test_proposals_are_checked_in_the_sandbox_before_they_are_recorded(session, tmp_path):
    bad_kind = {**VECTOR_AND, "operands": [{"name": "vd", "kind": "matrix", "access": "write"}]}
    assert "kind must be one of" in tool(session, "propose_instruction", **bad_kind)
    escaping = {**VECTOR_AND, "reference": "import os\ndef reference(a, b):\n    return a\n"}
    assert "import of 'os' is not allowed" in tool(session, "propose_instruction", **escaping)
    wrong_size = {**VECTOR_AND, "reference": "def reference(a, b):\n    return a[:3]\n"}
    assert "must be 64 values, got 3" in tool(session, "propose_instruction", **wrong_size)
    taken = {**VECTOR_AND, "mnemonic": "v_add_vv"}  # the base ISA's name, with other semantics
    assert "V_ADD_VV is already a PLENA instruction" in tool(session, "propose_instruction", **taken)
    costly = {**VECTOR_AND, "cost": "1"}
    assert "must be an integer, not string" in tool(session, "propose_instruction", **costly)
    assert not (tmp_path / "proposals.jsonl").exists()
    assert tool(session, "propose_instruction", **VECTOR_AND).startswith("success: true\nProposal 1 recorded")
    record = json.loads((tmp_path / "proposals.jsonl").read_text())
    assert record["mnemonic"] == "V_AND_VV" and record["cost"] == 1
    withheld_name = {**VECTOR_AND, "mnemonic": "V_TOPK_MASK"}  # withheld, so not in this session's ISA
    assert tool(session, "propose_instruction", **withheld_name).startswith("success: true\nProposal 2")


def test_the_scripted_proposer_is_credited_with_two_withheld_instructions(tmp_path):
    spec = EpisodeSpec(
        model="scripted:codesign_proposer", task="get_transfer_index", config="C1", mode="codesign"
    )
    result = run_episode(spec, tmp_path)
    assert result.success and result.mode == "codesign"  # the base-ISA kernel, scored as usual
    metrics = result.mode_metrics
    assert metrics["withheld"] == ["V_RED_MAX_IDX", "V_TOPK_MASK", "S_SELECT_INT"]
    assert metrics["matched"] == {"V_TOPK_MASK": 1, "V_RED_MAX_IDX": 2}
    assert metrics["proposals"][2]["matches"] == []  # no withheld instruction has its signature
    transcript = (tmp_path / "transcript.jsonl").read_text()
    assert "No matches for 'argmax'." in transcript


def test_nothing_is_withheld_when_the_configuration_includes_the_set(tmp_path):
    spec = EpisodeSpec(
        model="custom", platform="plena+dllm", task="get_transfer_index", config="C1", mode="codesign"
    )
    session = Session(spec, tmp_path)
    session.reset()
    assert "V_TOPK_MASK" in session.run_tool("grep_docs", {"query": "V_TOPK_MASK"}).content
    report = session.finish()
    assert report.withheld == [] and report.enabled_extensions == ["dllm"]


def test_the_docs_state_the_proposal_sandbox_limits():
    from pathlib import Path

    from kernelcraft.modes.codesign import CodesignToolBox

    limits = CodesignToolBox.sandbox_limits
    text = " ".join((Path(__file__).parents[2] / "docs" / "modes.md").read_text().split())
    gib = limits.memory_bytes / (1 << 30)
    assert f"{limits.cpu_s} s of CPU time, {limits.wall_s:g} s of wall time, {gib:g} GiB" in text
