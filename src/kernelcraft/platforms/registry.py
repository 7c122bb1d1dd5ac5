"""Platforms by name: the one list of platforms. Each platform is one folder under platforms/;
one line here makes it reachable from the CLI, the agent tools, the runner and the
environments."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from kernelcraft.blas import one_blas_thread

from .api import Platform

_FACTORIES: dict[str, str] = {
    "plena": "kernelcraft.platforms.plena.platform:PlenaPlatform",
    "boom": "kernelcraft.platforms.boom.platform:BoomPlatform",
    "coral": "kernelcraft.platforms.coral.platform:CoralPlatform",
    "aie": "kernelcraft.platforms.aie.platform:AiePlatform",
}
# What commands and run files use when they name no platform.
DEFAULT_PLATFORM = "plena"
# Platforms added at run time (tests register a fake platform as their double).
_EXTRA: dict[str, Callable[..., Platform]] = {}


def platform_names() -> tuple[str, ...]:
    return tuple(_FACTORIES) + tuple(name for name in _EXTRA if name not in _FACTORIES)


PLATFORMS: tuple[str, ...] = tuple(_FACTORIES)


def register_platform(name: str, factory: Callable[..., Platform]) -> None:
    """Make `factory` (a Platform class, or a callable taking an optional config) reachable as `name`."""
    _EXTRA[name.lower()] = factory


def unregister_platform(name: str) -> None:
    _EXTRA.pop(name.lower(), None)


def platform_class(name: str) -> Callable[..., Platform]:
    key = name.lower().strip() if isinstance(name, str) else name
    if key in _EXTRA:
        return _EXTRA[key]
    ref = _FACTORIES.get(key)
    if ref is None:
        raise ValueError(f"unknown platform {name!r}; known platforms: {', '.join(platform_names())}")
    module_name, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def get_platform(name: str, config: Any = None) -> Platform:
    """The platform object for `name` (with its default hardware configuration unless given).

    "name+ext1+ext2" is the platform with those instruction extension sets in its hardware
    configuration (Platform.with_extensions), e.g. "plena+dllm"."""
    one_blas_thread()
    base, *extensions = name.split("+") if isinstance(name, str) else (name,)
    factory = platform_class(base)
    platform = factory() if config is None else factory(config)
    return platform.with_extensions([e.strip().lower() for e in extensions]) if extensions else platform
