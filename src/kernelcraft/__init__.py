"""KernelCraft: a benchmark and harness for LLM agents writing close-to-metal kernels.

The public API, imported lazily so that `import kernelcraft` stays cheap:

    import kernelcraft as kc
    kc.platform_names()                       # the registered platforms
    plena = kc.get_platform("plena")          # a Platform (see kernelcraft.platforms.api)
    kc.get_task("gemm"), kc.all_tasks()       # the task suite
    session = kc.Session(kc.EpisodeSpec(model="mine", task="silu", config="C1"), "ws")
    start = session.reset(); session.step(call); session.finish()
    kc.run_episode(spec, "episode-dir")       # one full episode with a model
    kc.run(...), kc.report(...)               # a run matrix and its report (as the CLI does)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Platform": "kernelcraft.platforms.api",
    "Evaluation": "kernelcraft.platforms.api",
    "BuildResult": "kernelcraft.platforms.api",
    "get_platform": "kernelcraft.platforms.registry",
    "platform_names": "kernelcraft.platforms.registry",
    "register_platform": "kernelcraft.platforms.registry",
    "Task": "kernelcraft.tasks",
    "get_task": "kernelcraft.tasks",
    "all_tasks": "kernelcraft.tasks",
    "EpisodeSpec": "kernelcraft.episodes",
    "EpisodeResult": "kernelcraft.episodes",
    "Session": "kernelcraft.agent.session",
    "run_episode": "kernelcraft.agent.episode",
    "run": "kernelcraft.bench.api",
    "report": "kernelcraft.bench.api",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kernelcraft' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
