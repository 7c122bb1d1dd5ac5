"""One BLAS thread per KernelCraft process.

A task's reference (a float64 matmul of a few hundred rows) is big enough for OpenBLAS to
split over every core, and its worker threads then spin for a while after the call. An
evaluation runs its simulator right after preparing the reference, and evaluations run side
by side on parallel workers, so those spinning threads take the core the simulator needs (on
a 2-core machine: twice the CPU time and about twice the wall time of a small evaluation).
The products are the same with one thread, so KernelCraft asks for one, once, the first time
it computes a reference or hands out a platform. It is a matter of speed only: where the
limit cannot be set, nothing else changes.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_limited = False


def one_blas_thread() -> None:
    """Limit BLAS libraries loaded in this process to one thread (once; cheap afterwards)."""
    global _limited
    if _limited:
        return
    with _lock:
        if _limited:
            return
        try:
            from threadpoolctl import threadpool_limits

            threadpool_limits(1, user_api="blas")
        except Exception:  # noqa: BLE001 - a speed setting; never fail an evaluation over it
            pass
        _limited = True
