"""Integer ALU and branch semantics as Python expressions: the one definition both the
per-instruction executor (compiled into closures) and the block compiler (inlined into
generated code) use.

Operands: A = x[rs1], B = x[rs2] (unsigned 32-bit values), I = the immediate (sign-extended;
the shift amount for shifts; imm20 << 12 for lui), PC = the instruction's address. Results are
unsigned 32-bit values.
"""

from __future__ import annotations

M = 0xFFFFFFFF


def S(v: int) -> int:
    """The signed value of a 32-bit pattern."""
    return v - 0x100000000 if v & 0x80000000 else v


def CTZ(v: int) -> int:
    return 32 if v == 0 else (v & -v).bit_length() - 1


def ORCB(v: int) -> int:
    return (
        (0xFF if v & 0xFF else 0)
        | (0xFF00 if v & 0xFF00 else 0)
        | (0xFF0000 if v & 0xFF0000 else 0)
        | (0xFF000000 if v & 0xFF000000 else 0)
    )


def REV8(v: int) -> int:
    return ((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24)


ALU_EXPR = {
    # RV32I register-register
    "add": "(A + B) & M",
    "sub": "(A - B) & M",
    "sll": "(A << (B & 31)) & M",
    "slt": "int(S(A) < S(B))",
    "sltu": "int(A < B)",
    "xor": "A ^ B",
    "srl": "A >> (B & 31)",
    "sra": "(S(A) >> (B & 31)) & M",
    "or": "A | B",
    "and": "A & B",
    # RV32I immediates
    "addi": "(A + I) & M",
    "slti": "int(S(A) < I)",
    "sltiu": "int(A < (I & M))",
    "xori": "(A ^ I) & M",
    "ori": "(A | I) & M",
    "andi": "A & I",
    "slli": "(A << I) & M",
    "srli": "A >> I",
    "srai": "(S(A) >> I) & M",
    "lui": "I & M",
    "auipc": "(PC + I) & M",
    # M: multiplies (divides need the divider's timing and live in machine.py)
    "mul": "(A * B) & M",
    "mulh": "((S(A) * S(B)) >> 32) & M",
    "mulhsu": "((S(A) * B) >> 32) & M",
    "mulhu": "(A * B) >> 32",
    # Zbb
    "andn": "A & ~B & M",
    "orn": "(A | ~B) & M",
    "xnor": "~(A ^ B) & M",
    "max": "A if S(A) >= S(B) else B",
    "maxu": "A if A >= B else B",
    "min": "A if S(A) <= S(B) else B",
    "minu": "A if A <= B else B",
    "rol": "((A << (B & 31)) | (A >> (32 - (B & 31)))) & M",
    "ror": "((A >> (B & 31)) | (A << (32 - (B & 31)))) & M",
    "rori": "((A >> I) | (A << (32 - I))) & M",
    "clz": "32 - A.bit_length()",
    "ctz": "CTZ(A)",
    "cpop": "A.bit_count()",
    "sext.b": "(((A & 0xFF) ^ 0x80) - 0x80) & M",
    "sext.h": "(((A & 0xFFFF) ^ 0x8000) - 0x8000) & M",
    "orc.b": "ORCB(A)",
    "rev8": "REV8(A)",
    "zext.h": "A & 0xFFFF",
}

BRANCH_EXPR = {
    "beq": "A == B",
    "bne": "A != B",
    "blt": "S(A) < S(B)",
    "bge": "S(A) >= S(B)",
    "bltu": "A < B",
    "bgeu": "A >= B",
}

NAMESPACE = {"M": M, "S": S, "CTZ": CTZ, "ORCB": ORCB, "REV8": REV8}


def compiled(expr: str):
    """The expression as a function of (A, B, I, PC)."""
    return eval(f"lambda A, B, I, PC: {expr}", dict(NAMESPACE))  # noqa: S307 - our own constant table
