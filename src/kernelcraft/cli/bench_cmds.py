"""`kernelcraft run` and `kernelcraft report`."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kernelcraft.cli.common import BadInput, split_list

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _console(stderr: bool = False) -> Console:
    # Model names like "a:b" must not become emoji, nor "[x]" markup.
    console = Console(stderr=stderr, markup=False, emoji=False, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    return console


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    _console(stderr=True).print(f"error: {message}", soft_wrap=True)
    return typer.Exit(code)


def run(
    model: Annotated[
        list[str] | None, typer.Option("--model", "-m", help="Model spec; repeat for several.")
    ] = None,
    platform: Annotated[
        list[str] | None, typer.Option("--platform", "-p", help="Platform; repeatable or comma-separated.")
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option("--task", "-t", help="Task id or 'all'; repeatable or comma-separated."),
    ] = None,
    config: Annotated[
        list[str] | None,
        typer.Option("--config", "-c", help="C1..C5 (any case) or 'all'; repeatable or comma-separated."),
    ] = None,
    samples: Annotated[int | None, typer.Option("--samples", "-k", help="Samples per cell.")] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Base seed; sample seeds derive from it.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory (default runs/<time>).")
    ] = None,
    run_file: Annotated[Path | None, typer.Option("--run-file", help="YAML or TOML run file.")] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-j", min=1, help="Episodes at once.")
    ] = None,
    executor: Annotated[str, typer.Option("--executor", help="local or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Existing Ray cluster.")] = None,
    sim_workers: Annotated[
        int | None,
        typer.Option(
            "--sim-workers",
            min=0,
            help="Simulator processes for local runs with -j > 1 (0: in-process; default: CPU count).",
        ),
    ] = None,
    iteration_cap: Annotated[
        int | None, typer.Option("--iteration-cap", help="Override the level cap.")
    ] = None,
    one_shot: Annotated[bool | None, typer.Option("--one-shot", help="Add an example kernel.")] = None,
    tool_calls_per_turn: Annotated[
        int | None,
        typer.Option("--tool-calls-per-turn", min=1, help="Tool calls answered per model turn (16)."),
    ] = None,
    time_budget: Annotated[
        float | None,
        typer.Option("--time-budget", min=0, help="Wall-clock seconds per episode (7200; 0: unbounded)."),
    ] = None,
    option: Annotated[list[str] | None, typer.Option("--option", help="Model option key=value.")] = None,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="Re-run harness errors.")] = False,
    prices: Annotated[Path | None, typer.Option("--prices", help="Price table (TOML) for costs.")] = None,
    scoring_secret: Annotated[
        str | None,
        typer.Option(
            "--scoring-secret",
            help="Fixed secret for the hidden scoring seeds, for reproducible runs (default: random).",
        ),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            "--mode",
            help="kernel (write a kernel), template (improve a compiler template at every "
            "configuration) or codesign (propose instructions; see docs/modes.md).",
        ),
    ] = None,
) -> None:
    """Run a matrix of episodes into a run directory; re-run to resume."""
    from kernelcraft.bench.executors import (
        EpisodeRunnerUnavailable,
        RunContext,
        default_episode_fn,
        pending_specs,
        run_episodes,
        with_scoring_secret,
    )
    from kernelcraft.bench.matrix import MatrixError, parse_options, specs_from_flags
    from kernelcraft.bench.metrics import PriceError, load_prices
    from kernelcraft.bench.progress import RunProgress
    from kernelcraft.bench.store import RunDirError, open_run

    if executor not in ("local", "ray"):
        raise _fail(f"unknown executor {executor!r} (choose local or ray)")
    try:
        price_table = load_prices(prices)
        overrides = {
            "models": model,
            "platforms": split_list(platform) or None,
            "tasks": split_list(task) or None,
            "configs": split_list(config) or None,
            "samples": samples,
            "seed": seed,
            "iteration_cap": iteration_cap,
            "one_shot": one_shot,
            "options": parse_options(option) if option else None,
            "tool_calls_per_turn": tool_calls_per_turn,
            "time_budget_s": time_budget,
            "mode": mode,
        }
        matrix, specs, catalog = specs_from_flags(run_file=run_file, **overrides)
    except (MatrixError, PriceError, BadInput) as exc:
        raise _fail(str(exc)) from None

    workers = (os.cpu_count() or 1) if sim_workers is None else sim_workers
    out_dir = out or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        episode_fn = default_episode_fn()
        _check_models(specs, episode_fn)
        store = open_run(
            out_dir,
            matrix,
            specs,
            catalog.version,
            invocation={
                "executor": executor,
                "concurrency": concurrency,
                "sim_workers": workers,
                "argv": _argv_without_secret(sys.argv[1:]),
            },
            scoring_secret=scoring_secret,
        )
        episode_fn = with_scoring_secret(episode_fn, store.scoring_secret)
    except (RunDirError, EpisodeRunnerUnavailable, MatrixError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot use run directory {out_dir}: {exc.strerror or exc}") from None

    console = _console()
    try:
        todo = pending_specs(store, specs, retry_errors)
        skipped = len(specs) - len(todo)
        if skipped:
            console.print(f"Resuming {out_dir}: {skipped} of {len(specs)} episodes already finished.")
        ctx = RunContext(store, episode_fn, catalog.levels(), catalog.version, replace_finished=retry_errors)
        with RunProgress(total=len(specs), already_done=skipped) as progress:
            ctx.progress = progress
            try:
                outcome = run_episodes(todo, ctx, executor, concurrency, ray_address, sim_workers=workers)
            except (EpisodeRunnerUnavailable, MatrixError) as exc:
                raise _fail(str(exc)) from None
            except OSError as exc:  # disk full, folder removed: finished episodes are on disk
                raise _fail(
                    f"the run stopped: cannot write to {out_dir} ({exc.strerror or exc}). Finished episodes "
                    f"are kept; fix the cause and run the same command with --out {out_dir} to resume."
                ) from None
    finally:
        store.unlock()

    _print_summary(console, store.root, specs, price_table)
    if outcome.interrupted:
        console.print(
            f"Interrupted. Finished episodes are kept; run the same command with --out {out_dir} to resume."
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    console.print(f"Run directory: {out_dir}   report: kernelcraft report {out_dir}")


def _argv_without_secret(argv: list[str]) -> list[str]:
    """The command line as recorded in the manifest: the secret is stored once, not echoed."""
    out, hide = [], False
    for arg in argv:
        if hide:
            out.append("[secret]")
            hide = False
        elif arg == "--scoring-secret":
            out.append(arg)
            hide = True
        elif arg.startswith("--scoring-secret="):
            out.append("--scoring-secret=[secret]")
        else:
            out.append(arg)
    return out


def _check_models(specs: list, episode_fn: object) -> None:
    """Fail before the run starts when a model cannot even be created (unknown provider, SDK
    not installed, no API key): otherwise every episode would record the same error."""
    from kernelcraft.agent.episode import run_episode
    from kernelcraft.agent.messages import ProviderError
    from kernelcraft.agent.providers import create_model

    if episode_fn is not run_episode:  # a custom episode function brings its own models
        return
    seen: set[tuple[str, tuple]] = set()
    for spec in specs:
        key = (spec.model, tuple(sorted(spec.model_options.items())))
        if key in seen:
            continue
        seen.add(key)
        try:
            create_model(spec.model, **spec.model_options)
        except (ValueError, ProviderError) as exc:
            raise _fail(f"model {spec.model}: {exc}") from None


def _print_summary(console: Console, root: Path, specs: list, prices: object) -> None:
    """Per-episode lines for small runs, per model/platform lines otherwise."""
    from kernelcraft.bench.metrics import Record, episode_speedup, metrics_by_column, total_tokens
    from kernelcraft.bench.progress import human_count
    from kernelcraft.bench.store import RunStore

    store = RunStore(root)
    results = [r for spec in specs if (r := store.read_result(spec)) is not None]
    if not results:
        console.print("No episode finished.")
        return
    if len(results) <= 20:
        table = Table(title=f"{len(results)} of {len(specs)} episodes")
        for name in (
            "model",
            "platform",
            "task",
            "config",
            "sample",
            "success",
            "speed-up",
            "iter.",
            "tokens",
            "end",
        ):
            table.add_column(name)
        for r in results:
            s = episode_speedup(r)
            table.add_row(
                r.model,
                r.platform,
                r.task,
                r.config,
                str(r.sample),
                "yes" if r.success else "no",
                f"{s.value:.2f}x" if s else "-",
                f"{r.iterations}/{r.iteration_cap}",
                human_count(total_tokens(r.tokens)),
                r.end_reason + (f": {r.error}" if r.error else ""),
            )
    else:
        table = Table(title=f"{len(results)} of {len(specs)} episodes")
        for name in ("model", "platform", "success", "geomean speed-up", "tokens", "cost"):
            table.add_column(name)
        for col, m in metrics_by_column([Record("", r) for r in results], prices).items():  # type: ignore[arg-type]
            table.add_row(
                col.model,
                col.platform,
                f"{m.successes}/{m.episodes}",
                f"{m.geomean_speedup:.2f}x" if m.geomean_speedup else "-",
                human_count(total_tokens(m.tokens)),
                f"${m.cost_usd:.2f}" if m.cost_usd is not None else "-",
            )
    console.print(table)


def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="One or more run directories.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Report folder (default RUN_DIR/report).")
    ] = None,
    prices: Annotated[Path | None, typer.Option("--prices", help="Price table (TOML) for costs.")] = None,
) -> None:
    """Write report.md, report.html, results.csv and summary.json for run directories."""
    from kernelcraft.bench.metrics import PriceError, load_prices
    from kernelcraft.bench.report import write_report

    for run_dir in run_dirs:
        if not run_dir.is_dir():
            raise _fail(f"{run_dir} is not a directory")
    try:
        price_table = load_prices(prices)
    except PriceError as exc:
        raise _fail(str(exc)) from None
    out_dir = out or (run_dirs[0] / "report" if len(run_dirs) == 1 else Path("report"))
    try:
        files = write_report(run_dirs, out_dir, price_table)
    except OSError as exc:
        raise _fail(f"cannot write the report to {out_dir}: {exc.strerror or exc}") from None
    console = _console()
    for note in files.notes:
        console.print(f"note: {note}", soft_wrap=True)
    console.print(
        f"Wrote {files.html} ({len(files.episode_pages)} episode pages), {files.markdown}, "
        f"{files.csv}, {files.summary}",
        soft_wrap=True,
    )


def export(
    run_dir: Annotated[Path, typer.Argument(help="A run directory written by `kernelcraft run`.")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Folder for the files (default RUN_DIR/export).")
    ] = None,
    fmt: Annotated[
        list[str] | None, typer.Option("--format", "-f", help="jsonl and/or parquet (default both).")
    ] = None,
) -> None:
    """Write the run's episodes as a dataset (JSONL, Parquet): prompts, messages, kernel, reward."""
    from kernelcraft.bench.export import FORMATS, ExportError, export_run

    try:
        paths = export_run(run_dir, out or run_dir / "export", tuple(split_list(fmt)) or FORMATS)
    except (ExportError, BadInput) as exc:
        raise _fail(str(exc)) from None
    for path in paths:
        _console().print(str(path))


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("report")(report)
    app.command("export")(export)
