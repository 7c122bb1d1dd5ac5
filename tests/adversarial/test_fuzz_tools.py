"""Any Unicode and any JSON a model can send gets a result from every tool, natively and over MCP."""

from __future__ import annotations

import json

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from kernelcraft.agent.mcp_server import build_server, create_session, scrub_json_line
from kernelcraft.agent.messages import ToolCall
from kernelcraft.agent.session import Session
from kernelcraft.agent.tools import TOOL_NAMES
from kernelcraft.agent.transcript import Transcript, read_transcript
from kernelcraft.episodes import EpisodeSpec

# Every code point, lone surrogates included: what a provider's JSON decoder can hand over.
ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=300)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
ARGUMENTS = st.one_of(
    st.none(),
    JSON_VALUES,
    st.dictionaries(st.sampled_from(["code", "query", "x"]) | ANY_TEXT, JSON_VALUES, max_size=3),
    st.fixed_dictionaries({"code": ANY_TEXT}),
    st.fixed_dictionaries({"query": ANY_TEXT}),
)
NAMES = st.sampled_from(TOOL_NAMES) | ANY_TEXT


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    s = Session(EpisodeSpec(model="fuzz", task="relu", config="C1"), tmp_path_factory.mktemp("fuzz"))
    s.reset()
    return s


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, arguments=ARGUMENTS, raw=ANY_TEXT)
def test_every_call_gets_a_result_and_the_transcript_stays_readable(
    session, tmp_path_factory, name, arguments, raw
):
    call = ToolCall(
        "fuzz", name, arguments if isinstance(arguments, dict) or arguments is None else arguments, raw
    )
    result = session.step(call, iteration=1)
    assert isinstance(result.content, str) and result.content
    result.content.encode("utf-8")  # writable anywhere
    path = tmp_path_factory.mktemp("t") / "transcript.jsonl"
    with Transcript(path) as transcript:
        transcript.write("tool_call", name=name, arguments=arguments, raw_arguments=raw)
        transcript.write("tool_result", name=result.name, text=result.content)
    path.read_bytes().decode("utf-8")
    assert [e["type"] for e in read_transcript(path)] == ["tool_call", "tool_result"]


@settings(max_examples=60, deadline=None)
@given(value=JSON_VALUES)
def test_json_lines_with_any_text_parse_after_scrubbing(value):
    line = json.dumps({"jsonrpc": "2.0", "id": 1, "params": value}) + "\n"
    cleaned = scrub_json_line(line)
    decoded = json.loads(cleaned)
    json.dumps(decoded, ensure_ascii=False).encode("utf-8")


def test_mcp_answers_fuzzed_calls(tmp_path):
    """A sample of the fuzzed calls through the official MCP client: every request is answered."""
    session = create_session("plena", "relu", "C1", 0, tmp_path / "ws")
    cases = [
        ("write_code", {"code": "\u202e\u0000\x7f" * 50}),
        ("grep_docs", {"query": "\U0001f600 V_EXP_V"}),
        ("grep_docs", {"query": 12}),
        ("check_syntax", {"extra": [1, {"a": None}]}),
        ("view_output", {}),
        ("run_evaluation", {}),
        ("get_instruction_size", {}),
        ("nope", {"\u0000": "\uffff"}),
    ]

    async def main():
        with anyio.fail_after(120):
            async with Client(build_server(session)) as client:
                for name, arguments in cases:
                    result = await client.call_tool(name, arguments)
                    assert result.content and result.content[0].text

    anyio.run(main)
