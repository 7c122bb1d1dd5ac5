"""Decoding 32-bit words against the instruction table, and printing them back as assembly."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .isa import CSR_NAMES, TABLE, InstrDef

XREG = [
    "zero",
    "ra",
    "sp",
    "gp",
    "tp",
    "t0",
    "t1",
    "t2",
    "s0",
    "s1",
    "a0",
    "a1",
    "a2",
    "a3",
    "a4",
    "a5",
    "a6",
    "a7",
    "s2",
    "s3",
    "s4",
    "s5",
    "s6",
    "s7",
    "s8",
    "s9",
    "s10",
    "s11",
    "t3",
    "t4",
    "t5",
    "t6",
]
FREG = [
    "ft0",
    "ft1",
    "ft2",
    "ft3",
    "ft4",
    "ft5",
    "ft6",
    "ft7",
    "fs0",
    "fs1",
    "fa0",
    "fa1",
    "fa2",
    "fa3",
    "fa4",
    "fa5",
    "fa6",
    "fa7",
    "fs2",
    "fs3",
    "fs4",
    "fs5",
    "fs6",
    "fs7",
    "fs8",
    "fs9",
    "fs10",
    "fs11",
    "ft8",
    "ft9",
    "ft10",
    "ft11",
]
RM_NAMES = {0: "rne", 1: "rtz", 2: "rdn", 3: "rup", 4: "rmm", 7: "dyn"}
LMUL_NAMES = {0: "m1", 1: "m2", 2: "m4", 3: "m8", 5: "mf8", 6: "mf4", 7: "mf2"}


def sext(value: int, bits: int) -> int:
    sign = 1 << (bits - 1)
    return (value & (sign - 1)) - (value & sign)


@dataclass(frozen=True)
class Fields:
    """The operand fields of one instruction word (all of them; each syntax uses some)."""

    word: int
    rd: int
    rs1: int
    rs2: int
    rs3: int
    imm: int  # the immediate of the format, sign-extended (I, S, B, U (<<12), J)
    csr: int
    vm: int
    rm: int
    vtypei: int
    simm5: int
    uimm5: int


_BY_OPCODE: dict[int, list[InstrDef]] = {}
for _d in TABLE:
    _BY_OPCODE.setdefault(_d.match & 0x7F, []).append(_d)
for _list in _BY_OPCODE.values():
    _list.sort(key=lambda d: -bin(d.mask).count("1"))


@lru_cache(maxsize=65536)
def decode(word: int) -> tuple[InstrDef, Fields] | None:
    """The table entry a word encodes and its fields, or None for an illegal word."""
    word &= 0xFFFFFFFF
    for d in _BY_OPCODE.get(word & 0x7F, ()):
        if word & d.mask == d.match:
            return d, _fields(word, d)
    return None


def _fields(w: int, d: InstrDef) -> Fields:
    opcode = w & 0x7F
    syntax = d.syntax
    if opcode in (0x37, 0x17):
        imm = sext(w & 0xFFFFF000, 32)
    elif opcode == 0x6F:
        imm = sext(
            ((w >> 31) & 1) << 20
            | ((w >> 12) & 0xFF) << 12
            | ((w >> 20) & 1) << 11
            | ((w >> 21) & 0x3FF) << 1,
            21,
        )
    elif opcode == 0x63:
        imm = sext(
            ((w >> 31) & 1) << 12 | ((w >> 7) & 1) << 11 | ((w >> 25) & 0x3F) << 5 | ((w >> 8) & 0xF) << 1, 13
        )
    elif opcode in (0x23, 0x27) and "imm(" in syntax:
        imm = sext(((w >> 25) << 5) | ((w >> 7) & 0x1F), 12)
    elif "shamt" in syntax:
        imm = (w >> 20) & 0x1F
    else:
        imm = sext(w >> 20, 12)
    vtypei = (w >> 20) & (0x3FF if (w >> 30) == 0b11 else 0x7FF)
    return Fields(
        w,
        (w >> 7) & 0x1F,
        (w >> 15) & 0x1F,
        (w >> 20) & 0x1F,
        (w >> 27) & 0x1F,
        imm,
        (w >> 20) & 0xFFF,
        (w >> 25) & 1,
        (w >> 12) & 7,
        vtypei,
        sext((w >> 15) & 0x1F, 5),
        (w >> 15) & 0x1F,
    )


def vtype_text(vtype: int) -> str:
    sew = 8 << ((vtype >> 3) & 7)
    lmul = LMUL_NAMES.get(vtype & 7, f"lmul{vtype & 7}")
    ta = "ta" if vtype & 0x40 else "tu"
    ma = "ma" if vtype & 0x80 else "mu"
    text = f"e{sew}, {lmul}, {ta}, {ma}"
    return text if vtype >> 8 == 0 else f"{vtype:#x}"


def disassemble(word: int, pc: int = 0) -> str:
    """Assembly text of a word, as the assembler would accept it (or `.word 0x...` when illegal)."""
    found = decode(word)
    if found is None:
        return f".word {word & 0xFFFFFFFF:#010x}"
    d, f = found
    if not d.syntax:
        return d.name
    parts = []
    for token in d.syntax.split(", "):
        text = _operand(token, d, f, pc)
        if text:
            parts.append(text)
    return f"{d.name} " + ", ".join(parts)


def _operand(token: str, d: InstrDef, f: Fields, pc: int) -> str:
    if token == "rd":
        return XREG[f.rd]
    if token == "rs1":
        return XREG[f.rs1]
    if token == "rs2":
        return XREG[f.rs2]
    if token in ("frd", "frs1", "frs2", "frs3"):
        return FREG[{"frd": f.rd, "frs1": f.rs1, "frs2": f.rs2, "frs3": f.rs3}[token]]
    if token in ("vd", "vs3"):
        return f"v{f.rd}"
    if token == "vs2":
        return f"v{f.rs2}"
    if token == "vs1":
        return f"v{f.rs1}"
    if token == "v0":
        return "v0"
    if token == "vm":
        return "" if f.vm else "v0.t"
    if token == "imm":
        return str(f.imm)
    if token == "imm20":
        return f"{(f.imm >> 12) & 0xFFFFF:#x}"
    if token == "shamt":
        return str(f.imm)
    if token == "simm":
        return str(f.simm5)
    if token == "uimm":
        return str(f.uimm5)
    if token == "target":
        return f"{(pc + f.imm) & 0xFFFFFFFF:#x}"
    if token in ("imm(rs1)",):
        return f"{f.imm}({XREG[f.rs1]})"
    if token == "(rs1)":
        return f"({XREG[f.rs1]})"
    if token == "csr":
        return CSR_NAMES.get(f.csr, f"{f.csr:#x}")
    if token == "rm":
        return "" if f.rm == 7 else RM_NAMES.get(f.rm, f"rm{f.rm}")
    if token == "vtypei":
        return vtype_text(f.vtypei)
    raise ValueError(f"unknown operand token {token!r} in {d.name}")
