"""Static checks of a built Coral kernel that the assembler does not make: warnings for check_syntax.

- Register groups: under the vtype of the latest `vsetvli`/`vsetivli` above an instruction (in
  address order, where its immediate states it), every vector register operand must start a
  group of its EMUL registers (v8 for m8, v4/v8/v12 for m4, ...); the core raises an illegal
  instruction at run time otherwise. A `vsetvl` (vtype from a register) ends what is known.
- User counters: `rdcycle`, `rdtime`, `rdinstret` (CSRs cycle/time/instret) do not exist on
  Coral NPU (reference §1.6): they trap. `mcycle` is the cycle counter.

`operand_groups` is also what turns the simulator's "register numbers must be multiples of their
group sizes" into a message that names the register and the group.
"""

from __future__ import annotations

from ..base import Diagnostic
from .decode import Fields, decode
from .elf import Program
from .isa import InstrDef

LMUL_OF_CODE = {0: 1.0, 1: 2.0, 2: 4.0, 3: 8.0, 5: 0.125, 6: 0.25, 7: 0.5}
USER_COUNTERS = {
    0xC00: "cycle",
    0xC01: "time",
    0xC02: "instret",
    0xC80: "cycleh",
    0xC81: "timeh",
    0xC82: "instreth",
}


def lmul_name(lmul: float) -> str:
    return f"m{int(lmul)}" if lmul >= 1 else f"mf{int(round(1 / lmul))}"


def vtype_of(vtypei: int) -> tuple[int, float] | None:
    """(SEW, LMUL) a vsetvli immediate sets, or None when it is illegal on Coral (vill)."""
    if vtypei >> 8:
        return None
    sew = 8 << ((vtypei >> 3) & 7)
    lmul = LMUL_OF_CODE.get(vtypei & 7)
    if sew > 32 or lmul is None or sew / lmul > 32:
        return None
    return sew, lmul


def operand_groups(d: InstrDef, f: Fields, sew: int, lmul: float) -> list[tuple[str, int, float]]:
    """(operand, register number, EMUL) of each vector register operand of an instruction."""
    kind = d.vinfo.get("kind")
    vector_v = d.vinfo.get("form", "V") == "V"
    L = lmul
    out: list[tuple[str, int, float]] = []

    def add(name: str, reg: int, emul: float) -> None:
        out.append((name, reg, emul))

    if d.unit in ("vload", "vstore"):
        data = "vd" if d.unit == "vload" else "vs3"
        mode, eew, nf = d.vinfo.get("mode"), d.vinfo.get("eew", sew), d.vinfo.get("nf", 1)
        if mode == "whole":
            add(data, f.rd, float(nf))
        elif mode == "mask":
            add(data, f.rd, 1.0)
        elif mode == "indexed":
            add(data, f.rd, L)
            add("vs2", f.rs2, eew / sew * L)
        else:
            add(data, f.rd, eew / sew * L)
        return out
    if kind in (
        "binary",
        "mac",
        "carry",
        "merge",
        "gather",
        "slideup",
        "slidedown",
        "slide1up",
        "slide1down",
    ):
        add("vd", f.rd, L)
        add("vs2", f.rs2, L)
        if vector_v and kind not in ("slideup", "slidedown", "slide1up", "slide1down"):
            add("vs1", f.rs1, L)
    elif kind == "gather16":
        add("vd", f.rd, L)
        add("vs2", f.rs2, L)
        add("vs1", f.rs1, 16 / sew * L)
    elif kind == "move":
        add("vd", f.rd, L)
        if vector_v:
            add("vs1", f.rs1, L)
    elif kind in ("compare", "carry_out"):
        add("vs2", f.rs2, L)
        if vector_v:
            add("vs1", f.rs1, L)
    elif kind == "narrow":
        add("vd", f.rd, L)
        add("vs2", f.rs2, 2 * L)
        if vector_v:
            add("vs1", f.rs1, L)
    elif kind in ("wide", "wmac", "wide_w"):
        add("vd", f.rd, 2 * L)
        add("vs2", f.rs2, 2 * L if kind == "wide_w" else L)
        if vector_v:
            add("vs1", f.rs1, L)
    elif kind == "ext":
        add("vd", f.rd, L)
        add("vs2", f.rs2, L / d.vinfo.get("factor", 2))
    elif kind in ("reduction", "wreduction"):
        add("vs2", f.rs2, L)
    elif kind in ("compress", "iota", "vid"):
        add("vd", f.rd, L)
        if kind == "compress":
            add("vs2", f.rs2, L)
    elif kind == "whole_move":
        n = float(d.vinfo.get("nr", 1))
        add("vd", f.rd, n)
        add("vs2", f.rs2, n)
    return out


def misaligned(d: InstrDef, f: Fields, sew: int, lmul: float) -> list[tuple[str, int, int]]:
    """(operand, register, group size) of each operand that does not start a legal group."""
    bad = []
    for name, reg, emul in operand_groups(d, f, sew, lmul):
        group = max(1, int(emul))
        if 0.125 <= emul <= 8 and (reg % group or reg + group > 32):
            bad.append((name, reg, group))
    return bad


def describe_misaligned(problems: list[tuple[str, int, int]], sew: int, lmul: float) -> str:
    """'vs2 = v3 is in a group of 4 registers (e8, m4): use v0, v4, v8, ...' for each problem."""
    parts = []
    for name, reg, group in problems:
        starts = ", ".join(f"v{k}" for k in range(0, 32, group)[:4])
        parts.append(f"{name} = v{reg} must start a group of {group} registers: use {starts}, ...")
    return f"under e{sew}, {lmul_name(lmul)}: " + "; ".join(parts)


def _words(program: Program):
    """(address, word) of each instruction in the kernel's own code."""
    ranges = program.kernel_ranges or ((program.text_start, program.text_end),)
    for lo, hi in ranges:
        for seg in program.segments:
            if seg.address <= lo and hi <= seg.address + len(seg.data):
                for address in range(lo, hi - 3, 4):
                    off = address - seg.address
                    yield address, int.from_bytes(seg.data[off : off + 4], "little")
                break


def _text(program: Program, line: int) -> str:
    lines = program.source.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def lint(program: Program) -> list[Diagnostic]:
    """Warnings about the kernel's own code (see the module docstring)."""
    out: list[Diagnostic] = []
    vtype: tuple[int, float] | None = None
    vset_line: int | None = None
    for address, word in _words(program):
        found = decode(word)
        if found is None:
            continue
        d, f = found
        line = program.line_of(address) or 0
        if d.unit == "vset":
            if d.name in ("vsetvli", "vsetivli"):
                vtype, vset_line = vtype_of(f.vtypei), line
            else:
                vtype = None  # vsetvl: vtype comes from a register
            continue
        if d.unit == "csr" and f.csr in USER_COUNTERS:
            name = USER_COUNTERS[f.csr]
            out.append(
                Diagnostic(
                    line,
                    0,
                    f"the CSR `{name}` (what rd{name} reads) does not exist on Coral NPU: this instruction "
                    "traps as an illegal instruction",
                    _text(program, line),
                    "read `mcycle` (csrr t0, mcycle) for cycles; there is no user-level counter",
                    severity="warning",
                )
            )
            continue
        if d.ext != "V" or vtype is None:
            continue
        sew, lmul = vtype
        bad = misaligned(d, f, sew, lmul)
        if bad:
            where = f" (set by the vsetvli on line {vset_line})" if vset_line else ""
            out.append(
                Diagnostic(
                    line,
                    0,
                    f"{d.name}: register group not aligned {describe_misaligned(bad, sew, lmul)}{where}; "
                    "it traps as an illegal instruction when it runs with this vtype",
                    _text(program, line),
                    "pick registers that are multiples of the group size, or set the vtype you mean first",
                    severity="warning",
                )
            )
    return out
