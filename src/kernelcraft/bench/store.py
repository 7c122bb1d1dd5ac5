"""The run directory: a manifest plus one folder per finished episode.

An episode runs in a hidden temporary sibling of its final folder and is renamed into
place only once result.json is complete, so a killed run never leaves half an episode:
a folder under episodes/ either holds a full result or does not exist. Resuming cleans
the leftovers and runs only what is missing.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from kernelcraft.bench.matrix import RunMatrix
from kernelcraft.episodes import EpisodeResult, EpisodeSpec

MANIFEST = "manifest.json"
EPISODES = "episodes"
RESULT = "result.json"
TRANSCRIPT = "transcript.jsonl"
LOCK = ".lock"
CORRUPT = "corrupt"  # unreadable results, kept as evidence
# Hidden work folders: ".s0.tmp-XXXX" (episode in progress), ".s0.old-XXXX" (being replaced).
_WORK_MARKERS = (".tmp-", ".old-")


class RunDirError(Exception):
    """The run directory cannot be used as asked; the message is one line for the user."""


class Manifest(BaseModel):
    """How a run directory came to be: enough to reproduce and to refuse a mismatched resume."""

    format_version: int = 1
    kernelcraft_version: str
    task_set_version: str
    git_commit: str | None = None
    created: str
    updated: str
    matrix: RunMatrix
    seeds: dict[str, int] = Field(default_factory=dict)  # sample -> visible seed
    # Keys the hidden scoring seeds: random per run (or given, for reproducible runs). It is
    # kept here only, never in an episode's folder or prompt, so the hidden inputs cannot be
    # computed from the package and the visible seed.
    scoring_secret: str | None = None
    episodes: list[EpisodeSpec]
    history: list[dict[str, Any]] = Field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def git_commit() -> str | None:
    """Commit of the source tree the package runs from, when it is a git checkout."""
    source = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and commit else None


def _package_version() -> str:
    from kernelcraft import __version__

    return __version__


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _is_work_folder(name: str) -> bool:
    return name.startswith(".") and any(marker in name for marker in _WORK_MARKERS)


@dataclass
class RunStore:
    """Reads and writes one run directory. Safe for concurrent episodes of one process."""

    root: Path
    _lock_fh: Any = field(default=None, repr=False)
    scoring_secret: str | None = field(default=None, repr=False)  # set by open_run

    @property
    def episodes_root(self) -> Path:
        return self.root / EPISODES

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def final_dir(self, spec: EpisodeSpec) -> Path:
        return self.episodes_root / spec.key()

    def is_finished(self, spec: EpisodeSpec) -> bool:
        return (self.final_dir(spec) / RESULT).is_file()

    def check_finished(self, spec: EpisodeSpec) -> bool:
        """Finished with a readable result. A result.json that does not validate (a damaged
        disk, a hand edit) is moved to corrupt/<key>/ as evidence, and the episode counts as
        not finished, so a resume runs it again."""
        if not self.is_finished(spec):
            return False
        if self.read_result(spec) is not None:
            return True
        evidence = self.root / CORRUPT / spec.key()
        evidence.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        shutil.move(str(self.final_dir(spec)), str(evidence / f"episode-{stamp}"))
        return False

    def read_result(self, spec: EpisodeSpec) -> EpisodeResult | None:
        path = self.final_dir(spec) / RESULT
        try:
            return EpisodeResult.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError):
            return None

    def new_work_dir(self, spec: EpisodeSpec) -> Path:
        """A fresh hidden folder next to where the episode will end up (same filesystem,
        so the final rename is atomic)."""
        final = self.final_dir(spec)
        final.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))

    def commit(self, spec: EpisodeSpec, work_dir: Path, result: EpisodeResult, replace: bool = False) -> Path:
        """Write result.json into the work folder, then move the folder into place.

        If the episode is already finished and `replace` is false the new attempt is
        dropped: the first finished result wins, nothing is ever duplicated.
        """
        _write_atomically(work_dir / RESULT, result.model_dump_json(indent=2) + "\n")
        final = self.final_dir(spec)
        if final.exists():
            if (final / RESULT).is_file() and not replace:
                shutil.rmtree(work_dir, ignore_errors=True)
                return final
            old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
            os.rename(final, old)
            os.rename(work_dir, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(work_dir, final)
        return final

    def discard(self, work_dir: Path) -> None:
        shutil.rmtree(work_dir, ignore_errors=True)

    def clean_stale(self) -> int:
        """Remove work folders left by a killed run; returns how many were removed."""
        removed = 0
        if not self.episodes_root.is_dir():
            return 0
        for dirpath, dirnames, _ in os.walk(self.episodes_root):
            for name in list(dirnames):
                if _is_work_folder(name):
                    shutil.rmtree(Path(dirpath) / name, ignore_errors=True)
                    dirnames.remove(name)
                    removed += 1
        return removed

    def read_manifest(self) -> Manifest | None:
        if not self.manifest_path.is_file():
            return None
        try:
            return Manifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValidationError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RunDirError(f"{self.manifest_path} is unreadable: {first}") from None

    def write_manifest(self, manifest: Manifest) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.manifest_path, manifest.model_dump_json(indent=2) + "\n")

    def lock(self) -> None:
        """Hold the directory for this process; the OS releases it even on SIGKILL."""
        self.root.mkdir(parents=True, exist_ok=True)
        fh = open(self.root / LOCK, "w")  # noqa: SIM115 - kept open for the lock's lifetime
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise RunDirError(f"another kernelcraft run is using {self.root}") from None
        self._lock_fh = fh

    def unlock(self) -> None:
        if self._lock_fh is not None:
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    def iter_result_files(self) -> Iterator[Path]:
        """Every finished result.json, skipping work folders (for run dirs without a manifest).
        A folder holding one episode itself (a `kernelcraft chat` folder) yields its own."""
        if not self.episodes_root.is_dir():
            if (self.root / RESULT).is_file():
                yield self.root / RESULT
            return
        for dirpath, dirnames, filenames in os.walk(self.episodes_root):
            dirnames[:] = sorted(d for d in dirnames if not _is_work_folder(d))
            if RESULT in filenames:
                yield Path(dirpath) / RESULT


def _describe_spec_change(old: EpisodeSpec, new: EpisodeSpec) -> str:
    changed = [
        f"{name} {getattr(old, name)!r} -> {getattr(new, name)!r}"
        for name in EpisodeSpec.model_fields
        if getattr(old, name) != getattr(new, name)
    ]
    return ", ".join(changed)


def open_run(
    root: Path,
    matrix: RunMatrix,
    specs: list[EpisodeSpec],
    task_set_version: str,
    invocation: dict[str, Any] | None = None,
    scoring_secret: str | None = None,
) -> RunStore:
    """Create a run directory, or resume/extend an existing one with the same matrix.

    Refuses (RunDirError) a directory made with different cells or settings, unless the
    new matrix only adds cells: then the manifest is extended. Locks the directory and
    removes stale work folders.
    """
    store = RunStore(root)
    if root.exists() and not root.is_dir():
        raise RunDirError(f"{root} exists and is not a directory")
    existing = store.read_manifest()
    if existing is None and root.is_dir() and any(p.name != LOCK for p in root.iterdir()):
        raise RunDirError(f"{root} is not empty and has no {MANIFEST}; choose another --out")
    store.lock()
    try:
        now = _now()
        event = {"time": now, **(invocation or {})}
        if existing is None:
            manifest = Manifest(
                kernelcraft_version=_package_version(),
                task_set_version=task_set_version,
                git_commit=git_commit(),
                created=now,
                updated=now,
                matrix=matrix,
                seeds={str(s.sample): s.seed for s in specs},
                scoring_secret=scoring_secret or secrets.token_hex(16),
                episodes=specs,
                history=[{**event, "action": "created", "episodes": len(specs)}],
            )
            store.write_manifest(manifest)
        else:
            _check_resumable(root, existing, specs, task_set_version)
            if scoring_secret is not None and existing.scoring_secret not in (None, scoring_secret):
                raise RunDirError(
                    f"{root} was scored with another --scoring-secret; "
                    "resume without one or choose another --out"
                )
            existing.scoring_secret = existing.scoring_secret or scoring_secret or secrets.token_hex(16)
            manifest = existing
            old_keys = {spec.key() for spec in existing.episodes}
            added = [spec for spec in specs if spec.key() not in old_keys]
            if added:
                existing.episodes = existing.episodes + added
                existing.matrix = matrix
                existing.seeds = {**existing.seeds, **{str(s.sample): s.seed for s in added}}
                existing.history.append({**event, "action": "extended", "episodes": len(added)})
            else:
                existing.history.append({**event, "action": "resumed"})
            existing.updated = now
            store.write_manifest(existing)
        store.scoring_secret = manifest.scoring_secret
        store.clean_stale()
    except BaseException:
        store.unlock()
        raise
    return store


def _check_resumable(root: Path, manifest: Manifest, specs: list[EpisodeSpec], version: str) -> None:
    if manifest.task_set_version != version:
        raise RunDirError(
            f"{root} was run with task set {manifest.task_set_version!r}, now {version!r}; "
            "results would not be comparable - choose another --out"
        )
    new_by_key = {spec.key(): spec for spec in specs}
    missing = [spec.key() for spec in manifest.episodes if spec.key() not in new_by_key]
    if missing:
        raise RunDirError(
            f"{root} holds a different run matrix ({len(missing)} of its episodes are not in this one, "
            f"e.g. {missing[0]}); re-run with the same settings or choose another --out"
        )
    for old in manifest.episodes:
        new = new_by_key[old.key()]
        if new != old:
            raise RunDirError(
                f"{root} holds a different run matrix ({old.key()}: {_describe_spec_change(old, new)}); "
                "re-run with the same settings or choose another --out"
            )


@dataclass
class LoadedEpisode:
    key: str
    result: EpisodeResult
    path: Path  # the episode folder


@dataclass
class LoadedRun:
    """What a report needs from one run directory, however incomplete it is."""

    root: Path
    manifest: Manifest | None
    episodes: list[LoadedEpisode]
    missing: list[str]  # keys in the manifest without a finished result
    unreadable: list[tuple[str, str]]  # (path, reason)
    manifest_error: str | None = None


def load_run(root: Path) -> LoadedRun:
    """Read every finished episode of a run directory; never raises on partial content."""
    store = RunStore(root)
    manifest: Manifest | None = None
    manifest_error = None
    try:
        manifest = store.read_manifest()
    except RunDirError as exc:
        manifest_error = str(exc)
    episodes: list[LoadedEpisode] = []
    unreadable: list[tuple[str, str]] = []
    found: set[str] = set()
    for path in store.iter_result_files():
        inside = path.parent != store.root  # else a folder holding one episode (a chat's)
        key = path.parent.relative_to(store.episodes_root).as_posix() if inside else store.root.name
        try:
            result = EpisodeResult.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            unreadable.append((str(path), reason))
            continue
        episodes.append(LoadedEpisode(key=key, result=result, path=path.parent))
        found.add(key)
    missing = [s.key() for s in manifest.episodes if s.key() not in found] if manifest else []
    if manifest is not None:
        order = {spec.key(): i for i, spec in enumerate(manifest.episodes)}
        episodes.sort(key=lambda e: (order.get(e.key, len(order)), e.key))
    return LoadedRun(root, manifest, episodes, missing, unreadable, manifest_error)


def read_transcript(episode_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Transcript entries plus the raw text of lines that are not JSON objects."""
    entries: list[dict[str, Any]] = []
    bad: list[str] = []
    path = episode_dir / TRANSCRIPT
    with contextlib.suppress(OSError):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except ValueError:
                    bad.append(line.rstrip("\n"))
                    continue
                if isinstance(value, dict):
                    entries.append(value)
                else:
                    bad.append(line.rstrip("\n"))
    return entries, bad
