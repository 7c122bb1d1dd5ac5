"""Text from a model is untrusted: make it writable anywhere, and say when it was changed.

Providers' SDKs can deliver strings no file, JSON encoder or HTTP body accepts as UTF-8:
lone surrogates ("\\ud800") decoded from JSON escapes. Everything written from model text
goes through scrub(), which replaces each lone surrogate with U+FFFD and counts them, so
the writer can record that it happened.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def scrub(text: str) -> tuple[str, int]:
    """`text` with lone surrogates replaced by U+FFFD, and how many were replaced."""
    if not isinstance(text, str) or _SURROGATE.search(text) is None:
        return text, 0
    return _SURROGATE.subn(REPLACEMENT, text)


def scrub_value(value: Any) -> tuple[Any, int]:
    """scrub() through a JSON-like value (strings, dict keys and values, lists)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        out, total = {}, 0
        for key, item in value.items():
            new_key, n_key = scrub_value(key)
            new_item, n_item = scrub_value(item)
            out[new_key] = new_item
            total += n_key + n_item
        return out, total
    if isinstance(value, list | tuple):
        items = [scrub_value(item) for item in value]
        return type(value)(item for item, _ in items), sum(n for _, n in items)
    return value, 0


def has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None
