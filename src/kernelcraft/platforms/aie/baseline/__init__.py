"""The AIE compiler baseline: one straightforward AIE-API-style kernel per stage entry of a
task's plan, lowered Peano-like by the list scheduler (zero-overhead inner loops, latencies
respected by scheduling or nop padding, no software pipelining across loop iterations)."""

from __future__ import annotations

from ..harness import EltwiseStage, MatmulStage, RopeStage, RowStage
from ..plans import plan_for
from .eltwise import eltwise_kernel, rope_kernel
from .matmul import matmul_kernel
from .rows import row_kernel


def generate(task_id: str, params: dict[str, int]) -> str:
    plan = plan_for(task_id, params)
    parts: list[str] = [f"// compiler baseline for {task_id} {params}"]
    done: dict[str, tuple] = {}
    for stage in plan.stages:
        shape = _shape(stage)
        if stage.entry in done:
            if done[stage.entry] != shape:
                raise ValueError(
                    f"stage entry {stage.entry} is called with two tile shapes: {done[stage.entry]}, {shape}"
                )
            continue
        done[stage.entry] = shape
        if isinstance(stage, MatmulStage):
            parts.append(matmul_kernel(stage.tm, stage.tk, stage.tn, stage.epilogue, stage.entry))
        elif isinstance(stage, EltwiseStage):
            parts.append(eltwise_kernel(stage.kind, stage.tile, stage.entry))
        elif isinstance(stage, RopeStage):
            parts.append(rope_kernel(stage.tile_rows, stage.D, stage.entry))
        elif isinstance(stage, RowStage):
            parts.append(row_kernel(stage.kind, stage.tile_rows, stage.Hp, stage.entry))
    return "\n".join(parts)


def _shape(stage) -> tuple:
    if isinstance(stage, MatmulStage):
        return ("matmul", stage.tm, stage.tk, stage.tn, stage.epilogue)
    if isinstance(stage, RowStage):
        return ("rows", stage.kind, stage.tile_rows, stage.Hp)
    if isinstance(stage, RopeStage):
        return ("rope", stage.tile_rows, stage.D)
    return ("eltwise", stage.kind, stage.tile)
