"""One self-contained Python module from a generator function and everything it calls.

A platform's compiler templates are ordinary Python spread over a few modules (a generator
calls blocks, which call helpers). For template mode the agent needs one module it can read
and edit: `flatten()` collects the functions, classes and simple constants a generator reaches
inside its package, with their real source (comments and docstrings kept), and imports
everything else from a fixed API module or the standard library. Because it is built from the
code that produces the baseline, the flattened template lowers to exactly the baseline's
kernels (a test checks this for every template), so it never drifts from the compiler.

References `module.name` to a collected module are rewritten to the bare name; two collected
objects with one name keep the first name and give the later ones a `<module>_` prefix.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import textwrap
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_LITERALS = (int, float, str, bool, bytes, type(None))


class FlattenError(ValueError):
    """The generator reaches something that cannot be put in a self-contained module."""


@dataclass
class _Item:
    module: types.ModuleType
    name: str  # name in its module
    obj: Any
    final: str = ""  # name in the flattened module
    source: str = ""
    kind: str = "function"  # function, class, constant


@dataclass
class _Collector:
    package: str
    api: Mapping[str, Any]  # name -> object the API module exports
    stdlib: frozenset[str]
    items: dict[tuple[str, str], _Item] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)
    api_names: set[str] = field(default_factory=set)
    std_imports: dict[str, set[str]] = field(default_factory=dict)  # module -> names
    std_modules: set[str] = field(default_factory=set)
    taken: dict[str, tuple[str, str]] = field(default_factory=dict)

    def in_package(self, obj: Any) -> bool:
        module = getattr(obj, "__module__", None)
        return isinstance(module, str) and (module == self.package or module.startswith(self.package + "."))

    def add(self, module: types.ModuleType, name: str, obj: Any) -> None:
        key = (module.__name__, name)
        if key in self.items:
            return
        if inspect.isfunction(obj) or inspect.isclass(obj):
            source = textwrap.dedent(inspect.getsource(obj))
            kind = "class" if inspect.isclass(obj) else "function"
        elif isinstance(obj, _LITERALS) or _is_literal_container(obj):
            source, kind = f"{name} = {obj!r}\n", "constant"
        else:
            raise FlattenError(f"{module.__name__}.{name} ({type(obj).__name__}) cannot be flattened")
        final = name if name not in self.taken else f"{module.__name__.rsplit('.', 1)[-1]}_{name}"
        self.taken[final] = key
        self.items[key] = _Item(module, name, obj, final, source, kind)
        self.order.append(key)
        if kind != "constant":
            self.scan(module, source)

    def scan(self, module: types.ModuleType, source: str) -> None:
        """Resolve every global name and `module.attr` the source reads."""
        tree = ast.parse(source)
        local = _bound_names(tree)
        handled: set[int] = set()  # module names consumed as `module.attr`
        for node in _evaluated_nodes(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                target = module.__dict__.get(node.value.id)
                if isinstance(target, types.ModuleType) and node.value.id not in local:
                    if self.in_package_module(target):
                        self.resolve(target, node.attr, getattr(target, node.attr))
                        handled.add(id(node.value))
                        continue
            if id(node) in handled:
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
                if node.id in module.__dict__:
                    self.resolve(module, node.id, module.__dict__[node.id])
                elif not hasattr(builtins, node.id):
                    raise FlattenError(f"{module.__name__} reads an undefined name {node.id!r}")

    def in_package_module(self, module: types.ModuleType) -> bool:
        return module.__name__ == self.package or module.__name__.startswith(self.package + ".")

    def resolve(self, module: types.ModuleType, name: str, obj: Any) -> None:
        if name in self.api and self.api[name] is obj:
            self.api_names.add(name)
        elif isinstance(obj, types.ModuleType):
            if obj.__name__ not in self.stdlib:
                raise FlattenError(
                    f"{module.__name__} uses module {obj.__name__}, which a template may not import"
                )
            self.std_modules.add(obj.__name__)
        elif self.in_package(obj):  # defined in the package: collected from its own module
            home = sys_modules()[obj.__module__]
            self.add(home, obj.__name__, obj)
            if obj.__name__ != name:
                raise FlattenError(
                    f"{module.__name__} imports {obj.__name__} as {name}; templates need one name"
                )
        elif self.in_package_module(module) and _is_plain_value(obj):
            self.add(module, name, obj)
        else:
            origin = getattr(obj, "__module__", None)
            if origin in self.stdlib and getattr(sys_modules().get(origin), name, None) is obj:
                self.std_imports.setdefault(origin, set()).add(name)
            elif (origin := _stdlib_home(obj, name, self.stdlib)) is not None:
                self.std_imports.setdefault(origin, set()).add(name)
            else:
                origin = getattr(obj, "__module__", "?")
                raise FlattenError(
                    f"{module.__name__}.{name} comes from {origin}, which is neither the template API nor "
                    "the standard library"
                )


def sys_modules() -> dict[str, types.ModuleType]:
    import sys

    return sys.modules


def _stdlib_home(obj: Any, name: str, stdlib: Iterable[str]) -> str | None:
    """The allowed standard-library module that exports `obj` under `name`, if any."""
    modules = sys_modules()
    for module_name in sorted(stdlib):
        module = modules.get(module_name)
        if module is not None and getattr(module, name, None) is obj:
            return module_name
    return None


def _is_plain_value(obj: Any) -> bool:
    return isinstance(obj, _LITERALS) or _is_literal_container(obj)


def _is_literal_container(obj: Any) -> bool:
    if isinstance(obj, (tuple, list, frozenset, set)):
        return all(_is_plain_value(x) for x in obj)
    if isinstance(obj, dict):
        return all(_is_plain_value(k) and _is_plain_value(v) for k, v in obj.items())
    return False


def _evaluated_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those inside annotations (never evaluated under postponed
    annotations, so the names they mention need not exist in the flattened module)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        notes = []
        if isinstance(node, ast.arg) and node.annotation is not None:
            notes.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            notes.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            notes.append(node.annotation)
        for note in notes:
            skip.update(id(n) for n in ast.walk(note))
    return [node for node in ast.walk(tree) if id(node) not in skip]


def _bound_names(tree: ast.AST) -> set[str]:
    """Names bound inside the definition (parameters, assignments, loop and with targets),
    except the definition's own name: such names are local, not globals to resolve."""
    names: set[str] = set()
    top = tree.body[0] if isinstance(tree, ast.Module) and tree.body else None
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not top:
            names.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _rewrite(item: _Item, collector: _Collector) -> str:
    """The item's source with references to collected objects spelled by their final names."""
    if item.kind == "constant":
        return f"{item.final} = {item.obj!r}\n"
    source = item.source
    tree = ast.parse(source)
    local = _bound_names(tree)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    edits: list[tuple[int, int, str]] = []

    def span(node: ast.AST) -> tuple[int, int]:
        return offsets[node.lineno - 1] + node.col_offset, offsets[node.end_lineno - 1] + node.end_col_offset

    module = item.module
    for node in _evaluated_nodes(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id not in local
        ):
            target = module.__dict__.get(node.value.id)
            if isinstance(target, types.ModuleType) and collector.in_package_module(target):
                final = collector.items[(target.__name__, node.attr)].final
                edits.append((*span(node), final))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local:
            entry = collector.items.get((module.__name__, node.id))
            if entry is not None and entry.final != node.id:
                edits.append((*span(node), entry.final))
    top = tree.body[0]
    if item.final != item.name:  # rename the definition itself
        start = offsets[top.lineno - 1]
        line = lines[top.lineno - 1]
        keyword = "class " if item.kind == "class" else "def "
        at = line.index(keyword + item.name) + len(keyword)
        edits.append((start + at, start + at + len(item.name), item.final))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def flatten(
    roots: Iterable[Callable[..., Any]],
    *,
    package: str,
    api_module: str,
    api: Mapping[str, Any],
    stdlib: Iterable[str],
    header: str,
    footer: Callable[[Callable[[Any], str]], str],
    reserved: Iterable[str] = (),
) -> str:
    """A module holding the `roots` (functions defined in `package`) and what they reach.

    `api` is what `api_module` exports (name -> object): those are imported, not copied.
    `header` is the module docstring; `footer(name_of)` returns the code appended at the end
    (e.g. the entry point), where name_of(obj) is a root's name in the flattened module;
    `reserved` are the names the footer defines.
    """
    collector = _Collector(package, api, frozenset(stdlib))
    for name in reserved:  # names the footer defines: a collected object of that name is renamed
        collector.taken[name] = ("", name)
    keys = []
    for fn in roots:
        module = inspect.getmodule(fn)
        if module is None:
            raise FlattenError(f"cannot find the module of {fn!r}")
        collector.add(module, fn.__name__, fn)
        keys.append((module.__name__, fn.__name__))
    finals = {id(collector.items[key].obj): collector.items[key].final for key in keys}

    def name_of(obj: Any) -> str:
        return finals[id(obj)]

    parts = [f'"""{header.strip()}\n"""\n\nfrom __future__ import annotations\n\n']
    imports = [f"import {m}\n" for m in sorted(collector.std_modules)]
    imports += [
        f"from {m} import {', '.join(sorted(names))}\n" for m, names in sorted(collector.std_imports.items())
    ]
    if collector.api_names:
        imports.append(f"\nfrom {api_module} import (\n")
        imports += [f"    {name},\n" for name in sorted(collector.api_names)]
        imports.append(")\n")
    parts.append("".join(imports))
    items = [collector.items[key] for key in collector.order]
    for kind in ("constant", "class", "function"):
        for item in (i for i in items if i.kind == kind):
            parts.append("\n\n" + _rewrite(item, collector).rstrip() + "\n")
    parts.append("\n\n" + footer(name_of).strip() + "\n")
    return "".join(parts)
