"""The PLENA emitter API: everything a template generator may import (template mode).

A template is a self-contained Python module (see templates.py) that lowers one task to
PLENA assembly with the `Asm` builder. In the sandbox this module is the only part of
KernelCraft a template can import; it re-exports the builder, the memory-layout facts and
the task's shape parameters and HBM placement, and holds the trusted runner the sandbox
calls to lower every configuration.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import traceback
from typing import Any

from .baseline.emit import FZERO, IMM_LIMIT, LUI_SHIFT, ZERO, Asm, RegisterPoolExhausted
from .baseline.level1 import task_hbm, task_params
from .config import PlenaConfig
from .layout import FP_SLOTS, HBM_ALIGN, OUTPUT_BASE, HbmLayout, TensorPlacement
from .mx import tensor_nbytes

API_MODULE = __name__
MAX_TRACEBACK_FRAMES = 6

__all__ = [
    "API_MODULE",
    "FP_SLOTS",
    "FZERO",
    "HBM_ALIGN",
    "IMM_LIMIT",
    "LUI_SHIFT",
    "OUTPUT_BASE",
    "ZERO",
    "Asm",
    "HbmLayout",
    "PlenaConfig",
    "RegisterPoolExhausted",
    "TensorPlacement",
    "lower_configs",
    "task_hbm",
    "task_params",
    "tensor_nbytes",
]


def api_objects() -> dict[str, Any]:
    """Name -> object for everything a template may import from this module."""
    exported = set(__all__) - {"API_MODULE", "lower_configs"}
    return {name: globals()[name] for name in exported}


def api_doc() -> str:
    """The emitter API as Markdown, from the code's own signatures and docstrings."""
    lines = [
        "# Template emitter API",
        "",
        f"A template imports only from `{API_MODULE}` (and the pure standard library).",
        "",
    ]
    objects = api_objects()
    for name in sorted(objects, key=lambda n: (not inspect.isclass(objects[n]), n.lower())):
        obj = objects[name]
        if inspect.isclass(obj):
            lines += [f"## class {name}", "", inspect.getdoc(obj) or "", ""]
            if dataclasses.is_dataclass(obj):
                fields = ", ".join(
                    f"{f.name}: {f.type}" + ("" if f.default is dataclasses.MISSING else f" = {f.default!r}")
                    for f in dataclasses.fields(obj)
                )
                lines += [f"Fields: {fields}", ""]
            for attr, member in vars(obj).items():
                if attr.startswith("_") or not callable(member) and not isinstance(member, property):
                    continue
                target = member.fget if isinstance(member, property) else member
                target = getattr(target, "__wrapped__", target)
                signature = _signature(target)
                doc = inspect.getdoc(target) or ""
                kind = "property " if isinstance(member, property) else ""
                lines += [f"### {kind}{name}.{attr}{'' if kind else signature}", "", doc, ""]
        elif callable(obj):
            lines += [f"## {name}{_signature(obj)}", "", inspect.getdoc(obj) or "", ""]
        else:
            lines += [f"## {name} = {obj!r}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _signature(fn: Any) -> str:
    """(a: int, *, b: str = 'x') -> str, with postponed annotations shown unquoted."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return ""
    parts, star = [], False
    for param in signature.parameters.values():
        if param.name == "self":
            continue
        text = param.name
        if param.kind is param.VAR_POSITIONAL:
            text, star = "*" + text, True
        elif param.kind is param.VAR_KEYWORD:
            text = "**" + text
        elif param.kind is param.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if param.annotation is not param.empty:
            text += f": {param.annotation}"
        if param.default is not param.empty:
            text += f" = {param.default!r}"
        parts.append(text)
    returns = "" if signature.return_annotation is signature.empty else f" -> {signature.return_annotation}"
    return f"({', '.join(parts)}){returns}"


def lower_configs(module: Any, entry: str, configs: list[str], hardware: dict[str, Any]) -> dict[str, Any]:
    """Run the template's entry point for each configuration (inside the sandbox).

    Returns config -> {"source": assembly} or {"error": one line, "traceback": the template's
    frames}; a template that fails one configuration still lowers the others.
    """
    hw = PlenaConfig.from_dict(hardware)
    generate = getattr(module, entry, None)
    if not callable(generate):
        message = f"the template defines no function {entry}(config_name, hw)"
        return {config: {"error": message} for config in configs}
    filename = getattr(module, "__file__", None)
    results: dict[str, Any] = {}
    for config in configs:
        try:
            text = generate(config, hw)
        except Exception as exc:  # the template's own failure, reported per configuration
            results[config] = {"error": _one_line(exc), "traceback": _template_frames(exc, filename)}
            continue
        if not isinstance(text, str):
            results[config] = {"error": f"{entry} returned {type(text).__name__}, not the assembly text"}
        else:
            results[config] = {"source": text}
    return results


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _template_frames(exc: BaseException, filename: str | None) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if filename and f.filename == filename] or frames[-2:]
    text = "".join(traceback.format_list(mine[-MAX_TRACEBACK_FRAMES:])).rstrip()
    return text.replace(filename, os.path.basename(filename)) if filename else text
