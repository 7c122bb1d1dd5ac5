"""Episode modes beyond writing one kernel: the paper's case studies as runnable modes.

- kernel: the benchmark episode (Session's own behaviour).
- template: improve one of the platform's compiler templates (Python, run in the sandbox),
  scored at every configuration of its task.
- codesign: write a kernel for a task whose specialised instructions are withheld, and
  propose instructions (recorded, compared with the withheld set by behaviour).
"""

from __future__ import annotations

import importlib

from .base import KERNEL_MODE, Mode, ModeError, ModeStart

_MODES = {
    "template": "kernelcraft.modes.template:TemplateMode",
    "codesign": "kernelcraft.modes.codesign:CodesignMode",
}


def mode_names() -> tuple[str, ...]:
    return (KERNEL_MODE, *_MODES)


def default_model(mode: str) -> str:
    """The model a run of this mode uses when none is named: a scripted one, needing no key."""
    return "scripted:oracle" if mode == KERNEL_MODE else get_mode(mode).default_model


def get_mode(name: str) -> Mode:
    """The mode object for a non-kernel mode name; ModeError for an unknown one."""
    ref = _MODES.get(name)
    if ref is None:
        raise ModeError(f"unknown mode {name!r}; choose one of {', '.join(mode_names())}")
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)()


__all__ = ["KERNEL_MODE", "Mode", "ModeError", "ModeStart", "default_model", "get_mode", "mode_names"]
