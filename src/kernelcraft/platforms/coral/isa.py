"""The Coral NPU instruction table: the single source for decoder, executor, timing and docs.

Each instruction is one InstrDef: its encoding (match/mask), its operand syntax, the timing
unit it occupies and a one-line summary. The decoder matches words against this table, the
executor looks up the semantics by `sem`, the timing model by `unit`, and the ISA reference
the agent reads is printed from it. The set is what the RTL implements: RV32I, M, F, Zicsr,
Zifencei, Zbb, the Zve32x subset of the RVV back end, and the custom `mpause`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OP_V = 0x57
LOAD_FP = 0x07
STORE_FP = 0x27


@dataclass(frozen=True)
class InstrDef:
    name: str  # mnemonic as written in assembly
    ext: str  # I, M, F, Zicsr, Zifencei, Zbb, V, Coral
    syntax: str  # operand template, e.g. "rd, rs1, imm"
    match: int
    mask: int
    unit: str  # timing class (see timing.py)
    group: str  # ISA-doc section
    summary: str
    sem: str = ""  # semantics key (defaults to the name)
    # Vector facts the executor and timing need: op form, widening/narrowing, signedness...
    vinfo: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> str:
        return self.sem or self.name


def _bits(value: int, hi: int, lo: int) -> int:
    return (value & ((1 << (hi - lo + 1)) - 1)) << lo


def r_type(funct7: int, funct3: int, opcode: int) -> tuple[int, int]:
    return _bits(funct7, 31, 25) | _bits(funct3, 14, 12) | opcode, 0xFE00707F


def i_type(funct3: int, opcode: int) -> tuple[int, int]:
    return _bits(funct3, 14, 12) | opcode, 0x0000707F


TABLE: list[InstrDef] = []


def _add(name, ext, syntax, mm, unit, group, summary, sem="", **vinfo):
    TABLE.append(InstrDef(name, ext, syntax, mm[0], mm[1], unit, group, summary, sem, vinfo))


# ---------------------------------------------------------------------------- RV32I
G_INT = "Integer (RV32I, Zbb)"
G_MEM = "Scalar loads and stores"
G_CTRL = "Control flow"
G_SYS = "System, CSR and fences"
G_MUL = "Multiply and divide (M)"
G_FP = "Scalar floating point (F)"

_add("lui", "I", "rd, imm20", (0x37, 0x7F), "alu", G_INT, "rd = imm20 << 12")
_add("auipc", "I", "rd, imm20", (0x17, 0x7F), "alu", G_INT, "rd = pc + (imm20 << 12)")
_add("jal", "I", "rd, target", (0x6F, 0x7F), "jal", G_CTRL, "rd = pc + 4; jump to target (predicted taken)")
_add(
    "jalr",
    "I",
    "rd, imm(rs1)",
    i_type(0, 0x67),
    "jalr",
    G_CTRL,
    "rd = pc + 4; jump to (rs1 + imm) & ~1 (never predicted: always a refetch)",
)
for f3, name, cond in [
    (0, "beq", "=="),
    (1, "bne", "!="),
    (4, "blt", "< (signed)"),
    (5, "bge", ">= (signed)"),
    (6, "bltu", "< (unsigned)"),
    (7, "bgeu", ">= (unsigned)"),
]:
    _add(
        name,
        "I",
        "rs1, rs2, target",
        i_type(f3, 0x63),
        "branch",
        G_CTRL,
        f"branch to target if rs1 {cond} rs2 (backward predicted taken, forward not taken)",
    )
for f3, name, what in [
    (0, "lb", "sign-extended byte"),
    (1, "lh", "sign-extended halfword"),
    (2, "lw", "word"),
    (4, "lbu", "zero-extended byte"),
    (5, "lhu", "zero-extended halfword"),
]:
    _add(name, "I", "rd, imm(rs1)", i_type(f3, 0x03), "load", G_MEM, f"rd = {what} at rs1 + imm")
for f3, name, what in [(0, "sb", "low byte"), (1, "sh", "low halfword"), (2, "sw", "word")]:
    _add(
        name, "I", "rs2, imm(rs1)", i_type(f3, 0x23), "store", G_MEM, f"store the {what} of rs2 at rs1 + imm"
    )
for f3, name, what in [
    (0, "addi", "rs1 + imm"),
    (2, "slti", "rs1 < imm (signed) ? 1 : 0"),
    (3, "sltiu", "rs1 < imm (unsigned) ? 1 : 0"),
    (4, "xori", "rs1 ^ imm"),
    (6, "ori", "rs1 | imm"),
    (7, "andi", "rs1 & imm"),
]:
    _add(name, "I", "rd, rs1, imm", i_type(f3, 0x13), "alu", G_INT, f"rd = {what}")
_add("slli", "I", "rd, rs1, shamt", r_type(0x00, 1, 0x13), "alu", G_INT, "rd = rs1 << shamt")
_add("srli", "I", "rd, rs1, shamt", r_type(0x00, 5, 0x13), "alu", G_INT, "rd = rs1 >> shamt (logical)")
_add("srai", "I", "rd, rs1, shamt", r_type(0x20, 5, 0x13), "alu", G_INT, "rd = rs1 >> shamt (arithmetic)")
for f7, f3, name, what in [
    (0, 0, "add", "rs1 + rs2"),
    (0x20, 0, "sub", "rs1 - rs2"),
    (0, 1, "sll", "rs1 << rs2[4:0]"),
    (0, 2, "slt", "rs1 < rs2 (signed) ? 1 : 0"),
    (0, 3, "sltu", "rs1 < rs2 (unsigned) ? 1 : 0"),
    (0, 4, "xor", "rs1 ^ rs2"),
    (0, 5, "srl", "rs1 >> rs2[4:0] (logical)"),
    (0x20, 5, "sra", "rs1 >> rs2[4:0] (arithmetic)"),
    (0, 6, "or", "rs1 | rs2"),
    (0, 7, "and", "rs1 & rs2"),
]:
    _add(name, "I", "rd, rs1, rs2", r_type(f7, f3, 0x33), "alu", G_INT, f"rd = {what}")
_add(
    "fence",
    "I",
    "",
    (0x0000000F, 0xF00FFFFF),
    "fence",
    G_SYS,
    "order memory accesses (waits for the LSU to drain)",
)
_add(
    "fence.i",
    "Zifencei",
    "",
    (0x0000100F, 0xFFFFFFFF),
    "fence",
    G_SYS,
    "instruction fence (waits for the LSU to drain)",
)
_add("ecall", "I", "", (0x00000073, 0xFFFFFFFF), "system", G_SYS, "environment call: traps (ends the run)")
_add("ebreak", "I", "", (0x00100073, 0xFFFFFFFF), "system", G_SYS, "breakpoint: halts the core with a fault")
_add("mret", "I", "", (0x30200073, 0xFFFFFFFF), "jalr", G_SYS, "return from a machine-mode trap to mepc")
_add(
    "wfi",
    "I",
    "",
    (0x10500073, 0xFFFFFFFF),
    "system",
    G_SYS,
    "wait for interrupt (none arrive: ends the run)",
)
_add(
    "mpause",
    "Coral",
    "",
    (0x08000073, 0xFFFFFFFF),
    "mpause",
    G_SYS,
    "Coral custom: wait until the core is idle, then halt cleanly (`.word 0x08000073`)",
)
for f3, name, what in [
    (1, "csrrw", "rd = csr; csr = rs1"),
    (2, "csrrs", "rd = csr; csr |= rs1"),
    (3, "csrrc", "rd = csr; csr &= ~rs1"),
]:
    _add(name, "Zicsr", "rd, csr, rs1", i_type(f3, 0x73), "csr", G_SYS, what)
for f3, name, what in [
    (5, "csrrwi", "rd = csr; csr = uimm"),
    (6, "csrrsi", "rd = csr; csr |= uimm"),
    (7, "csrrci", "rd = csr; csr &= ~uimm"),
]:
    _add(name, "Zicsr", "rd, csr, uimm", i_type(f3, 0x73), "csr", G_SYS, what)

# ---------------------------------------------------------------------------- M
for f3, name, what, unit in [
    (0, "mul", "low 32 bits of rs1 * rs2", "mul"),
    (1, "mulh", "high 32 bits of signed rs1 * signed rs2", "mul"),
    (2, "mulhsu", "high 32 bits of signed rs1 * unsigned rs2", "mul"),
    (3, "mulhu", "high 32 bits of unsigned rs1 * unsigned rs2", "mul"),
    (4, "div", "rs1 / rs2 (signed, rounds toward zero; /0 gives -1)", "div"),
    (5, "divu", "rs1 / rs2 (unsigned; /0 gives 2^32-1)", "div"),
    (6, "rem", "rs1 % rs2 (signed; %0 gives rs1)", "div"),
    (7, "remu", "rs1 % rs2 (unsigned; %0 gives rs1)", "div"),
]:
    _add(name, "M", "rd, rs1, rs2", r_type(1, f3, 0x33), unit, G_MUL, f"rd = {what}")

# ---------------------------------------------------------------------------- Zbb
for f7, f3, name, what in [
    (0x20, 7, "andn", "rs1 & ~rs2"),
    (0x20, 6, "orn", "rs1 | ~rs2"),
    (0x20, 4, "xnor", "~(rs1 ^ rs2)"),
    (0x05, 6, "max", "max(rs1, rs2) (signed)"),
    (0x05, 7, "maxu", "max(rs1, rs2) (unsigned)"),
    (0x05, 4, "min", "min(rs1, rs2) (signed)"),
    (0x05, 5, "minu", "min(rs1, rs2) (unsigned)"),
    (0x30, 1, "rol", "rotate rs1 left by rs2[4:0]"),
    (0x30, 5, "ror", "rotate rs1 right by rs2[4:0]"),
]:
    _add(name, "Zbb", "rd, rs1, rs2", r_type(f7, f3, 0x33), "alu", G_INT, f"rd = {what}")
_add("rori", "Zbb", "rd, rs1, shamt", r_type(0x30, 5, 0x13), "alu", G_INT, "rd = rotate rs1 right by shamt")
for imm, f3, name, what in [
    (0x600, 1, "clz", "count of leading zero bits of rs1"),
    (0x601, 1, "ctz", "count of trailing zero bits of rs1"),
    (0x602, 1, "cpop", "count of set bits of rs1"),
    (0x604, 1, "sext.b", "sign-extended low byte of rs1"),
    (0x605, 1, "sext.h", "sign-extended low halfword of rs1"),
    (0x287, 5, "orc.b", "each byte of rs1: 0xff if nonzero else 0"),
    (0x698, 5, "rev8", "rs1 with its bytes reversed"),
]:
    _add(name, "Zbb", "rd, rs1", ((imm << 20) | (f3 << 12) | 0x13, 0xFFF0707F), "alu", G_INT, f"rd = {what}")
_add(
    "zext.h",
    "Zbb",
    "rd, rs1",
    ((0x04 << 25) | (4 << 12) | 0x33, 0xFFF0707F),
    "alu",
    G_INT,
    "rd = zero-extended low halfword of rs1",
)

# ---------------------------------------------------------------------------- F
_add("flw", "F", "frd, imm(rs1)", i_type(2, LOAD_FP), "fload", G_FP, "frd = 32-bit word at rs1 + imm")
_add("fsw", "F", "frs2, imm(rs1)", i_type(2, STORE_FP), "fstore", G_FP, "store frs2 at rs1 + imm")
for opc, name, what in [
    (0x43, "fmadd.s", "frs1*frs2 + frs3"),
    (0x47, "fmsub.s", "frs1*frs2 - frs3"),
    (0x4B, "fnmsub.s", "-(frs1*frs2) + frs3"),
    (0x4F, "fnmadd.s", "-(frs1*frs2) - frs3"),
]:
    _add(
        name, "F", "frd, frs1, frs2, frs3, rm", (opc, 0x0600007F), "fpu", G_FP, f"frd = {what}, one rounding"
    )
for f7, name, what, unit in [
    (0x00, "fadd.s", "frs1 + frs2", "fpu"),
    (0x04, "fsub.s", "frs1 - frs2", "fpu"),
    (0x08, "fmul.s", "frs1 * frs2", "fpu"),
    (0x0C, "fdiv.s", "frs1 / frs2", "fdiv"),
]:
    _add(name, "F", "frd, frs1, frs2, rm", ((f7 << 25) | 0x53, 0xFE00007F), unit, G_FP, f"frd = {what}")
_add("fsqrt.s", "F", "frd, frs1, rm", ((0x2C << 25) | 0x53, 0xFFF0007F), "fdiv", G_FP, "frd = sqrt(frs1)")
for f3, name, what in [
    (0, "fsgnj.s", "magnitude of frs1, sign of frs2"),
    (1, "fsgnjn.s", "magnitude of frs1, inverted sign of frs2"),
    (2, "fsgnjx.s", "frs1 with its sign xored with frs2's"),
]:
    _add(name, "F", "frd, frs1, frs2", r_type(0x10, f3, 0x53), "fpu", G_FP, f"frd = {what}")
_add(
    "fmin.s",
    "F",
    "frd, frs1, frs2",
    r_type(0x14, 0, 0x53),
    "fpu",
    G_FP,
    "frd = minimum (IEEE 754-2019 minimumNumber)",
)
_add(
    "fmax.s",
    "F",
    "frd, frs1, frs2",
    r_type(0x14, 1, 0x53),
    "fpu",
    G_FP,
    "frd = maximum (IEEE 754-2019 maximumNumber)",
)
_add(
    "fcvt.w.s",
    "F",
    "rd, frs1, rm",
    ((0x60 << 25) | (0 << 20) | 0x53, 0xFFF0007F),
    "fpu",
    G_FP,
    "rd = frs1 converted to a signed integer (saturating)",
)
_add(
    "fcvt.wu.s",
    "F",
    "rd, frs1, rm",
    ((0x60 << 25) | (1 << 20) | 0x53, 0xFFF0007F),
    "fpu",
    G_FP,
    "rd = frs1 converted to an unsigned integer (saturating)",
)
_add("fmv.x.w", "F", "rd, frs1", ((0x70 << 25) | 0x53, 0xFFF0707F), "fpu", G_FP, "rd = the bits of frs1")
_add(
    "fclass.s",
    "F",
    "rd, frs1",
    ((0x70 << 25) | (1 << 12) | 0x53, 0xFFF0707F),
    "fpu",
    G_FP,
    "rd = class mask of frs1 (bit 0 -inf ... bit 9 quiet NaN)",
)
for f3, name, what in [
    (2, "feq.s", "frs1 == frs2"),
    (1, "flt.s", "frs1 < frs2"),
    (0, "fle.s", "frs1 <= frs2"),
]:
    _add(name, "F", "rd, frs1, frs2", r_type(0x50, f3, 0x53), "fpu", G_FP, f"rd = {what} ? 1 : 0")
_add(
    "fcvt.s.w",
    "F",
    "frd, rs1, rm",
    ((0x68 << 25) | (0 << 20) | 0x53, 0xFFF0007F),
    "fpu",
    G_FP,
    "frd = signed rs1 converted to float",
)
_add(
    "fcvt.s.wu",
    "F",
    "frd, rs1, rm",
    ((0x68 << 25) | (1 << 20) | 0x53, 0xFFF0007F),
    "fpu",
    G_FP,
    "frd = unsigned rs1 converted to float",
)
_add("fmv.w.x", "F", "frd, rs1", ((0x78 << 25) | 0x53, 0xFFF0707F), "fpu", G_FP, "frd = the bits of rs1")

# ---------------------------------------------------------------------------- RVV: configuration
G_VCFG = "Vector configuration"
G_VMEM = "Vector loads and stores"
G_VINT = "Vector integer arithmetic"
G_VWIDE = "Vector widening and narrowing"
G_VFIX = "Vector fixed-point"
G_VRED = "Vector reductions"
G_VMASK = "Vector mask operations"
G_VPERM = "Vector permutes and moves"

_add(
    "vsetvli",
    "V",
    "rd, rs1, vtypei",
    ((7 << 12) | OP_V, 0x8000707F),
    "vset",
    G_VCFG,
    "vtype = vtypei; vl = min(rs1, VLMAX) (rs1 = x0, rd != x0: vl = VLMAX); rd = vl",
)
_add(
    "vsetivli",
    "V",
    "rd, uimm, vtypei",
    ((0b11 << 30) | (7 << 12) | OP_V, 0xC000707F),
    "vset",
    G_VCFG,
    "vtype = vtypei; vl = min(uimm, VLMAX); rd = vl",
)
_add(
    "vsetvl",
    "V",
    "rd, rs1, rs2",
    ((0b1000000 << 25) | (7 << 12) | OP_V, 0xFE00707F),
    "vset",
    G_VCFG,
    "vtype = rs2; vl = min(rs1, VLMAX); rd = vl",
)

# ---------------------------------------------------------------------------- RVV: arithmetic
F3 = {"IVV": 0, "MVV": 2, "IVI": 3, "IVX": 4, "MVX": 6}
SUFFIX_FORM = {"vv": "IVV", "vx": "IVX", "vi": "IVI"}


def _opv(funct6: int, funct3: int, *, vm: int | None = None, vs2: int | None = None, vs1: int | None = None):
    match = (funct6 << 26) | (funct3 << 12) | OP_V
    mask = 0xFC00707F
    if vm is not None:
        match |= vm << 25
        mask |= 1 << 25
    if vs2 is not None:
        match |= vs2 << 20
        mask |= 0x1F << 20
    if vs1 is not None:
        match |= vs1 << 15
        mask |= 0x1F << 15
    return match, mask


def _varith(
    base: str,
    funct6: int,
    forms: str,
    unit: str,
    group: str,
    summary: str,
    *,
    cls: str = "M",
    kind: str = "binary",
    uimm: bool = False,
    order: str = "vs2_first",
    **info,
):
    """One entry per operand form. forms: letters among V (vector), X (scalar), I (immediate)."""
    opi = cls == "I"
    for letter in forms:
        if letter == "V":
            f3, suffix, src = (F3["IVV"] if opi else F3["MVV"]), "vv", "vs1"
        elif letter == "X":
            f3, suffix, src = (F3["IVX"] if opi else F3["MVX"]), "vx", "rs1"
        else:
            f3, suffix, src = F3["IVI"], "vi", ("uimm" if uimm else "simm")
        if kind in ("wide_w", "narrow"):
            suffix = "w" + suffix[1]
        syntax = f"vd, {src}, vs2, vm" if order == "src_first" else f"vd, vs2, {src}, vm"
        if kind in ("reduction", "wreduction"):
            suffix = "vs"
        name = f"{base}.{suffix}"
        _add(
            name,
            "V",
            syntax,
            _opv(funct6, f3),
            unit,
            group,
            summary.replace("SRC", "vs1[i]" if letter == "V" else src),
            sem=base,
            form=letter,
            kind=kind,
            **info,
        )


A = "valu"
_varith("vadd", 0b000000, "VXI", A, G_VINT, "vd[i] = vs2[i] + SRC", cls="I")
_varith("vsub", 0b000010, "VX", A, G_VINT, "vd[i] = vs2[i] - SRC", cls="I")
_varith("vrsub", 0b000011, "XI", A, G_VINT, "vd[i] = SRC - vs2[i]", cls="I")
_varith("vminu", 0b000100, "VX", A, G_VINT, "vd[i] = min(vs2[i], SRC) (unsigned)", cls="I")
_varith("vmin", 0b000101, "VX", A, G_VINT, "vd[i] = min(vs2[i], SRC) (signed)", cls="I")
_varith("vmaxu", 0b000110, "VX", A, G_VINT, "vd[i] = max(vs2[i], SRC) (unsigned)", cls="I")
_varith("vmax", 0b000111, "VX", A, G_VINT, "vd[i] = max(vs2[i], SRC) (signed)", cls="I")
_varith("vand", 0b001001, "VXI", A, G_VINT, "vd[i] = vs2[i] & SRC", cls="I")
_varith("vor", 0b001010, "VXI", A, G_VINT, "vd[i] = vs2[i] | SRC", cls="I")
_varith("vxor", 0b001011, "VXI", A, G_VINT, "vd[i] = vs2[i] ^ SRC", cls="I")
_varith("vsll", 0b100101, "VXI", A, G_VINT, "vd[i] = vs2[i] << (SRC mod SEW)", cls="I", uimm=True)
_varith("vsrl", 0b101000, "VXI", A, G_VINT, "vd[i] = vs2[i] >> (SRC mod SEW) (logical)", cls="I", uimm=True)
_varith(
    "vsra", 0b101001, "VXI", A, G_VINT, "vd[i] = vs2[i] >> (SRC mod SEW) (arithmetic)", cls="I", uimm=True
)
for name, f6, forms, what in [
    ("vmseq", 0b011000, "VXI", "=="),
    ("vmsne", 0b011001, "VXI", "!="),
    ("vmsltu", 0b011010, "VX", "< (unsigned)"),
    ("vmslt", 0b011011, "VX", "< (signed)"),
    ("vmsleu", 0b011100, "VXI", "<= (unsigned)"),
    ("vmsle", 0b011101, "VXI", "<= (signed)"),
    ("vmsgtu", 0b011110, "XI", "> (unsigned)"),
    ("vmsgt", 0b011111, "XI", "> (signed)"),
]:
    _varith(name, f6, forms, "vcmp", G_VINT, f"mask bit vd[i] = vs2[i] {what} SRC", cls="I", kind="compare")
_varith("vmul", 0b100101, "VX", "vmac", G_VINT, "vd[i] = low SEW bits of vs2[i] * SRC")
_varith("vmulh", 0b100111, "VX", "vmac", G_VINT, "vd[i] = high SEW bits of signed vs2[i] * signed SRC")
_varith("vmulhu", 0b100100, "VX", "vmac", G_VINT, "vd[i] = high SEW bits of unsigned vs2[i] * unsigned SRC")
_varith("vmulhsu", 0b100110, "VX", "vmac", G_VINT, "vd[i] = high SEW bits of signed vs2[i] * unsigned SRC")
_varith("vdivu", 0b100000, "VX", "vdiv", G_VINT, "vd[i] = vs2[i] / SRC (unsigned; /0 gives all ones)")
_varith("vdiv", 0b100001, "VX", "vdiv", G_VINT, "vd[i] = vs2[i] / SRC (signed; /0 gives -1)")
_varith("vremu", 0b100010, "VX", "vdiv", G_VINT, "vd[i] = vs2[i] % SRC (unsigned; %0 gives vs2[i])")
_varith("vrem", 0b100011, "VX", "vdiv", G_VINT, "vd[i] = vs2[i] % SRC (signed; %0 gives vs2[i])")
_varith("vmacc", 0b101101, "VX", "vmac", G_VINT, "vd[i] += SRC * vs2[i]", order="src_first", kind="mac")
_varith("vnmsac", 0b101111, "VX", "vmac", G_VINT, "vd[i] -= SRC * vs2[i]", order="src_first", kind="mac")
_varith(
    "vmadd", 0b101001, "VX", "vmac", G_VINT, "vd[i] = SRC * vd[i] + vs2[i]", order="src_first", kind="mac"
)
_varith(
    "vnmsub", 0b101011, "VX", "vmac", G_VINT, "vd[i] = -(SRC * vd[i]) + vs2[i]", order="src_first", kind="mac"
)

# carry / borrow
for letter, f3, src in [("V", 0, "vs1"), ("X", 4, "rs1"), ("I", 3, "simm")]:
    sfx = {"V": "vvm", "X": "vxm", "I": "vim"}[letter]
    el = "vs1[i]" if letter == "V" else src  # the operand element as the summaries read it
    _add(
        f"vadc.{sfx}",
        "V",
        f"vd, vs2, {src}, v0",
        _opv(0b010000, f3, vm=0),
        A,
        G_VINT,
        f"vd[i] = vs2[i] + {el} + v0.mask[i]",
        sem="vadc",
        form=letter,
        kind="carry",
    )
    _add(
        f"vmadc.{sfx}",
        "V",
        f"vd, vs2, {src}, v0",
        _opv(0b010001, f3, vm=0),
        "vcmp",
        G_VINT,
        f"mask bit vd[i] = carry out of vs2[i] + {el} + v0.mask[i]",
        sem="vmadc",
        form=letter,
        kind="carry_out",
        carry_in=True,
    )
    _add(
        f"vmadc.{sfx[:2]}",
        "V",
        f"vd, vs2, {src}",
        _opv(0b010001, f3, vm=1),
        "vcmp",
        G_VINT,
        f"mask bit vd[i] = carry out of vs2[i] + {el}",
        sem="vmadc",
        form=letter,
        kind="carry_out",
        carry_in=False,
    )
    if letter != "I":
        _add(
            f"vsbc.{sfx}",
            "V",
            f"vd, vs2, {src}, v0",
            _opv(0b010010, f3, vm=0),
            A,
            G_VINT,
            f"vd[i] = vs2[i] - {el} - v0.mask[i]",
            sem="vsbc",
            form=letter,
            kind="carry",
        )
        _add(
            f"vmsbc.{sfx}",
            "V",
            f"vd, vs2, {src}, v0",
            _opv(0b010011, f3, vm=0),
            "vcmp",
            G_VINT,
            f"mask bit vd[i] = borrow out of vs2[i] - {el} - v0.mask[i]",
            sem="vmsbc",
            form=letter,
            kind="carry_out",
            carry_in=True,
        )
        _add(
            f"vmsbc.{sfx[:2]}",
            "V",
            f"vd, vs2, {src}",
            _opv(0b010011, f3, vm=1),
            "vcmp",
            G_VINT,
            f"mask bit vd[i] = borrow out of vs2[i] - {el}",
            sem="vmsbc",
            form=letter,
            kind="carry_out",
            carry_in=False,
        )
    _add(
        f"vmerge.{sfx}",
        "V",
        f"vd, vs2, {src}, v0",
        _opv(0b010111, f3, vm=0),
        A,
        G_VPERM,
        f"vd[i] = v0.mask[i] ? {el} : vs2[i]",
        sem="vmerge",
        form=letter,
        kind="merge",
    )
    _add(
        f"vmv.v.{letter.lower()}",
        "V",
        f"vd, {src}",
        _opv(0b010111, f3, vm=1, vs2=0),
        A,
        G_VPERM,
        f"vd[i] = {el}",
        sem="vmv_v",
        form=letter,
        kind="move",
    )

# saturating and fixed point
_varith(
    "vsaddu", 0b100000, "VXI", A, G_VFIX, "vd[i] = saturate(vs2[i] + SRC) (unsigned); sets vxsat", cls="I"
)
_varith("vsadd", 0b100001, "VXI", A, G_VFIX, "vd[i] = saturate(vs2[i] + SRC) (signed); sets vxsat", cls="I")
_varith("vssubu", 0b100010, "VX", A, G_VFIX, "vd[i] = saturate(vs2[i] - SRC) (unsigned); sets vxsat", cls="I")
_varith("vssub", 0b100011, "VX", A, G_VFIX, "vd[i] = saturate(vs2[i] - SRC) (signed); sets vxsat", cls="I")
_varith("vaaddu", 0b001000, "VX", A, G_VFIX, "vd[i] = (vs2[i] + SRC) >> 1 rounded per vxrm (unsigned)")
_varith("vaadd", 0b001001, "VX", A, G_VFIX, "vd[i] = (vs2[i] + SRC) >> 1 rounded per vxrm (signed)")
_varith("vasubu", 0b001010, "VX", A, G_VFIX, "vd[i] = (vs2[i] - SRC) >> 1 rounded per vxrm (unsigned)")
_varith("vasub", 0b001011, "VX", A, G_VFIX, "vd[i] = (vs2[i] - SRC) >> 1 rounded per vxrm (signed)")
_varith(
    "vsmul",
    0b100111,
    "VX",
    "vmac",
    G_VFIX,
    "vd[i] = saturate((vs2[i] * SRC) >> (SEW-1)) rounded per vxrm (signed Q-format multiply); sets vxsat",
    cls="I",
)
_varith(
    "vssrl",
    0b101010,
    "VXI",
    A,
    G_VFIX,
    "vd[i] = vs2[i] >> (SRC mod SEW) rounded per vxrm (logical)",
    cls="I",
    uimm=True,
)
_varith(
    "vssra",
    0b101011,
    "VXI",
    A,
    G_VFIX,
    "vd[i] = vs2[i] >> (SRC mod SEW) rounded per vxrm (arithmetic)",
    cls="I",
    uimm=True,
)
for name, f6, what in [
    ("vnsrl", 0b101100, "(vs2[i] >> (SRC mod 2*SEW)) truncated to SEW (logical)"),
    ("vnsra", 0b101101, "(vs2[i] >> (SRC mod 2*SEW)) truncated to SEW (arithmetic)"),
    (
        "vnclipu",
        0b101110,
        "saturate((vs2[i] >> (SRC mod 2*SEW)) rounded per vxrm) to unsigned SEW; sets vxsat",
    ),
    ("vnclip", 0b101111, "saturate((vs2[i] >> (SRC mod 2*SEW)) rounded per vxrm) to signed SEW; sets vxsat"),
]:
    _varith(
        name,
        f6,
        "VXI",
        A,
        G_VWIDE if name.startswith("vns") else G_VFIX,
        f"vd[i] = {what} (vs2 is 2*SEW)",
        cls="I",
        uimm=True,
        kind="narrow",
    )

# widening
for name, f6, what, kind in [
    ("vwaddu", 0b110000, "zext(vs2[i]) + zext(SRC)", "wide"),
    ("vwadd", 0b110001, "sext(vs2[i]) + sext(SRC)", "wide"),
    ("vwsubu", 0b110010, "zext(vs2[i]) - zext(SRC)", "wide"),
    ("vwsub", 0b110011, "sext(vs2[i]) - sext(SRC)", "wide"),
    ("vwaddu", 0b110100, "vs2[i] + zext(SRC) (vs2 is 2*SEW)", "wide_w"),
    ("vwadd", 0b110101, "vs2[i] + sext(SRC) (vs2 is 2*SEW)", "wide_w"),
    ("vwsubu", 0b110110, "vs2[i] - zext(SRC) (vs2 is 2*SEW)", "wide_w"),
    ("vwsub", 0b110111, "vs2[i] - sext(SRC) (vs2 is 2*SEW)", "wide_w"),
    ("vwmulu", 0b111000, "zext(vs2[i]) * zext(SRC)", "wide"),
    ("vwmulsu", 0b111010, "sext(vs2[i]) * zext(SRC)", "wide"),
    ("vwmul", 0b111011, "sext(vs2[i]) * sext(SRC)", "wide"),
]:
    unit = "vmac" if "mul" in name else A
    sem = name + ("_w" if kind == "wide_w" else "")
    for letter in "VX":
        f3 = F3["MVV"] if letter == "V" else F3["MVX"]
        src = "vs1" if letter == "V" else "rs1"
        suffix = ("w" if kind == "wide_w" else "v") + ("v" if letter == "V" else "x")
        _add(
            f"{name}.{suffix}",
            "V",
            f"vd, vs2, {src}, vm",
            _opv(f6, f3),
            unit,
            G_VWIDE,
            f"vd[i] (2*SEW) = {what.replace('SRC', 'vs1[i]' if letter == 'V' else src)}",
            sem=sem,
            form=letter,
            kind=kind,
        )
for name, f6, forms, what in [
    ("vwmaccu", 0b111100, "VX", "zext(SRC) * zext(vs2[i])"),
    ("vwmacc", 0b111101, "VX", "sext(SRC) * sext(vs2[i])"),
    ("vwmaccus", 0b111110, "X", "zext(SRC) * sext(vs2[i])"),
    ("vwmaccsu", 0b111111, "VX", "sext(SRC) * zext(vs2[i])"),
]:
    for letter in forms:
        f3 = F3["MVV"] if letter == "V" else F3["MVX"]
        src = "vs1" if letter == "V" else "rs1"
        _add(
            f"{name}.{'vv' if letter == 'V' else 'vx'}",
            "V",
            f"vd, {src}, vs2, vm",
            _opv(f6, f3),
            "vmac",
            G_VWIDE,
            f"vd[i] (2*SEW) += {what.replace('SRC', 'vs1[i]' if letter == 'V' else src)}",
            sem=name,
            form=letter,
            kind="wmac",
        )
for name, f6, what in [
    ("vzext.vf4", 0b00100, "zero-extend vs2[i] (SEW/4) to SEW"),
    ("vsext.vf4", 0b00101, "sign-extend vs2[i] (SEW/4) to SEW"),
    ("vzext.vf2", 0b00110, "zero-extend vs2[i] (SEW/2) to SEW"),
    ("vsext.vf2", 0b00111, "sign-extend vs2[i] (SEW/2) to SEW"),
]:
    _add(
        name,
        "V",
        "vd, vs2, vm",
        _opv(0b010010, F3["MVV"], vs1=f6),
        A,
        G_VWIDE,
        f"vd[i] = {what}",
        sem="vext",
        kind="ext",
        factor=4 if "vf4" in name else 2,
        signed=name.startswith("vsext"),
    )

# reductions
for name, f6, what in [
    ("vredsum", 0b000000, "sum"),
    ("vredand", 0b000001, "and"),
    ("vredor", 0b000010, "or"),
    ("vredxor", 0b000011, "xor"),
    ("vredminu", 0b000100, "unsigned min"),
    ("vredmin", 0b000101, "signed min"),
    ("vredmaxu", 0b000110, "unsigned max"),
    ("vredmax", 0b000111, "signed max"),
]:
    _add(
        f"{name}.vs",
        "V",
        "vd, vs2, vs1, vm",
        _opv(f6, F3["MVV"]),
        "vred",
        G_VRED,
        f"vd[0] = {what} of vs1[0] and the active vs2[i]",
        sem=name,
        kind="reduction",
        form="V",
    )
for name, f6, what in [("vwredsumu", 0b110000, "unsigned"), ("vwredsum", 0b110001, "signed")]:
    _add(
        f"{name}.vs",
        "V",
        "vd, vs2, vs1, vm",
        _opv(f6, F3["IVV"]),
        "vwred",
        G_VRED,
        f"vd[0] (2*SEW) = vs1[0] + sum of the {what}-extended active vs2[i]",
        sem=name,
        kind="wreduction",
        form="V",
    )

# mask logical and mask unary
for name, f6, what in [
    ("vmandn", 0b011000, "vs2 & ~vs1"),
    ("vmand", 0b011001, "vs2 & vs1"),
    ("vmor", 0b011010, "vs2 | vs1"),
    ("vmxor", 0b011011, "vs2 ^ vs1"),
    ("vmorn", 0b011100, "vs2 | ~vs1"),
    ("vmnand", 0b011101, "~(vs2 & vs1)"),
    ("vmnor", 0b011110, "~(vs2 | vs1)"),
    ("vmxnor", 0b011111, "~(vs2 ^ vs1)"),
]:
    _add(
        f"{name}.mm",
        "V",
        "vd, vs2, vs1",
        _opv(f6, F3["MVV"], vm=1),
        A,
        G_VMASK,
        f"mask vd = {what} (bits 0..vl-1)",
        sem=name,
        kind="mask_logic",
    )
_add(
    "vcpop.m",
    "V",
    "rd, vs2, vm",
    _opv(0b010000, F3["MVV"], vs1=0b10000),
    "vtoscalar",
    G_VMASK,
    "rd = number of set active mask bits of vs2",
    sem="vcpop",
    kind="mask_scalar",
)
_add(
    "vfirst.m",
    "V",
    "rd, vs2, vm",
    _opv(0b010000, F3["MVV"], vs1=0b10001),
    "vtoscalar",
    G_VMASK,
    "rd = index of the first set active mask bit of vs2, or -1",
    sem="vfirst",
    kind="mask_scalar",
)
for name, code, what in [
    ("vmsbf.m", 0b00001, "set-before-first"),
    ("vmsof.m", 0b00010, "set-only-first"),
    ("vmsif.m", 0b00011, "set-including-first"),
]:
    _add(
        name,
        "V",
        "vd, vs2, vm",
        _opv(0b010100, F3["MVV"], vs1=code),
        A,
        G_VMASK,
        f"mask vd = {what} of vs2",
        sem=name.split(".")[0],
        kind="mask_unary",
    )
_add(
    "viota.m",
    "V",
    "vd, vs2, vm",
    _opv(0b010100, F3["MVV"], vs1=0b10000),
    A,
    G_VMASK,
    "vd[i] = number of set mask bits of vs2 below element i",
    sem="viota",
    kind="iota",
)
_add(
    "vid.v",
    "V",
    "vd, vm",
    _opv(0b010100, F3["MVV"], vs2=0, vs1=0b10001),
    A,
    G_VMASK,
    "vd[i] = i",
    sem="vid",
    kind="vid",
)

# moves between scalar and vector, permutes
_add(
    "vmv.x.s",
    "V",
    "rd, vs2",
    _opv(0b010000, F3["MVV"], vm=1, vs1=0),
    "vtoscalar",
    G_VPERM,
    "rd = sign-extended vs2[0]",
    sem="vmv_x_s",
    kind="to_scalar",
)
_add(
    "vmv.s.x",
    "V",
    "vd, rs1",
    _opv(0b010000, F3["MVX"], vm=1, vs2=0),
    A,
    G_VPERM,
    "vd[0] = rs1 (when vl > 0)",
    sem="vmv_s_x",
    kind="from_scalar",
)
_varith(
    "vslideup", 0b001110, "XI", "vperm", G_VPERM, "vd[i + SRC] = vs2[i]", cls="I", uimm=True, kind="slideup"
)
_varith(
    "vslidedown",
    0b001111,
    "XI",
    "vperm",
    G_VPERM,
    "vd[i] = vs2[i + SRC] (0 past VLMAX)",
    cls="I",
    uimm=True,
    kind="slidedown",
)
_add(
    "vslide1up.vx",
    "V",
    "vd, vs2, rs1, vm",
    _opv(0b001110, F3["MVX"]),
    "vperm",
    G_VPERM,
    "vd[0] = rs1, vd[i] = vs2[i-1]",
    sem="vslide1up",
    form="X",
    kind="slide1up",
)
_add(
    "vslide1down.vx",
    "V",
    "vd, vs2, rs1, vm",
    _opv(0b001111, F3["MVX"]),
    "vperm",
    G_VPERM,
    "vd[vl-1] = rs1, vd[i] = vs2[i+1]",
    sem="vslide1down",
    form="X",
    kind="slide1down",
)
_varith(
    "vrgather",
    0b001100,
    "VXI",
    "vperm",
    G_VPERM,
    "vd[i] = SRC >= VLMAX ? 0 : vs2[SRC]",
    cls="I",
    uimm=True,
    kind="gather",
)
_add(
    "vrgatherei16.vv",
    "V",
    "vd, vs2, vs1, vm",
    _opv(0b001110, F3["IVV"]),
    "vperm",
    G_VPERM,
    "vd[i] = vs2[vs1[i]] with 16-bit indices vs1 (0 past VLMAX)",
    sem="vrgatherei16",
    form="V",
    kind="gather16",
)
_add(
    "vcompress.vm",
    "V",
    "vd, vs2, vs1",
    _opv(0b010111, F3["MVV"], vm=1),
    "vperm",
    G_VPERM,
    "pack the elements of vs2 whose mask bit in vs1 is set into vd[0..]",
    sem="vcompress",
    kind="compress",
)
for nr in (1, 2, 4, 8):
    _add(
        f"vmv{nr}r.v",
        "V",
        "vd, vs2",
        _opv(0b100111, F3["IVI"], vm=1, vs1=nr - 1),
        A,
        G_VPERM,
        f"copy {nr} whole register(s) vs2.. to vd.. (ignores vl and vtype)",
        sem="vmvr",
        kind="whole_move",
        nr=nr,
    )

# ---------------------------------------------------------------------------- RVV: loads and stores
WIDTH_CODE = {8: 0b000, 16: 0b101, 32: 0b110}


def _vmem(opcode: int, mop: int, width: int, nf: int, *, umop: int | None = None, vm: int | None = None):
    match = (nf - 1) << 29 | (mop << 26) | (WIDTH_CODE[width] << 12) | opcode
    mask = (0b111 << 29) | (1 << 28) | (0b11 << 26) | (0b111 << 12) | 0x7F
    if umop is not None:
        match |= umop << 20
        mask |= 0x1F << 20
    if vm is not None:
        match |= vm << 25
        mask |= 1 << 25
    return match, mask


for eew in (8, 16, 32):
    for nf in range(1, 9):
        seg = f"seg{nf}" if nf > 1 else ""
        what = f"{nf} interleaved fields, " if nf > 1 else ""
        _add(
            f"vl{seg}e{eew}.v",
            "V",
            "vd, (rs1), vm",
            _vmem(LOAD_FP, 0, eew, nf, umop=0),
            "vload",
            G_VMEM,
            f"load {what}{eew}-bit elements from rs1 (unit stride)",
            sem="vl_unit",
            eew=eew,
            nf=nf,
            mode="unit",
        )
        _add(
            f"vs{seg}e{eew}.v",
            "V",
            "vs3, (rs1), vm",
            _vmem(STORE_FP, 0, eew, nf, umop=0),
            "vstore",
            G_VMEM,
            f"store {what}{eew}-bit elements to rs1 (unit stride)",
            sem="vs_unit",
            eew=eew,
            nf=nf,
            mode="unit",
        )
        _add(
            f"vl{seg}e{eew}ff.v",
            "V",
            "vd, (rs1), vm",
            _vmem(LOAD_FP, 0, eew, nf, umop=0b10000),
            "vload",
            G_VMEM,
            f"fault-only-first load of {what}{eew}-bit elements (a fault past element 0 trims vl)",
            sem="vl_unit",
            eew=eew,
            nf=nf,
            mode="ff",
        )
        sseg = f"sseg{nf}" if nf > 1 else "se"
        _add(
            f"vl{sseg}{'e' if nf > 1 else ''}{eew}.v",
            "V",
            "vd, (rs1), rs2, vm",
            _vmem(LOAD_FP, 2, eew, nf),
            "vload",
            G_VMEM,
            f"load {what}{eew}-bit elements from rs1 + i*rs2 (strided)",
            sem="vl_strided",
            eew=eew,
            nf=nf,
            mode="strided",
        )
        _add(
            f"vs{sseg}{'e' if nf > 1 else ''}{eew}.v",
            "V",
            "vs3, (rs1), rs2, vm",
            _vmem(STORE_FP, 2, eew, nf),
            "vstore",
            G_VMEM,
            f"store {what}{eew}-bit elements to rs1 + i*rs2 (strided)",
            sem="vs_strided",
            eew=eew,
            nf=nf,
            mode="strided",
        )
        for mop, order in ((1, "u"), (3, "o")):
            iseg = f"seg{nf}" if nf > 1 else ""
            _add(
                f"vl{order}x{iseg}ei{eew}.v",
                "V",
                "vd, (rs1), vs2, vm",
                _vmem(LOAD_FP, mop, eew, nf),
                "vload",
                G_VMEM,
                f"load {what}SEW-bit elements from rs1 + vs2[i] ({eew}-bit byte offsets, "
                f"{'un' if order == 'u' else ''}ordered)",
                sem="vl_indexed",
                eew=eew,
                nf=nf,
                mode="indexed",
            )
            _add(
                f"vs{order}x{iseg}ei{eew}.v",
                "V",
                "vs3, (rs1), vs2, vm",
                _vmem(STORE_FP, mop, eew, nf),
                "vstore",
                G_VMEM,
                f"store {what}SEW-bit elements to rs1 + vs2[i] ({eew}-bit byte offsets, "
                f"{'un' if order == 'u' else ''}ordered)",
                sem="vs_indexed",
                eew=eew,
                nf=nf,
                mode="indexed",
            )
    for nreg in (1, 2, 4, 8):
        _add(
            f"vl{nreg}re{eew}.v",
            "V",
            "vd, (rs1)",
            _vmem(LOAD_FP, 0, eew, nreg, umop=0b01000, vm=1),
            "vload",
            G_VMEM,
            f"load {nreg} whole register(s) from rs1 (ignores vl and vtype)",
            sem="vl_whole",
            eew=eew,
            nf=nreg,
            mode="whole",
        )
for nreg in (1, 2, 4, 8):
    _add(
        f"vs{nreg}r.v",
        "V",
        "vs3, (rs1)",
        _vmem(STORE_FP, 0, 8, nreg, umop=0b01000, vm=1),
        "vstore",
        G_VMEM,
        f"store {nreg} whole register(s) to rs1 (ignores vl and vtype)",
        sem="vs_whole",
        eew=8,
        nf=nreg,
        mode="whole",
    )
_add(
    "vlm.v",
    "V",
    "vd, (rs1)",
    _vmem(LOAD_FP, 0, 8, 1, umop=0b01011, vm=1),
    "vload",
    G_VMEM,
    "load ceil(vl/8) bytes of mask bits from rs1",
    sem="vl_mask",
    eew=8,
    nf=1,
    mode="mask",
)
_add(
    "vsm.v",
    "V",
    "vs3, (rs1)",
    _vmem(STORE_FP, 0, 8, 1, umop=0b01011, vm=1),
    "vstore",
    G_VMEM,
    "store ceil(vl/8) bytes of mask bits to rs1",
    sem="vs_mask",
    eew=8,
    nf=1,
    mode="mask",
)

BY_NAME: dict[str, InstrDef] = {d.name: d for d in TABLE}

# Groups in doc order.
GROUPS = (
    G_INT,
    G_MUL,
    G_MEM,
    G_CTRL,
    G_SYS,
    G_FP,
    G_VCFG,
    G_VMEM,
    G_VINT,
    G_VWIDE,
    G_VFIX,
    G_VRED,
    G_VMASK,
    G_VPERM,
)


@dataclass(frozen=True)
class Pseudo:
    """A vector pseudo-instruction the assembler (LLVM) accepts, and the real instruction(s) it
    becomes; the docs list them, the tests assemble `example` and check `expands_to`."""

    name: str
    syntax: str
    expansion: str
    summary: str
    example: str
    expands_to: tuple[str, ...]  # real mnemonics the example assembles to, in order


PSEUDO = (
    Pseudo("vncvt.x.x.w", "vd, vs2, vm", "vnsrl.wx vd, vs2, x0", "vd[i] = low SEW bits of vs2[i] "
           "(vs2 is 2*SEW): narrow by truncation, no rounding or saturation", "vncvt.x.x.w v1, v2",
           ("vnsrl.wx",)),
    Pseudo("vwcvt.x.x.v", "vd, vs2, vm", "vwadd.vx vd, vs2, x0", "vd[i] (2*SEW) = sext(vs2[i])",
           "vwcvt.x.x.v v2, v1", ("vwadd.vx",)),
    Pseudo("vwcvtu.x.x.v", "vd, vs2, vm", "vwaddu.vx vd, vs2, x0", "vd[i] (2*SEW) = zext(vs2[i])",
           "vwcvtu.x.x.v v2, v1", ("vwaddu.vx",)),
    Pseudo("vnot.v", "vd, vs2, vm", "vxor.vi vd, vs2, -1", "vd[i] = ~vs2[i]", "vnot.v v1, v2",
           ("vxor.vi",)),
    Pseudo("vneg.v", "vd, vs2, vm", "vrsub.vx vd, vs2, x0", "vd[i] = -vs2[i]", "vneg.v v1, v2",
           ("vrsub.vx",)),
    Pseudo("vmsgt.vv", "vd, vs2, vs1, vm", "vmslt.vv vd, vs1, vs2", "mask bit vd[i] = vs2[i] > vs1[i] "
           "(signed)", "vmsgt.vv v1, v2, v3", ("vmslt.vv",)),
    Pseudo("vmsgtu.vv", "vd, vs2, vs1, vm", "vmsltu.vv vd, vs1, vs2", "mask bit vd[i] = vs2[i] > vs1[i] "
           "(unsigned)", "vmsgtu.vv v1, v2, v3", ("vmsltu.vv",)),
    Pseudo("vmsge.vv", "vd, vs2, vs1, vm", "vmsle.vv vd, vs1, vs2", "mask bit vd[i] = vs2[i] >= vs1[i] "
           "(signed)", "vmsge.vv v1, v2, v3", ("vmsle.vv",)),
    Pseudo("vmsgeu.vv", "vd, vs2, vs1, vm", "vmsleu.vv vd, vs1, vs2", "mask bit vd[i] = vs2[i] >= vs1[i] "
           "(unsigned)", "vmsgeu.vv v1, v2, v3", ("vmsleu.vv",)),
    Pseudo("vmslt.vi", "vd, vs2, simm, vm", "vmsle.vi vd, vs2, simm-1", "mask bit vd[i] = vs2[i] < simm "
           "(signed; simm -15..16)", "vmslt.vi v1, v2, 3", ("vmsle.vi",)),
    Pseudo("vmsltu.vi", "vd, vs2, simm, vm", "vmsleu.vi vd, vs2, simm-1", "mask bit vd[i] = vs2[i] < simm "
           "(unsigned)", "vmsltu.vi v1, v2, 3", ("vmsleu.vi",)),
    Pseudo("vmsge.vi", "vd, vs2, simm, vm", "vmsgt.vi vd, vs2, simm-1", "mask bit vd[i] = vs2[i] >= simm "
           "(signed; simm -15..16)", "vmsge.vi v1, v2, 3", ("vmsgt.vi",)),
    Pseudo("vmsgeu.vi", "vd, vs2, simm, vm", "vmsgtu.vi vd, vs2, simm-1", "mask bit vd[i] = vs2[i] >= simm "
           "(unsigned)", "vmsgeu.vi v1, v2, 3", ("vmsgtu.vi",)),
    Pseudo("vmsge.vx", "vd, vs2, rs1", "vmslt.vx vd, vs2, rs1; vmnand.mm vd, vd, vd", "mask bit vd[i] = "
           "vs2[i] >= rs1 (signed): two instructions", "vmsge.vx v1, v2, a0", ("vmslt.vx", "vmnand.mm")),
    Pseudo("vmsgeu.vx", "vd, vs2, rs1", "vmsltu.vx vd, vs2, rs1; vmnand.mm vd, vd, vd", "mask bit vd[i] = "
           "vs2[i] >= rs1 (unsigned): two instructions", "vmsgeu.vx v1, v2, a0", ("vmsltu.vx", "vmnand.mm")),
    Pseudo("vmmv.m", "vd, vs", "vmand.mm vd, vs, vs", "copy a mask register", "vmmv.m v1, v2",
           ("vmand.mm",)),
    Pseudo("vmnot.m", "vd, vs", "vmnand.mm vd, vs, vs", "invert a mask register", "vmnot.m v1, v2",
           ("vmnand.mm",)),
    Pseudo("vmclr.m", "vd", "vmxor.mm vd, vd, vd", "clear every mask bit", "vmclr.m v1", ("vmxor.mm",)),
    Pseudo("vmset.m", "vd", "vmxnor.mm vd, vd, vd", "set every mask bit", "vmset.m v1", ("vmxnor.mm",)),
    Pseudo("vpopc.m", "rd, vs2, vm", "vcpop.m rd, vs2", "old name of vcpop.m", "vpopc.m a0, v1",
           ("vcpop.m",)),
    Pseudo("vle1.v", "vd, (rs1)", "vlm.v vd, (rs1)", "old name of vlm.v (mask load)", "vle1.v v1, (a0)",
           ("vlm.v",)),
    Pseudo("vse1.v", "vs3, (rs1)", "vsm.v vs3, (rs1)", "old name of vsm.v (mask store)", "vse1.v v1, (a0)",
           ("vsm.v",)),
    Pseudo("vl1r.v", "vd, (rs1)", "vl1re8.v vd, (rs1)", "load 1 whole register (also vl2r.v, vl4r.v, "
           "vl8r.v)", "vl1r.v v1, (a0)", ("vl1re8.v",)),
)  # fmt: skip


# Instructions whose vstart must be zero (else an illegal-instruction trap).
REQUIRES_VSTART0 = frozenset(
    {"vcpop", "vfirst", "vmsbf", "vmsif", "vmsof", "viota", "vcompress"}
    | {d.key for d in TABLE if d.vinfo.get("kind") in ("reduction", "wreduction")}
)

CSR_NAMES = {
    0x001: "fflags",
    0x002: "frm",
    0x003: "fcsr",
    0x008: "vstart",
    0x009: "vxsat",
    0x00A: "vxrm",
    0x300: "mstatus",
    0x301: "misa",
    0x304: "mie",
    0x305: "mtvec",
    0x340: "mscratch",
    0x341: "mepc",
    0x342: "mcause",
    0x343: "mtval",
    0x7A0: "tselect",
    0x7A1: "tdata1",
    0x7A2: "tdata2",
    0x7A4: "tinfo",
    0x7B0: "dcsr",
    0x7B1: "dpc",
    0x7B2: "dscratch0",
    0x7B3: "dscratch1",
    **{0x7C0 + i: f"mcontext{i}" for i in range(8)},
    0x7E0: "mpc",
    0x7E1: "msp",
    0xB00: "mcycle",
    0xB02: "minstret",
    0xB80: "mcycleh",
    0xB82: "minstreth",
    0xC20: "vl",
    0xC21: "vtype",
    0xC22: "vlenb",
    0xF11: "mvendorid",
    0xF12: "marchid",
    0xF13: "mimpid",
    0xF14: "mhartid",
    0xFC0: "kisa",
    0xFC4: "kscm0",
    0xFC8: "kscm1",
    0xFCC: "kscm2",
    0xFD0: "kscm3",
    0xFD4: "kscm4",
}
READ_ONLY_CSRS = frozenset(
    {0xC20, 0xC21, 0xC22, 0xF11, 0xF12, 0xF13, 0xF14, 0xFC0, 0xFC4, 0xFC8, 0xFCC, 0xFD0, 0xFD4, 0x7A4}
)
