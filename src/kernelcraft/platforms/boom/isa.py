"""The RV64GC subset reference: one table drives the agent's ISA doc and instruction counts.

Each row is an instruction the assembler accepts (GNU syntax as clang's integrated assembler
takes it), its extension, operands, the execution class that sets its timing on the BOOM
preset, and what it does. Compressed (C) forms are not listed separately: the assembler
picks a 16-bit encoding by itself when one fits (it counts in the code size, not in
behaviour). Pseudo-instructions are listed after the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import BoomConfig

CATEGORIES = ("alu", "mul_div", "load", "store", "branch", "jump", "atomic", "fp", "system")


@dataclass(frozen=True)
class Instruction:
    mnemonic: str
    extension: str
    operands: str
    category: str
    what: str


def _table(text: str) -> tuple[Instruction, ...]:
    rows = []
    for line in text.strip().splitlines():
        mnemonic, ext, operands, category, what = (part.strip() for part in line.split("|"))
        for name in mnemonic.split(","):
            rows.append(Instruction(name.strip(), ext, operands, category, what))
    return tuple(rows)


INSTRUCTIONS = _table(
    """
add, sub | I | rd, rs1, rs2 | alu | rd = rs1 +/- rs2 (64-bit, wraps)
addw, subw | I | rd, rs1, rs2 | alu | 32-bit add/sub, result sign-extended to 64 bits
addi | I | rd, rs1, imm12 | alu | rd = rs1 + imm (imm -2048..2047)
addiw | I | rd, rs1, imm12 | alu | 32-bit add immediate, sign-extended (sext.w rd, rs = addiw rd, rs, 0)
and, or, xor | I | rd, rs1, rs2 | alu | bitwise
andi, ori, xori | I | rd, rs1, imm12 | alu | bitwise with a sign-extended immediate
sll, srl, sra | I | rd, rs1, rs2 | alu | shift by rs2[5:0]; srl logical, sra arithmetic
slli, srli, srai | I | rd, rs1, shamt6 | alu | shift by 0..63
sllw, srlw, sraw, slliw, srliw, sraiw | I | rd, rs1, rs2/shamt5 | alu | 32-bit shifts, sign-extended result
slt, sltu | I | rd, rs1, rs2 | alu | rd = 1 if rs1 < rs2 (signed / unsigned) else 0
slti, sltiu | I | rd, rs1, imm12 | alu | compare with an immediate
lui | I | rd, imm20 | alu | rd = imm20 << 12 (sign-extended)
auipc | I | rd, imm20 | alu | rd = pc + (imm20 << 12)
lb, lh, lw, ld | I | rd, off(rs1) | load | load 8/16/32/64 bits, sign-extended; off is -2048..2047
lbu, lhu, lwu | I | rd, off(rs1) | load | load 8/16/32 bits, zero-extended
sb, sh, sw, sd | I | rs2, off(rs1) | store | store the low 8/16/32/64 bits of rs2
beq, bne | I | rs1, rs2, label | branch | branch if equal / not equal (+-4 KiB)
blt, bge, bltu, bgeu | I | rs1, rs2, label | branch | signed / unsigned compare and branch
jal | I | rd, label | jump | rd = pc + 4 (or + 2 compressed); jump (+-1 MiB); `j label` = jal zero, label
jalr | I | rd, off(rs1) | jump | rd = return address; jump to rs1 + off; `ret` = jalr zero, 0(ra)
fence | I | pred, succ | system | order memory accesses (plain `fence` orders everything)
fence.i | Zifencei | | system | synchronise instruction fetch with earlier stores
ecall | I | | system | environment call: a trap (mcause 8 from U-mode, 11 from M-mode)
ebreak | I | | system | breakpoint trap (mcause 3)
mul | M | rd, rs1, rs2 | mul_div | low 64 bits of rs1 * rs2 (pipelined)
mulh, mulhsu, mulhu | M | rd, rs1, rs2 | mul_div | high 64 bits of the 128-bit product (s*s, s*u, u*u)
mulw | M | rd, rs1, rs2 | mul_div | low 32 bits of the product, sign-extended
div, divu, rem, remu | M | rd, rs1, rs2 | mul_div | quotient (toward zero) / remainder; x/0 = -1, x%0 = x
divw, divuw, remw, remuw | M | rd, rs1, rs2 | mul_div | 32-bit divide / remainder, sign-extended
lr.w, lr.d | A | rd, (rs1) | atomic | load-reserved
sc.w, sc.d | A | rd, rs2, (rs1) | atomic | store-conditional (rd = 0 on success)
amoswap.w, amoadd.w, amoand.w, amoor.w, amoxor.w | A | rd, rs2, (rs1) | atomic | read-modify-write, 32-bit
amomax.w, amomin.w, amomaxu.w, amominu.w | A | rd, rs2, (rs1) | atomic | signed/unsigned max/min, 32-bit
amoswap.d, amoadd.d, amoand.d, amoor.d, amoxor.d | A | rd, rs2, (rs1) | atomic | read-modify-write, 64-bit
amomax.d, amomin.d, amomaxu.d, amominu.d | A | rd, rs2, (rs1) | atomic | signed/unsigned max/min, 64-bit
flw, fld | F/D | fd, off(rs1) | load | load a float / double into an FP register
fsw, fsd | F/D | fs2, off(rs1) | store | store an FP register
fadd.d, fsub.d, fmul.d, fdiv.d | D | fd, fs1, fs2 | fp | double arithmetic (.s forms: single)
fsqrt.d | D | fd, fs1 | fp | square root of a double (.s form: single)
fmadd.d, fmsub.d, fnmadd.d, fnmsub.d | D | fd, fs1, fs2, fs3 | fp | fused multiply-add
fmin.d, fmax.d, fsgnj.d, fsgnjn.d, fsgnjx.d | D | fd, fs1, fs2 | fp | min/max; sign injection (fmv.d, fneg.d)
feq.d, flt.d, fle.d | D | rd, fs1, fs2 | fp | compare (result 0 or 1 in an integer register)
fclass.d | D | rd, fs1 | fp | classify fs1 (one bit set in rd: -inf, normal, ..., NaN)
fcvt.l.d, fcvt.d.l, fcvt.w.d, fcvt.d.w | D | rd/fd, fs1/rs1 | fp | conversions between integers and doubles
fmv.x.d, fmv.d.x | D | rd/fd, fs1/rs1 | fp | move raw bits between integer and FP registers
csrrw, csrrs, csrrc | Zicsr | rd, csr, rs1 | system | rd = CSR; write/set/clear bits from rs1 (csrw, csrr)
csrrwi, csrrsi, csrrci | Zicsr | rd, csr, uimm5 | system | the same with a 5-bit immediate
mret | priv | | system | return from a machine-mode trap: pc = mepc, privilege = mstatus.MPP
wfi | priv | | system | wait for interrupt (there are none: do not use)
li | pseudo | rd, imm | alu | load any 64-bit constant (1 to 8 instructions)
la | pseudo | rd, symbol | alu | load an address (auipc + addi, pc-relative)
mv, not, neg, negw, sext.w, seqz, snez, sltz, sgtz | pseudo | rd, rs | alu | register moves and tests
nop | pseudo | | alu | addi zero, zero, 0
beqz, bnez, blez, bgez, bltz, bgtz | pseudo | rs, label | branch | compare with zero and branch
bgt, ble, bgtu, bleu | pseudo | rs1, rs2, label | branch | branch forms with swapped operands
j, jr, call, tail, ret | pseudo | label / rs | jump | jumps; call = auipc+jalr with ra; tail does not save ra
"""
)

_BY_NAME = {ins.mnemonic: ins for ins in INSTRUCTIONS}


def category(mnemonic: str) -> str:
    """The category of a disassembled mnemonic (from rvsim's disassembler)."""
    name = mnemonic.strip().lower()
    if name in _BY_NAME:
        return _BY_NAME[name].category
    base = name.split(".")[0]
    if name.startswith(("amo", "lr.", "sc.")):
        return "atomic"
    if name.startswith("f") and name not in ("fence", "fence.i"):
        if name.startswith(("fl", "fs")) and name[2:3] in ("w", "d", "h") and len(name) == 3:
            return "load" if name.startswith("fl") else "store"
        return "fp"
    if base in (
        "csrrw",
        "csrrs",
        "csrrc",
        "csrrwi",
        "csrrsi",
        "csrrci",
        "mret",
        "sret",
        "wfi",
        "ecall",
        "ebreak",
    ):
        return "system"
    return "alu"


def latency_rows(cfg: BoomConfig) -> list[tuple[str, str, str]]:
    """(class, latency on this preset, how many per cycle) for the hardware doc."""
    int_w, mem_w, fp_w = cfg.int_iq.issue_width, cfg.mem_iq.issue_width, cfg.fp_iq.issue_width
    return [
        (
            "integer ALU, branches, jumps",
            f"{cfg.alu_latency} cycle",
            f"{int_w} per cycle (integer issue width)",
        ),
        ("mul, mulh*, mulw", f"{cfg.imul_latency} cycles, pipelined", "1 unit"),
        ("div, rem and their W forms", f"{cfg.div_latency} cycles, not pipelined", "1 unit"),
        ("loads (L1D hit)", f"{cfg.l1d_latency + 1} cycles load-to-use", f"{mem_w} memory op per cycle"),
        ("stores", "retire into the store queue; written at commit", f"{mem_w} memory op per cycle"),
        ("FP add/mul/fma", f"{cfg.fma_latency} cycles", f"{fp_w} per cycle"),
        ("FP divide/sqrt", f"{cfg.fdiv_latency} cycles, not pipelined", "1 unit"),
    ]
