"""grep_docs for an instruction's exact name returns that instruction's entry first."""

from __future__ import annotations

import pytest

from kernelcraft.agent.docs_search import search, split_sections
from kernelcraft.platforms.registry import get_platform


@pytest.fixture(scope="module")
def sections():
    docs = get_platform("plena").docs()
    return [s for name, text in docs.items() for s in split_sections(name, text)]


@pytest.mark.parametrize("query", ["M_MM", "m_mm", "M_MV", "M_BMM", "M_MM_WO"])
def test_exact_instruction_name_ranks_its_own_section_first(sections, query):
    best = search(sections, query, limit=4)[0]
    assert best.path[-1] == query.upper()
