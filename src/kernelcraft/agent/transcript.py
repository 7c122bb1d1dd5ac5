"""transcript.jsonl: every event of an episode, one JSON object per line, flushed per line.

Written as the episode runs so a killed episode still leaves a readable record up to its
last event. Secrets never reach the file: any value of an environment variable whose name
looks like a credential is replaced before a line is written. Any string a model can send is
written: a line holding characters UTF-8 cannot encode (lone surrogates) is written with JSON
escapes instead (lossless), and marked "escaped": true.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from kernelcraft.safetext import has_surrogates

_SECRET_NAME = re.compile(r"(API_KEY|APIKEY|TOKEN|SECRET|PASSWORD)", re.IGNORECASE)
_MIN_SECRET_LEN = 8


def _secrets() -> list[str]:
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    """`text` with every credential-like environment value (or the given secrets) replaced."""
    for secret in _secrets() if secrets is None else secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    return text


class Transcript:
    """Append-only JSONL event log."""

    def __init__(self, path: Path, extra_secrets: list[str] | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")
        self._secrets = sorted(
            set(_secrets()) | {s for s in (extra_secrets or []) if len(s) >= _MIN_SECRET_LEN},
            key=len,
            reverse=True,
        )

    def write(self, event_type: str, **fields: Any) -> None:
        record = {"type": event_type, "time": round(time.time(), 3), **fields}
        line = json.dumps(record, ensure_ascii=False, default=str)
        if has_surrogates(line):
            line = json.dumps({**record, "escaped": True}, ensure_ascii=True, default=str)
        self._fh.write(redact(line, self._secrets) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_transcript(path: Path) -> list[dict[str, Any]]:
    """All events of a transcript file, in order."""
    with Path(path).open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
