"""The PLENA compiler baseline: a template compiler that emits assembly per task and shape.

Speed-ups are measured against it, so it aims to be a fair compiler: hardware loops where
they pay, weight tiles streamed through MRAM, no per-shape hand tuning. Each level's
generators live in their own module and expose GENERATORS (task id -> generator).
"""

from __future__ import annotations

import importlib

from ..config import DEFAULT_CONFIG, PlenaConfig
from ..shapes import UNSUPPORTED, shape_table
from .level1 import GENERATORS as LEVEL1_GENERATORS
from .level1 import Generator

_OTHER_MODULES = ("attention", "composite", "sampling")


def _dispatch_table() -> dict[str, Generator]:
    table = dict(LEVEL1_GENERATORS)
    for name in _OTHER_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ImportError:
            continue
        table.update(getattr(module, "GENERATORS", {}))
    return table


def generate(task_id: str, config_name: str, hw: PlenaConfig = DEFAULT_CONFIG) -> str:
    """Baseline assembly for one task configuration.

    Raises ValueError for a task PLENA does not support (or an unknown task/configuration) and
    NotImplementedError for a supported task the baseline cannot lower.
    """
    from kernelcraft.tasks import TaskError, get_task

    try:
        task = get_task(task_id)
    except (KeyError, TaskError) as exc:
        raise ValueError(f"unknown task {task_id!r}") from exc
    reason = UNSUPPORTED.get(task.id)
    if reason is not None:
        raise ValueError(f"task {task_id} is not supported on PLENA: {reason}")
    if config_name not in shape_table().get(task.id, {}):
        raise ValueError(f"unknown configuration {config_name!r} for task {task_id}")
    generator = _dispatch_table().get(task_id)
    if generator is None:
        raise NotImplementedError(f"the PLENA baseline has no generator for task {task_id} yet")
    return generator(config_name, hw)


__all__ = ["generate"]
