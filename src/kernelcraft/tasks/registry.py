"""The 23 ML tasks in the paper's order (Table 4), then the 10 CPU tasks (Table 10), looked up by id."""

from __future__ import annotations

from . import activations, attention, blocks, conv, cpu, matrix, mlp, norms, sampling
from .base import Task, TaskError, close_matches

_ORDER = (
    activations.TASKS  # 1-3
    + norms.TASKS  # 4-6
    + matrix.TASKS  # 7-10
    + conv.TASKS[:2]  # 11-12
    + (attention.ROPE,)  # 13
    + mlp.TASKS  # 14-15
    + attention.TASKS[1:]  # 16-20
    + (conv.CONV_BLOCK,)  # 21
    + blocks.TASKS  # 22-23
    + cpu.TASKS  # the CPU case study
)
# The ISA co-design case study's task: found by id, but not selected by "all" (PLENA runs
# it, and a PLENA run of every task stays the paper's suite).
_CASE_STUDIES = sampling.TASKS
_BY_ID = {task.id: task for task in _ORDER + _CASE_STUDIES}


def all_tasks() -> list[Task]:
    """The benchmark: the paper's 23 tasks in its order, then the CPU case study's."""
    return list(_ORDER)


def case_study_tasks() -> list[Task]:
    """Tasks of the case studies (e.g. get_transfer_index for ISA co-design); not in all_tasks()."""
    return list(_CASE_STUDIES)


def get_task(task_id: str) -> Task:
    task = _BY_ID.get(task_id)
    if task is None:
        close = close_matches(task_id, list(_BY_ID))
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known tasks: {', '.join(_BY_ID)}"
        raise TaskError(f"unknown task {task_id!r}{hint}")
    return task
