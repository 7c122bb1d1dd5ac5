"""The sandbox child: `python -I -B -m kernelcraft.sandbox.child <result fd>`.

Reads one job (JSON) from stdin, confines itself, runs the job's source as a module, calls the
job's trusted runner on it, and writes two JSON lines to the result descriptor: the layers
that were applied, then the outcome. Order matters: trusted modules are imported first, then
resource limits, Landlock, seccomp and the audit hook go on (none can be lifted afterwards),
and only then does model-written code run.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import signal
import sys
import traceback
import types
from typing import Any

from kernelcraft.sandbox import guard, kernel

MAX_REQUEST_BYTES = 8_000_000
TEMPLATE_FRAMES = 8


def _emit(fd: int, record: dict[str, Any]) -> None:
    data = (json.dumps(record, default=str) + "\n").encode("utf-8", "surrogatepass")
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_roots() -> list[str]:
    """Where imports may read from: the interpreter's library and the package's source."""
    import kernelcraft

    roots = {os.path.realpath(p) for p in sys.path if p and os.path.exists(p)}
    roots.add(os.path.realpath(os.path.dirname(os.path.dirname(kernelcraft.__file__))))
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
        roots.add(os.path.realpath(os.path.join(prefix, "lib")))
    roots.discard("/")
    return sorted(roots)


def _set_limits(limits: dict[str, int]) -> list[str]:
    applied = []
    table = (
        ("cpu_s", resource.RLIMIT_CPU, lambda v: (v, v + 1)),
        ("memory_bytes", resource.RLIMIT_AS, lambda v: (v, v)),
        ("file_bytes", resource.RLIMIT_FSIZE, lambda v: (v, v)),
        ("open_files", resource.RLIMIT_NOFILE, lambda v: (v, v)),
        ("processes", resource.RLIMIT_NPROC, lambda v: (v, v)),
    )
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which, pair in table:
        if key in limits:
            soft, hard = pair(int(limits[key]))
            current_hard = resource.getrlimit(which)[1]
            if current_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, current_hard), min(hard, current_hard)
            resource.setrlimit(which, (soft, hard))
            applied.append(f"{key}={limits[key]}")
    return applied


def _layers(workdir: str, limits: dict[str, int], python_guard: bool) -> dict[str, str]:
    layers: dict[str, str] = {"rlimits": ", ".join(_set_limits(limits))}
    read_roots = _read_roots()
    for name, apply in (
        ("landlock", lambda: kernel.apply_landlock(read_roots, [workdir])),
        ("seccomp", kernel.apply_seccomp),
    ):
        try:
            layers[name] = apply()
        except kernel.KernelLayerUnavailable as exc:
            layers[name] = f"unavailable: {exc}"
    if python_guard:
        guard.install_audit_hook(workdir, read_roots)
        layers["audit_hook"] = "processes, sockets, native code and files outside the sandbox refused"
    else:
        layers["audit_hook"] = "off (kernel layers tested alone)"
    return layers


def _template_traceback(exc: BaseException, filename: str) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    text = "".join(traceback.format_list(frames[-TEMPLATE_FRAMES:])).rstrip()
    return text.replace(filename, os.path.basename(filename))


def _failure(kind: str, exc: BaseException, filename: str) -> dict[str, Any]:
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    return {"ok": False, "error": kind, "message": message, "traceback": _template_traceback(exc, filename)}


def main(argv: list[str]) -> int:
    fd = int(argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails with EFBIG instead
    request = json.loads(sys.stdin.buffer.readline(MAX_REQUEST_BYTES))
    workdir = os.getcwd()
    for name in request.get("preload", []):
        importlib.import_module(name)
    runner_module, _, runner_name = request["runner"].partition(":")
    runner = getattr(importlib.import_module(runner_module), runner_name)
    filename = os.path.join(workdir, request.get("filename", "job.py"))
    with open(filename, "w", encoding="utf-8", errors="surrogatepass") as fh:  # for tracebacks
        fh.write(request["source"])
    python_guard = bool(request.get("python_guard", True))
    layers = _layers(workdir, request.get("limits", {}), python_guard)
    _emit(fd, {"layers": layers})
    try:
        code = compile(request["source"], filename, "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        _emit(fd, {"ok": False, "error": "syntax", "message": f"SyntaxError at {where}: {exc.msg}"})
        return 0
    module = types.ModuleType(request.get("module_name", "job"))
    module.__file__ = filename
    sys.modules[module.__name__] = module  # dataclasses and pickling look the module up there
    if python_guard:
        module.__dict__["__builtins__"] = guard.restricted_builtins(request.get("allowed_imports", []))
    try:
        exec(code, module.__dict__)
        if request.get("serve"):
            return _serve(fd, runner, module, filename)
        value = runner(module, **request.get("args", {}))
        _emit(fd, {"ok": True, "value": value})
    except guard.SandboxViolation as exc:
        _emit(fd, _failure("refused", exc, filename))
    except MemoryError as exc:
        _emit(fd, _failure("memory", exc, filename))
    except OSError as exc:
        kind = "file_size" if exc.errno == 27 else "exception"  # EFBIG
        _emit(fd, _failure(kind, exc, filename))
    except RecursionError as exc:
        _emit(fd, _failure("exception", exc, filename))
    except BaseException as exc:  # SystemExit and KeyboardInterrupt included: the job's own doing
        _emit(fd, _failure("exception", exc, filename))
    return 0


def _serve(fd: int, runner: Any, module: types.ModuleType, filename: str) -> int:
    """One call per stdin line (JSON arguments for the runner), one result line each, until EOF."""
    _emit(fd, {"ok": True, "value": "ready"})
    for line in sys.stdin.buffer:
        try:
            value = runner(module, **json.loads(line))
            _emit(fd, {"ok": True, "value": value})
        except guard.SandboxViolation as exc:
            _emit(fd, _failure("refused", exc, filename))
        except Exception as exc:  # the job's failure on this call; the server stays up
            _emit(fd, _failure("exception", exc, filename))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
