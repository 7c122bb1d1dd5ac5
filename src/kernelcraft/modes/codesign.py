"""Codesign mode: a kernel task whose specialised instructions are withheld, plus proposals.

The paper's ISA co-design case study (its Appendix G): the agent writes get_transfer_index
without the instructions prior work designed for it, finds the ISA lacking, and proposes new
instructions. Here the agent has the six kernel tools (the kernel is scored
exactly as in kernel mode, on the configured ISA) and `propose_instruction`, which records a
structured proposal: mnemonic, operands (kind and access), semantics in words, a NumPy
reference function (run only in the sandbox) and a cost estimate.

"Withheld" means: defined by the platform (Platform.instruction_extensions()) but not in the
hardware configuration the episode runs (Platform.enabled_extensions()). After the episode
each proposal's reference is compared, by behaviour on random inputs and whatever its names
or operand order, with every withheld instruction; result.json reports the matches.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kernelcraft.agent import prompts
from kernelcraft.agent.messages import ToolSpec
from kernelcraft.agent.scoring import ScoringReport
from kernelcraft.agent.session import Session, setup_episode
from kernelcraft.agent.tools import TOOL_SPECS, ToolBox, ToolInputError, Workspace
from kernelcraft.episodes import EpisodeSpec
from kernelcraft.platforms.api import Platform
from kernelcraft.platforms.behaviour import (
    KINDS,
    AddedInstruction,
    Behaviour,
    BehaviourError,
    compare,
    parse_operands,
    trial_inputs,
)
from kernelcraft.sandbox import SandboxCallError, SandboxJob, SandboxLimits, SandboxServer, run_sandboxed

from .base import Mode, ModeError, ModeStart
from .common import render

PROBE_RUNNER = "kernelcraft.platforms.behaviour:probe"
CALL_RUNNER = "kernelcraft.platforms.behaviour:call_reference"
SMOKE_TRIALS = 8
MAX_REFERENCE_BYTES = 20_000
MAX_PROPOSALS = 20
MNEMONIC = re.compile(r"[A-Z][A-Z0-9_]*")
MAX_MNEMONIC = 32
MAX_SEMANTICS = 4000
MAX_COST = 1_000_000
# Comparing proposals runs after the episode, outside its time budget: one job per proposal and
# operand pairing, each with tight limits (64 trials of a sound reference take milliseconds),
# and all of them within COMPARE_BUDGET_S, so slow references cannot stall the scoring.
COMPARE_LIMITS = SandboxLimits(cpu_s=5, wall_s=10, memory_bytes=1 << 30)
COMPARE_BUDGET_S = 120.0

PROPOSE_SPEC = ToolSpec(
    name="propose_instruction",
    description=(
        "Propose a new instruction for the ISA. Its NumPy reference runs in a sandbox on random inputs "
        "to check it is well formed; the proposal is then recorded with a number. Returns the number or "
        "what is wrong with the proposal."
    ),
    parameters={
        "type": "object",
        "properties": {
            "mnemonic": {"type": "string", "description": "Instruction name, e.g. V_ARGMAX."},
            "operands": {
                "type": "array",
                "description": "Operands in assembly order.",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string", "enum": list(KINDS)},
                        "access": {"type": "string", "enum": ["read", "write", "readwrite"]},
                        "doc": {"type": "string"},
                    },
                    "required": ["name", "kind", "access"],
                },
            },
            "semantics": {"type": "string", "description": "What it does, in words."},
            "reference": {
                "type": "string",
                "description": (
                    "Python source defining def reference(...): the values of the operands read, in "
                    "order, to the values of the operands written, in order. May import numpy and math."
                ),
            },
            "cost": {"type": "integer", "description": "Estimated cycles per execution."},
        },
        "required": ["mnemonic", "operands", "semantics", "reference", "cost"],
        "additionalProperties": False,
    },
)


@dataclass
class Proposal:
    number: int
    mnemonic: str
    operands: list[dict[str, str]]
    semantics: str
    reference: str
    cost: int
    iteration: int
    accepted: bool = False
    matches: list[dict[str, Any]] = field(default_factory=list)

    def behaviour(self) -> Behaviour:
        return Behaviour(self.mnemonic, parse_operands(self.operands), None, self.semantics)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sandboxed_reference(source: str, operands: list[dict[str, str]], vlen: int, limits: SandboxLimits):
    """A function running the proposal's reference in the sandbox on a list of trial inputs."""

    def run(inputs: list[list[Any]]) -> list[Any]:
        job = SandboxJob(
            source=source,
            runner=PROBE_RUNNER,
            args={"function": "reference", "operands": operands, "inputs": inputs, "vlen": vlen},
            allowed_imports=("numpy",),
            preload=("numpy", PROBE_RUNNER.partition(":")[0]),
            filename="reference.py",
            module_name="kc_reference",
        )
        result = run_sandboxed(job, limits)
        if not result.ok:
            raise BehaviourError(result.describe())
        return result.value

    return run


class CodesignToolBox(ToolBox):
    """The six kernel tools plus propose_instruction."""

    sandbox_limits = SandboxLimits(cpu_s=10, wall_s=30, memory_bytes=1 << 30)

    server_limits = SandboxLimits(cpu_s=600, wall_s=60, memory_bytes=1 << 30)

    def __init__(self, *args: Any, vlen: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.vlen = vlen
        self.proposals: list[Proposal] = []
        self._handlers["propose_instruction"] = self._propose_instruction
        self._extra_docs: dict[str, str] = {}
        self.base_platform = self.platform
        self.added: list[AddedInstruction] = []
        self._servers: list[SandboxServer] = []

    # ------------------------------------------------------------------ accepting proposals
    def accept(self, number: int) -> str:
        """Add proposal `number` to this session's ISA (the engineer's /accept): the platform's
        assembler, simulator and docs then include it. Returns what happened, for people."""
        proposal = next((p for p in self.proposals if p.number == number), None)
        if proposal is None:
            return f"there is no proposal {number}; proposals: {[p.number for p in self.proposals] or 'none'}"
        if proposal.accepted:
            return f"proposal {number} ({proposal.mnemonic}) is already part of this session's ISA"
        try:
            server = SandboxServer(
                SandboxJob(
                    source=proposal.reference,
                    runner=CALL_RUNNER,
                    allowed_imports=("numpy",),
                    preload=("numpy", CALL_RUNNER.partition(":")[0]),
                    filename=f"proposal_{number}.py",
                    module_name=f"kc_proposal_{number}",
                ),
                self.server_limits,
            )
        except SandboxCallError as exc:
            return f"proposal {number} could not be loaded in the sandbox: {exc}"
        added = AddedInstruction(
            Behaviour(
                proposal.mnemonic, parse_operands(proposal.operands), _remote(server, proposal, self.vlen)
            ),
            proposal.semantics,
            proposal.cost,
            f"proposal {number} of this session",
        )
        try:
            platform = self.base_platform.with_instructions([*self.added, added])
        except (NotImplementedError, ValueError) as exc:
            server.close()
            return f"proposal {number} cannot be added: {exc}"
        self._servers.append(server)
        self.added.append(added)
        proposal.accepted = True
        self.platform = platform
        self._sections = None  # the docs now describe it
        self._builds.clear()  # the assembler now knows it
        with (self.workspace.root / "proposals.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"accepted": number, "mnemonic": proposal.mnemonic}) + "\n")
        return f"proposal {number} ({proposal.mnemonic}) is now part of this session's ISA"

    def close(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()

    @property
    def specs(self) -> list[ToolSpec]:
        return [*TOOL_SPECS, PROPOSE_SPEC]

    @staticmethod
    def tool_specs() -> list[ToolSpec]:
        return [*TOOL_SPECS, PROPOSE_SPEC]

    def _propose_instruction(self, args: dict[str, Any], iteration: int) -> str:
        if len(self.proposals) >= MAX_PROPOSALS:
            raise ToolInputError(f"at most {MAX_PROPOSALS} proposals per session")
        mnemonic = args["mnemonic"].strip().upper()
        if len(mnemonic) > MAX_MNEMONIC:
            raise ToolInputError(f"the mnemonic is at most {MAX_MNEMONIC} characters")
        if not MNEMONIC.fullmatch(mnemonic):
            raise ToolInputError(
                "the mnemonic must be ASCII letters, digits and underscores, starting with a letter"
            )
        if len(args["semantics"]) > MAX_SEMANTICS:
            raise ToolInputError(f"the semantics are at most {MAX_SEMANTICS} characters")
        if len(args["reference"].encode("utf-8", "surrogatepass")) > MAX_REFERENCE_BYTES:
            raise ToolInputError(f"the reference source is over {MAX_REFERENCE_BYTES} bytes")
        try:
            roles = parse_operands(args["operands"])
        except BehaviourError as exc:
            raise ToolInputError(str(exc)) from None
        if args["cost"] < 1:
            raise ToolInputError("the cost is a number of cycles, at least 1")
        if args["cost"] > MAX_COST:
            raise ToolInputError(f"the cost is at most {MAX_COST} cycles")
        self._check_mnemonic_is_new(mnemonic, roles, args["semantics"], args["cost"])
        operands = [r.to_dict() for r in roles]
        run = sandboxed_reference(args["reference"], operands, self.vlen, self.sandbox_limits)
        try:
            outputs = run(trial_inputs(roles, self.vlen, SMOKE_TRIALS, seed=len(self.proposals)))
        except BehaviourError as exc:
            return f"success: false\nThe reference could not be run, so nothing was recorded:\n{exc}"
        failures = [o for o in outputs if isinstance(o, str)]
        if failures:
            return (
                "success: false\nThe reference failed on random inputs of the declared kinds, so nothing "
                f"was recorded ({len(failures)} of {len(outputs)} trials), e.g.:\n{failures[0]}"
            )
        proposal = Proposal(
            number=len(self.proposals) + 1,
            mnemonic=mnemonic,
            operands=operands,
            semantics=args["semantics"].strip(),
            reference=args["reference"],
            cost=int(args["cost"]),
            iteration=iteration,
        )
        folder = self.workspace.root / "proposals"
        folder.mkdir(exist_ok=True)
        (folder / f"{proposal.number:02d}_{mnemonic}.py").write_text(args["reference"], encoding="utf-8")
        with (self.workspace.root / "proposals.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(proposal.to_dict()) + "\n")
        self.proposals.append(proposal)  # numbered only once its files are written
        signature = proposal.behaviour().signature()
        return (
            f"success: true\nProposal {proposal.number} recorded: {mnemonic} "
            f"{', '.join(o['name'] for o in operands)} {signature}, about {proposal.cost} cycles. "
            f"Its reference ran on {SMOKE_TRIALS} random inputs of the declared kinds.\n"
            "It is not part of the ISA unless an engineer accepts it; keep writing the kernel with the "
            "instructions the ISA has."
        )

    def _check_mnemonic_is_new(self, mnemonic: str, roles: list, semantics: str, cost: int) -> None:
        """Refuse a name the ISA already has, as accepting it later would (the platform decides)."""
        candidate = AddedInstruction(Behaviour(mnemonic, roles, None, semantics), semantics, cost, "check")
        try:
            self.base_platform.with_instructions([*self.added, candidate])
        except ValueError as exc:
            raise ToolInputError(str(exc)) from None
        except NotImplementedError:
            pass  # this platform cannot take new instructions at all; the proposal is still recorded

    def _doc_sections(self):
        if self._sections is None:
            from kernelcraft.agent.docs_search import split_sections

            docs = {**dict(self.platform.docs()), **self._extra_docs}
            self._sections = [s for name, text in docs.items() for s in split_sections(name, text)]
        return self._sections


def _remote(server: SandboxServer, proposal: Proposal, vlen: int):
    """The proposal's reference as a local function: each call goes to its sandbox server."""
    operands = proposal.operands

    def reference(*values: Any) -> Any:
        inputs = [v.tolist() if hasattr(v, "tolist") else v for v in values]
        try:
            outputs = server.call(
                {"function": "reference", "operands": operands, "inputs": inputs, "vlen": vlen}
            )
        except SandboxCallError as exc:
            raise BehaviourError(f"{proposal.mnemonic}'s reference failed: {exc}") from None
        return tuple(outputs) if len(outputs) > 1 else outputs[0]

    return reference


@dataclass
class CodesignScoringReport(ScoringReport):
    withheld: list[str] = field(default_factory=list)
    enabled_extensions: list[str] = field(default_factory=list)
    proposals: list[dict[str, Any]] = field(default_factory=list)
    matched: dict[str, int] = field(default_factory=dict)  # withheld mnemonic -> proposal number

    def mode_metrics(self) -> dict[str, Any]:
        return {
            "withheld": self.withheld,
            "enabled_extensions": self.enabled_extensions,
            "proposals": self.proposals,
            "matched": self.matched,
        }


def withheld_behaviours(platform: Platform) -> list[tuple[Behaviour, int]]:
    enabled = set(platform.enabled_extensions())
    return [
        (behaviour, ext.vlen)
        for name, ext in platform.instruction_extensions().items()
        if name not in enabled
        for behaviour in ext.behaviours
    ]


def compare_proposals(
    proposals: list[Proposal],
    withheld: list[tuple[Behaviour, int]],
    limits: SandboxLimits,
    budget_s: float | None = None,
):
    """Fill each proposal's matches (best first) and return withheld mnemonic -> proposal number.

    A reference that fails in the sandbox (killed, refused) is not run again for the other
    targets; once `budget_s` (default COMPARE_BUDGET_S) is spent, the rest are not compared."""
    matched: dict[str, int] = {}
    deadline = time.monotonic() + (COMPARE_BUDGET_S if budget_s is None else budget_s)
    for proposal in proposals:
        behaviour = proposal.behaviour()
        proposal.matches = []
        failed: str | None = None
        for target, vlen in withheld:
            left = deadline - time.monotonic()
            skip = failed or (None if left > 0 else "the comparison budget was used up")
            if skip is not None:
                error = f"not compared: {skip}"
                proposal.matches.append({"target": target.mnemonic, "agreement": 0.0, "error": error})
                continue
            job_limits = replace(limits, wall_s=max(1.0, min(limits.wall_s, left)))
            run = sandboxed_reference(proposal.reference, proposal.operands, vlen, job_limits)
            try:
                match = compare(behaviour, run, target, vlen)
            except BehaviourError as exc:
                proposal.matches.append(
                    {"target": target.mnemonic, "agreement": 0.0, "error": str(exc)[:300]}
                )
                failed = f"its reference failed in the sandbox against {target.mnemonic}"
                continue
            if match is not None:
                proposal.matches.append(
                    {"target": match.target, "agreement": match.agreement, "pairing": match.pairing}
                )
                if match.equivalent:
                    matched.setdefault(match.target, proposal.number)
        proposal.matches.sort(key=lambda m: -m["agreement"])
    return matched


class CodesignMode(Mode):
    name = "codesign"
    summary = "write a kernel with specialised instructions withheld; propose instructions"
    default_model = "scripted:codesign_proposer"

    def unavailable(self, platform: Platform, task_id: str) -> str | None:
        if platform.instruction_extensions():
            return None
        return (
            f"codesign mode needs instruction extensions to withhold; {platform.name} defines none "
            "(its proposals would have nothing to be compared with)"
        )

    def start(self, spec: EpisodeSpec, workspace: Path, sim_pool: Any = None) -> ModeStart:
        setup = setup_episode(spec, sim_pool)
        platform = setup.platform
        refusal = self.unavailable(platform, spec.task)
        if refusal is not None:
            raise ModeError(refusal)
        specs = CodesignToolBox.tool_specs()
        setup.system_prompt = (
            prompts.system_prompt(platform, specs).rstrip()
            + "\n\n"
            + render("codesign", platform_title=platform.title)
            + "\n"
        )
        vlen = max((ext.vlen for ext in platform.instruction_extensions().values()), default=64)
        toolbox = CodesignToolBox(
            platform,
            setup.instance,
            Workspace(workspace, platform.kernel_suffix),
            baseline_cycles=setup.baseline_cycles,
            clock_ghz=platform.clock_ghz,
            vlen=vlen,
        )
        return ModeStart(setup, toolbox)

    def finish(self, session: Session) -> CodesignScoringReport:
        toolbox = session.toolbox
        assert isinstance(toolbox, CodesignToolBox)
        base = _kernel_report(session)
        report = CodesignScoringReport(**{k: getattr(base, k) for k in base.__dataclass_fields__})
        platform = session.setup.platform
        withheld = withheld_behaviours(platform)
        report.withheld = [b.mnemonic for b, _ in withheld]
        report.enabled_extensions = list(platform.enabled_extensions())
        report.matched = compare_proposals(toolbox.proposals, withheld, COMPARE_LIMITS)
        report.proposals = [
            {
                "number": p.number,
                "mnemonic": p.mnemonic,
                "signature": p.behaviour().signature(),
                "cost": p.cost,
                "accepted": p.accepted,
                "matches": p.matches,
            }
            for p in toolbox.proposals
        ]
        if toolbox.proposals:
            found = ", ".join(f"{name} (proposal {n})" for name, n in report.matched.items()) or "none"
            report.notes.append(f"withheld instructions matched by a proposal's behaviour: {found}")
        return report


def _kernel_report(session: Session) -> ScoringReport:
    """Kernel-mode scoring of the session's best kernel (the session's own rule)."""
    mode, session.mode = session.mode, None
    try:
        return Session.finish(session)
    finally:
        session.mode = mode
        session.report = None
