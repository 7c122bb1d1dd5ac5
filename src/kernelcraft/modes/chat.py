"""`kernelcraft chat`: a codesign session as a conversation between the agent and an engineer.

The agent works as in an episode (the codesign tools, the same session core); whenever it
stops (answers without tool calls), or the engineer presses Ctrl-C, the engineer has the
floor: plain text goes to the agent, and commands act on the session:

    /accept N    add proposal N to this session's ISA (docs regenerated, simulator extended);
                 the agent is told at once and continues
    /proposals   list the proposals so far
    /help        the commands
    /quit        end the conversation (also Ctrl-D, or Ctrl-C at the prompt)

At the end the session is scored as a codesign episode (the best kernel on hidden seeds, the
proposals compared with the withheld instructions); the transcript (transcript.jsonl, the
episode format plus "engineer" and "accept" events), scoring.json, result.json and the
proposals are in the chat's folder.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kernelcraft.agent.loop import serve_call
from kernelcraft.agent.messages import Message, Model, ProviderError, ToolCall, ToolResult, Usage
from kernelcraft.agent.session import Session
from kernelcraft.agent.transcript import Transcript
from kernelcraft.episodes import EpisodeResult, EpisodeSpec, TokenCounts
from kernelcraft.safetext import scrub, scrub_value

from .codesign import CodesignToolBox

HELP = (
    "/accept N   add proposal N to this session's ISA (the agent can use it at once)\n"
    "/proposals  list the proposals\n"
    "/help       this list\n"
    "/quit       end (Ctrl-D, or Ctrl-C at the prompt)\n"
    "anything else is a message to the agent"
)
_ACCEPT = re.compile(r"/accept\s+([0-9]+)", re.ASCII)
ACCEPT_USAGE = "usage: /accept N, where N is a proposal number (see /proposals)"
HARNESS_ERROR = "harness_error"
INTERRUPTED = "interrupted"


class ChatUI(Protocol):
    """What the conversation shows and asks; the terminal (rich) and tests implement it."""

    def agent(self, text: str) -> None: ...

    def tool_call(self, call: ToolCall) -> None: ...

    def tool_result(self, result: ToolResult) -> None: ...

    def info(self, text: str) -> None: ...

    def ask(self) -> str | None:
        """The engineer's next line; None to end (end of input, or Ctrl-C at the prompt)."""
        ...


@dataclass
class ChatOutcome:
    end_reason: str  # "engineer_quit", "turn_cap", "provider_error"
    turns: int
    usage: Usage
    accepted: list[int] = field(default_factory=list)
    error: str | None = None


class Chat:
    """Drives model turns and engineer input over one codesign Session."""

    def __init__(
        self, model: Model, session: Session, transcript: Transcript, ui: ChatUI, max_turns: int = 60
    ):
        self.model = model
        self.session = session
        self.transcript = transcript
        self.ui = ui
        self.max_turns = max_turns
        self.messages: list[Message] = []
        self.usage = Usage()
        self.turns = 0
        self.accepted: list[int] = []

    @property
    def toolbox(self) -> CodesignToolBox:
        toolbox = self.session.toolbox
        assert isinstance(toolbox, CodesignToolBox)
        return toolbox

    def run(self) -> ChatOutcome:
        start = self.session.reset()
        self.messages = [
            Message(role="system", text=start.system_prompt),
            Message(role="user", text=start.task_prompt),
        ]
        self.transcript.write("system", text=start.system_prompt)
        self.transcript.write("user", text=start.task_prompt)
        self.specs = start.tools
        self.ui.info(f"task prompt sent ({len(start.task_prompt)} characters); the agent starts")
        while True:
            reason = self._agent_phase()
            if reason in ("turn_cap", "provider_error"):
                return self._outcome(reason)
            if not self._engineer_phase():
                return self._outcome("engineer_quit")

    # ------------------------------------------------------------------ phases
    def _agent_phase(self) -> str:
        """Model turns until the model stops; Ctrl-C hands the floor to the engineer."""
        while True:
            if self.turns >= self.max_turns:
                self.ui.info(f"the conversation reached its {self.max_turns} agent turns")
                self.transcript.write("end", reason="turn_cap", iteration=self.turns)
                return "turn_cap"
            try:
                stopped = self._one_turn()
            except KeyboardInterrupt:
                self.ui.info("interrupted: your turn")
                self.transcript.write("interrupt", iteration=self.turns)
                return "interrupted"
            except ProviderError as exc:
                self.ui.info(f"provider error: {exc}")
                self.transcript.write("end", reason="provider_error", iteration=self.turns, error=str(exc))
                self.error = str(exc)
                return "provider_error"
            if stopped:
                return "model_stopped"

    def _one_turn(self) -> bool:
        started = time.perf_counter()
        response = self.model.generate(self.messages, self.specs)
        self.turns += 1
        turn = self.turns
        self.usage = self.usage + response.usage
        reply = _clean(response.message)
        self.transcript.write("assistant", iteration=turn, text=reply.text, tool_calls=len(reply.tool_calls))
        self.transcript.write(
            "usage",
            iteration=turn,
            duration_s=round(time.perf_counter() - started, 3),
            **response.usage.as_fields(),
        )
        if reply.text:
            self.ui.agent(reply.text)
        results: list[ToolResult] = []
        try:
            for call in reply.tool_calls:
                self.ui.tool_call(call)
                result = serve_call(self.session, self.transcript, call, turn)
                self.ui.tool_result(result)
                results.append(result)
        finally:  # keep the conversation well formed even when interrupted mid-turn
            self.messages.append(reply)
            for call in reply.tool_calls[len(results) :]:
                results.append(
                    ToolResult(call.id, call.name, "Error: interrupted by the engineer", is_error=True)
                )
            if reply.tool_calls:
                self.messages.append(Message(role="tool", tool_results=results))
        return not reply.tool_calls

    def _engineer_phase(self) -> bool:
        """Read engineer lines until one goes to the agent; False to end the conversation."""
        while True:
            line = self.ui.ask()
            if line is None or line.strip() in ("/quit", "/exit"):
                return False
            line = line.strip()
            if not line:
                continue
            self.transcript.write("engineer", text=line)
            if line == "/help":
                self.ui.info(HELP)
            elif line == "/proposals":
                self.ui.info(self._proposal_list())
            elif line == "/accept" or line.startswith("/accept "):
                accept = _ACCEPT.fullmatch(line)
                if accept is None:
                    self.ui.info(ACCEPT_USAGE)
                elif self._accept(int(accept.group(1))):
                    return True
            elif line.startswith("/"):
                self.ui.info(f"unknown command {line.split()[0]}; /help lists the commands")
            else:
                self.messages.append(Message(role="user", text=line))
                self.transcript.write("user", text=line)
                return True

    def _accept(self, number: int) -> bool:
        text = self.toolbox.accept(number)
        self.ui.info(text)
        proposal = next((p for p in self.toolbox.proposals if p.number == number), None)
        ok = proposal is not None and proposal.accepted and number not in self.accepted
        self.transcript.write("accept", proposal=number, accepted=ok, text=text)
        if not ok:
            return False
        self.accepted.append(number)
        self.session.setup.platform = self.toolbox.platform  # final scoring runs on this ISA too
        note = (
            f"The engineer accepted proposal {number}: {proposal.mnemonic} is now part of the ISA. The "
            f"assembler and the simulator accept it, and grep_docs finds it ({proposal.mnemonic}). "
            "You may use it in the kernel from now on."
        )
        self.messages.append(Message(role="user", text=note))
        self.transcript.write("user", text=note)
        return True

    def _proposal_list(self) -> str:
        if not self.toolbox.proposals:
            return "no proposals yet"
        lines = []
        for p in self.toolbox.proposals:
            ops = ", ".join(o["name"] for o in p.operands)
            mark = " [accepted]" if p.accepted else ""
            lines.append(f"{p.number}. {p.mnemonic} {ops} ~{p.cost} cycles{mark}: {p.semantics}")
        return "\n".join(lines)

    def _outcome(self, reason: str) -> ChatOutcome:
        if reason == "engineer_quit":
            self.transcript.write("end", reason=reason, iteration=self.turns)
        return self.outcome(reason, getattr(self, "error", None))

    def outcome(self, reason: str, error: str | None = None) -> ChatOutcome:
        """What the conversation came to so far (also when it was cut short)."""
        return ChatOutcome(reason, self.turns, self.usage, list(self.accepted), error)


def _clean(message: Message) -> Message:
    """Lone surrogates replaced (they cannot be echoed to the provider or written anywhere)."""
    text, _ = scrub(message.text)
    calls = [
        ToolCall(c.id, scrub(c.name)[0], scrub_value(c.arguments)[0], scrub(c.raw_arguments)[0])
        for c in message.tool_calls
    ]
    return Message(role="assistant", text=text, tool_calls=calls, provider_state=message.provider_state)


def run_chat(
    spec: EpisodeSpec,
    folder: Path,
    model_factory: Callable[[], Model],
    ui: ChatUI,
    max_turns: int = 60,
) -> tuple[EpisodeResult, ChatOutcome]:
    """One conversation into `folder`: transcript, scoring, result.json (see the module doc)."""
    folder.mkdir(parents=True, exist_ok=True)
    transcript = Transcript(folder / "transcript.jsonl")
    session = Session(spec, folder)
    started = time.perf_counter()
    transcript.write(
        "start", model=spec.model, platform=spec.platform, task=spec.task, config=spec.config, mode="chat"
    )
    report = None
    try:
        chat = Chat(model_factory(), session, transcript, ui, max_turns)
        outcome = _converse(chat, session, transcript, ui)
        ui.info("scoring the best kernel on hidden inputs and comparing the proposals (Ctrl-C skips) ...")
        try:
            report = session.finish()
            transcript.write("scoring", success=report.success, kernel=report.kernel, runs=len(report.runs))
        except KeyboardInterrupt:
            error = "scoring was interrupted (Ctrl-C): the kernels and proposals were not scored"
            transcript.write("interrupt", iteration=chat.turns, during="scoring")
            outcome = chat.outcome(INTERRUPTED, error)
        except Exception as exc:  # a harness defect while scoring: the conversation is still saved
            error = f"scoring failed: {type(exc).__name__}: {exc}"
            transcript.write("end", reason=HARNESS_ERROR, iteration=chat.turns, error=error)
            outcome = chat.outcome(HARNESS_ERROR, error)
        if outcome.error and outcome.end_reason in (INTERRUPTED, HARNESS_ERROR):
            ui.info(outcome.error)
    finally:
        if session.toolbox is not None and isinstance(session.toolbox, CodesignToolBox):
            session.toolbox.close()
        transcript.close()
    result = _result(spec, session, outcome, report, time.perf_counter() - started)
    (folder / "result.json").write_text(result.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return result, outcome


def _converse(chat: Chat, session: Session, transcript: Transcript, ui: ChatUI) -> ChatOutcome:
    """chat.run(), with whatever cuts it short once it has started turned into an outcome: a
    failure before the session starts (a bad spec) is the caller's to report."""
    try:
        return chat.run()
    except KeyboardInterrupt:  # outside a model turn or the prompt (accepting, starting)
        if not session.started:
            raise
        transcript.write("interrupt", iteration=chat.turns)
        transcript.write("end", reason=INTERRUPTED, iteration=chat.turns)
        return chat.outcome(INTERRUPTED, "the conversation was interrupted (Ctrl-C)")
    except Exception as exc:
        if not session.started:
            raise
        error = f"{type(exc).__name__}: {exc}"
        transcript.write(
            "end",
            reason=HARNESS_ERROR,
            iteration=chat.turns,
            error=error,
            traceback=traceback.format_exc(limit=8),
        )
        return chat.outcome(HARNESS_ERROR, f"the conversation stopped: {error}")


def _result(
    spec: EpisodeSpec, session: Session, outcome: ChatOutcome, report: Any, wall: float
) -> EpisodeResult:
    from kernelcraft.agent.scoring import ScoringReport
    from kernelcraft.tasks import TASK_SET_VERSION

    setup, stats = session.setup, session.stats
    if report is None:  # not scored (interrupted, or scoring failed)
        report = ScoringReport(kernel="none")
    metrics = report.mode_metrics() if callable(getattr(report, "mode_metrics", None)) else {}
    metrics["accepted"] = outcome.accepted
    return EpisodeResult.for_spec(
        spec,
        level=setup.task.level,
        task_set_version=TASK_SET_VERSION,
        success=report.success,
        visible_correct=stats.best is not None,
        iterations=outcome.turns,
        iteration_cap=setup.iteration_cap,
        iterations_to_first_correct=stats.first_correct_iteration,
        tool_calls=stats.tool_calls,
        evaluations=stats.evaluations,
        best_cycles=report.scored_cycles if report.success else None,
        baseline_cycles=setup.baseline_cycles,
        speedup=report.speedup,
        roofline_cycles=setup.roofline_cycles,
        tokens=TokenCounts(
            input=outcome.usage.input_tokens,
            output=outcome.usage.output_tokens,
            reasoning=outcome.usage.reasoning_tokens,
            cached=outcome.usage.cached_tokens,
        ),
        wall_time_s=round(wall, 3),
        end_reason=outcome.end_reason,
        error=outcome.error,
        mode_metrics=json.loads(json.dumps(metrics, default=str)),
    )
