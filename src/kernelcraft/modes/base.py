"""What a mode is: a tool box, a prompt and a scoring rule behind the Session interface.

The benchmark's own episode ("kernel" mode: write a kernel, six tools, hidden-seed scoring) is
what Session does by itself. Other modes reuse that shape: Session.reset() asks the mode for
the episode set-up (prompts, iteration cap) and the tools, Session.step() serves tool calls
from the mode's tool box, Session.finish() asks the mode for the final score. A mode talks
to the target only through the Platform API.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from kernelcraft.agent.scoring import ScoringReport
    from kernelcraft.agent.session import EpisodeSetup, Session
    from kernelcraft.agent.tools import ToolBox
    from kernelcraft.episodes import EpisodeSpec
    from kernelcraft.platforms.api import Platform

KERNEL_MODE = "kernel"


class ModeError(ValueError):
    """A spec the mode cannot run (no template for the task, unknown configuration, ...)."""


@dataclass
class ModeStart:
    setup: EpisodeSetup
    toolbox: ToolBox


class Mode(abc.ABC):
    name: ClassVar[str]
    summary: ClassVar[str]
    default_model: ClassVar[str]  # the scripted model a run uses when none is named (no key needed)

    @abc.abstractmethod
    def start(self, spec: EpisodeSpec, workspace: Path, sim_pool: Any = None) -> ModeStart:
        """Resolve the spec and build the tools; raises ModeError (or PlatformError) for a bad spec."""

    @abc.abstractmethod
    def finish(self, session: Session) -> ScoringReport:
        """Score the episode (hidden seeds as usual); the session writes scoring.json."""

    def unavailable(self, platform: Platform, task_id: str) -> str | None:
        """Why this mode cannot run task_id on platform (None: it can); a run checks every cell
        before it starts, so a mode the target lacks is one line at the command line."""
        return None

    def matrix_configs(self, platform: Platform, task_id: str) -> list[str] | None:
        """The configuration names the run matrix makes episodes for; None: one per configuration
        (as in kernel mode)."""
        return None
