"""The six agent tools, their JSON schemas, and the per-episode workspace they share.

Every tool reads the kernel saved by write_code, as in the paper: a model never passes
code to the checker directly, so what was evaluated is always what is on disk. Every
result is text a model can act on; bad calls (unknown tool, invalid JSON, missing or
wrong arguments, no kernel yet) come back as error results, never as exceptions.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernelcraft.agent.docs_search import Section, query_words, search, split_sections
from kernelcraft.agent.messages import ToolCall, ToolResult, ToolSpec
from kernelcraft.agent.transcript import redact
from kernelcraft.platforms.api import BuildResult, Platform
from kernelcraft.safetext import scrub, scrub_value

MAX_CODE_BYTES = 2_000_000
MAX_RESULT_CHARS = 20_000
MAX_VIEW_ROWS = 32
GREP_SECTIONS = 4
GREP_SECTION_CHARS = 3_000
MAX_DIAGNOSTICS = 50
MAX_QUERY_CHARS = 1_000  # grep_docs queries are words, not documents
NO_KERNEL = "No kernel saved yet: call write_code with the complete assembly first."
BUILD_CACHE_SIZE = 16  # builds kept per episode, by source text (check, evaluate and size share them)

NO_ARGUMENTS = {"type": "object", "properties": {}, "additionalProperties": False}

TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="write_code",
        description=(
            "Save the complete assembly kernel, replacing any previous version. Every other tool "
            "works on the saved kernel. Returns whether it was saved and its line count."
        ),
        parameters={
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "The complete assembly source of the kernel."}
            },
            "required": ["code"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        name="check_syntax",
        description=(
            "Assemble (and link) the saved kernel without running it. Returns success, every error "
            "and warning with line, column and a hint, and the instruction count."
        ),
        parameters=NO_ARGUMENTS,
    ),
    ToolSpec(
        name="run_evaluation",
        description=(
            "Build and run the saved kernel on the simulator with the task's inputs and compare "
            "the output with the reference. Returns success, match rate, cycles (latency), MSE, "
            "max absolute error, any runtime fault, and the baseline kernel's cycles."
        ),
        parameters=NO_ARGUMENTS,
    ),
    ToolSpec(
        name="view_output",
        description=(
            "Show the last evaluation's output against the reference, row by row (where values "
            "differ and by how much), to locate what is wrong."
        ),
        parameters=NO_ARGUMENTS,
    ),
    ToolSpec(
        name="get_instruction_size",
        description="Count the saved kernel's instructions by category (static counts).",
        parameters=NO_ARGUMENTS,
    ),
    ToolSpec(
        name="grep_docs",
        description=(
            "Search the ISA, memory layout, hardware and guidance documentation. Returns the best "
            "matching sections with their heading path, or 'No matches'."
        ),
        parameters={
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "Words to look for, e.g. an instruction name or 'output layout'.",
                }
            },
            "required": ["query"],
            "additionalProperties": False,
        },
    ),
)
TOOL_NAMES = tuple(spec.name for spec in TOOL_SPECS)
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {"string": str, "integer": int, "number": (int, float)}


class ToolInputError(Exception):
    """A call the tool cannot serve; the message goes back to the model as an error result."""


class Workspace:
    """One folder per episode: the kernel (kernel.s, or the platform's suffix), every evaluated
    version under kernels/, evaluations.jsonl."""

    def __init__(self, root: Path, suffix: str = ".s"):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.suffix = suffix
        self.kernel_path = self.root / f"kernel{suffix}"
        self.kernels_dir = self.root / "kernels"
        self.evaluations_path = self.root / "evaluations.jsonl"

    @property
    def kernel_name(self) -> str:
        return self.kernel_path.name

    def write_kernel(self, code: str) -> None:
        tmp = self.kernel_path.with_name(self.kernel_path.name + ".tmp")
        tmp.write_text(redact(code), encoding="utf-8")
        tmp.replace(self.kernel_path)

    def read_kernel(self) -> str | None:
        try:
            return self.kernel_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_best(self, code: str) -> Path:
        path = self.root / f"best{self.suffix}"
        path.write_text(redact(code), encoding="utf-8")
        return path

    def keep_evaluated(self, number: int, code: str) -> Path:
        """Keep a copy of an evaluated kernel: kernels/eval_001.s, ..."""
        self.kernels_dir.mkdir(exist_ok=True)
        path = self.kernels_dir / f"eval_{number:03d}{self.suffix}"
        path.write_text(redact(code), encoding="utf-8")
        return path

    def append_evaluation(self, record: dict[str, Any]) -> None:
        with self.evaluations_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, default=str) + "\n")
            fh.flush()


@dataclass
class BestKernel:
    """A kernel that reached 100% on the visible seed."""

    source: str
    cycles: int
    evaluation: int  # which run_evaluation call (1-based)
    iteration: int


@dataclass
class ToolStats:
    tool_calls: int = 0
    evaluations: int = 0
    syntax_errors: int = 0  # S: check_syntax / run_evaluation calls that hit assembler errors
    functional_failures: int = 0  # F: evaluations that ran but mismatched or faulted
    tool_failures: int = 0  # T: unknown tools, invalid JSON, bad arguments, no kernel yet
    calls_by_tool: dict[str, int] = field(default_factory=dict)
    best: BestKernel | None = None  # the fastest of `correct`
    correct: list[BestKernel] = field(default_factory=list)  # distinct visible-correct kernels
    first_correct_iteration: int | None = None
    last_evaluated_source: str | None = None

    def candidates(self) -> list[BestKernel]:
        """Visible-correct kernels, fastest first (earlier evaluations first among equals)."""
        return sorted(self.correct, key=lambda k: (k.cycles, k.evaluation))


class ToolBox:
    """Serves tool calls for one task instance on one platform, keeping the episode's counters.

    Everything goes through the Platform API: build, run, instruction_size and docs;
    `instance` is what platform.prepare returned. `baseline_cycles` (the compiler baseline on
    the same inputs) is shown next to every evaluation so the model knows the latency to beat.
    Builds are cached by source text, so check_syntax, run_evaluation and
    get_instruction_size on the same kernel build it once.
    """

    def __init__(
        self,
        platform: Platform,
        instance: Any,
        workspace: Workspace,
        *,
        baseline_cycles: int | None = None,
        limits: Any = None,
        clock_ghz: float | None = None,
    ):
        self.platform = platform
        self.instance = instance
        self.workspace = workspace
        self.baseline_cycles = baseline_cycles
        self.limits = limits
        self.clock_ghz = clock_ghz
        self.stats = ToolStats()
        self.last_evaluation: Any = None
        self._sections: list[Section] | None = None
        self._builds: OrderedDict[str, BuildResult] = OrderedDict()
        self._handlers: dict[str, Callable[[dict[str, Any], int], str]] = {
            "write_code": self._write_code,
            "check_syntax": self._check_syntax,
            "run_evaluation": self._run_evaluation,
            "view_output": self._view_output,
            "get_instruction_size": self._get_instruction_size,
            "grep_docs": self._grep_docs,
        }

    @property
    def specs(self) -> list[ToolSpec]:
        return list(TOOL_SPECS)

    @staticmethod
    def tool_specs() -> list[ToolSpec]:
        return list(TOOL_SPECS)

    def call(self, call: ToolCall, iteration: int = 0) -> ToolResult:
        """Run one tool call; every failure becomes an error result the model can read.

        Arguments and results are scrubbed of characters no file or API accepts (lone
        surrogates), and the result says when that happened.
        """
        name, _ = scrub(str(call.name))
        arguments, replaced = scrub_value(call.arguments)
        call = ToolCall(call.id, name, arguments, scrub(call.raw_arguments)[0])
        self.stats.tool_calls += 1
        self.stats.calls_by_tool[call.name] = self.stats.calls_by_tool.get(call.name, 0) + 1
        note = (
            f"note: {replaced} character(s) of the arguments were not valid Unicode (lone surrogates) "
            "and were replaced with U+FFFD.\n"
            if replaced
            else ""
        )
        try:
            arguments = self._validated_arguments(call)
            text = self._handlers[call.name](arguments, iteration)
        except ToolInputError as exc:
            self.stats.tool_failures += 1
            return _result(call, f"{note}Error: {exc}", is_error=True)
        except Exception as exc:  # a platform defect must not end the episode
            self.stats.tool_failures += 1
            return _result(
                call, f"{note}Error: internal error in {call.name}: {type(exc).__name__}: {exc}", True
            )
        return _result(call, note + text)

    def refuse(self, call: ToolCall, reason: str) -> ToolResult:
        """Answer a call without running it (a bound was hit); counted as a tool-use failure."""
        self.stats.tool_calls += 1
        self.stats.tool_failures += 1
        return _result(call, f"Error: {reason}.", is_error=True)

    def run(self, name: str, arguments: dict[str, Any] | None = None, iteration: int = 0) -> ToolResult:
        """Convenience for callers without a model-issued call (MCP, CLI, tests)."""
        call_id = f"direct-{self.stats.tool_calls + 1}"
        call = ToolCall(
            id=call_id, name=name, arguments=arguments or {}, raw_arguments=json.dumps(arguments or {})
        )
        return self.call(call, iteration)

    # ------------------------------------------------------------------ argument checks
    def _validated_arguments(self, call: ToolCall) -> dict[str, Any]:
        if call.name not in self._handlers:
            names = ", ".join(spec.name for spec in self.specs)
            raise ToolInputError(f"unknown tool {call.name!r}; available tools: {names}")
        if call.arguments is None:
            raw = call.raw_arguments if len(call.raw_arguments) <= 200 else call.raw_arguments[:200] + "..."
            raise ToolInputError(
                f"the arguments of {call.name} are not valid JSON ({raw!r}); send a JSON object "
                "matching the tool's schema"
            )
        if not isinstance(call.arguments, dict):
            raise ToolInputError(f"the arguments of {call.name} must be a JSON object")
        schema = next(spec.parameters for spec in self.specs if spec.name == call.name)
        properties: dict[str, Any] = schema.get("properties", {})
        unknown = sorted(set(call.arguments) - set(properties))
        if unknown:
            allowed = ", ".join(properties) or "none"
            raise ToolInputError(
                f"{call.name} got unknown argument(s) {', '.join(unknown)}; it takes: {allowed}"
            )
        for name in schema.get("required", []):
            if name not in call.arguments:
                raise ToolInputError(f"{call.name} needs the argument {name!r}")
        for name, value in call.arguments.items():
            expected = properties[name].get("type")
            python_type = _JSON_TYPES.get(expected)
            if python_type and (not isinstance(value, python_type) or isinstance(value, bool)):
                raise ToolInputError(
                    f"argument {name!r} of {call.name} must be {_article(expected)} {expected}, "
                    f"not {_json_type(value)}"
                )
        return call.arguments

    def _saved_kernel(self) -> str:
        source = self.workspace.read_kernel()
        if source is None:
            raise ToolInputError(NO_KERNEL)
        return source

    def build(self, source: str) -> BuildResult:
        """The platform's build of `source`, from the cache when this episode built it before."""
        key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        built = self._builds.pop(key, None)
        if built is None:
            built = self.platform.build(source)
        self._builds[key] = built
        while len(self._builds) > BUILD_CACHE_SIZE:
            self._builds.popitem(last=False)
        return built

    # ------------------------------------------------------------------ tools
    def _write_code(self, args: dict[str, Any], iteration: int) -> str:
        code: str = args["code"]
        size = len(code.encode("utf-8"))
        if size > MAX_CODE_BYTES:
            raise ToolInputError(
                f"the code is {size} bytes; the limit is {MAX_CODE_BYTES} bytes. Nothing saved."
            )
        if not code.strip():
            raise ToolInputError("the code is empty. Nothing saved.")
        self.workspace.write_kernel(code)
        lines = len(code.splitlines())
        return f"success: true\nSaved {self.workspace.kernel_name} ({lines} lines, {size} bytes)."

    def _check_syntax(self, args: dict[str, Any], iteration: int) -> str:
        built = self.build(self._saved_kernel())
        errors = [d for d in built.diagnostics if d.severity == "error"]
        warnings = [d for d in built.diagnostics if d.severity != "error"]
        if errors or not built.ok:
            self.stats.syntax_errors += 1
        lines = [
            f"success: {_bool(built.ok)}",
            f"{len(errors)} error(s), {len(warnings)} warning(s)",
        ]
        if built.ok and built.size is not None:
            lines.append(f"instructions: {built.size}")
        lines += _format_diagnostics(built.diagnostics)
        if built.ok and not built.diagnostics:
            lines.append("All checks passed.")
        return "\n".join(lines)

    def _run_evaluation(self, args: dict[str, Any], iteration: int) -> str:
        source = self._saved_kernel()
        self.stats.evaluations += 1
        number = self.stats.evaluations
        kept = self.workspace.keep_evaluated(number, source)
        self.stats.last_evaluated_source = source
        record: dict[str, Any] = {
            "evaluation": number,
            "iteration": iteration,
            "kernel": str(kept.relative_to(self.workspace.root)),
            "time": time.time(),
        }
        try:
            built = self.build(source)
        except Exception as exc:  # every evaluation leaves a record, a defect included
            self.last_evaluation = None
            record.update(assembled=False, correct=False, error=f"{type(exc).__name__}: {exc}")
            self.workspace.append_evaluation(record)
            raise
        if not built.ok:
            self.stats.syntax_errors += 1
            self.last_evaluation = None
            errors = [d for d in built.diagnostics if d.severity == "error"]
            record.update(assembled=False, correct=False, errors=len(errors))
            self.workspace.append_evaluation(record)
            lines = ["success: false", "The kernel does not build, so it was not run:"]
            return "\n".join(lines + _format_diagnostics(built.diagnostics))
        try:
            evaluation = self.platform.run(built.program, self.instance, limits=self.limits)
        except Exception as exc:
            self.last_evaluation = None
            record.update(assembled=True, correct=False, error=f"{type(exc).__name__}: {exc}")
            self.workspace.append_evaluation(record)
            raise
        if built.diagnostics:  # build warnings stay visible next to the run's own
            evaluation.diagnostics = tuple(built.diagnostics) + tuple(evaluation.diagnostics)
        self.last_evaluation = evaluation
        correct = bool(evaluation.correct)
        cycles = _int_or_none(evaluation.cycles)
        record.update(
            assembled=True,
            correct=correct,
            match_rate=evaluation.match_rate,
            cycles=cycles,
            mse=_finite_or_none(evaluation.mse),
            max_abs_err=_finite_or_none(evaluation.max_abs_err),
            fault=evaluation.fault.to_dict() if evaluation.fault is not None else None,
        )
        self.workspace.append_evaluation(record)
        if correct and cycles is not None:
            self._note_correct(source, cycles, number, iteration)
        else:
            self.stats.functional_failures += 1
        return self._format_evaluation(evaluation, correct, cycles)

    def _note_correct(self, source: str, cycles: int, number: int, iteration: int) -> None:
        if self.stats.first_correct_iteration is None:
            self.stats.first_correct_iteration = iteration
        kernel = BestKernel(source, cycles, number, iteration)
        if all(known.source != source for known in self.stats.correct):
            self.stats.correct.append(kernel)
        best = self.stats.best
        if best is None or cycles < best.cycles:
            self.stats.best = kernel

    def _format_evaluation(self, evaluation: Any, correct: bool, cycles: int | None) -> str:
        lines = [
            f"success: {_bool(correct)}",
            f"match_rate: {format_match_rate(evaluation.match_rate)}",
        ]
        if cycles is not None:
            latency = f"cycles (latency): {cycles}"
            if self.clock_ghz:
                latency += f" ({cycles / self.clock_ghz:.0f} ns at {self.clock_ghz:g} GHz)"
            lines.append(latency)
        mse, max_err = _finite_or_none(evaluation.mse), _finite_or_none(evaluation.max_abs_err)
        lines.append(
            f"mse: {_num(mse, evaluation.mse)}   max_abs_err: {_num(max_err, evaluation.max_abs_err)}"
        )
        if self.baseline_cycles:
            line = f"baseline: {self.baseline_cycles} cycles"
            if correct and cycles:
                line += f" (speed-up over baseline: {self.baseline_cycles / cycles:.2f}x)"
            lines.append(line)
        summary = _safe_call(getattr(evaluation, "format_summary", None))
        if evaluation.fault is not None:
            # One line here; the full fault with machine state is in the details below.
            fault_text = evaluation.fault.format()
            lines.append("fault: " + (fault_text.splitlines()[0] if summary else fault_text))
        if summary:
            lines += ["", "details:", summary]
        if not correct:
            lines.append("Use view_output to see which rows differ.")
        return "\n".join(lines)

    def _view_output(self, args: dict[str, Any], iteration: int) -> str:
        self._saved_kernel()
        if self.stats.evaluations == 0:
            raise ToolInputError("no evaluation yet: call run_evaluation first.")
        if self.last_evaluation is None:
            raise ToolInputError("the last evaluated kernel did not build, so there is no output to view.")
        return self.last_evaluation.format_rows(max_rows=MAX_VIEW_ROWS)

    def _get_instruction_size(self, args: dict[str, Any], iteration: int) -> str:
        built = self.build(self._saved_kernel())
        if not built.ok:
            self.stats.syntax_errors += 1
            lines = ["success: false", "The kernel does not build:"]
            return "\n".join(lines + _format_diagnostics(built.diagnostics))
        sizes = dict(self.platform.instruction_size(built.program))
        if "total" not in sizes and all(isinstance(v, int) for v in sizes.values()):
            sizes = {"total": sum(sizes.values()), **sizes}
        return "\n".join(["success: true", "static instruction counts:", *_format_mapping(sizes)])

    def _grep_docs(self, args: dict[str, Any], iteration: int) -> str:
        query: str = args["query"]
        if not query.strip():
            raise ToolInputError("the query is empty; give one or more words to search for.")
        if len(query) > MAX_QUERY_CHARS:
            raise ToolInputError(
                f"the query is {len(query)} characters; the limit is {MAX_QUERY_CHARS}. "
                "Search for a few words."
            )
        hits = search(self._doc_sections(), query, limit=GREP_SECTIONS)
        header = ""
        if not hits and len(query_words(query)) > 1:
            # No section has the words together: say so, and show where some of them are.
            hits = search(self._doc_sections(), query, limit=2, partial=True)
            if hits:
                header = f"No section contains all of {query!r}; sections with some of the words:\n\n"
        if not hits:
            return f"No matches for {query!r}."
        parts = []
        for section in hits:
            body = section.body
            if len(body) > GREP_SECTION_CHARS:
                body = body[:GREP_SECTION_CHARS] + "\n[... section truncated]"
            parts.append(f"=== {section.title} ===\n{body}")
        return header + "\n\n".join(parts)

    def _doc_sections(self) -> list[Section]:
        if self._sections is None:
            docs: dict[str, str] = self.platform.docs()
            self._sections = [s for name, text in docs.items() for s in split_sections(name, text)]
        return self._sections


def _result(call: ToolCall, text: str, is_error: bool = False) -> ToolResult:
    return ToolResult(call.id, call.name, _truncate(scrub(text)[0]), is_error=is_error)


def format_match_rate(rate: float | None) -> str:
    """Match rates are fractions in [0, 1]; shown as a percentage with two decimals."""
    if rate is None:
        return "n/a"
    return f"{100.0 * float(rate):.2f}%"


def _format_diagnostics(diagnostics: Any) -> list[str]:
    items = list(diagnostics)
    lines = [d.format() for d in items[:MAX_DIAGNOSTICS]]
    if len(items) > MAX_DIAGNOSTICS:
        lines.append(f"... and {len(items) - MAX_DIAGNOSTICS} more")
    return lines


def _format_mapping(data: Any, indent: str = "") -> list[str]:
    if not isinstance(data, dict):
        return [f"{indent}{data}"]
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines += _format_mapping(value, indent + "  ")
        else:
            lines.append(f"{indent}{key}: {value}")
    return lines


def _truncate(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... output truncated: {len(text) - limit} more characters]"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def _num(finite: float | None, raw: Any) -> str:
    if finite is not None:
        return f"{finite:.6g}"
    return "n/a" if raw is None else str(raw)


def _safe_call(fn: Callable[[], str] | None) -> str:
    if fn is None:
        return ""
    try:
        return fn()
    except Exception:  # a formatting defect must not hide the numbers above
        return ""
