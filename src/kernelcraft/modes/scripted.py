"""Scripted models for the modes: fixed plays that exercise template and codesign episodes
end to end without a network (see agent/providers/scripted.py for the kernel-mode ones).

- template_improver: evaluates the original template, then the platform's general
  improvement of it (TemplateSpec.improve), which lowers to fewer instructions.
- template_special_case: a template that only accepts one configuration (reported as not general).
"""

from __future__ import annotations

import re
from typing import Any

from kernelcraft.agent.messages import Message

_TEMPLATE_FENCE = re.compile(r"## The original template \(`template.py`\)\s*```python\n(.*?)\n```", re.DOTALL)


def original_template(messages: list[Message]) -> str:
    text = next((m.text for m in messages if m.role == "user"), "")
    found = _TEMPLATE_FENCE.search(text)
    if found is None:
        raise ValueError("the task prompt has no original template")
    return found.group(1) + "\n"


def special_case_template(source: str, config: str = "C2") -> str:
    """The original with an assertion that only one configuration is ever asked for."""
    entry = source.find("\ndef generate(")
    body = source.find("\n    return ", entry)
    if entry < 0 or body < 0:
        return source
    guard = f"\n    assert config_name == {config!r}, 'this template is tuned for {config} only'"
    return source[:body] + guard + source[body:]


def template_improver(ref: Any, turn: int, messages: list[Message]):
    """Evaluates the original template, then the platform's own general edit of it
    (TemplateSpec.improve), if it offers one."""
    from kernelcraft.platforms.registry import get_platform

    template = get_platform(ref.platform).templates()[ref.task]
    if turn == 1:
        return [("write_code", {"code": original_template(messages)}), ("run_evaluation", {})]
    if turn == 2 and template.improve is not None:
        improved = template.improve(original_template(messages))
        return [
            ("write_code", {"code": improved}),
            ("check_syntax", {}),
            ("run_evaluation", {}),
            ("get_instruction_size", {}),
        ]
    return f"{template.improvement_note or 'Kept the original template'}; done."


def template_special_case(ref: Any, turn: int, messages: list[Message]):
    if turn == 1:
        special = special_case_template(original_template(messages))
        return [("write_code", {"code": special}), ("run_evaluation", {})]
    if turn == 2:
        return [("view_output", {"config": "C1"})]
    return "This template is tuned for C2."


SCRIPTS = {
    "template_improver": template_improver,
    "template_special_case": template_special_case,
}


# ---------------------------------------------------------------------------- codesign

MASKED_TOPK = {
    "mnemonic": "V_MASKED_TOPK",
    "operands": [
        {"name": "gk", "kind": "int", "access": "read", "doc": "how many to keep"},
        {
            "name": "vcand",
            "kind": "vector",
            "access": "read",
            "doc": "non-zero where a position may be chosen",
        },
        {"name": "vscore", "kind": "vector", "access": "read", "doc": "confidences"},
        {"name": "vd", "kind": "vector", "access": "write", "doc": "1.0 at the chosen positions"},
    ],
    "semantics": "vd = 1.0 at the gk positions with the largest vscore among those with vcand != 0 "
    "(lower position first on ties), 0.0 elsewhere.",
    "reference": (
        "import numpy as np\n\n"
        "def reference(k, candidates, scores):\n"
        "    idx = np.flatnonzero(candidates != 0)\n"
        "    keep = idx[np.argsort(-scores[idx], kind='stable')][:k]\n"
        "    out = np.zeros(len(scores))\n"
        "    out[keep] = 1.0\n"
        "    return out\n"
    ),
    "cost": 80,
}
RUNNING_ARGMAX = {
    "mnemonic": "V_ARGMAX_ACC",
    "operands": [
        {"name": "fbest", "kind": "fp", "access": "readwrite"},
        {"name": "vrow", "kind": "vector", "access": "read"},
        {"name": "gbase", "kind": "int", "access": "read"},
        {"name": "gwhere", "kind": "int", "access": "readwrite"},
    ],
    "semantics": "If the row's maximum beats fbest, fbest takes it and gwhere = gbase + its first position.",
    "reference": (
        "import numpy as np\n\n"
        "def reference(best, row, base, where):\n"
        "    top = row.max()\n"
        "    if top > best:\n"
        "        return float(top), int(base + np.argmax(row))\n"
        "    return best, where\n"
    ),
    "cost": 6,
}
VECTOR_AND = {
    "mnemonic": "V_AND_VV",
    "operands": [
        {"name": "vd", "kind": "vector", "access": "write"},
        {"name": "va", "kind": "vector", "access": "read"},
        {"name": "vb", "kind": "vector", "access": "read"},
    ],
    "semantics": "vd = 1.0 where both va and vb are non-zero, else 0.0.",
    "reference": (
        "import numpy as np\n\ndef reference(a, b):\n    return ((a != 0) & (b != 0)).astype(float)\n"
    ),
    "cost": 1,
}


_ACCEPTED = re.compile(r"The engineer accepted proposal (\d+): (\w+)")
_EXAMPLE = re.compile(r"Usage example[^`]*```\w*\n(.*?)\n```", re.DOTALL)


def _after_acceptance(messages: list[Message]) -> tuple[str, int] | None:
    """(mnemonic, turns since) when the engineer accepted a proposal in the conversation."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role == "user" and (found := _ACCEPTED.search(message.text)):
            since = sum(1 for m in messages[index:] if m.role == "assistant")
            return found.group(2), since
    return None


def _use_accepted(ref: Any, mnemonic: str, since: int, messages: list[Message]):
    """Find the accepted instruction in the docs, then run the kernel with the docs' usage
    example of it appended (the accepted instruction writes registers only)."""
    from kernelcraft.agent.providers.scripted import platform_kernel

    if since == 0:
        return [("grep_docs", {"query": mnemonic})]
    if since == 1:
        results = [r.content for m in messages if m.role == "tool" for r in m.tool_results]
        found = _EXAMPLE.search(results[-1]) if results else None
        if found is None:
            return f"The docs do not show how to write {mnemonic}."
        kernel = platform_kernel(ref, "oracle").rstrip("\n") + "\n" + found.group(1).strip() + "\n"
        return [("write_code", {"code": kernel}), ("check_syntax", {}), ("run_evaluation", {})]
    return f"{mnemonic} assembles and runs; the kernel is still correct."


def codesign_proposer(ref: Any, turn: int, messages: list[Message]):
    from kernelcraft.agent.providers.scripted import platform_kernel

    accepted = _after_acceptance(messages)
    if accepted is not None:
        return _use_accepted(ref, *accepted, messages)
    if turn == 1:
        return [("grep_docs", {"query": "argmax"}), ("grep_docs", {"query": "select integer mask"})]
    if turn == 2:
        return [
            ("propose_instruction", MASKED_TOPK),
            ("propose_instruction", RUNNING_ARGMAX),
            ("propose_instruction", VECTOR_AND),
        ]
    if turn == 3:
        return [("write_code", {"code": platform_kernel(ref, "oracle")}), ("run_evaluation", {})]
    return (
        "The ISA has no argmax or masked top-k: I proposed V_MASKED_TOPK, V_ARGMAX_ACC and V_AND_VV, "
        "and wrote the kernel with V_TOPK as the argmax meanwhile."
    )


SCRIPTS["codesign_proposer"] = codesign_proposer
