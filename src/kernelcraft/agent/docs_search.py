"""Search the platform's Markdown docs the way grep_docs does: by section, ranked by words.

Docs are split at every Markdown heading so a hit returns a whole, self-contained section
(an instruction's entry, a layout rule) with the headings above it as context, rather than
isolated lines a model cannot act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_WORD = re.compile(r"[A-Za-z0-9_.]+")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Section:
    doc: str  # which document, e.g. "isa"
    path: tuple[str, ...]  # headings from the top of the document down to this section
    body: str  # the heading line and the text under it, up to the next heading

    @property
    def title(self) -> str:
        return " > ".join((self.doc, *self.path))


def split_sections(doc: str, text: str) -> list[Section]:
    """Sections of one Markdown document; headings inside code fences are ignored."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(doc, tuple(title for _, title in stack), body))

    for line in text.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            lines = []
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2)))
        lines.append(line)
    flush()
    return sections


# Words that carry no meaning in a documentation search; dropped unless the query is only these.
STOPWORDS = frozenset(
    "a an and are as at be by do does for from how i in is it of on or the to use using what when "
    "where which with".split()
)


MAX_QUERY_WORDS = 16  # distinct words searched; a longer query is cut, so search stays linear


def query_words(query: str) -> list[str]:
    """Distinct lower-case words of a query, in order (at most MAX_QUERY_WORDS); trailing dots
    and stopwords dropped."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        word = word.strip(".")
        if word:
            seen.setdefault(word, None)
    meaningful = [w for w in seen if w not in STOPWORDS]
    return (meaningful or list(seen))[:MAX_QUERY_WORDS]


def _pattern(word: str) -> re.Pattern[str]:
    # A word matches at the start of a word or of an underscore-separated part: "loop" finds
    # "loops" and "C_LOOP_START", "V_ADD" finds "V_ADD_VV", but "sum" does not find "assume".
    return re.compile(r"(?<![a-z0-9])" + re.escape(word))


def _score(section: Section, patterns: dict[str, re.Pattern[str]], phrase: str) -> tuple[int, float]:
    body = section.body.lower()
    heading = " ".join(section.path).lower()
    counts = {w: len(p.findall(body)) for w, p in patterns.items()}
    in_heading = {w for w, p in patterns.items() if p.search(heading)}
    matched = [w for w in patterns if counts[w] or w in in_heading]
    if not matched:
        return 0, 0.0
    score = 10.0 * len(matched) + 4.0 * len(in_heading)
    score += min(sum(counts.values()), 10) * 0.3
    if len(patterns) > 1 and phrase in body:
        score += 15.0
    # A query naming a section exactly ("M_MM") wants that section, not one that extends the
    # name ("M_MM_WO"), which the prefix patterns above match just as well.
    if section.path and section.path[-1].lower() in patterns:
        score += 20.0
    # Short, focused sections beat long ones that mention everything once.
    return len(matched), score / (1.0 + len(body) / 8000.0)


def search(sections: list[Section], query: str, limit: int = 4, partial: bool = False) -> list[Section]:
    """Best sections for the query.

    A section must contain more than half of the query's words (all of them for one or two
    words), or with `partial` at least one; among those, more words, words in headings and the
    exact phrase rank higher.
    """
    words = query_words(query)
    if not words:
        return []
    needed = 1 if partial else len(words) // 2 + 1
    patterns = {w: _pattern(w) for w in words}
    phrase = " ".join(query.lower().split())
    scored = [(s, *_score(s, patterns, phrase)) for s in sections]
    kept = [(s, matched, score) for s, matched, score in scored if matched >= needed]
    kept.sort(key=lambda item: (-item[1], -item[2]))
    return [section for section, _, _ in kept[:limit]]
