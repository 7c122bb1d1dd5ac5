"""Template mode: the agent improves one of the platform's compiler templates.

The paper's first case study (its Appendix F): a compiler's FFN template, a Python generator
of assembly, is given to the agent, which edits the generator. Here any template the platform
offers (Platform.templates()) can be chosen, FFN being the paper's example. The six tools are
the kernel mode's, adapted:

- write_code saves the template (template.py);
- check_syntax imports it in the sandbox, lowers every configuration and assembles each kernel;
- run_evaluation lowers and runs the kernel of every configuration: per configuration the
  correctness, cycles and static instruction count next to the original template's;
- view_output, get_instruction_size and grep_docs as in kernel mode, per configuration.

Model-written Python only ever runs in the sandbox (kernelcraft.sandbox); the harness only
reads back the generated kernel text, which it assembles and simulates itself.

Scoring: the best template is the one correct at every configuration with the highest
geomean speed-up (ties: fewer static instructions). Its kernels are re-run on hidden seeds
with poisoned memory at every configuration, as in kernel mode; success needs all of them.
A template correct at only some configurations is reported as not general.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernelcraft.agent import prompts
from kernelcraft.agent.messages import ToolSpec
from kernelcraft.agent.scoring import ScoringReport, score_kernel
from kernelcraft.agent.session import EpisodeSetup
from kernelcraft.agent.tools import (
    MAX_CODE_BYTES,
    MAX_VIEW_ROWS,
    NO_ARGUMENTS,
    TOOL_SPECS,
    BestKernel,
    ToolBox,
    ToolInputError,
    Workspace,
    _format_diagnostics,
    format_match_rate,
)
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.api import BuildResult, Evaluation, Platform, PlatformError, TemplateSpec
from kernelcraft.sandbox import SandboxJob, SandboxLimits, run_sandboxed
from kernelcraft.tasks import Task

from .base import Mode, ModeError, ModeStart
from .common import config_list, geomean, percent, render

TEMPLATE_FILE = "template.py"
LOWERING_CACHE = 8
MAX_DIAGNOSTICS_PER_CONFIG = 8
TIE = 1e-3  # geomean speed-ups within 0.1% are ties, broken by instruction count
MAX_SCORED_TEMPLATES = 3  # best-first fallback when a better template fails hidden scoring

_BASE = {spec.name: spec for spec in TOOL_SPECS}
TEMPLATE_TOOL_SPECS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="write_code",
        description=(
            "Save the complete template (the whole Python module), replacing any previous version. "
            "Every other tool works on the saved template."
        ),
        parameters={
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "The complete Python source of template.py."}
            },
            "required": ["code"],
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        name="check_syntax",
        description=(
            "Import the saved template in the sandbox, lower every configuration and assemble each "
            "generated kernel. Returns per configuration: lowered (or the error with your traceback), "
            "assembler errors, and the static instruction count next to the original template's."
        ),
        parameters=NO_ARGUMENTS,
    ),
    ToolSpec(
        name="run_evaluation",
        description=(
            "Lower the saved template and run the kernel of every configuration on the simulator "
            "against the reference. Returns per configuration: correct, match rate, cycles and static "
            "instruction count next to the original template's, and the geomean speed-up and "
            "instruction-count change when every configuration is correct."
        ),
        parameters=NO_ARGUMENTS,
    ),
    ToolSpec(
        name="view_output",
        description=(
            "Show where the last evaluation's kernel differs from the reference at one configuration "
            "(default: the first configuration that is wrong), row by row."
        ),
        parameters={
            "type": "object",
            "properties": {"config": {"type": "string", "description": "A configuration name, e.g. C2."}},
            "additionalProperties": False,
        },
    ),
    ToolSpec(
        name="get_instruction_size",
        description=(
            "Static instruction counts by category of the saved template's kernel at every "
            "configuration, next to the original template's."
        ),
        parameters=NO_ARGUMENTS,
    ),
    ToolSpec(
        name="grep_docs",
        description=(
            "Search the ISA, memory layout, hardware and guidance documentation and the template "
            "emitter API. Returns the best matching sections with their heading path, or 'No matches'."
        ),
        parameters=_BASE["grep_docs"].parameters,
    ),
)


# ---------------------------------------------------------------------------- records


@dataclass
class ConfigKernel:
    """One configuration's generated kernel and what became of it."""

    config: str
    source: str | None = None
    error: str | None = None  # the template raised while lowering this configuration
    traceback: str = ""
    build: BuildResult | None = None
    evaluation: Evaluation | None = None

    @property
    def static(self) -> int | None:
        return self.build.size if self.build is not None and self.build.ok else None

    @property
    def correct(self) -> bool:
        return self.evaluation is not None and bool(self.evaluation.correct)

    @property
    def cycles(self) -> int | None:
        return None if self.evaluation is None else self.evaluation.cycles


@dataclass
class Lowering:
    """The template lowered at every configuration (or the job's failure as a whole)."""

    kernels: dict[str, ConfigKernel]
    failure: str | None = None  # syntax error, timeout, refused import ... (the sandbox's words)

    @property
    def lowered(self) -> list[str]:
        return [c for c, k in self.kernels.items() if k.source is not None]


@dataclass
class BestTemplate:
    source: str
    kernels: dict[str, str]  # config -> generated kernel source
    cycles: dict[str, int]
    static: dict[str, int]
    speedup: float | None
    instruction_ratio: float | None
    evaluation: int
    iteration: int


@dataclass
class TemplateScoringReport(ScoringReport):
    """ScoringReport plus what template mode measures per configuration."""

    template: str = ""
    configs: list[str] = field(default_factory=list)
    general: bool = False
    instruction_change: float | None = None  # geomean of per-configuration static ratios, minus 1
    per_config: dict[str, dict[str, Any]] = field(default_factory=dict)

    def mode_metrics(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "configs": self.configs,
            "general": self.general,
            "speedup_geomean": self.speedup,
            "instruction_change": self.instruction_change,
            "per_config": self.per_config,
            "notes": list(self.notes),
        }


class TemplateWorkspace(Workspace):
    """template.py, every evaluated version under templates/, the best template and its kernels."""

    def __init__(self, root: Path, kernel_suffix: str):
        super().__init__(root, ".py")
        self.kernel_path = self.root / TEMPLATE_FILE
        self.kernels_dir = self.root / "templates"
        self.kernel_suffix = kernel_suffix

    def write_best(self, code: str) -> Path:
        path = self.root / "best_template.py"
        path.write_text(code, encoding="utf-8", errors="surrogatepass")
        return path

    def write_best_kernels(self, kernels: dict[str, str]) -> None:
        folder = self.root / "best_kernels"
        folder.mkdir(exist_ok=True)
        for config, source in kernels.items():
            (folder / f"{config}{self.kernel_suffix}").write_text(source, encoding="utf-8")


# ---------------------------------------------------------------------------- lowering


class TemplateLowerer:
    """Lowers template sources in the sandbox and builds the kernels; cached by source text."""

    def __init__(self, platform: Platform, template: TemplateSpec, configs: list[str], limits: SandboxLimits):
        self.platform = platform
        self.template = template
        self.configs = configs
        self.limits = limits
        self._cache: OrderedDict[str, Lowering] = OrderedDict()

    def lower(self, source: str) -> Lowering:
        key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        cached = self._cache.pop(key, None)
        if cached is None:
            cached = self._lower(source)
        self._cache[key] = cached
        while len(self._cache) > LOWERING_CACHE:
            self._cache.popitem(last=False)
        return cached

    def _lower(self, source: str) -> Lowering:
        spec = self.template
        job = SandboxJob(
            source=source,
            runner=spec.runner,
            args={"entry": spec.entry, "configs": list(self.configs), **dict(spec.runner_args)},
            allowed_imports=tuple(spec.allowed_imports),
            preload=(spec.runner.partition(":")[0],),
            filename=TEMPLATE_FILE,
            module_name="kc_template",
        )
        result = run_sandboxed(job, self.limits)
        kernels = {c: ConfigKernel(c) for c in self.configs}
        if not result.ok:
            return Lowering(kernels, failure=result.describe())
        value = result.value if isinstance(result.value, dict) else {}
        for config in self.configs:
            entry = value.get(config)
            kernel = kernels[config]
            if not isinstance(entry, dict):
                kernel.error = "the runner returned nothing for this configuration"
            elif isinstance(entry.get("source"), str):
                size = len(entry["source"].encode("utf-8", "surrogatepass"))
                if size > MAX_CODE_BYTES:  # as for a kernel the model writes: not assembled
                    kernel.error = (
                        f"the generated kernel is {size} bytes; kernels are limited to {MAX_CODE_BYTES}"
                    )
                    continue
                kernel.source = entry["source"]
                kernel.build = self.platform.build(kernel.source)
            else:
                kernel.error = str(entry.get("error", "lowering failed"))
                kernel.traceback = str(entry.get("traceback", ""))
        return Lowering(kernels)


# ---------------------------------------------------------------------------- tools


class TemplateToolBox(ToolBox):
    """The six tools over a template: lower everywhere, judge everywhere, compare with the original."""

    def __init__(
        self,
        platform: Platform,
        template: TemplateSpec,
        task: Task,
        instances: dict[str, Any],
        original: Lowering,
        lowerer: TemplateLowerer,
        workspace: TemplateWorkspace,
        *,
        limits: Any = None,
    ):
        first = next(iter(instances.values()))
        super().__init__(platform, first, workspace, limits=limits, clock_ghz=platform.clock_ghz)
        self.template = template
        self.task = task
        self.configs = list(instances)
        self.instances = instances
        self.original = original
        self.lowerer = lowerer
        self.correct_templates: list[BestTemplate] = []
        self.best_partial: tuple[int, str] | None = None  # most configurations correct, and which
        self.last_lowering: Lowering | None = None
        self._extra_docs = {"template_api": template.api_doc} if template.api_doc else {}

    @property
    def specs(self) -> list[ToolSpec]:
        return list(TEMPLATE_TOOL_SPECS)

    @staticmethod
    def tool_specs() -> list[ToolSpec]:
        return list(TEMPLATE_TOOL_SPECS)

    # ------------------------------------------------------------------ helpers
    def _doc_sections(self):
        if self._sections is None:
            from kernelcraft.agent.docs_search import split_sections

            docs = {**dict(self.platform.docs()), **self._extra_docs}
            self._sections = [s for name, text in docs.items() for s in split_sections(name, text)]
        return self._sections

    def _saved_kernel(self) -> str:
        source = self.workspace.read_kernel()
        if source is None:
            raise ToolInputError("No template saved yet: call write_code with the complete template first.")
        return source

    def _original(self, config: str) -> ConfigKernel:
        return self.original.kernels[config]

    def _lower_saved(self) -> tuple[str, Lowering]:
        source = self._saved_kernel()
        lowering = self.lowerer.lower(source)
        self.last_lowering = lowering
        return source, lowering

    @staticmethod
    def _vs(new: int | None, old: int | None) -> str:
        if new is None:
            return "-"
        return f"{new} ({old})" if old is not None else str(new)

    # ------------------------------------------------------------------ tools
    def _check_syntax(self, args: dict[str, Any], iteration: int) -> str:
        _, lowering = self._lower_saved()
        if lowering.failure is not None:
            self.stats.syntax_errors += 1
            return "success: false\nThe template could not be lowered:\n" + lowering.failure
        bad = [k for k in lowering.kernels.values() if k.source is None or not k.build or not k.build.ok]
        if bad:
            self.stats.syntax_errors += 1
        lines = [
            f"success: {'false' if bad else 'true'}",
            f"lowered {len(lowering.lowered)} of {len(self.configs)} configurations; "
            + ("every kernel assembles" if not bad else f"{len(bad)} configuration(s) failed"),
            "",
            "| config | lowered | assembles | instructions (original) |",
            "|---|---|---|---|",
        ]
        for config, kernel in lowering.kernels.items():
            assembles = "-" if kernel.build is None else ("yes" if kernel.build.ok else "NO")
            lowered = "yes" if kernel.source is not None else "NO"
            static = self._vs(kernel.static, self._original(config).static)
            lines.append(f"| {config} | {lowered} | {assembles} | {static} |")
        lines += self._problems(lowering)
        return "\n".join(lines)

    def _problems(self, lowering: Lowering) -> list[str]:
        lines: list[str] = []
        shown: dict[tuple[str | None, str], str] = {}  # (error, traceback) -> first config with it
        for config, kernel in lowering.kernels.items():
            if kernel.source is None:
                key = (kernel.error, kernel.traceback or "")
                # The template's own exceptions come with its traceback; the harness's refusals
                # (an oversized kernel, nothing returned) are stated as they are.
                what = "the template raised " if kernel.traceback else ""
                if key in shown:  # one traceback per distinct failure, not one per configuration
                    lines += ["", f"{config}: {what}the same error as {shown[key]}"]
                    continue
                shown[key] = config
                lines += ["", f"{config}: {what}{kernel.error}"]
                if kernel.traceback:
                    lines.append(kernel.traceback)
            elif kernel.build is not None and not kernel.build.ok:
                diagnostics = list(kernel.build.diagnostics)
                lines += ["", f"{config}: the generated kernel does not assemble:"]
                lines += _format_diagnostics(diagnostics[:MAX_DIAGNOSTICS_PER_CONFIG])
                if len(diagnostics) > MAX_DIAGNOSTICS_PER_CONFIG:
                    lines.append(f"... and {len(diagnostics) - MAX_DIAGNOSTICS_PER_CONFIG} more")
        return lines

    def _run_evaluation(self, args: dict[str, Any], iteration: int) -> str:
        source = self._saved_kernel()
        self.stats.evaluations += 1
        number = self.stats.evaluations
        kept = self.workspace.keep_evaluated(number, source)
        self.stats.last_evaluated_source = source
        _, lowering = self._lower_saved()
        record: dict[str, Any] = {
            "evaluation": number,
            "iteration": iteration,
            "template": str(kept.relative_to(self.workspace.root)),
            "time": time.time(),
        }
        if lowering.failure is not None:
            self.stats.syntax_errors += 1
            record.update(lowered=False, correct=False, failure=lowering.failure)
            self.workspace.append_evaluation(record)
            return "success: false\nThe template could not be lowered; nothing was run:\n" + lowering.failure
        for config, kernel in lowering.kernels.items():
            if kernel.build is not None and kernel.build.ok:
                instance = self.instances[config]
                kernel.evaluation = self.platform.run(kernel.build.program, instance, self.limits)
        if any(k.source is None or not (k.build and k.build.ok) for k in lowering.kernels.values()):
            self.stats.syntax_errors += 1
        correct = [c for c, k in lowering.kernels.items() if k.correct]
        all_correct = len(correct) == len(self.configs)
        speedup, ratio = self._aggregate(lowering) if all_correct else (None, None)
        record.update(
            lowered=True,
            correct=all_correct,
            per_config={
                c: {
                    "correct": k.correct,
                    "match_rate": None if k.evaluation is None else k.evaluation.match_rate,
                    "cycles": k.cycles,
                    "instructions": k.static,
                    "error": k.error,
                }
                for c, k in lowering.kernels.items()
            },
            speedup=speedup,
            instruction_ratio=ratio,
        )
        self.workspace.append_evaluation(record)
        if all_correct:
            self._note_best(source, lowering, speedup, ratio, number, iteration)
        else:
            self.stats.functional_failures += 1
            if correct and (self.best_partial is None or len(correct) > self.best_partial[0]):
                self.best_partial = (len(correct), ", ".join(correct))
        self.last_evaluation = lowering
        return self._format_evaluation_table(lowering, all_correct, speedup, ratio)

    def _aggregate(self, lowering: Lowering) -> tuple[float | None, float | None]:
        speedups, ratios = [], []
        for config, kernel in lowering.kernels.items():
            old = self._original(config)
            if old.correct and old.cycles and kernel.cycles:
                speedups.append(old.cycles / kernel.cycles)
            if old.static and kernel.static:
                ratios.append(kernel.static / old.static)
        return geomean(speedups), geomean(ratios)

    def _note_best(self, source, lowering, speedup, ratio, number, iteration) -> None:
        if self.stats.first_correct_iteration is None:
            self.stats.first_correct_iteration = iteration
        if any(t.source == source for t in self.correct_templates):
            return
        record = BestTemplate(
            source=source,
            kernels={c: k.source for c, k in lowering.kernels.items() if k.source is not None},
            cycles={c: int(k.cycles) for c, k in lowering.kernels.items() if k.cycles is not None},
            static={c: int(k.static) for c, k in lowering.kernels.items() if k.static is not None},
            speedup=speedup,
            instruction_ratio=ratio,
            evaluation=number,
            iteration=iteration,
        )
        self.correct_templates.append(record)
        best = self.candidates()[0]
        self.stats.best = BestKernel(best.source, sum(best.cycles.values()), best.evaluation, best.iteration)

    def candidates(self) -> list[BestTemplate]:
        """Templates correct at every configuration, best first: highest geomean speed-up, then
        (within TIE) fewest static instructions, then the earlier evaluation."""

        def key(t: BestTemplate) -> tuple[float, int, int]:
            return (-round((t.speedup or 0.0) / TIE), sum(t.static.values()), t.evaluation)

        return sorted(self.correct_templates, key=key)

    @property
    def best_template(self) -> BestTemplate | None:
        found = self.candidates()
        return found[0] if found else None

    def _format_evaluation_table(self, lowering: Lowering, all_correct: bool, speedup, ratio) -> str:
        lines = [
            f"success: {'true' if all_correct else 'false'}",
            "",
            "| config | correct | match rate | cycles (original) | speed-up | instructions (original) |",
            "|---|---|---|---|---|---|",
        ]
        for config, kernel in lowering.kernels.items():
            old = self._original(config)
            if kernel.evaluation is None:
                status = "not lowered" if kernel.source is None else "does not assemble"
                lines.append(f"| {config} | {status} | - | - | - | {self._vs(kernel.static, old.static)} |")
                continue
            faster = kernel.correct and old.cycles and kernel.cycles
            gain = f"{old.cycles / kernel.cycles:.3f}x" if faster else "-"
            verdict = "yes" if kernel.correct else "NO"
            rate = format_match_rate(kernel.evaluation.match_rate)
            cycles, static = self._vs(kernel.cycles, old.cycles), self._vs(kernel.static, old.static)
            lines.append(f"| {config} | {verdict} | {rate} | {cycles} | {gain} | {static} |")
        lines.append("")
        if all_correct:
            change = None if ratio is None else ratio - 1.0
            lines.append(
                f"geomean speed-up over the original template: {speedup:.4f}x; "
                f"static instructions: {percent(change)} (geomean over configurations)"
                if speedup is not None
                else "correct at every configuration"
            )
            lines.append("general: yes (correct at every configuration)")
        else:
            good = [c for c, k in lowering.kernels.items() if k.correct]
            lines.append("general: no (correct at " + (", ".join(good) if good else "no configuration") + ")")
            lines += self._problems(lowering)
            for config, kernel in lowering.kernels.items():
                if kernel.evaluation is not None and not kernel.correct:
                    summary = kernel.evaluation.format_summary().splitlines()
                    lines += ["", f"{config}:"] + summary[:6]
            lines.append("")
            lines.append("Use view_output with a configuration to see which rows differ.")
        return "\n".join(lines)

    def _view_output(self, args: dict[str, Any], iteration: int) -> str:
        self._saved_kernel()
        if self.stats.evaluations == 0 or not isinstance(self.last_evaluation, Lowering):
            raise ToolInputError("no evaluation yet: call run_evaluation first.")
        lowering: Lowering = self.last_evaluation
        config = args.get("config")
        if config is None:
            wrong = [c for c, k in lowering.kernels.items() if not k.correct]
            config = wrong[0] if wrong else self.configs[0]
        config = str(config).strip().upper()
        if config not in lowering.kernels:
            raise ToolInputError(f"unknown configuration {config!r}; choose one of {', '.join(self.configs)}")
        kernel = lowering.kernels[config]
        if kernel.evaluation is None:
            reason = kernel.error or "its kernel does not assemble"
            raise ToolInputError(f"{config} was not run: {reason}")
        header = f"configuration {config}: {'correct' if kernel.correct else 'wrong'}"
        return header + "\n" + kernel.evaluation.format_rows(max_rows=MAX_VIEW_ROWS)

    def _get_instruction_size(self, args: dict[str, Any], iteration: int) -> str:
        _, lowering = self._lower_saved()
        if lowering.failure is not None:
            self.stats.syntax_errors += 1
            return "success: false\nThe template could not be lowered:\n" + lowering.failure
        lines = ["success: true", "static instruction counts, this template (original):"]
        for config, kernel in lowering.kernels.items():
            if kernel.build is None or not kernel.build.ok:
                lines.append(f"{config}: not available ({kernel.error or 'does not assemble'})")
                continue
            sizes = dict(self.platform.instruction_size(kernel.build.program))
            old = self._original(config)
            old_sizes = dict(self.platform.instruction_size(old.build.program)) if old.static else {}
            parts = ", ".join(f"{k} {v} ({old_sizes.get(k, '-')})" for k, v in sizes.items())
            lines.append(f"{config}: total {kernel.static} ({old.static}); {parts}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- the mode


class TemplateMode(Mode):
    name = "template"
    summary = "improve a compiler template (Python generator), scored at every configuration"
    default_model = "scripted:template_improver"
    sandbox_limits = SandboxLimits(cpu_s=30, wall_s=90)

    def start(self, spec: EpisodeSpec, workspace: Path, sim_pool: Any = None) -> ModeStart:
        from kernelcraft.agent.sim_pool import pooled_platform
        from kernelcraft.platforms.registry import get_platform
        from kernelcraft.tasks import get_task

        platform = get_platform(spec.platform)
        refusal = self.unavailable(platform, spec.task)
        if refusal is not None:
            raise ModeError(refusal)
        template = platform.templates()[spec.task]
        task = get_task(template.task)
        reason = platform.unsupported_reason(task)
        if reason is not None:
            raise PlatformError(f"task {task.id} is not supported on {platform.name}: {reason}")
        configs = config_list(platform, task.id, spec.config)
        platform = pooled_platform(platform, sim_pool)
        # Poisoned as in final scoring: a kernel reading memory it never wrote must not look correct.
        instances = {c: platform.prepare(task, c, spec.seed, poison=True) for c in configs}
        lowerer = TemplateLowerer(platform, template, configs, self.sandbox_limits)
        original = lowerer.lower(template.source)
        if original.failure is not None:
            raise ModeError(f"the original {template.name} template does not lower: {original.failure}")
        for config, kernel in original.kernels.items():
            if kernel.build is not None and kernel.build.ok:
                kernel.evaluation = platform.run(kernel.build.program, instances[config])
        toolbox = TemplateToolBox(
            platform,
            template,
            task,
            instances,
            original,
            lowerer,
            TemplateWorkspace(workspace, platform.kernel_suffix),
        )
        cap = spec.iteration_cap or task.iteration_cap
        system = self._system_prompt(platform, task, template, configs)
        user = self._task_prompt(platform, task, template, configs, spec.config, instances, original, cap)
        setup = EpisodeSetup(
            task=task,
            platform=platform,
            instance=instances[configs[0]],
            config=spec.config,
            baseline_source=None,
            baseline_cycles=None,
            roofline_cycles=None,
            iteration_cap=cap,
            system_prompt=system,
            user_prompt=user,
        )
        return ModeStart(setup, toolbox)

    def _system_prompt(self, platform, task, template, configs) -> str:
        parts = [
            render(
                "template_base",
                platform_title=platform.title,
                kernel_language=platform.kernel_language,
                task_name=task.name,
                configs=", ".join(configs),
                api_module=", ".join(template.allowed_imports) or "(nothing)",
            ),
            render("template_tools", tool_list=prompts.tool_list(TEMPLATE_TOOL_SPECS)),
            prompts.platform_section(platform),
        ]
        if template.api_doc:
            parts.append(template.api_doc.strip())
        parts.append(prompts.guidance_section(platform))
        return "\n\n".join(parts) + "\n"

    def _task_prompt(self, platform, task, template, configs, config_spec, instances, original, cap) -> str:
        rows = ["| config | shape | cycles | static instructions |", "|---|---|---|---|"]
        for config in configs:
            params = ", ".join(f"{k}={v}" for k, v in instances[config].params.items())
            kernel = original.kernels[config]
            cycles = kernel.cycles if kernel.correct else f"fails ({kernel.error or 'incorrect'})"
            rows.append(f"| {config} | {params} | {cycles} | {kernel.static if kernel.static else '-'} |")
        first = instances[configs[0]]
        label = config_spec if config_spec.strip().lower() != "all" else "all"
        return (
            render(
                "template_task",
                task_name=task.name,
                task_id=task.id,
                config_spec=label.replace(" ", ""),
                config_names=", ".join(configs),
                platform=platform.name,
                level=task.level,
                description=task.description.strip(),
                config_table="\n".join(rows),
                dtypes=prompts.dtypes_text(platform, first.tolerance),
                contract=first.contract_text().strip(),
                contract_config=configs[0],
                template_source=template.source.rstrip(),
                iteration_cap=cap,
            )
            + "\n"
        )

    def finish(self, session: Any) -> TemplateScoringReport:
        toolbox = session.toolbox
        assert isinstance(toolbox, TemplateToolBox)
        candidates = toolbox.candidates()
        if not candidates:
            report = TemplateScoringReport(
                kernel="none", template=toolbox.template.name, configs=toolbox.configs
            )
            if toolbox.best_partial is not None:
                where = toolbox.best_partial[1]
                report.notes.append(f"not general: the best template was correct only at {where}")
            else:
                report.notes.append("no template was correct at every configuration during the episode")
            return report
        rejected: list[dict[str, Any]] = []
        for candidate in candidates[:MAX_SCORED_TEMPLATES]:
            report = self._score(session, toolbox, candidate)
            if report.success:
                break
            rejected.append({"kernel": report.kernel, "reason": "; ".join(report.notes)})
        report.rejected = rejected if report.success else rejected[:-1]
        if report.success and rejected:
            report.notes.append(
                f"scored {report.kernel}: {len(rejected)} better template(s) failed hidden scoring"
            )
        return report

    def _score(self, session: Any, toolbox: TemplateToolBox, best: BestTemplate) -> TemplateScoringReport:
        """Every configuration's kernel of one template on hidden seeds, as kernel mode scores one."""
        setup = session.setup
        label = f"evaluation {best.evaluation}"
        report = TemplateScoringReport(kernel=label, template=toolbox.template.name, configs=toolbox.configs)
        toolbox.workspace.write_best(best.source)
        toolbox.workspace.write_best_kernels(best.kernels)
        report.general = True
        report.visible_correct = True
        speedups = []
        for config in toolbox.configs:
            original = toolbox.original.kernels[config]
            result = score_kernel(
                setup.platform,
                setup.task,
                config,
                session.spec.seed,
                best.kernels.get(config),
                kernel_label=f"{label}@{config}",
                baseline_cycles=original.cycles if original.correct else None,
                roofline=setup.platform.roofline(toolbox.instances[config]),
                secret=session.scoring_secret,
                baseline=original.source if original.correct else None,
            )
            for run in result.runs:  # one list for every configuration: say whose run it is
                run.label = f"{config} {run.label}"
            report.runs += result.runs
            report.per_config[config] = {
                "success": result.success,
                "cycles": result.scored_cycles,
                "baseline_cycles": result.baseline_cycles,
                "speedup": result.speedup,
                "instructions": best.static.get(config),
                "baseline_instructions": original.static,
                "notes": result.notes,
            }
            if result.speedup:
                speedups.append(result.speedup)
        report.success = all(entry["success"] for entry in report.per_config.values())
        report.instruction_change = None if best.instruction_ratio is None else best.instruction_ratio - 1.0
        if report.success:
            report.speedup = geomean(speedups)
        else:
            failed = [c for c, e in report.per_config.items() if not e["success"]]
            report.notes.append(f"the template's kernels fail hidden inputs at {', '.join(failed)}")
        return report

    def unavailable(self, platform: Platform, task_id: str) -> str | None:
        templates = platform.templates()
        if task_id in templates:
            return None
        names = ", ".join(sorted(templates)) or "none"
        return f"{platform.name} has no template for {task_id!r}; templates: {names}"

    def matrix_configs(self, platform: Platform, task_id: str) -> list[str] | None:
        return ["all"]
