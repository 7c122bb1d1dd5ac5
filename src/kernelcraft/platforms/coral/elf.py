"""A linked Coral program read from its ELF with pyelftools: load segments, symbols, lines.

The simulator loads `segments` into ITCM and DTCM (external-memory sections are NOLOAD, so
the harness fills them), looks symbols up for raw-mode inputs and dumps, and maps a pc back
to the line of the author's file through the DWARF line table.
"""

from __future__ import annotations

import bisect
import io
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection


class ProgramError(ValueError):
    """The bytes are not a usable RV32 executable."""


@dataclass(frozen=True)
class Segment:
    address: int
    data: bytes
    size: int  # in memory (>= len(data); the rest is zero)


@dataclass
class Program:
    """What the simulator needs from an executable."""

    elf: bytes
    entry: int
    segments: tuple[Segment, ...]
    symbols: dict[str, int]
    kernel_file: str = ""
    # Sorted (address, line) rows of the kernel file's line table and the end of each row's range.
    line_rows: tuple[tuple[int, int, int], ...] = ()
    text_start: int = 0
    text_end: int = 0
    language: str = "asm"
    source: str = ""
    kernel_ranges: tuple[tuple[int, int], ...] = field(default=())  # code addresses from the kernel file

    @property
    def code_bytes(self) -> int:
        return self.text_end - self.text_start

    def line_of(self, pc: int) -> int | None:
        """The kernel-file line of the instruction at pc (None outside the kernel's code)."""
        rows = self.line_rows
        i = bisect.bisect_right(rows, (pc, 1 << 40, 0)) - 1
        if i < 0:
            return None
        address, line, end = rows[i]
        return line if address <= pc < end and line > 0 else None

    def in_kernel(self, pc: int) -> bool:
        return any(lo <= pc < hi for lo, hi in self.kernel_ranges)

    def symbol_at(self, pc: int) -> str | None:
        best = None
        for name, addr in self.symbols.items():
            if addr <= pc and (best is None or addr > best[1]):
                best = (name, addr)
        return None if best is None else (best[0] if best[1] == pc else f"{best[0]}+{pc - best[1]:#x}")


def read_program(elf: bytes, kernel_file: str = "", language: str = "asm", source: str = "") -> Program:
    """Parse an executable. ProgramError when it is not a 32-bit little-endian RISC-V ELF."""
    try:
        f = ELFFile(io.BytesIO(elf))
        if f.elfclass != 32 or not f.little_endian or f["e_machine"] != "EM_RISCV":
            raise ProgramError("not a 32-bit little-endian RISC-V ELF")
        segments = []
        for seg in f.iter_segments():
            if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
                continue
            segments.append(Segment(seg["p_vaddr"], seg.data(), seg["p_memsz"]))
        symbols: dict[str, int] = {}
        for section in f.iter_sections():
            if isinstance(section, SymbolTableSection):
                for sym in section.iter_symbols():
                    if (
                        sym.name
                        and sym["st_info"]["type"] in ("STT_NOTYPE", "STT_FUNC", "STT_OBJECT")
                        and sym["st_shndx"] != "SHN_UNDEF"
                        and not sym.name.startswith((".L", "$"))
                    ):
                        symbols.setdefault(sym.name, sym["st_value"])
        text = f.get_section_by_name(".text")
        text_start = text["sh_addr"] if text is not None else 0
        text_end = text_start + (text["sh_size"] if text is not None else 0)
        if text is not None and not text["sh_flags"] & SH_FLAGS.SHF_EXECINSTR:
            raise ProgramError(".text is not executable")
        rows, ranges = _line_rows(f, kernel_file) if kernel_file else ((), ())
        return Program(
            elf,
            f["e_entry"],
            tuple(segments),
            symbols,
            kernel_file,
            rows,
            text_start,
            text_end,
            language,
            source,
            ranges,
        )
    except (ELFError, KeyError, ValueError, IndexError, TypeError, AttributeError) as exc:  # malformed input
        if isinstance(exc, ProgramError):
            raise
        raise ProgramError(f"cannot read the ELF: {exc}") from None


def _line_rows(f: ELFFile, kernel_file: str):
    """(address, line, end) rows of `kernel_file`'s code, and the code ranges it covers."""
    if not f.has_dwarf_info():
        return (), ()
    dwarf = f.get_dwarf_info()
    rows: list[tuple[int, int, int]] = []
    for cu in dwarf.iter_CUs():
        prog = dwarf.line_program_for_CU(cu)
        if prog is None:
            continue
        names = _file_names(prog)
        previous = None  # (address, line, is kernel file)
        discarded = False  # a sequence of code the linker dropped (its addresses restart at 0)
        for entry in prog.get_entries():
            state = entry.state
            if state is None:
                continue
            if previous is None:
                discarded = state.address == 0  # the crt always occupies address 0
            if not discarded and previous is not None and previous[2] and state.address > previous[0]:
                rows.append((previous[0], previous[1], state.address))
            if state.end_sequence:
                previous = None
                continue
            name = names.get(state.file, "")
            previous = (state.address, state.line, name.endswith(kernel_file))
    rows.sort()
    ranges: list[tuple[int, int]] = []
    for address, _line, end in rows:
        if ranges and ranges[-1][1] >= address:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], end))
        else:
            ranges.append((address, end))
    return tuple(rows), tuple(ranges)


def _file_names(prog) -> dict[int, str]:
    header = prog.header
    entries = header.get("file_entry") or []
    version = header.get("version", 4)
    out = {}
    for index, entry in enumerate(entries):
        name = entry.name.decode() if isinstance(entry.name, bytes) else str(entry.name)
        # DWARF 5 numbers files from 0, earlier versions from 1.
        out[index if version >= 5 else index + 1] = name
    return out
