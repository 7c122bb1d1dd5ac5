"""Toy: a complete, tiny platform, the test double of the Platform API.

It is small enough to read in one sitting and real enough to pass the conformance suite:
an instruction table that drives the assembler, the simulator, the cycle costs and the
ISA doc; diagnostics and faults as values; poisoned memory; a baseline generator; a
roofline bound; the kernels scripted models play. docs/adding-a-platform.md walks
through it section by section. A real platform splits these sections into modules of
its own folder under src/kernelcraft/platforms/ and adds one line to registry.py.

The machine: eight float64 registers r0..r7, one word-addressed memory of float64 words,
in-order execution, one instruction at a time, a fixed cost per instruction.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from kernelcraft.platforms.api import BuildResult, Evaluation, Platform, PlatformError, normalise_config
from kernelcraft.platforms.base import Diagnostic, Fault, RunLimits
from kernelcraft.platforms.judging import Tolerance, judge
from kernelcraft.tasks import Task, get_task

# ---------------------------------------------------------------------------- 1. hardware


@dataclass(frozen=True)
class ToyConfig:
    """The hardware configuration: frozen and validated, never module globals."""

    registers: int = 8
    memory_words: int = 4096
    output_base: int = 2048  # where the output must land
    clock_ghz: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.output_base < self.memory_words:
            raise ValueError("output_base must lie inside memory")


# ---------------------------------------------------------------------------- 2. the ISA table


@dataclass(frozen=True)
class Op:
    """One instruction: the single source for assembler, simulator, cost and docs."""

    mnemonic: str
    operands: str  # one letter per operand: r register, i immediate, l label
    cycles: int
    doc: str
    run: Callable[[Machine, tuple], int | None]  # returns the next pc, or None for pc + 1


def _li(m: Machine, a: tuple) -> None:
    m.r[a[0]] = a[1]


def _ld(m: Machine, a: tuple) -> None:
    m.r[a[0]] = m.mem[m.address(m.r[a[1]] + a[2])]


def _st(m: Machine, a: tuple) -> None:
    m.mem[m.address(m.r[a[1]] + a[2])] = m.r[a[0]]


def _halt(m: Machine, a: tuple) -> int:
    return len(m.program)


ISA: dict[str, Op] = {
    op.mnemonic: op
    for op in (
        Op("li", "ri", 1, "rd = imm (an integer or a decimal number).", _li),
        Op("ld", "rri", 2, "rd = mem[ra + imm].", _ld),
        Op("st", "rri", 2, "mem[ra + imm] = rs (the first operand is the value).", _st),
        Op("add", "rrr", 1, "rd = ra + rb.", lambda m, a: m.set(a[0], m.r[a[1]] + m.r[a[2]])),
        Op("addi", "rri", 1, "rd = ra + imm.", lambda m, a: m.set(a[0], m.r[a[1]] + a[2])),
        Op("mul", "rrr", 3, "rd = ra * rb.", lambda m, a: m.set(a[0], m.r[a[1]] * m.r[a[2]])),
        Op("max", "rrr", 1, "rd = max(ra, rb); NaN if either is NaN.", lambda m, a: m.set(a[0], _max(m, a))),
        Op(
            "blt",
            "rrl",
            1,
            "if ra < rb: jump to the label.",
            lambda m, a: a[2] if m.r[a[0]] < m.r[a[1]] else None,
        ),
        Op("halt", "", 1, "stop.", _halt),
    )
}


def _max(m: Machine, a: tuple) -> float:
    x, y = m.r[a[1]], m.r[a[2]]
    return float("nan") if x != x or y != y else max(x, y)


# ---------------------------------------------------------------------------- 3. assembler


@dataclass(frozen=True)
class Instruction:
    op: Op
    args: tuple
    line: int
    text: str


@dataclass(frozen=True)
class Program:
    instructions: tuple[Instruction, ...]

    def __len__(self) -> int:
        return len(self.instructions)


_LABEL = re.compile(r"^([A-Za-z_]\w*):\s*(.*)$")
_REGISTER = re.compile(r"^r(\d+)$")


def assemble(source: str, cfg: ToyConfig) -> BuildResult:
    """Text -> Program, or every problem as a Diagnostic with line, column and a hint."""
    diagnostics: list[Diagnostic] = []
    lines: list[tuple[int, str]] = []
    labels: dict[str, int] = {}
    for number, raw in enumerate(source.splitlines(), 1):
        text = raw.split(";", 1)[0].strip()
        match = _LABEL.match(text)
        if match:
            labels[match.group(1)] = len(lines)
            text = match.group(2).strip()
        if text:
            lines.append((number, text))
    instructions = []
    for number, text in lines:
        mnemonic, _, rest = text.partition(" ")
        op = ISA.get(mnemonic.lower())
        if op is None:
            hint = f"instructions are: {', '.join(ISA)}"
            diagnostics.append(Diagnostic(number, 1, f"unknown instruction {mnemonic!r}", text, hint))
            continue
        parts = [p.strip() for p in rest.split(",")] if rest.strip() else []
        if len(parts) != len(op.operands):
            usage = f"{op.mnemonic} {', '.join(op.operands)}".strip()
            message = f"{op.mnemonic} takes {len(op.operands)} operand(s), got {len(parts)}"
            diagnostics.append(Diagnostic(number, 1, message, text, f"usage: {usage}"))
            continue
        args, ok = [], True
        for kind, part in zip(op.operands, parts, strict=True):
            value, problem = _operand(kind, part, labels, cfg)
            if problem:
                column = text.find(part) + 1
                diagnostics.append(Diagnostic(number, column, problem, part, _HINTS[kind]))
                ok = False
            args.append(value)
        if ok:
            instructions.append(Instruction(op, tuple(args), number, text))
    if diagnostics:
        return BuildResult(None, tuple(diagnostics))
    return BuildResult(Program(tuple(instructions)), (), len(instructions))


_HINTS = {"r": "registers are r0..r7", "i": "an integer or decimal number", "l": "a label defined as `name:`"}


def _operand(kind: str, text: str, labels: Mapping[str, int], cfg: ToyConfig) -> tuple[object, str]:
    if kind == "r":
        match = _REGISTER.match(text)
        if match is None or int(match.group(1)) >= cfg.registers:
            return None, f"{text!r} is not a register"
        return int(match.group(1)), ""
    if kind == "i":
        try:
            value = float(text)
        except ValueError:
            return None, f"{text!r} is not a number"
        if not np.isfinite(value):
            return None, f"{text!r} is not a finite number"
        return value, ""
    if text not in labels:
        return None, f"undefined label {text!r}"
    return labels[text], ""


# ---------------------------------------------------------------------------- 4. simulator


class MachineFault(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


class Machine:
    def __init__(self, program: Program, memory: np.ndarray, cfg: ToyConfig):
        self.program, self.mem, self.cfg = program, memory, cfg
        self.r = [0.0] * cfg.registers

    def set(self, register: int, value: float) -> None:
        self.r[register] = value

    def address(self, value: float) -> int:
        if value != value or not float(value).is_integer() or not 0 <= value < self.cfg.memory_words:
            raise MachineFault("address", f"address {value} is outside memory 0..{self.cfg.memory_words - 1}")
        return int(value)


@dataclass
class ToyStats:
    cycles: int
    instructions: int
    loads: int = 0
    stores: int = 0

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)

    def summary_lines(self) -> list[str]:
        return [f"loads {self.loads}, stores {self.stores}"]


def simulate(
    program: Program, memory: np.ndarray, cfg: ToyConfig, limits: RunLimits
) -> tuple[ToyStats, Fault | None]:
    """Run to the end (or a halt, a fault, or a limit); memory is updated in place."""
    m = Machine(program, memory, cfg)
    stats, pc, deadline = ToyStats(0, 0), 0, time.monotonic() + limits.wall_time_s
    while pc < len(program):
        ins = program.instructions[pc]
        if stats.instructions >= limits.max_instructions or (
            stats.instructions % 4096 == 0 and time.monotonic() > deadline
        ):
            kind = "instruction_limit" if stats.instructions >= limits.max_instructions else "wall_time"
            return stats, Fault(kind, "the run hit its limit (an endless loop?)", pc, ins.text, ins.line)
        try:
            target = ins.op.run(m, ins.args)
        except MachineFault as exc:
            return stats, Fault(exc.kind, exc.message, pc, ins.text, ins.line, {"r": list(m.r)})
        stats.instructions += 1
        stats.cycles += ins.op.cycles
        stats.loads += ins.op.mnemonic == "ld"
        stats.stores += ins.op.mnemonic == "st"
        pc = pc + 1 if target is None else target
    return stats, None


# ---------------------------------------------------------------------------- 5. tasks and contract

SHAPES = {
    "relu": {"C1": {"R": 2, "H": 8}, "C2": {"R": 4, "H": 16}},
    "gemv": {"C1": {"M": 4, "N": 8}, "C2": {"M": 8, "N": 16}},
}
UNSUPPORTED = {"conv2d": "the toy has no convolution lowering"}
TOLERANCE = Tolerance(atol=1e-9, rtol=1e-9)  # float64 all the way


@dataclass(frozen=True)
class ToyInstance:
    task: Task
    config_name: str
    seed: int
    profile: str
    params: dict[str, int]
    reference: np.ndarray
    output_shape: tuple[int, ...]
    tolerance: Tolerance
    poison: bool
    addresses: dict[str, int]  # input name -> first word
    image: np.ndarray = field(repr=False)  # initial memory

    def label(self) -> str:
        shape = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.task.id} {self.config_name} ({shape})"

    def contract_text(self) -> str:
        lines = ["## I/O contract", "", "Inputs, row-major float64 words:", ""]
        for (name, shape), base in zip(
            self.task.inputs_for(self.params), self.addresses.values(), strict=True
        ):
            lines.append(f"- {name} {list(shape)} at word {base}")
        lines += [
            "",
            f"Write the output {list(self.output_shape)} row-major from word {TOY_CONFIG.output_base}.",
            "Memory the contract does not set reads 0 now and NaN in final scoring.",
        ]
        return "\n".join(lines) + "\n"


TOY_CONFIG = ToyConfig()


def prepare(task: Task, config: str, seed: int, profile: str, poison: bool, cfg: ToyConfig) -> ToyInstance:
    params = dict(SHAPES[task.id][config])
    inputs = task.make_inputs_for(params, seed, profile)
    memory = np.full(cfg.memory_words, np.nan if poison else 0.0)
    addresses, cursor = {}, 0
    for name, values in inputs.items():
        flat = values.astype(np.float64).reshape(-1)
        addresses[name] = cursor
        memory[cursor : cursor + flat.size] = flat
        cursor += flat.size
    reference = task.reference({k: v.astype(np.float64) for k, v in inputs.items()}, params)
    return ToyInstance(
        task, config, seed, profile, params, reference, reference.shape, TOLERANCE, poison, addresses, memory
    )


# ---------------------------------------------------------------------------- 6. baseline


def baseline(task_id: str, inst_params: Mapping[str, int], cfg: ToyConfig) -> str:
    """What a simple compiler emits: one loop per output row, a counter per loop."""
    out = cfg.output_base
    if task_id == "relu":
        n = inst_params["R"] * inst_params["H"]
        return (
            f"li r1, 0\nli r2, {n}\nli r3, 0\n"
            f"loop:\nld r4, r1, 0\nmax r4, r4, r3\nst r4, r1, {out}\naddi r1, r1, 1\nblt r1, r2, loop\nhalt\n"
        )
    if task_id == "gemv":
        m, n = inst_params["M"], inst_params["N"]  # A [M, N] at 0, x [1, N] at M*N
        return (
            f"li r1, 0\nli r2, {m}\nli r7, {n}\n"
            "row:\nli r3, 0\nli r4, 0\n"
            "col:\nld r5, r6, 0\nld r0, r3, {x}\nmul r5, r5, r0\nadd r4, r4, r5\n"
            "addi r6, r6, 1\naddi r3, r3, 1\nblt r3, r7, col\n"
            f"st r4, r1, {out}\naddi r1, r1, 1\nblt r1, r2, row\nhalt\n"
        ).replace("{x}", str(m * n))
    raise PlatformError(f"no baseline for {task_id}")


# ---------------------------------------------------------------------------- 7. the platform


class ToyPlatform(Platform):
    name = "toy"
    title = "Toy"
    kernel_language = "Toy assembly"
    kernel_suffix = ".toy"
    code_fence = "asm"
    numerics = "float"
    one_shot_examples = (("gemv", "C1"), ("relu", "C1"))

    @classmethod
    def default_config(cls) -> ToyConfig:
        return TOY_CONFIG

    def dtypes_text(self) -> str:
        return "Inputs and outputs are float64 words; every register holds a float64."

    def docs(self) -> dict[str, str]:
        isa = ["# Toy ISA", "", "Registers r0..r7; comments start with `;`; labels are `name:`.", ""]
        for op in ISA.values():
            isa += [f"## {op.mnemonic}", "", f"`{op.mnemonic} {', '.join(op.operands)}`: {op.doc}", ""]
            isa += [f"Cost: {op.cycles} cycle(s).", ""]
        return {
            "isa": "\n".join(isa),
            "memory_layout": f"# Memory layout\n\nOne memory of {self.config.memory_words} float64 words.\n",
            "hardware": f"# Hardware\n\nIn order, one instruction at a time, {self.config.clock_ghz} GHz.\n",
            "guidance": "# Guidance\n\n## Loops\n\nCount with a register and branch back with blt.\n",
        }

    def shapes(self) -> dict[str, dict[str, dict[str, int]]]:
        return SHAPES

    def unsupported(self) -> dict[str, str]:
        return UNSUPPORTED

    def prepare(self, task, config, seed, profile="normal", poison=False) -> ToyInstance:
        task = get_task(task) if isinstance(task, str) else task
        config = normalise_config(config)
        self.params(task, config)  # PlatformError for a cell the toy does not run
        return prepare(task, config, seed, profile, poison, self.config)

    def build(self, source: str) -> BuildResult:
        return assemble(source, self.config)

    def run(self, program: Program, instance: ToyInstance, limits=None, trace=False) -> Evaluation:
        memory = instance.image.copy()
        stats, fault = simulate(program, memory, self.config, limits or RunLimits())
        size = int(np.prod(instance.output_shape))
        out = memory[self.config.output_base : self.config.output_base + size].reshape(instance.output_shape)
        verdict = judge(out, instance.reference, instance.tolerance, row_width=8, poisoned=instance.poison)
        return Evaluation(
            instance.label(),
            ok=fault is None,
            correct=fault is None and verdict.all_match,
            match_rate=verdict.match_rate,
            tolerance=instance.tolerance,
            fault=fault,
            stats=stats,
            diff=verdict.diff,
            mse=verdict.mse,
            max_abs_err=verdict.max_abs_err,
            output=out,
            program=program,
        )

    def baseline(self, task, config: str) -> str:
        task_id = task if isinstance(task, str) else task.id
        return baseline(task_id, self.params(task_id, config), self.config)

    def instruction_size(self, program: Program) -> dict[str, int]:
        counts = {mnemonic: 0 for mnemonic in ISA}
        for ins in program.instructions:
            counts[ins.op.mnemonic] += 1
        return {"total": len(program), **{k: v for k, v in counts.items() if v}}

    def roofline(self, instance: ToyInstance) -> int:
        """Every output word must be stored once, and a store costs what the table says."""
        return int(np.prod(instance.output_shape)) * ISA["st"].cycles

    def scripted_kernel(self, kind, task, config: str) -> str:
        if kind == "oracle":
            return self.baseline(task, config)
        if kind == "cheater":  # adds a word nobody wrote: 0 in visible runs, NaN under poison
            far = self.config.memory_words - 1
            return self.baseline(task, config).replace(
                "halt\n",
                f"li r1, {far}\nld r2, r1, 0\nld r3, r1, {self.config.output_base - far}\n"
                f"add r3, r3, r2\nst r3, r1, {self.config.output_base - far}\nhalt\n",
            )
        if kind == "broken_syntax":
            return "li r1, 0\nbogus r1, r2\nld r9, r1, 0\n"
        if kind == "broken_wrong":
            return "li r1, 1\nhalt\n"
        raise ValueError(f"unknown scripted kernel kind {kind!r}")
