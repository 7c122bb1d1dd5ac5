"""A sandbox for model-written Python: a fresh, limited, offline interpreter per job.

Model-written Python (a template generator, a proposed instruction's NumPy reference) never
runs in the harness's process. `run_sandboxed(job)` starts `python -I -m
kernelcraft.sandbox.child` in a new session with a fresh temporary directory as its working
directory; the child applies every confinement layer this machine offers, executes the job's
source as a module whose imports are checked against the job's allow-list, calls a trusted
runner on it, and sends the runner's JSON result back over a pipe. See docs/modes.md
("The sandbox") for the layers, what each stops, and what none of them can stop.

Imported lazily: the child imports this package too and should not pull in `subprocess`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SandboxJob": "kernelcraft.sandbox.runner",
    "SandboxLimits": "kernelcraft.sandbox.runner",
    "SandboxResult": "kernelcraft.sandbox.runner",
    "run_sandboxed": "kernelcraft.sandbox.runner",
    "SandboxServer": "kernelcraft.sandbox.runner",
    "SandboxCallError": "kernelcraft.sandbox.runner",
    "capabilities": "kernelcraft.sandbox.runner",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kernelcraft.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
