"""The run matrix: which episodes a `kernelcraft run` asks for.

A matrix comes from command-line flags or a run file (YAML or TOML) with the same
fields. It is validated against the task catalogue up front so a typo costs one clear
line instead of a half-finished run.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib
import os
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.api import normalise_config
from kernelcraft.platforms.registry import DEFAULT_PLATFORM

# Environment hook: "module:function" returning a TaskCatalog (used to run the CLI
# against a stand-in catalogue, e.g. in tests and throughput measurements).
TASK_CATALOG_ENV = "KERNELCRAFT_TASK_CATALOG"
ALL = "all"


class MatrixError(ValueError):
    """Bad run configuration; the message is one line meant for the user."""


class TaskLike(Protocol):
    id: str
    name: str
    level: int
    category: str


@dataclass(frozen=True)
class TaskCatalog:
    """The tasks a matrix may name, in catalogue order, the task-set version, and which
    configurations each platform runs each task at (none: the platform does not run it)."""

    tasks: tuple[TaskLike, ...]
    version: str
    configs: Callable[[str, str], Sequence[str]]  # (task id, platform) -> configuration names
    # Tasks that may be named but that "all" does not select (the case studies' tasks).
    extra: tuple[TaskLike, ...] = ()
    # (mode, task id, platform) -> why that mode cannot run the cell there (None: it can).
    mode_refusal: Callable[[str, str, str], str | None] = lambda mode, task_id, platform: None

    def get(self, task_id: str) -> TaskLike | None:
        for task in (*self.tasks, *self.extra):
            if task.id == task_id:
                return task
        return None

    def levels(self) -> dict[str, int]:
        return {task.id: task.level for task in (*self.tasks, *self.extra)}


def import_object(ref: str) -> Any:
    """Resolve "package.module:attribute"; errors become MatrixError."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise MatrixError(f"expected 'module:attribute', got {ref!r}")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise MatrixError(f"cannot load {ref!r}: {exc}") from None


def load_task_catalog() -> TaskCatalog:
    """The real catalogue from kernelcraft.tasks, imported only when a run needs it."""
    hook = os.environ.get(TASK_CATALOG_ENV)
    if hook:
        catalog = import_object(hook)()
        if not isinstance(catalog, TaskCatalog):
            raise MatrixError(f"{TASK_CATALOG_ENV}={hook} did not return a TaskCatalog")
        return catalog
    try:
        tasks_module = importlib.import_module("kernelcraft.tasks")
        tasks = tuple(tasks_module.all_tasks())
        extra = tuple(tasks_module.case_study_tasks())
        version = str(tasks_module.TASK_SET_VERSION)
    except (ImportError, AttributeError) as exc:
        raise MatrixError(f"the task catalogue (kernelcraft.tasks) is not available: {exc}") from None
    return TaskCatalog(
        tasks=tasks, version=version, configs=platform_configs, extra=extra, mode_refusal=mode_refusal
    )


@functools.cache
def mode_refusal(mode: str, task_id: str, platform: str) -> str | None:
    """Why a non-kernel mode cannot run a task on a registered platform (None: it can)."""
    from kernelcraft.modes import KERNEL_MODE, ModeError, get_mode
    from kernelcraft.platforms.registry import get_platform

    if mode == KERNEL_MODE:
        return None
    try:
        return get_mode(mode).unavailable(get_platform(platform), task_id)
    except (ModeError, ValueError, ImportError) as exc:
        return str(exc)


@functools.cache
def platform_configs(task_id: str, platform: str) -> tuple[str, ...]:
    """The configurations a registered platform runs a task at; () when it does not run it or
    the platform is unknown."""
    from kernelcraft.platforms.registry import get_platform

    try:
        plat = get_platform(platform)
    except (ValueError, ImportError):
        return ()
    return plat.config_names(task_id) if plat.supports(task_id) else ()


def sample_seed(base_seed: int, sample: int) -> int:
    """Visible evaluation seed of a sample: the same for every model, task and config,
    so models are compared on the same inputs; distinct across samples."""
    digest = hashlib.sha256(f"kernelcraft-sample:{base_seed}:{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    options: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name_is_one_word(cls, value: str) -> str:
        if not value.strip() or any(c.isspace() for c in value):
            raise ValueError(f"model name must be one word like 'openai:gpt-5.2', got {value!r}")
        return value

    @field_validator("options", mode="before")
    @classmethod
    def _options_as_text(cls, value: Any) -> Any:
        return _stringify_options(value)


class RunMatrix(BaseModel):
    """Everything that decides which episodes exist and how they run."""

    model_config = ConfigDict(extra="forbid")

    models: list[ModelEntry] = Field(default_factory=list, min_length=1)  # default: see below
    platforms: list[str] = Field(default_factory=lambda: [DEFAULT_PLATFORM], min_length=1)
    tasks: list[str] = Field(default_factory=lambda: ["silu"], min_length=1)
    configs: list[str] = Field(default_factory=lambda: ["C1"], min_length=1)
    samples: int = Field(1, ge=1, le=10_000)
    seed: int = Field(0, ge=0)
    iteration_cap: int | None = Field(None, ge=1)
    one_shot: bool = False
    tool_calls_per_turn: int = Field(16, ge=1, le=1000)
    time_budget_s: float | None = Field(7200.0, gt=0)  # None: unbounded
    options: dict[str, str] = Field(default_factory=dict)  # for every model; per-model options win
    mode: str = "kernel"  # kernel, template or codesign (kernelcraft.modes)

    @field_validator("mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        from kernelcraft.modes import mode_names

        if value not in mode_names():
            raise ValueError(f"unknown mode {value!r}; choose one of {', '.join(mode_names())}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _accept_flag_names(cls, data: Any) -> Any:
        """A run file may use the flag names (model, task, option, ...) and scalars."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for singular, plural in (
            ("model", "models"),
            ("platform", "platforms"),
            ("task", "tasks"),
            ("config", "configs"),
            ("option", "options"),
        ):
            if singular in data:
                if plural in data:
                    raise ValueError(f"give either '{singular}' or '{plural}', not both")
                data[plural] = data.pop(singular)
        for key in ("models", "platforms", "tasks", "configs"):
            if isinstance(data.get(key), str | dict):
                data[key] = [data[key]]
        if isinstance(data.get("models"), list):
            data["models"] = [{"name": m} if isinstance(m, str) else m for m in data["models"]]
        if "options" in data:
            data["options"] = _stringify_options(data["options"])
        return data

    @model_validator(mode="after")
    def _mode_default_model(self) -> RunMatrix:
        """Without named models a run plays the mode's scripted model (kernel mode: the oracle)."""
        if "models" not in self.model_fields_set:
            from kernelcraft.modes import default_model

            self.models = [ModelEntry(name=default_model(self.mode))]
        return self

    @field_validator("time_budget_s", mode="before")
    @classmethod
    def _zero_is_unbounded(cls, value: Any) -> Any:
        return None if value in (0, 0.0, "0", "none", "unbounded") else value

    def model_names(self) -> list[str]:
        return [entry.name for entry in self.models]


def _stringify_options(value: Any) -> Any:
    # TOML/YAML give numbers and booleans; model options travel as text.
    if isinstance(value, dict):
        return {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}
    if isinstance(value, list):  # ["key=value", ...] as on the command line
        return parse_options(value)
    return value


def parse_options(pairs: Iterable[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = str(pair).partition("=")
        if not sep or not key.strip():
            raise MatrixError(f"--option expects key=value, got {pair!r}")
        options[key.strip()] = value.strip()
    return options


def validation_message(exc: ValidationError, source: str = "") -> str:
    """First pydantic error as one readable line."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = f"unknown field {where!r}"
        where = ""
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    prefix = f"{source}: " if source else ""
    return f"{prefix}{where + ': ' if where else ''}{msg}{more}"


def read_run_file(path: Path) -> dict[str, Any]:
    """Parse a YAML or TOML run file into a plain mapping."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".toml"):
        raise MatrixError(f"run file {path} must end in .yaml, .yml or .toml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MatrixError(f"cannot read run file {path}: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text) if suffix == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MatrixError(f"run file {path} is not valid {suffix[1:].upper()}: {first_line}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MatrixError(f"run file {path} must hold a mapping of fields (models, tasks, ...)")
    return data


def matrix_from_sources(run_file: Path | None = None, overrides: dict[str, Any] | None = None) -> RunMatrix:
    """Run file fields, then any explicitly given flags on top."""
    data = read_run_file(run_file) if run_file is not None else {}
    source = str(run_file) if run_file is not None else ""
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        for alias in (key, key.rstrip("s")):  # a flag replaces the file's field under either name
            data.pop(alias, None)
        data[key] = value
    try:
        return RunMatrix.model_validate(data)
    except ValidationError as exc:
        raise MatrixError(validation_message(exc, source)) from None


def _unknown_task_message(name: str, catalog: TaskCatalog) -> str:
    known = [task.id for task in (*catalog.tasks, *catalog.extra)]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; known tasks: {', '.join(known)}"
    return f"unknown task {name!r}{hint}"


def build_specs(matrix: RunMatrix, catalog: TaskCatalog) -> list[EpisodeSpec]:
    """Expand a matrix into episode cells, in a stable order.

    "all" selects every task the platform supports / every configuration the task has.
    A task named explicitly is skipped on platforms that do not support it, and is an
    error only if none of the chosen platforms does.
    """

    def supports(task: TaskLike, platform: str) -> bool:
        # A catalogue may raise for a platform it has never heard of; that is "unsupported".
        try:
            return bool(catalog.configs(task.id, platform))
        except Exception:  # noqa: BLE001
            return False

    nameable = (*catalog.tasks, *catalog.extra)
    known_platforms = {p for p in matrix.platforms if any(supports(t, p) for t in nameable)}
    for platform in matrix.platforms:
        if platform not in known_platforms:
            raise MatrixError(f"unknown platform {platform!r}: no task supports it")

    named_tasks = _dedupe(matrix.tasks)
    wants_all_tasks = ALL in named_tasks
    if wants_all_tasks and len(named_tasks) > 1:
        raise MatrixError("task 'all' cannot be combined with other task names")

    def refusal(task: TaskLike, platform: str) -> str | None:
        return catalog.mode_refusal(matrix.mode, task.id, platform) if matrix.mode != "kernel" else None

    if not wants_all_tasks:
        for name in named_tasks:
            task = catalog.get(name)
            if task is None:
                raise MatrixError(_unknown_task_message(name, catalog))
            if not any(supports(task, p) for p in matrix.platforms):
                raise MatrixError(f"task {name!r} is not supported on {', '.join(matrix.platforms)}")
            reasons = [refusal(task, p) for p in matrix.platforms if supports(task, p)]
            if all(reasons):  # a mode the target lacks (no template, nothing to withhold)
                raise MatrixError(f"mode {matrix.mode}: {reasons[0]}")

    configs = _dedupe(c if c == ALL else normalise_config(c) for c in matrix.configs)
    if ALL in configs and len(configs) > 1:
        raise MatrixError("config 'all' cannot be combined with other configuration names")

    specs: list[EpisodeSpec] = []
    first_refusal: str | None = None
    for model in _dedupe_models(matrix.models):
        options = {**matrix.options, **model.options}
        for platform in _dedupe(matrix.platforms):
            if wants_all_tasks:
                tasks = [t for t in catalog.tasks if supports(t, platform)]
            else:
                tasks = [t for name in named_tasks if (t := catalog.get(name)) and supports(t, platform)]
            refused = {t.id: r for t in tasks if (r := refusal(t, platform)) is not None}
            tasks = [t for t in tasks if t.id not in refused]
            first_refusal = first_refusal or next(iter(refused.values()), None)
            for task in tasks:
                known = list(catalog.configs(task.id, platform))
                task_configs = known if ALL in configs else configs
                for config in task_configs:
                    if config not in known:
                        raise MatrixError(
                            f"unknown configuration {config!r} (task {task.id} has {', '.join(known)} "
                            f"on {platform})"
                        )
                if matrix.mode == "template":  # one episode scores the template at every configuration
                    task_configs = [ALL if ALL in configs else ",".join(task_configs)]
                for config in task_configs:
                    for sample in range(matrix.samples):
                        specs.append(
                            EpisodeSpec(
                                model=model.name,
                                platform=platform,
                                task=task.id,
                                config=config,
                                sample=sample,
                                seed=sample_seed(matrix.seed, sample),
                                iteration_cap=matrix.iteration_cap,
                                one_shot=matrix.one_shot,
                                tool_calls_per_turn=matrix.tool_calls_per_turn,
                                time_budget_s=matrix.time_budget_s,
                                model_options=options,
                                mode=matrix.mode,
                            )
                        )
    if not specs:
        if first_refusal is not None:
            raise MatrixError(f"mode {matrix.mode}: no task can run in this mode; e.g. {first_refusal}")
        raise MatrixError("the run matrix is empty")
    _check_unique_keys(specs)
    return specs


def _check_unique_keys(specs: list[EpisodeSpec]) -> None:
    # Folder names sanitise model names; two names that collide would share folders.
    seen: dict[str, str] = {}
    for spec in specs:
        key = spec.key()
        if key in seen and seen[key] != spec.model:
            raise MatrixError(f"models {seen[key]!r} and {spec.model!r} map to the same folder name")
        seen[key] = spec.model


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _dedupe_models(entries: Iterable[ModelEntry]) -> list[ModelEntry]:
    by_name: dict[str, ModelEntry] = {}
    for entry in entries:
        by_name.setdefault(entry.name, entry)
    return list(by_name.values())


def specs_from_flags(
    catalog_loader: Callable[[], TaskCatalog] = load_task_catalog,
    run_file: Path | None = None,
    **overrides: Any,
) -> tuple[RunMatrix, list[EpisodeSpec], TaskCatalog]:
    """Matrix, its cells and the catalogue they were checked against."""
    matrix = matrix_from_sources(run_file, overrides)
    catalog = catalog_loader()
    return matrix, build_specs(matrix, catalog), catalog
