"""A Chrome/Perfetto trace of a Coral run: one event per dispatched instruction, a lane per category."""

from __future__ import annotations

import json
from pathlib import Path

from .decode import disassemble
from .elf import Program


def write_chrome_trace(program: Program, trace: list[tuple[int, int]], path) -> int:
    """Write the trace as JSON (timestamps are cycles); returns the number of events."""
    words = {}
    for seg in program.segments:
        for off in range(0, len(seg.data) - 3, 4):
            words[seg.address + off] = int.from_bytes(seg.data[off : off + 4], "little")
    events = []
    for pc, cycle in trace:
        text = disassemble(words.get(pc, 0), pc)
        lane = "vector" if text.startswith("v") else "scalar"
        line = program.line_of(pc)
        args = {"pc": f"{pc:#x}"} | ({"line": line} if line else {})
        events.append({"name": text, "ph": "X", "ts": cycle, "dur": 1, "pid": 0, "tid": lane, "args": args})
    Path(path).write_text(json.dumps({"traceEvents": events, "displayTimeUnit": "ns"}))
    return len(events)
