"""The roofline bound: a lower bound on any kernel's cycles from bytes moved and MACs done.

Platforms call it with their own numbers (bandwidth, latency, peak MAC rate, whether data
movement overlaps compute); scoring only reads the bound a platform returns.
"""

from __future__ import annotations


def roofline_cycles(
    input_bytes: int,
    bytes_per_cycle: float,
    macs: int,
    peak_macs_per_cycle: float,
    *,
    latency_cycles: float = 0.0,
    overlapped: bool = True,
) -> int:
    """Lower bound on cycles: every input byte crosses the memory interface once, every MAC runs
    at the peak rate.

    Memory time is one access latency (inputs all start in memory) plus input bytes over
    bandwidth; compute time is MACs over the peak rate. On hardware that overlaps data
    movement with compute the bound is the larger of the two; on in-order blocking hardware
    nothing overlaps, so it is their sum. Rounded up, at least 1. Output traffic is not
    counted, so the bound holds for every kernel.
    """
    memory = 0.0
    if input_bytes > 0 and bytes_per_cycle > 0:
        memory = latency_cycles + input_bytes / bytes_per_cycle
    compute = macs / peak_macs_per_cycle if peak_macs_per_cycle > 0 else 0.0
    bound = max(memory, compute) if overlapped else memory + compute
    return max(1, int(-(-bound // 1)))
