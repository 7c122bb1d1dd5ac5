"""Small trusted runners for sandbox jobs: read a module value, call a function."""

from __future__ import annotations

from typing import Any


def value_of(module: Any, name: str = "VALUE") -> Any:
    """The module attribute `name` (a JSON-able value)."""
    return getattr(module, name)


def call(module: Any, function: str = "main", args: list[Any] | None = None) -> Any:
    """module.function(*args): its return value (JSON-able)."""
    return getattr(module, function)(*(args or []))
