"""Chrome trace-event JSON for a traced PLENA run (opens in Perfetto or chrome://tracing).

One track per unit, one complete event per executed instruction, named by opcode, with
the pc, the source line and the instruction text in its args. The simulator keeps at most
MAX_TRACE_EVENTS events of a run (a spinning kernel would otherwise fill memory and disk);
a cut trace says so in its metadata and with a marker event at the cut.
"""

from __future__ import annotations

import json
from pathlib import Path

from .assembler import Program
from .isa import Unit
from .machine import MAX_TRACE_EVENTS


def trace_events(program: Program, trace: list[tuple[int, int, int, str]]) -> dict:
    units = [u.value for u in Unit]
    tid = {unit: i + 1 for i, unit in enumerate(units)}
    per_cycle_us = 1.0 / (program.config.clock_ghz * 1000.0)
    events: list[dict] = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "PLENA"}}]
    for unit in units:
        events.append({"name": "thread_name", "ph": "M", "pid": 1, "tid": tid[unit], "args": {"name": unit}})
        events.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": 1,
                "tid": tid[unit],
                "args": {"sort_index": tid[unit]},
            }
        )
    for pc, start, duration, unit in trace:
        ins = program.instructions[pc]
        events.append(
            {
                "name": ins.name,
                "ph": "X",
                "pid": 1,
                "tid": tid.get(unit, 0),
                "ts": start * per_cycle_us,
                "dur": max(duration, 1) * per_cycle_us,
                "args": {"pc": pc, "line": ins.line, "text": ins.text(), "cycle": start, "cycles": duration},
            }
        )
    dropped = int(getattr(trace, "dropped", 0))
    if dropped and trace:
        pc, start, duration, _ = trace[-1]
        events.append(
            {
                "name": f"trace cut: {dropped} later instructions not recorded",
                "ph": "i",
                "s": "g",
                "pid": 1,
                "ts": (start + duration) * per_cycle_us,
            }
        )
    return {
        "traceEvents": events,
        "displayTimeUnit": "ns",
        "otherData": {
            "events": len(trace),
            "events_dropped": dropped,
            "truncated": bool(dropped),
            "limit": MAX_TRACE_EVENTS,
        },
    }


def write_chrome_trace(program: Program, trace: list[tuple[int, int, int, str]], path: Path) -> int:
    """Write the trace; returns the number of instruction events written."""
    data = trace_events(program, trace)
    Path(path).write_text(json.dumps(data, separators=(",", ":")))
    return len(trace)
