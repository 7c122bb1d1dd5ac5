"""Starting a sandboxed job and turning whatever happens into a result the model can read."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

OUTPUT_TAIL_BYTES = 4_000
ENV_KEEP = ("LANG", "LC_ALL")


@dataclass(frozen=True)
class SandboxLimits:
    """What one job may use. Every limit is enforced by the kernel (rlimits) except wall_s,
    which the parent enforces by killing the job's whole process group."""

    cpu_s: int = 20  # CPU seconds (RLIMIT_CPU: SIGXCPU, then SIGKILL a second later)
    wall_s: float = 40.0  # wall-clock seconds before the process group is killed
    memory_bytes: int = 2 << 30  # address space (RLIMIT_AS); the interpreter and NumPy need ~0.4 GiB
    file_bytes: int = 16 << 20  # largest file the job may write (RLIMIT_FSIZE)
    open_files: int = 64  # descriptors (RLIMIT_NOFILE)
    processes: int = 0  # RLIMIT_NPROC (not enforced for root; seccomp stops forks regardless)
    result_bytes: int = 16 << 20  # largest JSON result read back before the job is killed

    def to_child(self) -> dict[str, int]:
        return {
            "cpu_s": self.cpu_s,
            "memory_bytes": self.memory_bytes,
            "file_bytes": self.file_bytes,
            "open_files": self.open_files,
            "processes": self.processes,
        }


@dataclass(frozen=True)
class SandboxJob:
    """Model-written `source`, run as a module, then `runner(module, **args)` (trusted code,
    "package.module:function") whose JSON-able return value comes back as the result."""

    source: str
    runner: str
    args: dict[str, Any] = field(default_factory=dict)
    allowed_imports: tuple[str, ...] = ()
    preload: tuple[str, ...] = ()  # trusted modules imported before the confinement starts
    filename: str = "job.py"
    module_name: str = "job"
    # The audit hook and import allow-list; False only to test the kernel layers on their own.
    python_guard: bool = True


@dataclass
class SandboxResult:
    ok: bool
    value: Any = None
    error: str | None = None  # timeout, cpu_time, memory, file_size, output_too_large, refused,
    # syntax, exception, crashed, start_failed
    message: str = ""
    traceback: str = ""
    stdout: str = ""
    stderr: str = ""
    wall_s: float = 0.0
    layers: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        """One paragraph for a tool result."""
        if self.ok:
            return "ok"
        lines = [f"sandbox: {self.error}: {self.message}"]
        if self.traceback:
            lines += ["traceback (your code):", self.traceback]
        if self.stderr.strip() and self.error in ("crashed", "start_failed"):
            lines += ["stderr (last lines):", _tail_lines(self.stderr, 8)]
        return "\n".join(lines)


def run_sandboxed(job: SandboxJob, limits: SandboxLimits | None = None) -> SandboxResult:
    """Run one job in a fresh confined interpreter; never raises for anything the job does."""
    limits = limits or SandboxLimits()
    request = {
        "source": job.source,
        "runner": job.runner,
        "args": job.args,
        "allowed_imports": list(job.allowed_imports),
        "preload": list(job.preload),
        "filename": job.filename,
        "module_name": job.module_name,
        "python_guard": job.python_guard,
        "limits": limits.to_child(),
    }
    payload = json.dumps(request).encode("utf-8", "surrogatepass") + b"\n"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kc-sandbox-") as work:
        out_path, err_path = Path(work, ".stdout"), Path(work, ".stderr")
        read_fd, write_fd = os.pipe()
        try:
            with out_path.open("wb") as out, err_path.open("wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-I", "-B", "-m", "kernelcraft.sandbox.child", str(write_fd)],
                    cwd=work,
                    env=_child_env(work),
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=err,
                    pass_fds=(write_fd,),
                    start_new_session=True,  # its own process group: the wall-clock kill takes all
                    close_fds=True,
                )
        except OSError as exc:
            os.close(read_fd)
            os.close(write_fd)
            return SandboxResult(False, error="start_failed", message=f"could not start the sandbox: {exc}")
        os.close(write_fd)
        feeder = threading.Thread(target=_feed, args=(proc, payload), daemon=True)
        feeder.start()
        try:
            data, verdict = _collect(proc, read_fd, started + limits.wall_s, limits.result_bytes)
        except BaseException:  # Ctrl-C or any failure here: the job must not outlive the call
            _kill_group(proc)
            proc.wait()
            raise
        finally:
            os.close(read_fd)
        if verdict is not None:
            _kill_group(proc)
        returncode = proc.wait()
        feeder.join(timeout=1.0)
        result = _interpret(data, verdict, returncode, limits)
        result.stdout = _tail(out_path)
        result.stderr = _tail(err_path)
    result.wall_s = round(time.monotonic() - started, 3)
    return result


def _child_env(work: str) -> dict[str, str]:
    env = {key: os.environ[key] for key in ENV_KEEP if key in os.environ}
    env.update(
        HOME=work,
        TMPDIR=work,
        PATH="/usr/bin:/bin",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


def _feed(proc: subprocess.Popen, payload: bytes) -> None:
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except (BrokenPipeError, OSError, ValueError):  # the child died before reading its job
        pass


def _collect(proc: subprocess.Popen, fd: int, deadline: float, cap: int) -> tuple[bytes, str | None]:
    """Read the result pipe until EOF, the deadline or the size cap."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), "timeout"
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), None
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            return b"".join(chunks), "output_too_large"


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _interpret(data: bytes, verdict: str | None, returncode: int, limits: SandboxLimits) -> SandboxResult:
    records = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            break  # a truncated last line (killed while writing)
    layers = next((r["layers"] for r in records if "layers" in r), {})
    outcome = next((r for r in records if "ok" in r), None)
    if verdict == "timeout":
        message = (
            f"killed after {limits.wall_s:g} s of wall-clock time: the code did not finish (infinite loop?)"
        )
        return SandboxResult(False, error="timeout", message=message, layers=layers)
    if verdict == "output_too_large":
        message = f"the result exceeded {limits.result_bytes} bytes; the job was killed"
        return SandboxResult(False, error="output_too_large", message=message, layers=layers)
    if outcome is not None:
        return SandboxResult(
            bool(outcome.get("ok")),
            value=outcome.get("value"),
            error=outcome.get("error"),
            message=str(outcome.get("message", "")),
            traceback=str(outcome.get("traceback", "")),
            layers=layers,
        )
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        message = f"used more than its {limits.cpu_s} s of CPU time and was killed (infinite loop?)"
        return SandboxResult(False, error="cpu_time", message=message, layers=layers)
    if returncode < 0:
        name = signal.Signals(-returncode).name if -returncode in signal.Signals._value2member_map_ else "?"
        message = f"the sandboxed process died from signal {-returncode} ({name}) without a result"
        return SandboxResult(False, error="crashed", message=message, layers=layers)
    message = f"the sandboxed process exited with code {returncode} without a result"
    return SandboxResult(False, error="crashed", message=message, layers=layers)


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - OUTPUT_TAIL_BYTES))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _tail_lines(text: str, count: int) -> str:
    return "\n".join(text.strip().splitlines()[-count:])


class SandboxServer:
    """A sandboxed job that stays up and answers calls: the job's module is executed once, then
    each call(arguments) runs `runner(module, **arguments)` in the same confined process.

    For model-written functions called many times (an accepted instruction's reference, once
    per execution in the simulator). A call that exceeds its wall time kills the server; every
    later call then fails with the reason. The CPU limit counts over the server's whole life.
    """

    def __init__(self, job: SandboxJob, limits: SandboxLimits | None = None):
        self.limits = limits or SandboxLimits()
        self.failure: str | None = None
        self._work = tempfile.TemporaryDirectory(prefix="kc-sandbox-")
        request = {
            "source": job.source,
            "runner": job.runner,
            "allowed_imports": list(job.allowed_imports),
            "preload": list(job.preload),
            "filename": job.filename,
            "module_name": job.module_name,
            "python_guard": job.python_guard,
            "limits": self.limits.to_child(),
            "serve": True,
        }
        work = self._work.name
        self._read_fd, write_fd = os.pipe()
        self._err = Path(work, ".stderr").open("wb")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-B", "-m", "kernelcraft.sandbox.child", str(write_fd)],
                cwd=work,
                env=_child_env(work),
                stdin=subprocess.PIPE,
                stdout=self._err,
                stderr=self._err,
                pass_fds=(write_fd,),
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(write_fd)
        self._buffer = b""
        self._owed = 0  # calls sent whose answer has not been read (interrupted while waiting)
        self._send(json.dumps(request).encode("utf-8", "surrogatepass") + b"\n")
        first = self._receive(self.limits.wall_s)  # the layers record
        ready = self._receive(self.limits.wall_s) if first is not None and "layers" in first else first
        self.layers = first.get("layers", {}) if first else {}
        if ready is None or not ready.get("ok"):
            self._fail(ready, "the sandbox did not start")

    def call(self, arguments: dict[str, Any], wall_s: float = 5.0) -> Any:
        """The runner's value for these arguments; SandboxCallError with the reason otherwise."""
        if self.failure is not None:
            raise SandboxCallError(self.failure)
        while self._owed:  # answers to calls cut short (Ctrl-C) come first: read and drop them
            if self._receive(wall_s) is None:
                self._fail(None, f"an interrupted call gave no answer within {wall_s:g} s")
            self._owed -= 1
        self._send(json.dumps(arguments).encode("utf-8", "surrogatepass") + b"\n")
        self._owed += 1
        answer = self._receive(wall_s)
        if answer is None:
            self._fail(None, f"no answer within {wall_s:g} s")
        self._owed -= 1
        if not answer.get("ok"):
            text = f"{answer.get('error')}: {answer.get('message')}"
            raise SandboxCallError(text + (f"\n{answer['traceback']}" if answer.get("traceback") else ""))
        return answer.get("value")

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                _kill_group(self._proc)
                self._proc.wait()
        self._err.close()
        try:
            os.close(self._read_fd)
        except OSError:
            pass
        self._work.cleanup()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fail(self, answer: dict | None, reason: str) -> None:
        _kill_group(self._proc)
        returncode = self._proc.wait()
        if answer is not None and answer.get("message"):
            reason = f"{answer.get('error')}: {answer['message']}"
        elif returncode in (-signal.SIGXCPU, -signal.SIGKILL) and "within" not in reason:
            reason = f"the sandbox used up its {self.limits.cpu_s} s of CPU time"
        self.failure = reason
        raise SandboxCallError(reason)

    def _send(self, data: bytes) -> None:
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self._fail(None, "the sandboxed process is gone")

    def _receive(self, wall_s: float) -> dict | None:
        deadline = time.monotonic() + wall_s
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self._read_fd], [], [], min(remaining, 0.5))
            if not ready:
                continue
            chunk = os.read(self._read_fd, 1 << 16)
            if not chunk:
                return None
            self._buffer += chunk
            if len(self._buffer) > self.limits.result_bytes:
                return None
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return None


class SandboxCallError(RuntimeError):
    """A call to a SandboxServer that did not produce a value (the message says why)."""


@cache
def capabilities() -> dict[str, str]:
    """The confinement layers this machine applies (runs one trivial job)."""
    job = SandboxJob(source="VALUE = 1\n", runner="kernelcraft.sandbox.probes:value_of")
    return run_sandboxed(job, SandboxLimits(cpu_s=10, wall_s=30)).layers
