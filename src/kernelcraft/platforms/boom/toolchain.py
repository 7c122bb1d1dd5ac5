"""The toolchain: zig's bundled clang and lld, for bare-metal RV64GC (LP64, medany).

`assemble_and_link` turns a kernel source (GNU assembler syntax, C preprocessor first) into
a linked program, with every clang or lld message mapped back to the kernel file's own line
(never a temporary path). `compile_c` turns C into assembly at a given optimisation level
(the compiler baseline is C at -O2). Every invocation runs in a temporary directory that is
removed afterwards, with a timeout; bad input never raises.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..base import Diagnostic
from .runtime import CRT_SOURCE, ENTRY_SYMBOL, LINKER_SCRIPT

KERNEL_FILE = "kernel.S"
C_FILE = "kernel.c"
TIMEOUT_S = 60.0
TARGET = ["--target=riscv64-unknown-elf", "-march=rv64gc", "-mabi=lp64", "-mcmodel=medany"]
C_TARGET = [
    "-target",
    "riscv64-freestanding-none",
    "-mcpu=generic_rv64+m+a+f+d+c",
    "-mabi=lp64",
    "-mcmodel=medany",
]
# No libc: the compiler must not call memcpy/memset behind the code's back, nor add frames,
# unwind tables or stack protectors the kernel does not ask for.
C_FLAGS = [
    "-ffreestanding",
    "-fno-builtin",
    "-fomit-frame-pointer",
    "-fno-asynchronous-unwind-tables",
    "-fno-unwind-tables",
    "-fno-stack-protector",
    "-fno-ident",
    "-g0",
    "-Wall",
]

# Directives that would read host files into the program (or its error messages).
_FORBIDDEN = re.compile(r"^\s*#\s*(include|include_next|import|embed)\b|\.(include|incbin)\b")
_CLANG_DIAG = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|note): (?P<msg>.*)$"
)
_LLD_DIAG = re.compile(r"^ld\.lld: (?P<sev>error|warning): (?P<msg>.*)$")
_LLD_REF = re.compile(r">>> (?:referenced by|defined at) (?P<file>[^:\s]+):(?P<line>\d+)")


class ToolchainMissing(RuntimeError):
    """zig (the `ziglang` package) is not installed."""


@dataclass(frozen=True)
class Built:
    elf: bytes | None
    diagnostics: tuple[Diagnostic, ...]


def zig_executable() -> str:
    try:
        import ziglang  # noqa: F401  (the package ships the zig binary)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ToolchainMissing("the BOOM platform needs zig: pip install 'kernelcraft[toolchain]'") from exc
    path = Path(sys.modules["ziglang"].__file__).parent / ("zig.exe" if os.name == "nt" else "zig")
    if not path.exists():  # pragma: no cover
        raise ToolchainMissing(f"the ziglang package has no zig binary at {path}")
    return str(path)


@functools.cache
def toolchain_version() -> str:
    """zig's and its clang's versions, e.g. 'zig 0.17.1 (clang 22.1.8)'."""
    zig = zig_executable()
    out = _run([zig, "version"], Path.cwd())
    clang = _run([zig, "clang", "--version"], Path.cwd())
    match = re.search(r"clang version (\S+)", clang.stdout)
    return f"zig {out.stdout.strip()} (clang {match.group(1) if match else '?'})"


def _run(cmd: list[str], cwd: Path, timeout: float | None = None) -> subprocess.CompletedProcess:
    timeout = TIMEOUT_S if timeout is None else timeout
    env = dict(os.environ)
    # zig keeps a cache; give it a private one under the temp dir when the default is unwritable.
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", str(Path(tempfile.gettempdir()) / "kernelcraft-zig-cache"))
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(
            cmd,
            -1,
            "",
            f"error: {Path(cmd[1]).name if len(cmd) > 1 else cmd[0]} timed out after {timeout:.0f} s",
        )


def forbidden_directives(source: str) -> list[Diagnostic]:
    out = []
    for number, text in enumerate(source.splitlines(), 1):
        match = _FORBIDDEN.search(text)
        if match:
            out.append(
                Diagnostic(
                    number,
                    match.start() + 1,
                    "file inclusion is not allowed in a kernel",
                    text.strip(),
                    "write everything in this one file (#define and .macro are fine)",
                )
            )
    return out


def unencodable(source_lines: list[str]) -> list[Diagnostic]:
    """Lines that cannot be written as UTF-8 (lone surrogates)."""
    out = []
    for number, text in enumerate(source_lines, 1):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            out.append(
                Diagnostic(
                    number,
                    exc.start + 1,
                    "the line holds a character that is not valid text",
                    text.encode("utf-8", "replace").decode("utf-8"),
                    "use plain ASCII or UTF-8 text",
                )
            )
    return out


def parse_diagnostics(text: str, file_name: str, source_lines: list[str]) -> list[Diagnostic]:
    """clang's and lld's messages as Diagnostics on the kernel's own lines."""
    out: list[Diagnostic] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        clang = _CLANG_DIAG.match(raw)
        lld = _LLD_DIAG.match(raw)
        if clang:
            ours = Path(clang["file"]).name == file_name
            line = int(clang["line"]) if ours else 0
            col = int(clang["col"]) if ours else 0
            text_at = source_lines[line - 1].strip() if ours and 0 < line <= len(source_lines) else ""
            message = _clean(clang["msg"], file_name)
            if clang["sev"] == "note":
                if out:
                    prev = out[-1]
                    note = f"note (line {line}): {message}" if line else f"note: {message}"
                    out[-1] = Diagnostic(
                        prev.line,
                        prev.column,
                        prev.message,
                        prev.text,
                        "; ".join(filter(None, [prev.hint, note])),
                        prev.severity,
                    )
            else:
                out.append(Diagnostic(line, col, message, text_at, _hint(message), clang["sev"]))
            i += 1
            # skip clang's echo of the source line and its caret line
            while i < len(lines) and not (_CLANG_DIAG.match(lines[i]) or _LLD_DIAG.match(lines[i])):
                i += 1
            continue
        if lld:
            message = _clean(lld["msg"], file_name)
            line = 0
            i += 1
            while i < len(lines) and lines[i].startswith(">>>"):
                ref = _LLD_REF.search(lines[i])
                if ref and Path(ref["file"]).name == file_name and not line:
                    line = int(ref["line"])
                i += 1
            text_at = source_lines[line - 1].strip() if 0 < line <= len(source_lines) else ""
            out.append(Diagnostic(line, 0, message, text_at, _hint(message), lld["sev"]))
            continue
        if raw.strip().startswith("error:") or "timed out" in raw:
            out.append(Diagnostic(0, 0, _clean(raw.strip().removeprefix("error:").strip(), file_name)))
        i += 1
    return out


def _clean(message: str, file_name: str) -> str:
    """No temporary paths in what the user reads."""
    return re.sub(r"(/[^\s:'\"]*/)?(kernel\.(o|S|c)|crt\.o|program\.elf)", lambda m: m.group(2), message)


def _hint(message: str) -> str:
    if f"undefined symbol: {ENTRY_SYMBOL}" in message:
        return (
            f"define the entry point: `.globl {ENTRY_SYMBOL}` then `{ENTRY_SYMBOL}:` "
            "(called with the LP64 ABI)"
        )
    if message.startswith("undefined symbol"):
        return "every label you jump to or load must be defined in this file"
    if "will not fit in region" in message or "overflowed" in message:
        return "the program (code and data) must fit in 1 MiB"
    if "duplicate symbol" in message:
        return "_start, tohost and fromhost belong to the start-up code; rename your label"
    if "invalid operand" in message or "unrecognized instruction mnemonic" in message:
        return "check the mnemonic and operands against the RV64GC reference (grep_docs)"
    if "immediate must be" in message or "operand must be a symbol" in message:
        return (
            "immediates are 12-bit signed for I-type (-2048..2047); "
            "build larger constants with li or lui+addi"
        )
    return ""


@functools.cache
def _crt_object() -> bytes:
    with tempfile.TemporaryDirectory(prefix="kc-boom-") as tmp:
        path = Path(tmp)
        (path / "crt.S").write_text(CRT_SOURCE)
        proc = _run([zig_executable(), "clang", *TARGET, "-c", "crt.S", "-o", "crt.o"], path)
        if proc.returncode != 0:  # pragma: no cover - our own source
            raise RuntimeError(f"the start-up code does not assemble:\n{proc.stderr}")
        return (path / "crt.o").read_bytes()


def assemble_and_link(source: str, file_name: str = KERNEL_FILE) -> Built:
    """Assemble a kernel (C preprocessor, then GNU assembler syntax) and link it with the runtime."""
    source_lines = source.splitlines()
    blocked = forbidden_directives(source) + unencodable(source_lines)
    if blocked:
        return Built(None, tuple(blocked))
    try:
        zig = zig_executable()
    except ToolchainMissing as exc:
        return Built(None, (Diagnostic(0, 0, str(exc)),))
    with tempfile.TemporaryDirectory(prefix="kc-boom-") as tmp:
        path = Path(tmp)
        (path / file_name).write_text(source if source.endswith("\n") else source + "\n", encoding="utf-8")
        (path / "crt.o").write_bytes(_crt_object())
        (path / "link.ld").write_text(LINKER_SCRIPT)
        obj = Path(file_name).stem + ".o"
        asm = _run(
            [
                zig,
                "clang",
                *TARGET,
                "-x",
                "assembler-with-cpp",
                "-g",
                "-gdwarf-4",
                "-fdebug-compilation-dir=.",
                "-nostdinc",
                "-c",
                file_name,
                "-o",
                obj,
            ],
            path,
        )
        diagnostics = parse_diagnostics(asm.stderr, file_name, source_lines)
        if asm.returncode != 0:
            if not any(d.severity == "error" for d in diagnostics):
                diagnostics.append(
                    Diagnostic(0, 0, _clean(asm.stderr.strip() or "the assembler failed", file_name))
                )
            return Built(None, tuple(diagnostics))
        link = _run([zig, "ld.lld", "-T", "link.ld", "crt.o", obj, "-o", "program.elf"], path)
        diagnostics += parse_diagnostics(link.stderr, file_name, source_lines)
        if link.returncode != 0:
            if not any(d.severity == "error" for d in diagnostics):
                diagnostics.append(
                    Diagnostic(0, 0, _clean(link.stderr.strip() or "the linker failed", file_name))
                )
            return Built(None, tuple(diagnostics))
        return Built((path / "program.elf").read_bytes(), tuple(diagnostics))


def compile_c(source: str, opt: str = "-O2") -> tuple[str | None, tuple[Diagnostic, ...]]:
    """C to assembly text (the baseline compiler); None with diagnostics when it does not compile."""
    zig = zig_executable()
    with tempfile.TemporaryDirectory(prefix="kc-boom-") as tmp:
        path = Path(tmp)
        (path / C_FILE).write_text(source, encoding="utf-8")
        proc = _run([zig, "cc", *C_TARGET, opt, *C_FLAGS, "-S", C_FILE, "-o", "kernel.s"], path)
        stderr = "\n".join(
            line for line in proc.stderr.splitlines() if "argument unused during compilation" not in line
        )
        diagnostics = tuple(parse_diagnostics(stderr, C_FILE, source.splitlines()))
        if proc.returncode != 0 or not (path / "kernel.s").exists():
            return None, diagnostics or (Diagnostic(0, 0, stderr.strip() or "the C compiler failed"),)
        return (path / "kernel.s").read_text(), diagnostics
