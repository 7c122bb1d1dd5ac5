"""The KernelCraft task suite: 23 ML operators at five shape configurations each.

TASK_SET_VERSION names the exact suite a result was scored on. Bump it (kc-tasks-N+1)
whenever anything that can change a score changes: a task's shapes, input order, input
generation (distributions, seeding), reference formula, a platform's shape table or
constants, or tolerances.
Wording-only changes to descriptions do not bump it. Change log: docs/tasks.md.
"""

from __future__ import annotations

from .base import CONFIG_NAMES, FORMS, PROFILES, SCORING_PROFILES, InputSpec, IntegerForm, Task, TaskError
from .registry import all_tasks, case_study_tasks, get_task

TASK_SET_VERSION = "kc-tasks-3"

__all__ = [
    "CONFIG_NAMES",
    "FORMS",
    "PROFILES",
    "SCORING_PROFILES",
    "TASK_SET_VERSION",
    "InputSpec",
    "IntegerForm",
    "Task",
    "TaskError",
    "all_tasks",
    "case_study_tasks",
    "get_task",
]
