"""Just enough ELF64 (little-endian RISC-V) to read a linked program and add a task's data.

A kernel is linked once (build); each run then adds the instance's memory image (inputs,
poisoned outputs and stack) as extra PT_LOAD segments and sets the values of a few
placeholder symbols (the signature bounds Spike dumps), without relinking. Both rvsim and
Spike load programs by their PT_LOAD segments and find `tohost` in the symbol table.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")

PT_LOAD = 1
PF_X, PF_W, PF_R = 1, 2, 4
SHT_SYMTAB = 2
SHF_EXECINSTR = 0x4


class ElfError(ValueError):
    """The bytes are not the kind of ELF this module handles."""


@dataclass(frozen=True)
class Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int
    link: int
    entsize: int


@dataclass(frozen=True)
class Symbol:
    name: str
    value: int
    size: int
    info: int
    shndx: int
    offset: int  # file offset of the symbol table entry (to patch its value)

    @property
    def is_function(self) -> bool:
        return self.info & 0xF == 2


@dataclass(frozen=True)
class Segment:
    """A block of memory to load: `data` at `addr`, followed by `zero_fill` zero bytes."""

    addr: int
    data: bytes
    zero_fill: int = 0
    flags: int = PF_R | PF_W


class Elf:
    """A parsed ELF64 image (read-only view over its bytes)."""

    def __init__(self, image: bytes):
        if len(image) < _EHDR.size or image[:4] != b"\x7fELF":
            raise ElfError("not an ELF file")
        if image[4] != 2 or image[5] != 1:
            raise ElfError("only 64-bit little-endian ELF is supported")
        self.image = bytes(image)
        (
            _,
            self.e_type,
            self.e_machine,
            _,
            self.entry,
            self.phoff,
            self.shoff,
            _,
            _,
            self.phentsize,
            self.phnum,
            self.shentsize,
            self.shnum,
            self.shstrndx,
        ) = _EHDR.unpack_from(self.image, 0)
        self.sections = self._read_sections()
        self.symbols = self._read_symbols()

    def _read_sections(self) -> list[Section]:
        raw = [_SHDR.unpack_from(self.image, self.shoff + i * self.shentsize) for i in range(self.shnum)]
        if not raw:
            return []
        names_at = raw[self.shstrndx][4]
        out = []
        for name, typ, flags, addr, offset, size, link, _info, _align, entsize in raw:
            out.append(
                Section(_cstr(self.image, names_at + name), typ, flags, addr, offset, size, link, entsize)
            )
        return out

    def _read_symbols(self) -> dict[str, Symbol]:
        out: dict[str, Symbol] = {}
        for sec in self.sections:
            if sec.type != SHT_SYMTAB:
                continue
            strtab = self.sections[sec.link]
            for k in range(sec.size // _SYM.size):
                at = sec.offset + k * _SYM.size
                name, info, _other, shndx, value, size = _SYM.unpack_from(self.image, at)
                label = _cstr(self.image, strtab.offset + name)
                if label:
                    out.setdefault(label, Symbol(label, value, size, info, shndx, at))
        return out

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def section_bytes(self, sec: Section) -> bytes:
        return self.image[sec.offset : sec.offset + sec.size]

    def code_sections(self) -> list[Section]:
        return [s for s in self.sections if s.flags & SHF_EXECINSTR and s.size]

    def load_segments(self) -> list[tuple[int, int]]:
        """(address, memory size) of every PT_LOAD segment."""
        out = []
        for i in range(self.phnum):
            p_type, _f, _off, vaddr, _paddr, _filesz, memsz, _al = _PHDR.unpack_from(
                self.image, self.phoff + i * self.phentsize
            )
            if p_type == PT_LOAD:
                out.append((vaddr, memsz))
        return out


def with_segments(
    image: bytes, segments: list[Segment], symbol_values: dict[str, int] | None = None
) -> bytes:
    """The program with `segments` added as PT_LOAD segments and the named symbols' values set.

    The program header table is rewritten at the end of the file (the old one stays where it
    was, unused), so no existing offset moves. Symbols must already exist (the linker script
    defines them as placeholders).
    """
    elf = Elf(image)
    out = bytearray(image)
    for name, value in (symbol_values or {}).items():
        sym = elf.symbols.get(name)
        if sym is None:
            raise ElfError(f"symbol {name} is not in the program")
        struct.pack_into("<Q", out, sym.offset + 8, value)
    headers = [
        out[elf.phoff + i * elf.phentsize : elf.phoff + (i + 1) * elf.phentsize] for i in range(elf.phnum)
    ]
    for seg in segments:
        _pad_to(out, 16)
        offset = len(out)
        out += seg.data
        headers.append(
            _PHDR.pack(
                PT_LOAD,
                seg.flags,
                offset,
                seg.addr,
                seg.addr,
                len(seg.data),
                len(seg.data) + seg.zero_fill,
                16,
            )
        )
    _pad_to(out, 8)
    phoff = len(out)
    for h in headers:
        out += h
    struct.pack_into("<Q", out, 0x20, phoff)  # e_phoff
    struct.pack_into("<H", out, 0x38, len(headers))  # e_phnum
    return bytes(out)


def _pad_to(buf: bytearray, align: int) -> None:
    buf += b"\0" * (-len(buf) % align)


def _cstr(data: bytes, at: int) -> str:
    end = data.index(b"\0", at)
    return data[at:end].decode("utf-8", "replace")
