"""PLENA's compiler templates as editable Python sources (template mode).

Each baseline generator (baseline/: one per task) becomes one self-contained module: the
generator, every block and helper it reaches, with their real source, importing only the
emitter API (template_api). Its entry point is

    def generate(config_name: str, hw: PlenaConfig) -> str

which returns the kernel's assembly for one configuration. Flattened from the code that
builds the baseline, a template lowers to exactly the baseline's kernels.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any

from ..api import TemplateSpec
from ..flatten import flatten
from . import template_api
from .config import PlenaConfig
from .template_edits import IMPROVEMENT_NOTE, improve_template

PACKAGE = "kernelcraft.platforms.plena.baseline"
ENTRY = "generate"
RUNNER = "kernelcraft.platforms.plena.template_api:lower_configs"
STDLIB = ("collections.abc", "contextlib", "dataclasses", "math", "itertools", "functools", "typing")


def _generators() -> dict[str, Callable[[str, PlenaConfig], str]]:
    from .baseline import _dispatch_table

    return _dispatch_table()


def _factory_call(generator: Callable[..., Any]) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """(factory, arguments) for a generator made by a factory function, else None."""
    if generator.__closure__ is None:
        return None
    factory_name = generator.__qualname__.split(".<locals>")[0]
    factory = generator.__globals__[factory_name]
    captured = inspect.getclosurevars(generator).nonlocals
    arguments: dict[str, Any] = {}
    for name, param in inspect.signature(factory).parameters.items():
        if name in captured:
            arguments[name] = captured[name]
        elif param.default is not inspect.Parameter.empty:
            arguments[name] = param.default
        else:
            raise ValueError(f"cannot recover argument {name} of {factory_name} for a template")
    return factory, arguments


def template_source(task_id: str) -> str:
    """The template for one task as a self-contained module."""
    generator = _generators()[task_id]
    made = _factory_call(generator)
    roots: list[Callable[..., Any]] = [generator] if made is None else [made[0]]
    if made is not None:
        roots += [value for value in made[1].values() if inspect.isfunction(value)]

    def footer(name_of: Callable[[Any], str]) -> str:
        if made is None:
            call = f"{name_of(generator)}(config_name, hw)"
            preamble = ""
        else:
            factory, arguments = made
            args = ", ".join(
                f"{name}={name_of(value) if inspect.isfunction(value) else repr(value)}"
                for name, value in arguments.items()
            )
            preamble = f"_GENERATOR = {name_of(factory)}({args})\n\n\n"
            call = "_GENERATOR(config_name, hw)"
        return (
            f"{preamble}def {ENTRY}(config_name: str, hw: PlenaConfig) -> str:\n"
            f'    """Entry point: the {task_id} kernel (assembly text) for one configuration, C1..C5."""\n'
            f"    return {call}\n"
        )

    header = (
        f"PLENA compiler template for the {task_id} task: a Python generator of assembly.\n\n"
        f"{ENTRY}(config_name, hw) returns the kernel for one configuration (C1..C5); task_params(\n"
        f'"{task_id}", config_name) gives its shape and task_hbm("{task_id}", config_name) where its inputs\n'
        f"sit in HBM. Edit anything; imports are limited to {template_api.API_MODULE} and the\n"
        "pure standard library."
    )
    api = dict(template_api.api_objects())
    api["PlenaConfig"] = PlenaConfig
    return flatten(
        roots,
        package=PACKAGE,
        api_module=template_api.API_MODULE,
        api=api,
        stdlib=STDLIB,
        header=header,
        footer=footer,
        reserved=(ENTRY, "_GENERATOR"),
    )


class TemplateTable(Mapping[str, TemplateSpec]):
    """Every task the baseline lowers, as a template (name = task id), flattened on first use."""

    def __init__(self, hardware: dict[str, Any]):
        self.hardware = dict(hardware)
        self._names = tuple(sorted(_generators()))

    def __getitem__(self, name: str) -> TemplateSpec:
        if name not in self._names:
            raise KeyError(name)
        return TemplateSpec(
            name=name,
            task=name,
            source=_cached_source(name),
            entry=ENTRY,
            runner=RUNNER,
            runner_args={"hardware": self.hardware},
            allowed_imports=(template_api.API_MODULE,),
            language="python",
            api_doc=_cached_api_doc(),
            improve=improve_template,
            improvement_note=IMPROVEMENT_NOTE,
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


@cache
def _cached_api_doc() -> str:
    return template_api.api_doc()


@cache
def _cached_source(task_id: str) -> str:
    return template_source(task_id)
