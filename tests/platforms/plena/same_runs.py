"""Comparing a run that took a fast path with the plain step-by-step run of the same program."""

from __future__ import annotations


def assert_same_stats_and_fault(fast, plain) -> None:
    """Two Executions agree on every statistic and on the fault (kind, message, place, state)."""
    assert fast.stats.to_dict() == plain.stats.to_dict()
    f, p = fast.fault, plain.fault
    assert (f is None) == (p is None)
    if f is not None:
        assert (f.kind, f.message, f.pc, f.instruction, f.line, f.state) == (
            p.kind,
            p.message,
            p.pc,
            p.instruction,
            p.line,
            p.state,
        )
