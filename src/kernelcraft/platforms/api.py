"""The Platform API: the one typed interface through which the harness reaches a target.

Everything outside platforms/ (the agent tools, the session core, scoring, the runner, the
CLI, the environments) talks to a target only through `Platform` and the types below; no
module outside platforms/ knows a platform's name, memories or instructions. A new target
is one folder under platforms/ with a `Platform` subclass, plus one line in registry.py,
and it is "working" when tests/platforms/test_conformance.py passes for it.

What a platform provides (abstract methods must be implemented; the rest has defaults):
- identity and prompt facts: name, title, kernel language, file suffix, code-fence name,
  numerics (which form of a task it runs), clock, the data-type paragraph, its docs;
- its shape tables (which tasks it runs at which parameters, and why it cannot run others);
- prepare(task, config, seed, profile, poison) -> Instance: inputs, reference, contract text;
- build(source) -> BuildResult: assembling, or compiling and linking (a program may be an ELF);
- run(program, instance) -> Evaluation: simulate and judge against the reference;
- the baseline kernel, instruction-size report, roofline bound, one-shot examples, the
  kernels scripted models play, and the platform's own CLI subcommands.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np

from .base import Diagnostic, Fault, RunLimits, errors_only
from .behaviour import AddedInstruction, Behaviour
from .judging import OutputDiff, Tolerance, format_number

if TYPE_CHECKING:
    import typer

    from ..tasks import Task

CONFIG_NAMES = ("C1", "C2", "C3", "C4", "C5")
ShapeTable = Mapping[str, Mapping[str, Mapping[str, int]]]  # task id -> config name -> params
ScriptedKind = Literal["oracle", "cheater", "broken_syntax", "broken_wrong"]


class PlatformError(ValueError):
    """A request a platform cannot serve (unknown task or configuration, unsupported task);
    the message is one line meant for the user or the model."""


def normalise_config(name: str) -> str:
    """Configuration names are case-insensitive: 'c1' is 'C1'."""
    return name.strip().upper() if isinstance(name, str) else name


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True)
class BuildResult:
    """What build(source) returns: a program, or the diagnostics that prevent one.

    Warnings may come with a program. `program` is opaque to the harness; it only hands it
    back to the same platform's run() and instruction_size().
    """

    program: Any | None
    diagnostics: tuple[Diagnostic, ...] = ()
    size: int | None = None  # static instruction count (or bytes of code), when built

    @property
    def ok(self) -> bool:
        return self.program is not None

    @property
    def errors(self) -> list[Diagnostic]:
        return errors_only(self.diagnostics)

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


@runtime_checkable
class RunStats(Protocol):
    """A platform's run statistics. `cycles` is the score; the rest is for the agent and reports."""

    cycles: int
    instructions: int

    def to_dict(self) -> dict[str, Any]: ...

    def summary_lines(self) -> list[str]:
        """One or two lines a performance engineer acts on (busy units, stalls, IPC, ...)."""
        ...


@runtime_checkable
class Instance(Protocol):
    """One prepared task instance: the inputs as the hardware sees them, and the reference.

    The reference never enters simulated memory. contract_text() is the I/O contract the
    task prompt states (where inputs are, where the output must land, constants, layouts).
    """

    task: Task
    config_name: str
    seed: int
    profile: str
    params: Mapping[str, int]
    reference: np.ndarray
    output_shape: tuple[int, ...]
    tolerance: Tolerance

    @property
    def poison(self) -> bool: ...

    def label(self) -> str: ...

    def contract_text(self) -> str: ...


@dataclass
class Evaluation:
    """A kernel judged on one instance: built, ran (or faulted), and compared with the reference.

    Never an exception for a bad kernel: build errors are diagnostics, runtime problems a
    fault, wrong numbers a diff. `correct` needs a clean run and every element in tolerance.
    """

    label: str
    ok: bool  # built and ran to the end without a fault
    correct: bool
    match_rate: float  # share of output elements within tolerance, 0..1
    tolerance: Tolerance
    diagnostics: tuple[Diagnostic, ...] = ()  # build diagnostics, then run-time warnings
    fault: Fault | None = None
    stats: RunStats | None = None
    diff: OutputDiff | None = None
    mse: float | None = None
    max_abs_err: float | None = None
    output: np.ndarray | None = None
    program: Any | None = field(default=None, repr=False)
    trace: Any | None = field(default=None, repr=False)

    @property
    def cycles(self) -> int | None:
        return None if self.stats is None else int(self.stats.cycles)

    @property
    def errors(self) -> list[Diagnostic]:
        return errors_only(self.diagnostics)

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "ok": self.ok,
            "correct": self.correct,
            "match_rate": self.match_rate,
            "cycles": self.cycles,
            "mse": _json_float(self.mse),
            "max_abs_err": _json_float(self.max_abs_err),
            "tolerance": self.tolerance.to_dict(),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "fault": self.fault.to_dict() if self.fault else None,
            "stats": self.stats.to_dict() if self.stats is not None else None,
            "diff": self.diff.to_dict() if self.diff else None,
        }

    def format_summary(self) -> str:
        """What a person (CLI) reads: verdict, match rate, errors, cycles, warnings."""
        if self.stats is None and self.diff is None:
            errs = self.errors
            warns = len(self.diagnostics) - len(errs)
            lines = [f"{self.label}: BUILD FAILED, {len(errs)} error(s), {warns} warning(s)"]
            lines += [d.format() for d in self.diagnostics]
            if self.fault is not None:
                lines.append(self.fault.format())
            return "\n".join(lines)
        verdict = "CORRECT" if self.correct else ("INCORRECT" if self.ok else "RUNTIME FAULT")
        lines = [f"{self.label}: {verdict}"]
        if self.fault:
            lines.append(self.fault.format())
            lines.append("output as left when the run stopped:")
        d = self.diff
        if d is not None:
            within = f"{d.matched}/{d.total} within {self.tolerance.describe()}"
            lines.append(f"match rate {100 * self.match_rate:.2f}% ({within})")
            if not self.correct or d.nan_count or d.inf_count:
                lines.append(
                    f"max abs err {format_number(self.max_abs_err)}, mse {format_number(self.mse)}, "
                    f"NaN {d.nan_count}, Inf {d.inf_count}, untouched {d.untouched} ({d.untouched_meaning})"
                )
            if d.first_mismatch is not None:
                idx = ", ".join(map(str, d.first_mismatch))
                lines.append(
                    f"first mismatch at [{idx}]: got {format_number(d.first_mismatch_got)}, "
                    f"expected {format_number(d.first_mismatch_expected)}"
                )
        if self.stats is not None:
            lines.append(f"cycles {self.stats.cycles}; {self.stats.instructions} instructions executed")
            lines += list(self.stats.summary_lines())
        lines += [w.format() for w in self.warnings]
        return "\n".join(lines)

    def format_rows(self, max_rows: int = 16) -> str:
        if self.diff is None:
            return "no output: the kernel did not build"
        return self.diff.format_rows(max_rows)


def _json_float(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


@dataclass(frozen=True)
class TemplateSpec:
    """A compiler template the agent can edit in template mode: Python that generates kernels.

    `source` is a self-contained module whose `entry(config_name, ...)` returns the kernel
    source for one configuration of `task`. It only ever runs in the sandbox
    (kernelcraft.sandbox), where it may import `allowed_imports` (the platform's emitter
    API) and the pure standard library; `runner` ("module:function", trusted platform code)
    is what the sandbox calls: runner(module, entry=..., configs=[...], **runner_args) ->
    config -> {"source": text} or {"error": message, "traceback": text}.
    """

    name: str
    task: str
    source: str
    entry: str
    runner: str
    runner_args: Mapping[str, Any] = field(default_factory=dict)
    allowed_imports: tuple[str, ...] = ()
    language: str = "python"
    api_doc: str = ""  # Markdown reference of what the template may import (searchable by grep_docs)
    # A general edit of a template's source (correct at every configuration, fewer instructions),
    # what the scripted template model plays; None when the platform offers none.
    improve: Callable[[str], str] | None = None
    improvement_note: str = ""  # what `improve` changes, in one sentence


@dataclass(frozen=True)
class ExtensionSet:
    """Instructions a hardware configuration may include or leave out (ISA co-design).

    Each instruction's behaviour (typed operands and a NumPy reference, see behaviour.py) is
    what codesign mode compares an agent's proposals with; `vlen` is the vector length its
    references work on, `source` where the instructions come from."""

    name: str
    title: str
    source: str
    behaviours: tuple[Behaviour, ...]
    vlen: int
    doc: str = ""


# ---------------------------------------------------------------------------- the platform


class Platform(abc.ABC):
    """A target: an ISA with its docs, a toolchain (assembler or compiler + linker), a simulator
    with a timing model, a compiler baseline, and the task shapes it runs.

    Subclasses set the class attributes and implement the abstract methods. `config` is the
    platform's hardware configuration: a frozen, validated dataclass (hashable, picklable),
    so a platform object can be rebuilt in a worker process from (name, config).
    """

    name: ClassVar[str]  # registry key, lower case
    title: ClassVar[str]  # how prompts and reports name it
    kind: ClassVar[str] = "accelerator"  # what it is, for the prompt's heading ("processor", ...)
    kernel_language: ClassVar[str]  # e.g. "PLENA assembly"
    kernel_suffix: ClassVar[str]  # file suffix of a kernel source, with the dot: ".s", ".S"
    code_fence: ClassVar[str] = "asm"  # Markdown fence name for example kernels
    numerics: ClassVar[str] = "float"  # which form of a task it runs: "float" or "integer"
    # Which task the one-shot prompt shows as an example, best first (never the task itself).
    one_shot_examples: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, config: Any = None):
        self.config = self.default_config() if config is None else config

    # ------------------------------------------------------------------ facts for prompts
    @classmethod
    @abc.abstractmethod
    def default_config(cls) -> Any:
        """The hardware configuration used when none is given."""

    @property
    def clock_ghz(self) -> float:
        """Clock of the simulated core, so cycles can be shown as time (the config's clock_ghz)."""
        return float(self.config.clock_ghz)

    @abc.abstractmethod
    def dtypes_text(self) -> str:
        """The data-type paragraph of the task prompt (how inputs are stored, what is computed in)."""

    @abc.abstractmethod
    def docs(self) -> Mapping[str, str]:
        """The agent-facing docs, by name. 'isa', 'memory_layout', 'hardware' and 'guidance'
        fill the system prompt; every entry is searchable by grep_docs."""

    def profile_name(self) -> str | None:
        """The name of the timing profile results are measured under, if the platform has several."""
        return None

    # ------------------------------------------------------------------ tasks and shapes
    @abc.abstractmethod
    def shapes(self) -> ShapeTable:
        """Task id -> configuration name -> shape parameters, for every task this platform runs."""

    def unsupported(self) -> Mapping[str, str]:
        """Task id -> why this platform does not run it (tasks it lacks shapes for and is not
        listed here are reported as having no configurations on it)."""
        return {}

    def unsupported_reason(self, task: Task | str) -> str | None:
        task_id = task if isinstance(task, str) else task.id
        reasons = self.unsupported()
        if task_id in reasons:
            return reasons[task_id]
        if task_id not in self.shapes():
            return f"task {task_id} has no configurations for platform {self.name}"
        return None

    def supports(self, task: Task | str) -> bool:
        return self.unsupported_reason(task) is None

    def config_names(self, task: Task | str) -> tuple[str, ...]:
        task_id = task if isinstance(task, str) else task.id
        return tuple(self.shapes().get(task_id, {}))

    def params(self, task: Task | str, config: str) -> dict[str, int]:
        """Shape parameters of one cell; PlatformError for an unsupported task or unknown config."""
        task_id = task if isinstance(task, str) else task.id
        reason = self.unsupported_reason(task_id)
        if reason is not None:
            raise PlatformError(f"task {task_id} is not supported on {self.name}: {reason}")
        table = self.shapes()[task_id]
        name = normalise_config(config)
        if name not in table:
            raise PlatformError(
                f"unknown configuration {config!r} for task {task_id}; choose one of {', '.join(table)}"
            )
        return dict(table[name])

    # ------------------------------------------------------------------ the work
    @abc.abstractmethod
    def prepare(
        self, task: Task | str, config: str, seed: int, profile: str = "normal", poison: bool = False
    ) -> Instance:
        """Inputs, reference and contract of one instance. `poison` fills memory the contract does
        not initialise with a poison pattern (final scoring always poisons). PlatformError or
        TaskError for an unknown task, configuration or profile."""

    @abc.abstractmethod
    def build(self, source: str) -> BuildResult:
        """Assemble (or compile and link) a kernel source. Never raises for bad source: every
        problem is a Diagnostic with line, column, the offending text and a hint."""

    @abc.abstractmethod
    def run(
        self, program: Any, instance: Instance, limits: RunLimits | None = None, trace: bool = False
    ) -> Evaluation:
        """Simulate a built program on an instance and judge its output. Never raises for a bad
        kernel: runtime problems are a Fault (pc, instruction, source line, state)."""

    def evaluate(
        self, source_or_program: Any, instance: Instance, limits: RunLimits | None = None, trace: bool = False
    ) -> Evaluation:
        """build() then run(); build errors come back as an Evaluation without a run."""
        if isinstance(source_or_program, str):
            built = self.build(source_or_program)
            if not built.ok:
                return Evaluation(instance.label(), False, False, 0.0, instance.tolerance, built.diagnostics)
            evaluation = self.run(built.program, instance, limits, trace)
            if built.diagnostics:
                evaluation.diagnostics = tuple(built.diagnostics) + tuple(evaluation.diagnostics)
            return evaluation
        return self.run(source_or_program, instance, limits, trace)

    @abc.abstractmethod
    def baseline(self, task: Task | str, config: str) -> str:
        """The compiler baseline's kernel source for a cell (what speed-ups are measured against).
        PlatformError for a cell it cannot run; NotImplementedError if not lowered yet."""

    @abc.abstractmethod
    def instruction_size(self, program: Any) -> dict[str, int]:
        """Static instruction counts by category (a 'total' entry is added when absent)."""

    @abc.abstractmethod
    def roofline(self, instance: Instance) -> int | None:
        """A lower bound on any correct kernel's cycles for this instance (None when none is
        known). It must hold for every kernel the platform can run, the baseline included."""

    @abc.abstractmethod
    def scripted_kernel(self, kind: ScriptedKind, task: Task | str, config: str) -> str:
        """Kernels the scripted models play: "oracle" (correct), "cheater" (right on the visible
        run only, e.g. reads memory it never wrote), "broken_syntax" (does not build),
        "broken_wrong" (builds and runs, wrong output)."""

    # ------------------------------------------------------------------ optional extras
    def run_limits(self) -> RunLimits:
        """The simulator's limits when a caller gives none. A platform whose largest cells take
        long to simulate raises the wall time here (the session and the simulation pool use it)."""
        return RunLimits()

    def trace_writer(self) -> Callable[[Evaluation, Any], int] | None:
        """A function writing an evaluation's trace to a path (returns events written), if any."""
        return None

    def templates(self) -> Mapping[str, TemplateSpec]:
        """The platform's compiler templates by name (template mode); empty when it has none."""
        return {}

    def instruction_extensions(self) -> Mapping[str, ExtensionSet]:
        """Extension sets this platform defines, by name (empty when it has none)."""
        return {}

    def enabled_extensions(self) -> tuple[str, ...]:
        """The extension sets the current hardware configuration includes."""
        return ()

    def with_extensions(self, names: Sequence[str]) -> Platform:
        """This platform with the named extension sets included in its hardware configuration
        (registry names such as "plena+dllm" come here). PlatformError for an unknown set."""
        if names:
            raise PlatformError(f"{self.title} has no instruction extension sets")
        return self

    def with_instructions(self, instructions: Sequence[AddedInstruction]) -> Platform:
        """A variant of this platform whose ISA also has `instructions`: its assembler accepts
        them, its simulator runs them (calling each one's behaviour.reference) and its docs
        describe them. NotImplementedError when the platform cannot add instructions."""
        raise NotImplementedError(f"{self.title} cannot add instructions at run time")

    def cli(self) -> typer.Typer | None:
        """The platform's own subcommands (raw simulation, asm/disasm, ...), mounted as
        `kernelcraft <name> ...`; `kernelcraft sim|asm|disasm --platform <name>` forward to them."""
        return None

    def build_key(self, source: str) -> str:
        """Identifies a build: same key, same program (used to cache builds across processes)."""
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self.name}:{hash(self.config)}:{digest}"
