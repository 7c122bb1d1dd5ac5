"""Small pieces the modes share: their prompt templates, configuration lists, geomeans."""

from __future__ import annotations

import math
from collections.abc import Iterable
from importlib import resources
from string import Template
from typing import Any

from kernelcraft.platforms.api import Platform, PlatformError, normalise_config

from .base import ModeError

ALL_CONFIGS = "all"


def render(name: str, **values: Any) -> str:
    """A prompt template of kernelcraft/modes/prompt_templates with `values` filled in."""
    text = resources.files("kernelcraft.modes").joinpath("prompt_templates", f"{name}.md").read_text("utf-8")
    return Template(text).safe_substitute(**{k: str(v) for k, v in values.items()}).strip()


def config_list(platform: Platform, task_id: str, spec_config: str) -> list[str]:
    """ "all" or "C1,C3": the configurations, in the platform's order, checked against its table."""
    known = list(platform.config_names(task_id))
    if not known:
        raise PlatformError(f"task {task_id} has no configurations on {platform.name}")
    if spec_config.strip().lower() == ALL_CONFIGS:
        return known
    chosen = [normalise_config(part) for part in spec_config.split(",") if part.strip()]
    unknown = [c for c in chosen if c not in known]
    if unknown or not chosen:
        named = ", ".join(unknown) or repr(spec_config)
        raise ModeError(f"unknown configuration(s) {named}; choose from {known}")
    return [c for c in known if c in chosen]


def geomean(values: Iterable[float]) -> float | None:
    items = [float(v) for v in values]
    if not items or any(v <= 0 or not math.isfinite(v) for v in items):
        return None
    return math.exp(sum(math.log(v) for v in items) / len(items))


def percent(change: float | None) -> str:
    return "n/a" if change is None else f"{100.0 * change:+.1f}%"
