"""The AIE compiler baseline: one straightforward AIE-API-style kernel per stage entry of a
task's plan, lowered Peano-like by the list scheduler (zero-overhead inner loops, latencies
respected by scheduling or nop padding, no software pipelining across loop iterations)."""

from __future__ import annotations

from ..harness import EltwiseStage, MatmulStage, RowStage
from ..plans import plan_for
from .eltwise import eltwise_kernel
from .matmul import matmul_kernel
from .rows import row_kernel


def generate(task_id: str, params: dict[str, int]) -> str:
    plan = plan_for(task_id, params)
    parts: list[str] = [f"// compiler baseline for {task_id} {params}"]
    done: set[str] = set()
    for stage in plan.stages:
        if stage.entry in done:
            continue
        done.add(stage.entry)
        if isinstance(stage, MatmulStage):
            parts.append(matmul_kernel(stage.tm, stage.tk, stage.tn, stage.epilogue, stage.entry))
        elif isinstance(stage, EltwiseStage):
            parts.append(eltwise_kernel(task_id, stage.tile, stage.entry))
        elif isinstance(stage, RowStage):
            parts.append(row_kernel(task_id, stage.tile_rows, stage.H, stage.entry))
    return "\n".join(parts)
