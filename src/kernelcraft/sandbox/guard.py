"""Interpreter-level confinement for the sandbox child: an audit hook and an import allow-list.

These are the layers that turn an attempt into a clear message ("opening a socket is not
allowed in the sandbox") instead of a bare EPERM, and the only layers on machines without
Landlock or seccomp. They are not a security boundary on their own: Python code can walk the
object graph to reach modules it was not allowed to import. What stops such code is the
audit hook (it cannot be removed from Python, and ctypes, the usual way around it, is itself
refused) and the kernel layers beneath it.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

# Modules whose only use here would be an escape: refused when first imported, by anyone.
BLOCKED_MODULES = frozenset(
    "socket _socket ssl _ssl select selectors asyncio subprocess _posixsubprocess multiprocessing "
    "_multiprocessing concurrent ctypes _ctypes mmap pty tty termios fcntl resource signal "
    "http urllib ftplib smtplib imaplib poplib telnetlib xmlrpc socketserver webbrowser "
    "shutil tempfile pickle marshal shelve dbm sqlite3 _sqlite3 importlib.util zipimport "
    "code codeop pdb bdb faulthandler gc threading _thread".split()
)

# Pure modules a template or a reference function may import besides its own allow-list.
SAFE_STDLIB = frozenset(
    "__future__ math cmath itertools functools operator collections collections.abc dataclasses "
    "typing enum contextlib numbers fractions decimal statistics string re bisect heapq copy "
    "textwrap abc".split()
)

# Audit events that are refused outright, whatever their arguments.
REFUSED_EVENTS = {
    "socket.__new__": "opening a socket",
    "socket.connect": "a network connection",
    "socket.bind": "binding a socket",
    "socket.getaddrinfo": "a name lookup",
    "socket.gethostbyname": "a name lookup",
    "subprocess.Popen": "starting a process",
    "os.system": "starting a process",
    "os.exec": "starting a program",
    "os.posix_spawn": "starting a process",
    "os.spawn": "starting a process",
    "os.fork": "forking",
    "os.forkpty": "forking",
    "os.kill": "signalling a process",
    "os.killpg": "signalling a process",
    "os.setuid": "changing user",
    "pty.spawn": "starting a process",
    "ctypes.dlopen": "loading native code",
    "ctypes.dlsym": "calling native code",
    "ctypes.call_function": "calling native code",
    "ctypes.cdata": "reading raw memory",
    "ctypes.addressof": "reading raw memory",
    "ctypes.string_at": "reading raw memory",
    "ctypes.wstring_at": "reading raw memory",
    "ctypes.set_errno": "calling native code",
    "sys.setprofile": "tracing the interpreter",
    "sys.settrace": "tracing the interpreter",
    "sys.addaudithook": "changing the sandbox's hooks",
    "mmap.__new__": "mapping memory",
    "os.chmod": "changing file permissions",
    "os.chown": "changing file ownership",
    "os.chdir": "leaving the working directory",
    "os.chroot": "changing the root directory",
    "os.mkfifo": "creating a FIFO",
    "os.mknod": "creating a device",
    "os.link": "creating a link",
    "os.symlink": "creating a link",
    "winreg.OpenKey": "the registry",
    "webbrowser.open": "opening a browser",
    "urllib.Request": "a network request",
    "ftplib.connect": "a network connection",
    "smtplib.connect": "a network connection",
    "http.client.connect": "a network connection",
}
# Events with a path argument that must stay inside the working directory.
WRITE_EVENTS = frozenset({"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.truncate", "os.utime"})
# Events with a path argument that must stay inside the readable roots.
LIST_EVENTS = frozenset({"os.scandir", "os.listdir"})


class SandboxViolation(PermissionError):
    """An attempt the sandbox refuses; the message says what and why."""


def _within(path: str, roots: Iterable[str]) -> bool:
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def install_audit_hook(workdir: str, read_roots: Iterable[str]) -> None:
    """From now on: no processes, sockets, native code or tracing; files only inside workdir
    (read and write) or beneath read_roots (read-only); no blocked module is imported."""
    workdir = os.path.realpath(workdir)
    write_roots = (workdir,)
    readable = tuple(os.path.realpath(r) for r in read_roots) + write_roots

    def hook(event: str, args: tuple[Any, ...]) -> None:
        what = REFUSED_EVENTS.get(event)
        if what is not None:
            raise SandboxViolation(f"{what} is not allowed in the sandbox ({event})")
        if event == "open":
            path, mode = args[0], args[1]
            if isinstance(path, int):  # an already-open descriptor
                return
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            writing = mode is not None and any(c in str(mode) for c in "wax+")
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            writing = writing or bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            if writing and not _within(path, write_roots):
                raise SandboxViolation(
                    f"writing {path!r} is not allowed: only the working directory is writable"
                )
            if not writing and not _within(path, readable):
                raise SandboxViolation(f"reading {path!r} is not allowed: it is outside the sandbox")
        elif event in WRITE_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes)) and not _within(os.fsdecode(path), write_roots):
                    raise SandboxViolation(
                        f"{event} on {path!r} is not allowed outside the working directory"
                    )
        elif event in LIST_EVENTS:
            path = args[0] if args else "."
            if isinstance(path, (str, bytes)) and not _within(os.fsdecode(path), readable):
                raise SandboxViolation(f"listing {path!r} is not allowed: it is outside the sandbox")
        elif event == "import":
            name = str(args[0])
            top = name.split(".")[0]
            if name in BLOCKED_MODULES or top in BLOCKED_MODULES:
                raise SandboxViolation(f"importing {name} is not allowed in the sandbox")

    sys.addaudithook(hook)


def restricted_builtins(allowed: Iterable[str]) -> dict[str, Any]:
    """A builtins mapping for model-written code: imports limited to `allowed` (and their
    submodules) plus SAFE_STDLIB; no open(), input() or breakpoint()."""
    allowed_names = frozenset(allowed) | SAFE_STDLIB
    real_import: Callable[..., Any] = builtins.__import__

    def checked_import(name: str, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002
        if level:
            raise ImportError(
                "relative imports are not available in the sandbox; import the API by its full name"
            )
        if not any(name == a or name.startswith(a + ".") for a in allowed_names):
            listed = ", ".join(sorted(allowed))
            raise ImportError(
                f"import of {name!r} is not allowed in the sandbox; allowed: {listed} and pure stdlib"
            )
        return real_import(name, globals, locals, fromlist, level)

    table = dict(vars(builtins))
    for name in ("open", "input", "breakpoint", "exit", "quit", "help", "copyright", "credits", "license"):
        table.pop(name, None)
    table["__import__"] = checked_import
    return table
