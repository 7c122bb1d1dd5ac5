"""The instruction table of the AIE-ML-like tile: the single source for the assembler (operand
forms, immediate ranges), the bundle checker (slots, bundle sizes), the simulator (semantics,
latencies, memory stages), the cycle model and the generated ISA reference.

One `OpSpec` is one mnemonic with one operand form. Latency is the exposed-pipeline result
latency: a consumer reading the result in its first execute stage may issue `latency`
bundles later; an earlier read sees the old value. Latencies follow llvm-aie's AIE2
scheduling model (AIE2Schedule.td) as read in the reference notes (aie-ml.md section 1.8).
Adding an instruction is one entry here plus its function in semantics.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from . import semantics as sem


class Slot(StrEnum):
    A = "A"  # load unit A (lda)
    B = "B"  # load unit B (ldb)
    S = "S"  # store unit (st)
    X = "X"  # scalar ALU (alu)
    M = "M"  # move unit (mv)
    V = "V"  # vector unit (vec)
    L = "L"  # long format: occupies X and M (lng)


# Encoding width of each slot in bits (llvm-aie AIE2Slots.td).
SLOT_BITS: dict[Slot, int] = {
    Slot.A: 21,
    Slot.B: 16,
    Slot.S: 21,
    Slot.X: 20,
    Slot.M: 22,
    Slot.V: 26,
    Slot.L: 42,
}
SLOT_NAMES: dict[Slot, str] = {
    Slot.A: "lda (load unit A)",
    Slot.B: "ldb (load unit B)",
    Slot.S: "st (store unit)",
    Slot.X: "alu (scalar unit)",
    Slot.M: "mv (move unit)",
    Slot.V: "vec (vector unit)",
    Slot.L: "lng (long: X and M together)",
}
SLOT_NOPS: dict[str, Slot] = {
    "nopa": Slot.A,
    "nopb": Slot.B,
    "nops": Slot.S,
    "nopx": Slot.X,
    "nopm": Slot.M,
    "nopv": Slot.V,
    "nopxm": Slot.L,
}
# Bundle formats (llvm-aie AIE2CompositeFormats.td): 16..128 bits in steps of 16.
FORMAT_BYTES = (2, 4, 6, 8, 10, 12, 14, 16)

SCALAR_CLASSES = ("r", "p", "m", "dn", "dj", "dc", "s", "special", "cr")
MEM_MODES = {
    "idx": "[pN, #imm]  (address pN + imm; pN unchanged)",
    "idxj": "[pN, djK]  (address pN + djK; pN unchanged)",
    "post": "[pN], #imm  (address pN, then pN += imm)",
    "postm": "[pN], mK  (address pN, then pN += mK)",
    "2d": "[pN], dK with the .2d suffix  (address pN, then a 2-D step, see the memory doc)",
}


@dataclass(frozen=True)
class Operand:
    name: str
    kind: str  # "reg" | "imm" | "label" | "mem"
    classes: tuple[str, ...] = ()
    write: bool = False
    lo: int = 0
    hi: int = 0
    step: int = 1
    access: int = 0  # bytes a memory operand moves (scales its immediates)
    modes: tuple[str, ...] = ()
    acc_delay: int = 0  # an accumulator input read at issue + acc_delay

    def syntax(self) -> str:
        return self.name

    def describe(self) -> str:
        if self.kind == "reg":
            return ("destination " if self.write else "") + " or ".join(self.classes) + " register"
        if self.kind == "imm":
            text = f"immediate #{self.lo}..{self.hi}"
            return text + (f" in steps of {self.step}" if self.step > 1 else "")
        if self.kind == "label":
            return "#label (or a 32-bit immediate)"
        ranges = mem_imm_ranges(self.access)
        return f"memory operand, {self.access} B: " + "; ".join(
            MEM_MODES[m]
            + (f", imm {ranges[m][0]}..{ranges[m][1]} step {ranges[m][2]}" if m in ranges else "")
            for m in self.modes
        )


def mem_imm_ranges(access: int) -> dict[str, tuple[int, int, int]]:
    """Immediate ranges of the addressing modes for an access of `access` bytes.

    256-bit: indexed is a signed 6-bit multiple of 32 (-1024..992), post-modify a signed 7-bit
    multiple of 32 (-2048..2016) (llvm-aie AIE2InstrInfo::isOffsetInImmediateRange). Scalar
    accesses scale a signed 7-bit immediate by the access size [INF]. Pointer adds (access 0)
    take a signed 12-bit byte immediate [INF].
    """
    if access == 32:
        return {"idx": (-1024, 992, 32), "post": (-2048, 2016, 32)}
    if access == 0:
        return {"post": (-2048, 2047, 1)}
    return {"idx": (-64 * access, 63 * access, access), "post": (-64 * access, 63 * access, access)}


@dataclass(frozen=True)
class OpSpec:
    mnemonic: str
    operands: tuple[Operand, ...]
    slot: Slot
    latency: int  # result latency in bundles (0: no register result)
    execute: Callable
    summary: str
    family: str
    source: str = "aie-ml.md 5.2, latency 1.8"
    mem: str | None = None  # "load" | "store"
    mem_stage: int = 0  # bundles after issue at which the memory is accessed (E5 = 4, E7 = 6)
    implicit_reads: tuple[str, ...] = ()
    implicit_writes: tuple[str, ...] = ()
    branch: bool = False
    check: Callable | None = None  # cross-operand rule: args -> message or None
    notes: str = ""
    generation: str = "aie-ml"
    syntax_override: str | None = None

    @property
    def bits(self) -> int:
        return SLOT_BITS[self.slot]

    def syntax(self) -> str:
        if self.syntax_override:
            return self.syntax_override
        return f"{self.mnemonic} {', '.join(o.syntax() for o in self.operands)}".strip()


# ---------------------------------------------------------------------------- operand helpers


def D(name: str, *classes: str) -> Operand:
    return Operand(name, "reg", classes, write=True)


def R(name: str, *classes: str, acc_delay: int = 0) -> Operand:
    return Operand(name, "reg", classes, acc_delay=acc_delay)


def IMM(name: str, lo: int, hi: int, step: int = 1) -> Operand:
    return Operand(name, "imm", lo=lo, hi=hi, step=step)


def LABEL(name: str = "#label") -> Operand:
    return Operand(name, "label", lo=-(1 << 31), hi=(1 << 32) - 1)


def MEM(access: int, *modes: str) -> Operand:
    return Operand("addr", "mem", access=access, modes=modes or ("idx", "idxj", "post", "postm", "2d"))


PADDR = Operand("[pN], mK|#imm", "mem", access=0, modes=("post", "postm", "2d"))

ALL_SCALAR_D = D("dst", *SCALAR_CLASSES)
ALL_SCALAR_R = R("src", *SCALAR_CLASSES)
RD, RS, RT = D("rd", "r"), R("rs", "r"), R("rt", "r")
RCFG = R("rCfg", "r")


def _same_size(args) -> str | None:
    d, s = args[0], args[1]
    if d.nbytes != s.nbytes:
        return f"{d.name} is {d.nbytes * 8} bits but {s.name} is {s.nbytes * 8} bits"
    return None


def _distinct_mask(args) -> str | None:
    return None


# ---------------------------------------------------------------------------- the table

_T: list[OpSpec] = []


def op(*args, **kwargs) -> None:
    _T.append(OpSpec(*args, **kwargs))


# --- scalar moves and arithmetic (slot X unless noted) -------------------------------
op(
    "mov",
    (ALL_SCALAR_D, ALL_SCALAR_R),
    Slot.M,
    1,
    sem.mov,
    "register move between any scalar registers",
    "scalar move",
    notes="Writes to ls, le or lc set up a zero-overhead loop (see the loop rules).",
)
op(
    "mov",
    (ALL_SCALAR_D, IMM("#imm", -512, 511)),
    Slot.M,
    1,
    sem.mov_imm,
    "small immediate move (signed 10 bits)",
    "scalar move",
    source="aie-ml.md 5.2 #2; immediate width [INF]",
)
op(
    "mova",
    (D("dst", "r", "p", "m"), IMM("#imm", -1024, 1023)),
    Slot.A,
    1,
    sem.mov_imm,
    "immediate move in load slot A (signed 11 bits)",
    "scalar move",
    source="Peano bf16_mac.s; immediate width [INF]",
)
op(
    "movx",
    (D("dst", "r", "p", "m"), IMM("#imm", -512, 511)),
    Slot.X,
    1,
    sem.mov_imm,
    "immediate move in the scalar slot X (signed 10 bits)",
    "scalar move",
    source="aie-ml.md 2.3; immediate width [INF]",
)
op(
    "movxm",
    (ALL_SCALAR_D, LABEL("#imm32|#label")),
    Slot.L,
    1,
    sem.mov_imm,
    "32-bit immediate or label address (long format: uses X and M)",
    "scalar move",
)
op(
    "add",
    (RD, RS, RT),
    Slot.X,
    1,
    sem.add,
    "rd = rs + rt (srCarry = carry out)",
    "scalar ALU",
    implicit_writes=("srcarry",),
)
op(
    "add",
    (RD, RS, IMM("#imm", -64, 63)),
    Slot.X,
    1,
    sem.add,
    "rd = rs + imm (signed 7 bits)",
    "scalar ALU",
    implicit_writes=("srcarry",),
)
op(
    "add.nc",
    (D("dst", "r", "special"), RS, IMM("#imm", -512, 511)),
    Slot.M,
    1,
    sem.add_nc,
    "dst = rs + imm without touching srCarry (how Peano loads lc)",
    "scalar ALU",
)
op(
    "sub",
    (RD, RS, RT),
    Slot.X,
    1,
    sem.sub,
    "rd = rs - rt (srCarry = no borrow)",
    "scalar ALU",
    implicit_writes=("srcarry",),
)
op(
    "mul",
    (RD, RS, RT),
    Slot.X,
    2,
    sem.mul,
    "rd = low 32 bits of rs * rt (signed)",
    "scalar ALU",
    source="AM020 Scalar Unit: scalar multiply takes 2 cycles",
)
for _k in ("and", "or", "xor"):
    op(_k, (RD, RS, RT), Slot.X, 1, sem.bitwise(_k), f"rd = rs {_k} rt (bitwise)", "scalar ALU")
op(
    "lshl",
    (RD, RS, RT),
    Slot.X,
    1,
    sem.shift(False),
    "rd = rs << rt, or logical rs >> -rt when rt < 0",
    "scalar ALU",
)
op(
    "ashl",
    (RD, RS, RT),
    Slot.X,
    1,
    sem.shift(True),
    "rd = rs << rt, or arithmetic rs >> -rt when rt < 0",
    "scalar ALU",
)
for _k, _t in (
    ("eq", "=="),
    ("ne", "!="),
    ("lt", "< (signed)"),
    ("ltu", "< (unsigned)"),
    ("ge", ">= (signed)"),
    ("geu", ">= (unsigned)"),
):
    op(_k, (RD, RS, RT), Slot.X, 1, sem.compare(_k), f"rd = 1 if rs {_t} rt else 0", "scalar ALU")
op(
    "sel.nez",
    (RD, RS, RT, R("rc", "r")),
    Slot.X,
    1,
    sem.select(False),
    "rd = rs if rc != 0 else rt",
    "scalar ALU",
    source="operand sense from the public 32x32x32 GEMM kernel's sel.nez use [INF]",
)
op(
    "sel.eqz",
    (RD, RS, RT, R("rc", "r")),
    Slot.X,
    1,
    sem.select(True),
    "rd = rs if rc == 0 else rt",
    "scalar ALU",
    source="by symmetry with sel.nez [INF]",
)
for _b, _s in ((8, True), (8, False), (16, True), (16, False)):
    op(
        f"extend.{'s' if _s else 'u'}{_b}",
        (RD, RS),
        Slot.X,
        1,
        sem.extend(_b, _s),
        f"rd = {'sign' if _s else 'zero'}-extend the low {_b} bits of rs",
        "scalar ALU",
    )
op(
    "event",
    (IMM("#n", 0, 15),),
    Slot.X,
    1,
    sem.event,
    "trace marker (no effect on state); #0/#1 bracket a timed region",
    "scalar ALU",
)

# --- control flow: every branch has 5 delay slots ------------------------------------
op(
    "j",
    (LABEL(),),
    Slot.L,
    0,
    sem.jump,
    "jump to label after the 5 delay-slot bundles",
    "control",
    branch=True,
)
op(
    "jz",
    (R("rc", "r"), LABEL()),
    Slot.L,
    0,
    sem.jump_if(True),
    "jump if rc == 0 (after 5 delay slots)",
    "control",
    branch=True,
)
op(
    "jnz",
    (R("rc", "r"), LABEL()),
    Slot.L,
    0,
    sem.jump_if(False),
    "jump if rc != 0 (after 5 delay slots)",
    "control",
    branch=True,
)
op(
    "jnzd",
    (R("rc", "r"), D("rd", "r"), LABEL()),
    Slot.L,
    1,
    sem.jnzd,
    "rd = rc - 1; jump if rc != 0 (after 5 delay slots): a counted loop with rc = trips - 1",
    "control",
    branch=True,
    source="llvm-aie AIEBaseHardwareLoops.cpp (JNZD); operand order [INF]",
)
op(
    "jl",
    (LABEL(),),
    Slot.L,
    0,
    sem.call,
    "call: lr = return address (after the delay slots); jump to label",
    "control",
    branch=True,
    implicit_writes=("lr",),
)
op(
    "ret",
    (R("lr", "special"),),
    Slot.X,
    0,
    sem.jump_reg,
    "return: jump to lr after the 5 delay-slot bundles",
    "control",
    branch=True,
    syntax_override="ret lr",
)

# --- pointer arithmetic ----------------------------------------------------------------
for _m, _s in (("padda", Slot.A), ("paddb", Slot.B), ("padds", Slot.S)):
    op(
        _m,
        (PADDR,),
        _s,
        1,
        sem.padd,
        f"pointer add in slot {_s.value}: [pN], mK | #imm (or .2d [pN], dK)",
        "addressing",
    )

# --- scalar memory ---------------------------------------------------------------------
for _sfx, _bits, _signed in (
    ("", 32, True),
    (".s8", 8, True),
    (".u8", 8, False),
    (".s16", 16, True),
    (".u16", 16, False),
):
    op(
        "lda" + _sfx,
        (D("dst", "r", "p", "m"), MEM(_bits // 8, "idx", "post", "postm")),
        Slot.A,
        7,
        sem.lda(_bits, _signed),
        f"scalar load of {_bits // 8} byte(s){' (sign-extended)' if _signed and _bits < 32 else ''}",
        "scalar memory",
        mem="load",
        mem_stage=4,
    )
for _sfx, _bits in (("", 32), (".s8", 8), (".s16", 16)):
    op(
        "st" + _sfx,
        (R("src", "r", "p", "m"), MEM(_bits // 8, "idx", "post", "postm")),
        Slot.S,
        0,
        sem.st(_bits),
        f"scalar store of the low {_bits // 8} byte(s)",
        "scalar memory",
        mem="store",
        mem_stage=4,
        notes="8/16-bit stores are read-modify-write on the hardware; modelled as plain writes at E5",
    )

# --- vector memory ---------------------------------------------------------------------
op(
    "vlda",
    (D("dst", "w", "am"), MEM(32)),
    Slot.A,
    7,
    sem.vld,
    "load 32 B into a 256-bit vector register or accumulator quarter",
    "vector memory",
    mem="load",
    mem_stage=4,
)
op(
    "vldb",
    (D("dst", "w"), MEM(32)),
    Slot.B,
    7,
    sem.vld,
    "load 32 B into a 256-bit vector register (not accumulators)",
    "vector memory",
    mem="load",
    mem_stage=4,
)
op(
    "vlda.conv.fp32.bf16",
    (D("dst", "bm"), MEM(32)),
    Slot.A,
    7,
    sem.vlda_conv,
    "load 16 bf16 (32 B) and widen them to 16 fp32 lanes of an accumulator",
    "vector memory",
    mem="load",
    mem_stage=4,
    notes="A MAC reading the result as its accumulator input may issue 5 bundles later (it reads at "
    "issue + 2).",
)
op(
    "vldb.4x64.lo",
    (D("dst", "w"), R("wIdx", "w")),
    Slot.B,
    7,
    sem.vldb_gather(False),
    "gather: 8 B from each address in 32-bit lanes 0..3 of wIdx (8-byte aligned) -> 32 B",
    "vector memory",
    mem="load",
    mem_stage=4,
    source="xdna-emu memory/mod.rs (vldb.4x); simplified: no bank-interleave OR [INF]",
)
op(
    "vldb.4x64.hi",
    (D("dst", "w"), R("wIdx", "w")),
    Slot.B,
    7,
    sem.vldb_gather(True),
    "gather: 8 B from each address in 32-bit lanes 4..7 of wIdx (8-byte aligned) -> 32 B",
    "vector memory",
    mem="load",
    mem_stage=4,
    source="xdna-emu memory/mod.rs (vldb.4x); simplified [INF]",
)
op(
    "vst",
    (R("src", "w", "am"), MEM(32)),
    Slot.S,
    0,
    sem.vst,
    "store 32 B from a 256-bit register",
    "vector memory",
    mem="store",
    mem_stage=4,
)
op(
    "vst.conv.bf16.fp32",
    (R("src", "bm"), MEM(32)),
    Slot.S,
    0,
    sem.vst_conv,
    "round 16 fp32 lanes to bf16 (crRnd) and store 32 B",
    "vector memory",
    mem="store",
    mem_stage=6,
    implicit_reads=("crrnd",),
)
op(
    "vst.srs.d16.s32",
    (R("src", "bm"), R("sK", "s"), MEM(32)),
    Slot.S,
    0,
    sem.vst_srs(16, 32),
    "shift-round-saturate 16 int32 lanes to int16 and store 32 B",
    "vector memory",
    mem="store",
    mem_stage=6,
    implicit_reads=("crrnd", "crsat"),
)
op(
    "vst.srs.d8.s32",
    (R("src", "cm"), R("sK", "s"), MEM(32)),
    Slot.S,
    0,
    sem.vst_srs(8, 32),
    "shift-round-saturate 32 int32 lanes to int8 and store 32 B",
    "vector memory",
    mem="store",
    mem_stage=6,
    implicit_reads=("crrnd", "crsat"),
)

# --- vector unit: MACs (accumulator inputs are read at issue + 2) ------------------------
_BM = "bm"
op(
    "vmul.f",
    (D("bmD", _BM), R("xA", "x"), R("xB", "x"), RCFG),
    Slot.V,
    6,
    sem.fmac(0, 1, False),
    "bmD = A.B (bf16 products, fp32 result); rCfg 28: 4x8x4 matrix, 60: 16-lane elementwise",
    "vector MAC",
)
op(
    "vmac.f",
    (D("bmD", _BM), R("bmS", _BM, acc_delay=2), R("xA", "x"), R("xB", "x"), RCFG),
    Slot.V,
    6,
    sem.fmac(1, 1, True),
    "bmD = bmS + A.B (bmS read at issue + 2: back-to-back on one accumulator every 4 bundles)",
    "vector MAC",
)
op(
    "vmsc.f",
    (D("bmD", _BM), R("bmS", _BM, acc_delay=2), R("xA", "x"), R("xB", "x"), RCFG),
    Slot.V,
    6,
    sem.fmac(1, -1, True),
    "bmD = bmS - A.B",
    "vector MAC",
)
op(
    "vnegmul.f",
    (D("bmD", _BM), R("xA", "x"), R("xB", "x"), RCFG),
    Slot.V,
    6,
    sem.fmac(0, -1, False),
    "bmD = -(A.B)",
    "vector MAC",
)
op(
    "vmul",
    (D("cmD", "cm"), R("xA", "x"), R("xB", "x"), RCFG),
    Slot.V,
    5,
    sem.imac(False),
    "integer cmD = A.B; rCfg 776: signed int8 4x8x8 (A 4x8 in the low half of xA, B 8x8, C 32 x int32)",
    "vector MAC",
)
op(
    "vmac",
    (D("cmD", "cm"), R("cmS", "cm", acc_delay=2), R("xA", "x"), R("xB", "x"), RCFG),
    Slot.V,
    5,
    sem.imac(True),
    "integer cmD = cmS + A.B (back-to-back every 3 bundles... see notes)",
    "vector MAC",
    notes="The accumulator input is read at issue + 2, so a dependent vmac may issue 3 bundles later.",
)
op(
    "vmsc",
    (D("cmD", "cm"), R("cmS", "cm", acc_delay=2), R("xA", "x"), R("xB", "x"), RCFG),
    Slot.V,
    5,
    sem.imac(True, subtract=True),
    "integer cmD = cmS - A.B",
    "vector MAC",
)
op(
    "vadd.f",
    (D("bmD", _BM), R("bmA", _BM, acc_delay=2), R("bmB", _BM, acc_delay=2), RCFG),
    Slot.V,
    6,
    sem.fadd(False),
    "fp32 lane add of two accumulators (rCfg is read and ignored)",
    "vector MAC",
)
op(
    "vsub.f",
    (D("bmD", _BM), R("bmA", _BM, acc_delay=2), R("bmB", _BM, acc_delay=2), RCFG),
    Slot.V,
    6,
    sem.fadd(True),
    "fp32 lane subtract bmA - bmB (rCfg is read and ignored)",
    "vector MAC",
)
op("vclr", (D("accD", "bm", "cm"),), Slot.V, 6, sem.vclr, "zero an accumulator", "vector MAC")

# --- vector ALU (slot V, latency 2) -----------------------------------------------------
for _b in (8, 16, 32):
    op(
        f"vadd.{_b}",
        (D("xD", "x"), R("xA", "x"), R("xB", "x")),
        Slot.V,
        2,
        sem.vadd_int(_b, False),
        f"integer lane add, {512 // _b} lanes of {_b} bits (wraps)",
        "vector ALU",
    )
    op(
        f"vsub.{_b}",
        (D("xD", "x"), R("xA", "x"), R("xB", "x")),
        Slot.V,
        2,
        sem.vadd_int(_b, True),
        f"integer lane subtract, {512 // _b} lanes of {_b} bits (wraps)",
        "vector ALU",
    )
for _k in ("s16", "s32", "bf16"):
    _n = 16 if _k == "s32" else 32
    op(
        f"vmax_lt.{_k}",
        (D("xD", "x"), D("rM", "r"), R("xA", "x"), R("xB", "x")),
        Slot.V,
        2,
        sem.vminmax(_k, True),
        f"lane max of {_n} {_k} lanes; rM bit i = (A[i] < B[i])",
        "vector ALU",
    )
    op(
        f"vmin_ge.{_k}",
        (D("xD", "x"), D("rM", "r"), R("xA", "x"), R("xB", "x")),
        Slot.V,
        2,
        sem.vminmax(_k, False),
        f"lane min of {_n} {_k} lanes; rM bit i = (A[i] >= B[i])",
        "vector ALU",
    )
    op(
        f"vlt.{_k}",
        (D("rD", "r"), R("xA", "x"), R("xB", "x")),
        Slot.V,
        2,
        sem.vcompare(_k, "lt"),
        f"rD bit i = (A[i] < B[i]) over {_n} {_k} lanes",
        "vector ALU",
    )
    op(
        f"vge.{_k}",
        (D("rD", "r"), R("xA", "x"), R("xB", "x")),
        Slot.V,
        2,
        sem.vcompare(_k, "ge"),
        f"rD bit i = (A[i] >= B[i]) over {_n} {_k} lanes",
        "vector ALU",
    )
for _k in ("s16", "s32"):
    op(
        f"veqz.{_k}",
        (D("rD", "r"), R("xA", "x")),
        Slot.V,
        2,
        sem.vcompare(_k, "eqz"),
        f"rD bit i = (A[i] == 0) over the {_k} lanes",
        "vector ALU",
    )
for _b in (16, 32):
    op(
        f"vsel.{_b}",
        (D("xD", "x"), R("xA", "x"), R("xB", "x"), R("rM", "r")),
        Slot.V,
        2,
        sem.vsel(_b),
        f"lane i = B[i] if bit i of rM is set else A[i] ({512 // _b} lanes)",
        "vector ALU",
        source="aie-ml.md 5.2 #43; bit sense [INF]",
    )
op(
    "vband",
    (D("xD", "x"), R("xA", "x"), R("xB", "x")),
    Slot.V,
    2,
    sem.vbitwise("and"),
    "bitwise and",
    "vector ALU",
)
op(
    "vbor",
    (D("xD", "x"), R("xA", "x"), R("xB", "x")),
    Slot.V,
    2,
    sem.vbitwise("or"),
    "bitwise or",
    "vector ALU",
)
op(
    "vbxor",
    (D("xD", "x"), R("xA", "x"), R("xB", "x")),
    Slot.V,
    2,
    sem.vbitwise("xor"),
    "bitwise xor",
    "vector ALU",
)
op("vbneg", (D("xD", "x"), R("xA", "x")), Slot.V, 2, sem.vbitwise("neg"), "bitwise not", "vector ALU")
for _b in (8, 16, 32):
    op(
        f"vbcst.{_b}",
        (D("xD", "x"), R("rS", "r")),
        Slot.V,
        2,
        sem.vbcst(_b),
        f"broadcast the low {_b} bits of rS to all {512 // _b} lanes",
        "vector ALU",
    )
op(
    "vshuffle",
    (D("xD", "x"), R("xA", "x"), R("xB", "x"), R("rMode", "r")),
    Slot.V,
    2,
    sem.vshuffle,
    "permute the 1024-bit pair A:B into 512 bits by mode (see the mode table)",
    "vector ALU",
    source="aie-ml.md 1.4; mode numbering is ours [INF]",
)
op(
    "vshift",
    (D("xD", "x"), R("xA", "x"), R("xB", "x"), R("rBytes", "r")),
    Slot.V,
    2,
    sem.vshift,
    "bytes n..n+63 of the 128-byte concatenation A:B, n = rBytes mod 64",
    "vector ALU",
)

# --- moves and conversions (slot M) -----------------------------------------------------
for _b in (8, 16, 32):
    op(
        f"vextract.s{_b}",
        (RD, R("xA", "x"), R("rIdx", "r")),
        Slot.M,
        2,
        sem.vextract(_b),
        f"rd = lane rIdx of A as signed {_b}-bit (sign-extended)",
        "vector move",
    )
    op(
        f"vinsert.{_b}",
        (D("xD", "x"), R("xA", "x"), R("rIdx", "r"), R("rV", "r")),
        Slot.M,
        2,
        sem.vinsert(_b),
        f"xD = A with {_b}-bit lane rIdx replaced by the low bits of rV",
        "vector move",
    )
op(
    "vmov",
    (D("dst", "w", "x", "bm", "cm"), R("src", "w", "x", "bm", "cm")),
    Slot.M,
    2,
    sem.vmov,
    "register copy of equal width, including the bit copy x <-> bm",
    "vector move",
    check=_same_size,
)
op(
    "vconv.fp32.bf16",
    (D("bmD", "bm"), R("wS", "w")),
    Slot.M,
    2,
    sem.vconv_to_fp32,
    "16 bf16 lanes -> 16 fp32 accumulator lanes (exact)",
    "vector move",
)
op(
    "vconv.bf16.fp32",
    (D("wD", "w"), R("bmS", "bm")),
    Slot.M,
    2,
    sem.vconv_to_bf16,
    "16 fp32 lanes -> 16 bf16 lanes, rounded per crRnd",
    "vector move",
    implicit_reads=("crrnd",),
)
op(
    "vsrs.d16.s32",
    (D("dst", "w"), R("bmS", "bm"), R("sK", "s")),
    Slot.M,
    4,
    sem.vsrs(16, 32),
    "shift-round-saturate 16 int32 lanes to 16 int16 lanes",
    "vector move",
    implicit_reads=("crrnd", "crsat"),
)
op(
    "vsrs.d16.s32",
    (D("dst", "x"), R("cmS", "cm"), R("sK", "s")),
    Slot.M,
    4,
    sem.vsrs(16, 32),
    "shift-round-saturate 32 int32 lanes to 32 int16 lanes",
    "vector move",
    implicit_reads=("crrnd", "crsat"),
)
op(
    "vsrs.d8.s32",
    (D("dst", "w"), R("cmS", "cm"), R("sK", "s")),
    Slot.M,
    4,
    sem.vsrs(8, 32),
    "shift-round-saturate 32 int32 lanes to 32 int8 lanes",
    "vector move",
    implicit_reads=("crrnd", "crsat"),
)
op(
    "vsrs.d32.s64",
    (D("dst", "x"), R("cmS", "cm"), R("sK", "s")),
    Slot.M,
    4,
    sem.vsrs(32, 64),
    "shift-round-saturate 16 int64 lanes to 16 int32 lanes",
    "vector move",
    implicit_reads=("crrnd", "crsat"),
)
op(
    "vups.s32.d8",
    (D("cmD", "cm"), R("wS", "w"), R("sK", "s")),
    Slot.M,
    3,
    sem.vups(32, 8),
    "32 int8 lanes -> 32 int32 accumulator lanes, shifted left by sK",
    "vector move",
    implicit_reads=("crsat",),
)
op(
    "vups.s32.d16",
    (D("cmD", "cm"), R("xS", "x"), R("sK", "s")),
    Slot.M,
    3,
    sem.vups(32, 16),
    "32 int16 lanes -> 32 int32 accumulator lanes, shifted left by sK",
    "vector move",
    implicit_reads=("crsat",),
)
op(
    "vups.s64.d32",
    (D("cmD", "cm"), R("xS", "x"), R("sK", "s")),
    Slot.M,
    3,
    sem.vups(64, 32),
    "16 int32 lanes -> 16 int64 accumulator lanes, shifted left by sK",
    "vector move",
    implicit_reads=("crsat",),
)
op(
    "vfloor.s32.bf16",
    (D("xD", "x"), R("wS", "w"), R("sK", "s")),
    Slot.M,
    2,
    sem.vfloor,
    "16 int32 lanes = floor(bf16 lane * 2^sK) (sK signed 6-bit), saturating",
    "vector move",
)

# --- AIE-ML v2 only (generation aie2p-scalar) --------------------------------------------
for _k, _t in (("inv", "1/x"), ("sqrt", "sqrt(x)"), ("invsqrt", "1/sqrt(x)")):
    op(
        _k,
        (RD, RS),
        Slot.X,
        4,
        sem.scalar_float(_k),
        f"fp32 scalar {_t} on the bit patterns in r registers",
        "AIE-ML v2 scalar float",
        source="AM027 'Arithmetic Logic Unit and Scalar Functions'; latency [INF]",
        generation="aie2p-scalar",
    )

INSTRUCTIONS: tuple[OpSpec, ...] = tuple(_T)

BY_MNEMONIC: dict[str, tuple[OpSpec, ...]] = {}
for _spec in INSTRUCTIONS:
    BY_MNEMONIC[_spec.mnemonic] = BY_MNEMONIC.get(_spec.mnemonic, ()) + (_spec,)

NOP_MNEMONICS = ("nop",) + tuple(SLOT_NOPS)

FAMILY_ORDER = (
    "scalar move",
    "scalar ALU",
    "control",
    "addressing",
    "scalar memory",
    "vector memory",
    "vector MAC",
    "vector ALU",
    "vector move",
    "AIE-ML v2 scalar float",
)


def mnemonics_for(generation: str) -> tuple[str, ...]:
    return tuple(sorted({s.mnemonic for s in INSTRUCTIONS if s.generation in ("aie-ml", generation)}))


@dataclass
class _Counts:
    by_family: dict[str, int] = field(default_factory=dict)


def bundle_bytes(slots: set[Slot] | list[Slot]) -> int:
    """Bytes of a bundle holding operations in `slots`: the smallest 16..128-bit format that
    fits the slots' encoding bits plus the format tag (2 bits in the full 128-bit format,
    4 in the shorter ones) [INF approximation of AIE2CompositeFormats.td]. An empty bundle
    (a lone nop) is 2 bytes."""
    slots = list(slots)
    if not slots:
        return 2
    bits = sum(SLOT_BITS[s] for s in slots)
    if bits + 2 > 128 - 4 and bits + 2 <= 128:
        return 16
    for size in FORMAT_BYTES:
        if bits + 4 <= size * 8:
            return size
    return 16
