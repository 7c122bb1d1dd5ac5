"""Splitting Markdown docs into sections and ranking them for grep_docs."""

from __future__ import annotations

from kernelcraft.agent.docs_search import query_words, search, split_sections

DOC = """# Top

intro text

## Loops

C_LOOP_START starts a loop.

```asm
# not a heading inside a fence
C_LOOP_END gp1
```

### Nested loops

Use distinct counter registers.

## Memory

VRAM rows hold VLEN elements.
"""


def test_sections_carry_their_heading_path_and_ignore_fenced_hashes():
    sections = split_sections("isa", DOC)
    assert [s.path for s in sections] == [
        ("Top",),
        ("Top", "Loops"),
        ("Top", "Loops", "Nested loops"),
        ("Top", "Memory"),
    ]
    assert "# not a heading inside a fence" in sections[1].body
    assert sections[2].title == "isa > Top > Loops > Nested loops"


def test_query_words_are_lowercased_distinct_and_keep_opcode_names():
    assert query_words("C_LOOP_START, loop loop.") == ["c_loop_start", "loop"]
    assert query_words("  ,;  ") == []


def test_search_prefers_heading_and_all_word_matches():
    sections = split_sections("isa", DOC)
    assert search(sections, "nested loops")[0].path[-1] == "Nested loops"
    assert search(sections, "VRAM")[0].path[-1] == "Memory"
    assert search(sections, "tensor cores") == []
    assert len(search(sections, "loop", limit=1)) == 1
