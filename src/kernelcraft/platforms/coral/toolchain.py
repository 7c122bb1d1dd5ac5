"""Building Coral NPU programs with the LLVM that the `ziglang` wheel ships.

zig's clang assembles the kernel (GNU assembler syntax, `.S` so the C preprocessor runs) or
compiles C with RVV intrinsics, our own start-up code (crt) is assembled alongside, and
zig's ld.lld links both with a linker script holding the real memory map: code and
read-only data in the ITCM, data, bss and stack in the DTCM, and a NOLOAD `.extdata` section
in the upper half of external memory (the task's buffers occupy the lower half). Every
problem comes back as a Diagnostic pointing into the author's own file (never a temporary
path); temporary directories are always removed and every tool invocation has a timeout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..base import Diagnostic
from .config import CoralConfig

MARCH_FEATURES = ("m", "f", "zve32x", "zicsr", "zifencei", "zbb")
MCPU = "generic_rv32+" + "+".join(MARCH_FEATURES)
TARGET = "riscv32-freestanding-none"
ABI = "ilp32"
MAX_SOURCE_BYTES = 1 << 20  # larger sources cannot fit the 8 KB ITCM anyway
TOOL_TIMEOUT_S = 60.0
KERNEL_NAME = {"asm": "kernel.S", "c": "kernel.c"}
MPAUSE_WORD = 0x08000073

# Host files must not leak into a build (or its error messages): only these headers of the
# compiler's own freestanding set may be included, and only by C sources.
_FORBIDDEN = re.compile(r"^\s*(#\s*include|#\s*import|#\s*embed|\.include|\.incbin)\b", re.IGNORECASE)
_ALLOWED_HEADERS = re.compile(r"^\s*#\s*include\s*<(riscv_vector|stdint|stddef|stdbool|limits)\.h>\s*$")


_OBJECT_CACHE: dict[tuple[str, str], bytes] = {}  # (file name, source) of our own objects -> object bytes


def _zig_env() -> dict[str, str]:
    """zig keeps its compiler caches in its usual per-user place (as pip does), never in our work dirs."""
    return dict(os.environ)


class ToolchainMissing(RuntimeError):
    """The ziglang wheel (zig's clang and ld.lld) is not installed."""


@lru_cache(maxsize=1)
def zig_path() -> str | None:
    """The zig executable of the `ziglang` wheel, if installed."""
    try:
        import ziglang  # noqa: F401  (the wheel ships the binary next to the module)
    except ImportError:
        return None
    candidate = Path(sys.modules["ziglang"].__file__).parent / ("zig.exe" if os.name == "nt" else "zig")
    return str(candidate) if candidate.exists() else None


def compile_flags() -> list[str]:
    return ["-target", TARGET, f"-mcpu={MCPU}", f"-mabi={ABI}"]


@dataclass
class BuildOutput:
    """An ELF image (bytes) or the diagnostics that prevented one."""

    elf: bytes | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    language: str = "asm"

    @property
    def ok(self) -> bool:
        return self.elf is not None


# ---------------------------------------------------------------------------- linker script and crt


def extdata_base(config: CoralConfig) -> int:
    """Where the linker puts a kernel's `.extdata`: the upper half of external memory, above the
    task's inputs, tables and output (which the harness lays out from its start)."""
    return config.ext_base + config.ext_size // 2


def linker_script(config: CoralConfig) -> str:
    """The memory map as a GNU ld script: ITCM (rx), DTCM (rw), external memory (NOLOAD)."""
    high = extdata_base(config)
    return f"""/* Coral NPU memory map (RvvCoreMiniAxi): generated from CoralConfig. */
MEMORY {{
  ITCM (rx)   : ORIGIN = {config.itcm_base:#x}, LENGTH = {config.itcm_size:#x}
  DTCM (rw)   : ORIGIN = {config.dtcm_base:#x}, LENGTH = {config.dtcm_size:#x}
  EXTMEM (rw) : ORIGIN = {high:#x}, LENGTH = {config.ext_end - high:#x}
}}
ENTRY(_start)
__stack_size = {config.stack_size:#x};
SECTIONS {{
  .text : ALIGN(16) {{ *(._init) *(.text .text.*) . = ALIGN(16); }} > ITCM
  .rodata : ALIGN(16) {{ *(.srodata .srodata.* .rodata .rodata.*) . = ALIGN(16); }} > ITCM
  .data : ALIGN(16) {{
    __data_start = .;
    __global_pointer$ = . + 0x800;
    *(.sdata .sdata.* .data .data.*)
    . = ALIGN(4);
    _ret = .;
    . += 4;
    . = ALIGN(16);
  }} > DTCM
  .bss (NOLOAD) : ALIGN(16) {{
    __bss_start = .;
    *(.sbss .sbss.* .bss .bss.* COMMON)
    . = ALIGN(16);
    __bss_end = .;
  }} > DTCM
  .stack (NOLOAD) : ALIGN(16) {{
    __stack_start = .;
    . = ORIGIN(DTCM) + LENGTH(DTCM);
    __stack_end = .;
  }} > DTCM
  ASSERT(__stack_end - __stack_start >= __stack_size,
         "DTCM overflow: data and bss leave less than the stack size")
  .extdata (NOLOAD) : ALIGN(16) {{ __extdata_start = .; *(.extdata .extdata.*) __extdata_end = .; }} > EXTMEM
  /DISCARD/ : {{ *(.eh_frame .eh_frame_hdr .comment .note .note.*) }}
}}
"""


CRT_SOURCE = """/* Start-up code: what the Coral toolchain's crt does, written for this project. */
    .section ._init, "ax"
    .globl _start
    .type _start, @function
_start:
    csrw minstret, zero
    csrw minstreth, zero
.option push
.option norelax
    la sp, __stack_end
    la gp, __global_pointer$
.option pop
    li tp, 0
    li t1, 0
    li t2, 0
    li s0, 0
    li s1, 0
    li a1, 0
    li a2, 0
    li a3, 0
    li a4, 0
    li a5, 0
    li a6, 0
    li a7, 0
    li s2, 0
    li s3, 0
    li s4, 0
    li s5, 0
    li s6, 0
    li s7, 0
    li s8, 0
    li s9, 0
    li s10, 0
    li s11, 0
    li t3, 0
    li t4, 0
    li t5, 0
    li t6, 0
    la a0, __bss_start
    la a1, __bss_end
1:  bgeu a0, a1, 2f
    sw zero, 0(a0)
    addi a0, a0, 4
    j 1b
2:  la t0, __crt_trap
    csrw mtvec, t0
    li t0, 0x6600
    csrs mstatus, t0
    li a0, 0
    li a1, 0
    call main
    la t0, _ret
    sw a0, 0(t0)
    bnez a0, __crt_fail
    .globl __crt_halt
__crt_halt:
    .word 0x08000073
    j __crt_halt
__crt_fail:
    ebreak
    j __crt_fail
    .balign 4
    .globl __crt_trap
__crt_trap:
    ebreak
    j __crt_trap
"""

# memcpy/memset/memmove: clang may call them from C loops even when freestanding. Weak, so a
# kernel may define its own.
SUPPORT_SOURCE = """    .text
    .weak memcpy
    .type memcpy, @function
memcpy:
    mv t0, a0
    beqz a2, 2f
1:  lbu t1, 0(a1)
    sb t1, 0(t0)
    addi a1, a1, 1
    addi t0, t0, 1
    addi a2, a2, -1
    bnez a2, 1b
2:  ret
    .weak memmove
    .type memmove, @function
memmove:
    bleu a0, a1, memcpy
    add t0, a0, a2
    add t2, a1, a2
    beqz a2, 4f
3:  addi t2, t2, -1
    addi t0, t0, -1
    lbu t1, 0(t2)
    sb t1, 0(t0)
    addi a2, a2, -1
    bnez a2, 3b
4:  ret
    .weak memset
    .type memset, @function
memset:
    mv t0, a0
    beqz a2, 6f
5:  sb a1, 0(t0)
    addi t0, t0, 1
    addi a2, a2, -1
    bnez a2, 5b
6:  ret
"""


# ---------------------------------------------------------------------------- building


def build_program(
    source: str,
    language: str,
    config: CoralConfig,
    *,
    opt: str = "-O2",
    crt: str = CRT_SOURCE,
    script: str | None = None,
    extra_objects: tuple[tuple[str, str], ...] = (),
    timeout: float = TOOL_TIMEOUT_S,
) -> BuildOutput:
    """Assemble (language "asm") or compile ("c") `source`, link it with the crt, return the ELF.

    extra_objects: (file name, assembly source) pairs assembled and linked too (e.g. the
    memcpy/memset support a C program may need).
    """
    if language not in KERNEL_NAME:
        raise ValueError(f"unknown language {language!r}")
    early = _check_source(source, language)
    if early:
        return BuildOutput(None, early, language)
    zig = zig_path()
    if zig is None:
        return BuildOutput(
            None,
            [Diagnostic(0, 0, "the Coral toolchain is missing: install the 'ziglang' Python package")],
            language,
        )
    with tempfile.TemporaryDirectory(prefix="kc-coral-") as tmp:
        work = Path(tmp)
        env = _zig_env()
        name = KERNEL_NAME[language]
        (work / name).write_text(source, encoding="utf-8", errors="surrogateescape")
        objects = []
        diagnostics: list[Diagnostic] = []
        units = [(name, None)] + [("crt0.S", crt)] + [(n, s) for n, s in extra_objects]
        for unit, text in units:
            obj = unit.rsplit(".", 1)[0] + ".o"
            if text is not None:
                cached = _OBJECT_CACHE.get((unit, text))
                if cached is not None:  # our own start-up and support objects: assembled once
                    (work / obj).write_bytes(cached)
                    objects.append(obj)
                    continue
                (work / unit).write_text(text)
            args = [
                zig,
                "cc",
                *compile_flags(),
                "-g",
                "-c",
                unit,
                "-o",
                obj,
                "-fno-unwind-tables",
                "-fno-asynchronous-unwind-tables",
            ]
            if unit.endswith(".c"):
                args += [
                    opt,
                    "-fomit-frame-pointer",
                    "-ffunction-sections",
                    "-fdata-sections",
                    "-std=gnu11",
                    "-ffreestanding",
                    "-fno-sanitize=all",
                    "-Wall",
                ]
            result = _run(args, work, env, timeout)
            found = parse_compiler_output(result.stderr, name, work)
            if unit != name:  # our own files must build; their problems are ours
                if result.returncode != 0:
                    raise RuntimeError(f"internal Coral toolchain error in {unit}:\n{result.stderr}")
                _OBJECT_CACHE[(unit, text)] = (work / obj).read_bytes()
                objects.append(obj)
                continue
            diagnostics.extend(found)
            if result.returncode != 0 or not (work / obj).exists():
                if not any(d.severity == "error" for d in diagnostics):
                    diagnostics.append(Diagnostic(0, 0, _first_line(result.stderr) or "the build failed"))
                return BuildOutput(None, diagnostics, language)
            objects.append(obj)
        (work / "link.ld").write_text(script or linker_script(config))
        link = [
            zig,
            "ld.lld",
            "-m",
            "elf32lriscv",
            "-T",
            "link.ld",
            "--gc-sections",
            "-o",
            "program.elf",
            *objects,
        ]
        result = _run(link, work, env, timeout)
        link_diags = parse_linker_output(result.stderr, name, config)
        diagnostics.extend(link_diags)
        if (
            result.returncode != 0
            or not (work / "program.elf").exists()
            or any(d.severity == "error" for d in link_diags)
        ):
            if not any(d.severity == "error" for d in link_diags):
                diagnostics.append(Diagnostic(0, 0, _first_line(result.stderr) or "linking failed"))
            return BuildOutput(None, diagnostics, language)
        return BuildOutput((work / "program.elf").read_bytes(), diagnostics, language)


class _Completed:
    def __init__(self, returncode: int, stderr: str):
        self.returncode = returncode
        self.stderr = stderr


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> _Completed:
    try:
        proc = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, errors="replace"
        )
    except subprocess.TimeoutExpired:
        return _Completed(124, f"error: the toolchain took longer than {timeout:g} s and was stopped")
    return _Completed(proc.returncode, proc.stderr)


def _check_source(source: str, language: str = "asm") -> list[Diagnostic]:
    size = len(source.encode("utf-8", "surrogateescape"))
    if size > MAX_SOURCE_BYTES:
        return [
            Diagnostic(
                0,
                0,
                f"the source is {size} bytes; the limit is {MAX_SOURCE_BYTES} bytes",
                hint="the whole program must fit the 8 KB ITCM",
            )
        ]
    out = []
    for number, line in enumerate(source.splitlines(), start=1):
        if _FORBIDDEN.match(line) and not (language == "c" and _ALLOWED_HEADERS.match(line)):
            out.append(
                Diagnostic(
                    number,
                    1,
                    "including other files is not available",
                    text=line.strip(),
                    hint="the kernel must be one self-contained file",
                )
            )
    if "\x00" in source:
        out.append(Diagnostic(0, 0, "the source contains a NUL byte"))
    return out


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line
    return ""


# ---------------------------------------------------------------------------- diagnostics

_CLANG = re.compile(
    r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning|fatal error): (?P<msg>.*)$"
)


def parse_compiler_output(stderr: str, name: str, work: Path | None = None) -> list[Diagnostic]:
    """clang's `file:line:col: error: message` lines, with the source line and caret that follow,
    as Diagnostics in the author's file. Findings in other files (headers) keep line 0."""
    out: list[Diagnostic] = []
    lines = stderr.splitlines()
    for i, raw in enumerate(lines):
        if work is not None:
            raw = raw.replace(str(work) + os.sep, "")
        m = _CLANG.match(raw)
        if not m:
            continue
        severity = "warning" if m["sev"] == "warning" else "error"
        file = os.path.basename(m["file"])
        message = _clean(m["msg"])
        text = ""
        if i + 1 < len(lines) and not _CLANG.match(lines[i + 1]):
            text = lines[i + 1].strip()
        if file == name:
            out.append(
                Diagnostic(
                    int(m["line"]), int(m["col"]), message, text=text, hint=_hint(message), severity=severity
                )
            )
        elif file != "<unknown>" and severity == "error":
            out.append(Diagnostic(0, 0, f"{message} (in {file})", severity=severity))
    return _dedupe(out)


_REFERENCED = re.compile(r">>> referenced by (?P<file>[^:\s]+):(?P<line>\d+)")
_OVERFLOW = re.compile(
    r"section '(?P<sec>[^']+)' will not fit in region '(?P<region>[^']+)': overflowed by (?P<n>\d+) bytes"
)


def parse_linker_output(stderr: str, name: str, config: CoralConfig) -> list[Diagnostic]:
    """ld.lld's errors (undefined symbols with where they are used, region overflows) as Diagnostics."""
    out: list[Diagnostic] = []
    lines = stderr.splitlines()
    for i, raw in enumerate(lines):
        if "error:" not in raw and "warning:" not in raw:
            continue
        severity = "warning" if "warning:" in raw and "error:" not in raw else "error"
        message = raw.split("error:" if severity == "error" else "warning:", 1)[1].strip()
        line = 0
        for follow in lines[i + 1 : i + 4]:
            ref = _REFERENCED.search(follow)
            if ref and os.path.basename(ref["file"]) == name:
                line = int(ref["line"])
                break
        hint = ""
        over = _OVERFLOW.search(message)
        if over:
            region = over["region"]
            size = {
                "ITCM": config.itcm_size,
                "DTCM": config.dtcm_size,
                "EXTMEM": config.ext_end - extdata_base(config),
            }.get(region, 0)
            what = {"ITCM": "code and read-only data", "EXTMEM": ".extdata buffers"}.get(
                region, "data, bss and stack"
            )
            place = (
                f"the {size // 1024} KB {region}"
                if region != "EXTMEM"
                else f"the {size // 1024} KB .extdata area"
            )
            message = f"{what} do not fit {place}: section {over['sec']} overflows it by {over['n']} bytes"
            hint = {
                "ITCM": "use loops instead of unrolling, or move tables to external memory "
                "(.section .extdata)",
                "EXTMEM": "use fewer or smaller .extdata buffers",
            }.get(region, "keep large buffers in external memory (.section .extdata)")
        elif message.startswith("undefined symbol: main"):
            message = "the kernel does not define `main`"
            hint = "define a global function: .globl main / main: ... ret"
        elif message.startswith("undefined symbol:"):
            hint = "define the label, or load the address with li if it is a fixed address"
        elif "non-allocatable section" in message:
            section = re.search(r"'([^']+)'", message)
            sec = section.group(1) if section else ".extdata"
            message = f"section {sec} is not allocated, so its labels have no addresses"
            hint = f'declare it as .section {sec},"aw",@nobits'
            severity = "error"
        elif "DTCM overflow" in message:
            message = f"data and bss leave less than the {config.stack_size}-byte stack in the DTCM"
            hint = "keep large buffers in external memory (.section .extdata)"
        if over and any(d.message.startswith(message.split(":")[0]) for d in out):
            continue  # one overflow report per region
        out.append(Diagnostic(line, 0, _clean(message), hint=hint, severity=severity))
    if any("do not fit" in d.message for d in out):  # lld's follow-on complaints add nothing
        out = [d for d in out if "link.ld" not in d.message and "address space" not in d.message]
    return _dedupe(out)


def _clean(message: str) -> str:
    """Drop the build directory from paths (whatever TMPDIR is): the agent sees its file name."""
    message = re.sub(r"(?:/[^/\s:]+)*/kc-coral-[^/\s]*/", "", message)
    return message.strip()


def _hint(message: str) -> str:
    low = message.lower()
    if "instruction requires the following" in low:
        return "Coral NPU implements rv32imf + zve32x + zicsr + zifencei + zbb only (no C, D or vector float)"
    if "invalid operand for instruction" in low:
        return "check the operand kinds and immediate ranges (.vi immediates are -16..15, I-type -2048..2047)"
    if "unrecognized instruction mnemonic" in low or "unknown instruction" in low:
        return "see the ISA reference for the instructions Coral NPU implements"
    if "invalid register name" in low or "unknown register" in low:
        return "registers are x0-x31 (ABI names zero, ra, sp, gp, tp, t0-t6, s0-s11, a0-a7), f0-f31, v0-v31"
    return ""


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen, out = set(), []
    for d in diags:
        key = (d.line, d.column, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def toolchain_available() -> bool:
    return zig_path() is not None


def compile_to_assembly(
    c_source: str, *, opt: str = "-O2", timeout: float = TOOL_TIMEOUT_S
) -> tuple[str | None, list[Diagnostic]]:
    """C (with RVV intrinsics) to GNU assembly text with zig's clang, without debug info: what
    the compiler baseline hands to the assembler."""
    early = _check_source(c_source, "c")
    if early:
        return None, early
    zig = zig_path()
    if zig is None:
        return None, [
            Diagnostic(0, 0, "the Coral toolchain is missing: install the 'ziglang' Python package")
        ]
    with tempfile.TemporaryDirectory(prefix="kc-coral-") as tmp:
        work = Path(tmp)
        env = _zig_env()
        (work / "kernel.c").write_text(c_source)
        args = [
            zig,
            "cc",
            *compile_flags(),
            "-S",
            "kernel.c",
            "-o",
            "kernel.s",
            opt,
            "-fomit-frame-pointer",
            "-fno-unwind-tables",
            "-fno-asynchronous-unwind-tables",
            "-std=gnu11",
            "-ffreestanding",
            "-Wall",
            "-fno-sanitize=all",
            "-g0",
        ]
        result = _run(args, work, env, timeout)
        diagnostics = parse_compiler_output(result.stderr, "kernel.c", work)
        if result.returncode != 0 or not (work / "kernel.s").exists():
            if not any(d.severity == "error" for d in diagnostics):
                diagnostics.append(Diagnostic(0, 0, _first_line(result.stderr) or "compilation failed"))
            return None, diagnostics
        return (work / "kernel.s").read_text(), diagnostics
