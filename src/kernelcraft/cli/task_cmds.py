"""`kernelcraft tasks`, `kernelcraft baseline` and `kernelcraft eval`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from kernelcraft.cli.common import EXIT_BAD_INPUT, EXIT_OK, BadInput, split_list
from kernelcraft.cli.common import EXIT_FAULT as EXIT_INCORRECT
from kernelcraft.platforms.registry import DEFAULT_PLATFORM


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _platform(name: str):
    from kernelcraft.platforms.registry import get_platform

    try:
        return get_platform(name)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


def _task(task_id: str, platform):
    from kernelcraft.tasks import TaskError, get_task

    try:
        task = get_task(task_id)
    except TaskError as exc:
        raise BadInput(str(exc)) from None
    reason = platform.unsupported_reason(task)
    if reason is not None:
        raise BadInput(f"task {task_id} is not supported on {platform.name}: {reason}")
    return task


def _prepare(platform, task, config: str, seed: int, poison: bool):
    try:
        return platform.prepare(task, config, seed, poison=poison)
    except ValueError as exc:
        raise BadInput(str(exc)) from None


# ---------------------------------------------------------------------------- tasks


def tasks_command(
    platform: Annotated[
        str, typer.Option("--platform", "-p", help="Platform whose support to show.")
    ] = DEFAULT_PLATFORM,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the task suite: id, name, level, category, support and configurations."""
    from kernelcraft.tasks import TASK_SET_VERSION, all_tasks

    rows = []
    try:
        plat = _platform(platform)
        platform = plat.name
        for task in all_tasks():
            reason = plat.unsupported_reason(task)
            configs = {c: plat.params(task, c) for c in plat.config_names(task)} if reason is None else {}
            rows.append(
                {
                    "id": task.id,
                    "name": task.name,
                    "level": task.level,
                    "category": task.category,
                    "supported": reason is None,
                    "unsupported_reason": reason,
                    "iteration_cap": task.iteration_cap,
                    "configs": configs,
                }
            )
    except BadInput as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if json_out:
        print(
            json.dumps({"task_set_version": TASK_SET_VERSION, "platform": platform, "tasks": rows}, indent=2)
        )
        return
    supported = sum(r["supported"] for r in rows)
    print(f"task set {TASK_SET_VERSION}, platform {platform}: {supported} of {len(rows)} supported")
    header = f"{'id':<16} {'name':<28} {'lvl':>3}  {'category':<18} {'sup':<4} configs"
    print(header)
    print("-" * len(header))
    for r in rows:
        if r["supported"]:
            shapes = "  ".join(
                f"{c}(" + ",".join(str(v) for v in p.values()) + ")" for c, p in r["configs"].items()
            )
            keys = ",".join(next(iter(r["configs"].values())))
            configs = f"[{keys}] {shapes}"
        else:
            configs = "-"
        sup = "yes" if r["supported"] else "no"
        print(f"{r['id']:<16} {r['name']:<28} {r['level']:>3}  {r['category']:<18} {sup:<4} {configs}")


# ---------------------------------------------------------------------------- baseline


def baseline_command(
    platform: Annotated[str, typer.Option("--platform", "-p", help="Platform.")] = DEFAULT_PLATFORM,
    task: Annotated[
        list[str] | None, typer.Option("--task", "-t", help="Task id; repeatable or comma-separated.")
    ] = None,
    config: Annotated[
        list[str] | None, typer.Option("--config", "-c", help="C1..C5; repeatable or comma-separated.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Input seed.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    emit: Annotated[bool, typer.Option("--emit", help="Print the baseline assembly.")] = False,
) -> None:
    """Generate and evaluate the compiler baseline per task and configuration."""
    try:
        code = run_baseline(platform, split_list(task), split_list(config), seed, json_out, emit)
    except BadInput as exc:
        _err(str(exc))
        code = EXIT_BAD_INPUT
    raise typer.Exit(code)


def run_baseline(
    platform_name: str, task_ids: list[str], configs: list[str], seed: int, json_out: bool, emit: bool
) -> int:
    from kernelcraft.platforms.api import CONFIG_NAMES, normalise_config
    from kernelcraft.tasks import all_tasks

    platform = _platform(platform_name)
    tasks = (
        [_task(t, platform) for t in task_ids]
        if task_ids
        else [t for t in all_tasks() if platform.supports(t)]
    )
    configs = [normalise_config(c) for c in configs]
    for c in configs:
        if c not in CONFIG_NAMES:
            raise BadInput(f"unknown configuration {c!r}; choose from {', '.join(CONFIG_NAMES)}")
    cells, any_bad = [], False
    for task in tasks:
        for config in configs or list(platform.config_names(task)):
            cell = {"task": task.id, "config": config}
            try:
                source = platform.baseline(task, config)
            except NotImplementedError as exc:
                cells.append({**cell, "status": "not implemented", "detail": str(exc)})
                continue
            except ValueError as exc:
                raise BadInput(str(exc)) from None
            instance = _prepare(platform, task, config, seed, poison=False)
            result = platform.evaluate(source, instance)
            any_bad = any_bad or not result.correct
            cells.append(
                {
                    **cell,
                    "status": "correct" if result.correct else "incorrect",
                    "match_rate": result.match_rate,
                    "cycles": result.cycles,
                    "instructions": _size(platform, result.program),
                    "summary": None if result.correct else result.format_summary(),
                }
            )
            if emit and not json_out:
                print(f"; ---- {task.id} {config} ----")
                print(source.rstrip())
    if json_out:
        print(json.dumps({"platform": platform.name, "seed": seed, "cells": cells}, indent=2))
    else:
        # With --emit, stdout is the assembly alone (redirect it to a .s file); the table goes to stderr.
        table = sys.stderr if emit else sys.stdout
        print(f"{'task':<16} {'cfg':<4} {'status':<16} {'match':>8} {'cycles':>12} {'instrs':>7}", file=table)
        for c in cells:
            if "match_rate" in c:
                print(
                    f"{c['task']:<16} {c['config']:<4} {c['status']:<16} {100 * c['match_rate']:>7.2f}% "
                    f"{c['cycles'] if c['cycles'] is not None else '-':>12} {c['instructions'] or '-':>7}",
                    file=table,
                )
            else:
                print(f"{c['task']:<16} {c['config']:<4} {c['status']:<16}", file=table)
        for c in cells:
            if c.get("summary"):
                print(file=table)
                print(c["summary"], file=table)
    return EXIT_INCORRECT if any_bad else EXIT_OK


def _size(platform, program) -> int | None:
    if program is None:
        return None
    sizes = platform.instruction_size(program)
    return int(sizes.get("total", sum(sizes.values())))


# ---------------------------------------------------------------------------- eval


def evaluate_kernel_cli(
    platform: str,
    task: str,
    config: str,
    kernel_path: str | Path,
    seed: int = 0,
    json_out: bool = False,
    trace_path: str | Path | None = None,
    poison: bool = False,
) -> int:
    """Evaluate a kernel file against a task instance and print what the agent would read.

    Returns 0 when correct, 1 when evaluated but not correct (including assembly errors and
    faults), 2 for bad input (unknown platform/task/config, unsupported task, missing file).
    """
    try:
        plat = _platform(platform)
        task_obj = _task(task, plat)
        path = Path(kernel_path)
        if not path.is_file():
            raise BadInput(f"kernel file not found: {path}")
        try:
            source = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput(f"cannot read {path}: {exc}") from None
        instance = _prepare(plat, task_obj, config, seed, poison)
    except BadInput as exc:
        _err(str(exc))
        return EXIT_BAD_INPUT
    writer = plat.trace_writer() if trace_path is not None else None
    if trace_path is not None and writer is None:
        _err(f"platform {plat.name} does not write traces")
        return EXIT_BAD_INPUT
    result = plat.evaluate(source, instance, trace=trace_path is not None)
    trace_note = None
    if writer is not None and result.program is not None and result.trace is not None:
        try:
            n = writer(result, Path(trace_path))
            trace_note = f"trace: {n} events written to {trace_path}"
        except (OSError, ValueError) as exc:
            _err(f"cannot write trace {trace_path}: {exc}")
            return EXIT_BAD_INPUT
    if json_out:
        data = result.to_dict()
        data.update({"task": task_obj.id, "config": config, "seed": seed, "poison": poison})
        print(json.dumps(data, indent=2))
    else:
        print(result.format_summary())
        if result.diff is not None:
            print()
            print(result.format_rows())
        if trace_note:
            print(trace_note)
    return EXIT_OK if result.correct else EXIT_INCORRECT


def eval_command(
    kernel: Annotated[Path, typer.Argument(help="Kernel assembly file.")],
    task: Annotated[str, typer.Option("--task", "-t", help="Task id.")],
    config: Annotated[str, typer.Option("--config", "-c", help="C1..C5.")] = "C1",
    platform: Annotated[str, typer.Option("--platform", "-p", help="Platform.")] = DEFAULT_PLATFORM,
    seed: Annotated[int, typer.Option("--seed", help="Input seed.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    trace: Annotated[
        Path | None, typer.Option("--trace", help="Write a Chrome trace-event JSON here.")
    ] = None,
    poison: Annotated[
        bool, typer.Option("--poison", help="Poison uninitialised memory, as final scoring does.")
    ] = False,
) -> None:
    """Evaluate a kernel on a task: summary, per-row diff, optional timeline trace."""
    raise typer.Exit(evaluate_kernel_cli(platform, task, config, kernel, seed, json_out, trace, poison))


def register(app: typer.Typer) -> None:
    app.command("tasks")(tasks_command)
    app.command("baseline")(baseline_command)
    app.command("eval")(eval_command)
