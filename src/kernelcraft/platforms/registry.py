"""Platforms by name. Each platform is one folder; registering it here makes it reachable
from the CLI, the agent tools and the runner."""

from __future__ import annotations

import importlib
from typing import Any

_FACTORIES = {"plena": "kernelcraft.platforms.plena.platform:PlenaPlatform"}
PLATFORMS: tuple[str, ...] = tuple(_FACTORIES)


def get_platform(name: str, config: Any = None) -> Any:
    """The platform object for `name` (with its default hardware configuration unless given)."""
    ref = _FACTORIES.get(name.lower() if isinstance(name, str) else name)
    if ref is None:
        raise ValueError(f"unknown platform {name!r}; known platforms: {', '.join(PLATFORMS)}")
    module_name, _, attr = ref.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory() if config is None else factory(config)
