"""A built kernel: the linked ELF plus what is needed to talk about it (lines, instructions).

A Program is plain data (bytes and tuples), so it pickles into worker processes; it can
also be rebuilt from its source. `build` never raises for bad source: problems come back
as diagnostics on the kernel's own lines.
"""

from __future__ import annotations

import bisect
import io
import struct
from dataclasses import dataclass, field

from ..base import Diagnostic
from . import isa, toolchain
from .elf import Elf
from .runtime import ENTRY_SYMBOL

# mret and sret: the only ways into user mode (machine.simulate watches them to follow traps)
_XRET_WORDS = (0x30200073, 0x10200073)
_SHF_ALLOC, _SHT_NOBITS = 0x2, 8

# CSRs of PMP entries 8..15 (pmpcfg2, pmpaddr8..15): rvsim has them, BOOM does not.
_BEYOND_BOOM_PMP = {0x3A2} | set(range(0x3B8, 0x3C0))
_CSR_NAMES = {0x3A2: "pmpcfg2", **{0x3B0 + i: f"pmpaddr{i}" for i in range(16)}}


@dataclass(frozen=True)
class Decoded:
    address: int
    size: int  # 2 (compressed) or 4
    raw: int
    text: str
    line: int | None


@dataclass(frozen=True)
class Program:
    elf: bytes = field(repr=False)
    source: str = field(repr=False)
    kernel_start: int = 0
    kernel_end: int = 0
    lines: tuple[tuple[int, int], ...] = field(default=(), repr=False)  # (address, source line), sorted

    def line_at(self, pc: int | None) -> int | None:
        """The kernel source line of an instruction address (None outside the kernel)."""
        if pc is None or not self.lines or not self.kernel_start <= pc < self.kernel_end:
            return None
        addresses = [a for a, _ in self.lines]
        at = bisect.bisect_right(addresses, pc) - 1
        return self.lines[at][1] if at >= 0 else None

    def instructions(self) -> list[Decoded]:
        """The kernel's code, decoded (the start-up code is not included)."""
        from rvsim import _core

        image = Elf(self.elf)
        out: list[Decoded] = []
        for sec in image.code_sections():
            data = image.section_bytes(sec)
            offset = max(0, self.kernel_start - sec.addr)
            while offset + 2 <= len(data) and sec.addr + offset < self.kernel_end:
                low = struct.unpack_from("<H", data, offset)[0]
                size = 4 if low & 3 == 3 else 2
                if offset + size > len(data):
                    break
                raw = struct.unpack_from("<I" if size == 4 else "<H", data, offset)[0]
                address = sec.addr + offset
                out.append(Decoded(address, size, raw, _core.disassemble(raw), self.line_at(address)))
                offset += size
        return out

    def instruction_counts(self) -> dict[str, int]:
        counts = {name: 0 for name in isa.CATEGORIES}
        decoded = self.instructions()
        for ins in decoded:
            counts[isa.category(ins.text.split()[0] if ins.text.strip() else "")] += 1
        counts["compressed"] = sum(1 for ins in decoded if ins.size == 2)
        counts["code_bytes"] = sum(ins.size for ins in decoded)
        counts["total"] = len(decoded)
        return counts

    def xret_sites(self) -> tuple[int, ...]:
        """Every address in the loaded program holding an mret or sret word (at any 2-byte offset,
        code or data: machine mode may execute either)."""
        image = Elf(self.elf)
        sites = []
        for sec in image.sections:
            if not sec.flags & _SHF_ALLOC or sec.type == _SHT_NOBITS or sec.size < 4:
                continue
            data = image.section_bytes(sec)
            for word in _XRET_WORDS:
                pattern = struct.pack("<I", word)
                at = data.find(pattern)
                while at >= 0:
                    if at % 2 == 0:
                        sites.append(sec.addr + at)
                    at = data.find(pattern, at + 1)
        return tuple(sorted(sites))

    def disassembly(self) -> str:
        rows = []
        for ins in self.instructions():
            line = f"  ; line {ins.line}" if ins.line else ""
            rows.append(f"{ins.address:08x}: {ins.raw:0{ins.size * 2}x}  {ins.text}{line}")
        return "\n".join(rows)


def _line_table(elf: bytes, file_name: str) -> tuple[tuple[int, int], ...]:
    from elftools.elf.elffile import ELFFile

    try:
        dwarf = ELFFile(io.BytesIO(elf)).get_dwarf_info()
    except Exception:  # no or unreadable debug info: no line mapping, nothing else lost
        return ()
    rows: dict[int, int] = {}
    for unit in dwarf.iter_CUs():
        program = dwarf.line_program_for_CU(unit)
        if program is None:
            continue
        files = program["file_entry"]
        for entry in program.get_entries():
            state = entry.state
            if state is None or state.end_sequence or not 0 < state.file <= len(files):
                continue
            name = files[state.file - 1].name
            name = name.decode() if isinstance(name, bytes) else name
            if name.rsplit("/", 1)[-1] == file_name:
                rows.setdefault(state.address, state.line)
    return tuple(sorted(rows.items()))


def _pmp_beyond_boom(program: Program) -> list[Diagnostic]:
    out = []
    for ins in program.instructions():
        if ins.size == 4 and ins.raw & 0x7F == 0x73 and (ins.raw >> 12) & 7 not in (0, 4):
            csr = ins.raw >> 20
            if csr in _BEYOND_BOOM_PMP:
                out.append(
                    Diagnostic(
                        ins.line or 0,
                        0,
                        f"{_CSR_NAMES[csr]} is not implemented on BOOM (8 PMP entries)",
                        ins.text,
                        "use PMP entries 0..7: pmpcfg0 and pmpaddr0..pmpaddr7",
                    )
                )
    return out


def build(
    source: str, file_name: str = toolchain.KERNEL_FILE
) -> tuple[Program | None, tuple[Diagnostic, ...]]:
    """Assemble and link a kernel; the program, or None with the diagnostics that prevent one."""
    if not isinstance(source, str) or not source.strip():
        return None, (
            Diagnostic(
                0,
                0,
                "the kernel source is empty",
                "",
                f"write a `{ENTRY_SYMBOL}:` function in GNU assembler syntax",
            ),
        )
    built = toolchain.assemble_and_link(source, file_name)
    if built.elf is None:
        return None, built.diagnostics
    image = Elf(built.elf)
    start = image.symbols["__kc_start_end"].value
    text = image.section(".text")
    end = text.addr + text.size if text is not None else start
    program = Program(built.elf, source, start, end, _line_table(built.elf, file_name))
    beyond = _pmp_beyond_boom(program)
    if beyond:
        return None, built.diagnostics + tuple(beyond)
    return program, built.diagnostics
