"""How each task runs on the tile: its stages (kernel entry labels and the tiles they are
called on), the tensors it starts from, and how the output is read out.

The plan is the harness side of the I/O contract: the prompt states it, the harness runs it,
and the baseline compiles one kernel per stage entry from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .harness import EltwiseStage, MatmulStage, RowStage, Stage, Tensors


@dataclass
class Plan:
    stages: list[Stage]
    output: Callable[[Tensors], np.ndarray]  # tensors after the run -> the task's output array
    prepare: Callable[[Tensors], None] | None = None  # derived inputs the DMA delivers (e.g. GEMV's x block)
    notes: tuple[str, ...] = ()


def _mm(entry: str, a: str, b: str, out: str, M: int, K: int, N: int, **kw) -> MatmulStage:
    return MatmulStage(entry, a, b, out, M, K, N, **kw)


def plan_for(task_id: str, p: dict[str, int]) -> Plan:
    if task_id in ("relu", "silu", "gelu"):
        n = p["R"] * p["H"]
        return Plan([EltwiseStage("kernel", "x", "y", n)], lambda t: t["y"].reshape(p["R"], p["H"]))
    if task_id in ("softmax", "layernorm", "rmsnorm"):
        return Plan([RowStage("kernel", "x", "y", p["R"], p["H"])], lambda t: t["y"])
    if task_id == "gemm":
        return Plan([_mm("kernel", "X", "W", "Y", p["M"], p["K"], p["N"])], lambda t: t["Y"][0])
    if task_id == "linear":
        return Plan([_mm("kernel", "X", "W", "Y", p["M"], p["K"], p["N"], epilogue="bias", epi="b")],
                    lambda t: t["Y"][0])
    if task_id == "batch_matmul":
        return Plan([_mm("kernel", "X", "W", "Y", p["M"], p["K"], p["N"], batch=p["B"])], lambda t: t["Y"])
    if task_id == "gemv":
        def gemv_prepare(t: Tensors) -> None:
            xb = np.zeros((p["N"], 4), dtype=np.float32)
            xb[:, 0] = t["x"].reshape(-1)
            t["xcol"] = xb

        return Plan(
            [_mm("kernel", "A", "xcol", "Y", p["M"], p["N"], 4)],
            lambda t: t["Y"][0][:, 0].reshape(1, p["M"]),
            gemv_prepare,
            ("GEMV runs as the matmul contract with N = 4: the DMA delivers x as the B operand's column 0 "
             "(columns 1..3 are zero); y is column 0 of the output tile (columns 1..3 are ignored).",),
        )
    raise NotImplementedError(f"no harness plan for task {task_id} on the AIE tile")
