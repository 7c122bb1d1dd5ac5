"""Random RV32IMF + Zbb + Zve32x programs for differential tests against Spike.

A program is a run of independent blocks. Each block loads a random architectural state
(x, f and v registers, vxrm, vxsat, frm) from its init table, sets a random legal vtype,
runs a random instruction sequence, then dumps every register and the vector/float CSRs
into its dump slot. Its memory operands stay inside the block's own scratch area. The
signature (init tables, dumps and scratch areas of all blocks) is compared byte for byte;
a mismatch names the block and the register it lies in.

Choices come from a `pick` function so hypothesis can drive (and shrink) them.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kernelcraft.platforms.coral.decode import XREG

EXT = 0x2000_0000
INIT, DUMP, SCRATCH = 1024, 1024, 8192
BLOCK = INIT + DUMP + SCRATCH
# Registers the random body never writes: ra (return address), s11 (block base).
RESERVED_X = {1, 27}
WRITABLE_X = [r for r in range(32) if r not in RESERVED_X]
INDEX_VREGS = range(24, 32)  # hold small, aligned byte offsets; never written by the body
LMULS = {1: "m1", 2: "m2", 4: "m4", 8: "m8", 0.5: "mf2", 0.25: "mf4"}
XN = XREG  # ABI register names, x0..x31
SPECIAL_F = [
    0x00000000,
    0x80000000,
    0x7F800000,
    0xFF800000,
    0x7FC00000,
    0x7FA00000,
    0x00000001,
    0x807FFFFF,
    0x7F7FFFFF,
    0x3F800000,
    0xBF800000,
    0x4B000000,
    0x4F000000,
    0xCF000000,
    0x3F000000,
    0x00800000,
]


class _Skip(Exception):
    pass


class Chooser:
    """Random choices; hypothesis-backed or seeded."""

    def __init__(
        self, pick: Callable[[Sequence], object], integer: Callable[[int, int], int], bulk_seed: int
    ):
        self.pick = pick
        self.int = integer
        self._bulk = random.Random(bulk_seed)

    @classmethod
    def seeded(cls, seed: int) -> Chooser:
        rng = random.Random(seed)
        return cls(lambda seq: seq[rng.randrange(len(seq))], lambda lo, hi: rng.randint(lo, hi), seed)

    @classmethod
    def hypothesis(cls, data) -> Chooser:
        from hypothesis import strategies as st

        return cls(
            lambda seq: data.draw(st.sampled_from(list(seq))),
            lambda lo, hi: data.draw(st.integers(lo, hi)),
            data.draw(st.integers(0, 2**32 - 1)),
        )

    def bulk(self, n: int) -> bytes:
        """Memory and vector-register contents: too many bytes to draw one by one."""
        return self._bulk.randbytes(n)

    def word(self) -> int:
        kind = self.int(0, 5)
        if kind == 0:
            return self.pick([0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x7F, 0x80, 0xFF, 0x8000, 0xFFFF])
        if kind == 1:
            return self.int(0, 255)
        if kind == 2:
            return (-self.int(1, 300)) & 0xFFFFFFFF
        return self.int(0, 0xFFFFFFFF)


@dataclass
class Block:
    index: int
    lines: list[str] = field(default_factory=list)
    init: bytes = b""
    scratch: bytes = b""

    @property
    def base(self) -> int:
        return EXT + self.index * BLOCK


@dataclass
class VState:
    sew: int = 8
    lmul: float = 1.0


def _vtype(sew: int, lmul: float, ta: bool, ma: bool) -> str:
    return f"e{sew}, {LMULS[lmul]}, {'ta' if ta else 'tu'}, {'ma' if ma else 'mu'}"


def legal_vtypes() -> list[tuple[int, float]]:
    return [(s, m) for s in (8, 16, 32) for m in (0.25, 0.5, 1, 2, 4, 8) if m >= s / 32]


class BlockGen:
    def __init__(
        self,
        c: Chooser,
        index: int,
        length: int,
        *,
        vector: bool = True,
        scalar: bool = True,
        fp: bool = True,
        memory: bool = True,
    ):
        self.c = c
        self.b = Block(index)
        self.v = VState()
        self.length = length
        self.kinds = [
            k
            for k, on in (
                ("scalar", scalar),
                ("fp", fp),
                ("vector", vector),
                ("vmem", vector and memory),
                ("smem", memory and scalar),
            )
            if on
        ]
        self.label = 0

    # ------------------------------------------------------------------ helpers
    def emit(self, text: str) -> None:
        self.b.lines.append("    " + text)

    def xr(self, write: bool = False) -> str:
        return XN[self.c.pick(WRITABLE_X if write else list(range(32)))]

    def fr(self) -> str:
        return f"f{self.c.int(0, 31)}"

    def group(self) -> int:
        return max(1, int(self.v.lmul))

    def vreg(self, emul: float = None, limit: int = 24, avoid: Sequence[tuple[int, int]] = ()) -> int:
        emul = self.v.lmul if emul is None else emul
        n = max(1, int(emul))
        choices = [
            r
            for r in range(0, limit, n)
            if r + n <= limit and not any(r < a + w and a < r + n for a, w in avoid)
        ]
        if not choices:
            raise _Skip
        return self.c.pick(choices)

    def vsrc(self, emul: float = None) -> int:
        emul = self.v.lmul if emul is None else emul
        n = max(1, int(emul))
        return self.c.pick([r for r in range(0, 32, n) if r + n <= 32])

    def vm(self) -> str:
        return self.c.pick(["", "", ", v0.t"])

    # ------------------------------------------------------------------ block structure
    def build(self) -> Block:
        c = self.c
        xs = [c.word() for _ in range(32)]
        fs = [
            c.pick(SPECIAL_F)
            if c.int(0, 3) == 0
            else (
                c.word()
                if c.int(0, 2) == 0
                else struct.unpack(
                    "<I", struct.pack("<f", (c.int(-2000, 2000)) / c.pick([1, 3, 7, 64, 1000]))
                )[0]
            )
            for _ in range(32)
        ]
        vbytes = bytearray(c.bulk(24 * 16))
        # Index registers: every element multiple of 4 (Spike traps on misaligned vector accesses,
        # Coral does not) and below 4096 whether read as e8, e16 or e32.
        for _ in range(8):
            vbytes += b"".join(struct.pack("<I", 4 * (b % 64) + 1024 * (b // 64 % 4)) for b in c.bulk(4))
        init = struct.pack("<32I", *xs) + struct.pack("<32I", *fs) + bytes(vbytes)
        init += bytes(INIT - len(init))
        self.b.init = init
        self.b.scratch = c.bulk(SCRATCH)
        base = self.b.base
        e = self.emit
        self.b.lines.append(f"block_{self.b.index}:")
        e(f"li s11, {base + 2048:#x}")
        e("addi t6, s11, -1792")
        for k in range(4):
            e(f"vl8re8.v v{8 * k}, (t6)")
            if k < 3:
                e("addi t6, t6, 128")
        for k in range(32):
            e(f"flw f{k}, {-2048 + 128 + 4 * k}(s11)")
        for r in range(2, 32):
            if r != 27:
                e(f"lw {XN[r]}, {-2048 + 4 * r}(s11)")
        e(f"csrwi vxrm, {c.int(0, 3)}")
        e(f"csrwi vxsat, {c.int(0, 1)}")
        e(f"fsrmi {c.int(0, 4)}")
        e("csrwi fflags, 0")
        self.vset(initial=True)
        for _ in range(self.length):
            kind = c.pick(self.kinds)
            mark = len(self.b.lines)
            try:
                getattr(self, f"gen_{kind}")()
            except _Skip:  # no legal register choice under this vtype
                del self.b.lines[mark:]
        self.dump()
        return self.b

    def dump(self) -> None:
        e = self.emit
        for r in range(1, 32):
            e(f"sw {XN[r]}, {-1024 + 4 * r}(s11)")
        for k in range(32):
            e(f"fsw f{k}, {-1024 + 128 + 4 * k}(s11)")
        e("addi t6, s11, -768")
        for k in range(4):
            e(f"vs8r.v v{8 * k}, (t6)")
            e("addi t6, t6, 128")
        for k, csr in enumerate(["vl", "vtype", "vxsat", "vxrm", "fflags", "frm", "vstart"]):
            e(f"csrr t6, {csr}")
            e(f"sw t6, {-256 + 4 * k}(s11)")

    # ------------------------------------------------------------------ generators
    def vset(self, initial: bool = False) -> None:
        c = self.c
        sew, lmul = c.pick(legal_vtypes())
        self.v = VState(sew, lmul)
        vt = _vtype(sew, lmul, c.pick([True, False]), c.pick([True, False]))
        form = c.int(0, 3) if not initial else c.pick([0, 1])
        rd = self.xr(write=True)
        if form == 0:
            e_avl = c.pick([0, 1, 2, 3, 5, 7, 8, 12, 15, 16, 17, 31, 32, 33, 64, 100, 128, 1000])
            self.emit(f"li t5, {e_avl}")
            self.emit(f"vsetvli {rd}, t5, {vt}")
        elif form == 1:
            self.emit(f"vsetivli {rd}, {c.int(0, 31)}, {vt}")
        elif form == 2:
            self.emit(f"vsetvli {XN[c.pick(WRITABLE_X[1:])]}, zero, {vt}")
        else:
            code = {8: 0, 16: 1, 32: 2}[sew] << 3 | {1: 0, 2: 1, 4: 2, 8: 3, 0.25: 6, 0.5: 7}[lmul]
            code |= c.pick([0, 0x40, 0x80, 0xC0])
            self.emit(f"li t6, {code}")
            self.emit(f"li t5, {c.int(0, 140)}")
            self.emit(f"vsetvl {rd}, t5, t6")

    def gen_scalar(self) -> None:
        c = self.c
        rr = [
            "add",
            "sub",
            "sll",
            "slt",
            "sltu",
            "xor",
            "srl",
            "sra",
            "or",
            "and",
            "mul",
            "mulh",
            "mulhsu",
            "mulhu",
            "div",
            "divu",
            "rem",
            "remu",
            "andn",
            "orn",
            "xnor",
            "max",
            "maxu",
            "min",
            "minu",
            "rol",
            "ror",
        ]
        ri = ["addi", "slti", "sltiu", "xori", "ori", "andi"]
        sh = ["slli", "srli", "srai", "rori"]
        un = ["clz", "ctz", "cpop", "sext.b", "sext.h", "orc.b", "rev8", "zext.h"]
        kind = c.int(0, 6)
        rd = self.xr(write=True)
        if kind <= 2:
            self.emit(f"{c.pick(rr)} {rd}, {self.xr()}, {self.xr()}")
        elif kind == 3:
            self.emit(f"{c.pick(ri)} {rd}, {self.xr()}, {c.int(-2048, 2047)}")
        elif kind == 4:
            self.emit(f"{c.pick(sh)} {rd}, {self.xr()}, {c.int(0, 31)}")
        elif kind == 5:
            self.emit(f"{c.pick(un)} {rd}, {self.xr()}")
        else:
            self.label += 1
            br = c.pick(["beq", "bne", "blt", "bge", "bltu", "bgeu"])
            self.emit(f"{br} {self.xr()}, {self.xr()}, .Lskip_{self.b.index}_{self.label}")
            for _ in range(c.int(1, 3)):
                self.emit(f"{c.pick(rr)} {self.xr(write=True)}, {self.xr()}, {self.xr()}")
            self.b.lines.append(f".Lskip_{self.b.index}_{self.label}:")

    def gen_smem(self) -> None:
        c = self.c
        size, op = c.pick(
            [
                (1, "lb"),
                (1, "lbu"),
                (2, "lh"),
                (2, "lhu"),
                (4, "lw"),
                (1, "sb"),
                (2, "sh"),
                (4, "sw"),
                (4, "flw"),
                (4, "fsw"),
            ]
        )
        off = c.int(0, 2040 // size) * size
        if op in ("sb", "sh", "sw"):
            self.emit(f"{op} {self.xr()}, {off}(s11)")
        elif op == "fsw":
            self.emit(f"fsw {self.fr()}, {off}(s11)")
        elif op == "flw":
            self.emit(f"flw {self.fr()}, {off}(s11)")
        else:
            self.emit(f"{op} {self.xr(write=True)}, {off}(s11)")

    def gen_fp(self) -> None:
        c = self.c
        rm = c.pick(["", "", ", rne", ", rtz", ", rdn", ", rup", ", rmm"])
        kind = c.int(0, 8)
        fd, fa, fb, fc = self.fr(), self.fr(), self.fr(), self.fr()
        if kind == 0:
            self.emit(f"{c.pick(['fadd.s', 'fsub.s', 'fmul.s', 'fdiv.s'])} {fd}, {fa}, {fb}{rm}")
        elif kind == 1:
            self.emit(f"{c.pick(['fmadd.s', 'fmsub.s', 'fnmsub.s', 'fnmadd.s'])} {fd}, {fa}, {fb}, {fc}{rm}")
        elif kind == 2:
            self.emit(f"fsqrt.s {fd}, {fa}{rm}")
        elif kind == 3:
            self.emit(f"{c.pick(['fsgnj.s', 'fsgnjn.s', 'fsgnjx.s', 'fmin.s', 'fmax.s'])} {fd}, {fa}, {fb}")
        elif kind == 4:
            self.emit(f"{c.pick(['fcvt.w.s', 'fcvt.wu.s'])} {self.xr(write=True)}, {fa}{rm}")
        elif kind == 5:
            self.emit(f"{c.pick(['fcvt.s.w', 'fcvt.s.wu'])} {fd}, {self.xr()}{rm}")
        elif kind == 6:
            self.emit(f"{c.pick(['feq.s', 'flt.s', 'fle.s'])} {self.xr(write=True)}, {fa}, {fb}")
        elif kind == 7:
            self.emit(f"{c.pick(['fmv.x.w', 'fclass.s'])} {self.xr(write=True)}, {fa}")
        else:
            self.emit(f"fmv.w.x {fd}, {self.xr()}")

    def gen_vector(self) -> None:
        c = self.c
        sew, lmul = self.v.sew, self.v.lmul
        kind = c.int(0, 19)
        if kind == 0:
            self.vset()
            return
        if kind <= 5:
            ops = {
                "V": [
                    "vadd",
                    "vsub",
                    "vminu",
                    "vmin",
                    "vmaxu",
                    "vmax",
                    "vand",
                    "vor",
                    "vxor",
                    "vsll",
                    "vsrl",
                    "vsra",
                    "vmul",
                    "vmulh",
                    "vmulhu",
                    "vmulhsu",
                    "vdivu",
                    "vdiv",
                    "vremu",
                    "vrem",
                    "vsaddu",
                    "vsadd",
                    "vssubu",
                    "vssub",
                    "vaaddu",
                    "vaadd",
                    "vasubu",
                    "vasub",
                    "vsmul",
                    "vssrl",
                    "vssra",
                ],
                "X": [
                    "vadd",
                    "vsub",
                    "vrsub",
                    "vminu",
                    "vmin",
                    "vmaxu",
                    "vmax",
                    "vand",
                    "vor",
                    "vxor",
                    "vsll",
                    "vsrl",
                    "vsra",
                    "vmul",
                    "vmulh",
                    "vmulhu",
                    "vmulhsu",
                    "vdivu",
                    "vdiv",
                    "vremu",
                    "vrem",
                    "vsaddu",
                    "vsadd",
                    "vssubu",
                    "vssub",
                    "vaaddu",
                    "vaadd",
                    "vasubu",
                    "vasub",
                    "vsmul",
                    "vssrl",
                    "vssra",
                ],
                "I": [
                    "vadd",
                    "vrsub",
                    "vand",
                    "vor",
                    "vxor",
                    "vsll",
                    "vsrl",
                    "vsra",
                    "vsaddu",
                    "vsadd",
                    "vssrl",
                    "vssra",
                ],
            }
            form = c.pick("VXI")
            name = c.pick(ops[form])
            vm = self.vm()
            vd = self.vreg(avoid=[(0, 1)] if vm else ())
            vs2 = self.vsrc()
            if form == "V":
                src = f"v{self.vsrc()}"
            elif form == "X":
                src = self.xr()
            else:
                src = str(
                    c.int(0, 31) if name in ("vsll", "vsrl", "vsra", "vssrl", "vssra") else c.int(-16, 15)
                )
            self.emit(f"{name}.v{form.lower()} v{vd}, v{vs2}, {src}{vm}")
        elif kind == 6:
            name = c.pick(["vmacc", "vnmsac", "vmadd", "vnmsub"])
            vm = self.vm()
            vd = self.vreg(avoid=[(0, 1)] if vm else ())
            if c.int(0, 1):
                self.emit(f"{name}.vv v{vd}, v{self.vsrc()}, v{self.vsrc()}{vm}")
            else:
                self.emit(f"{name}.vx v{vd}, {self.xr()}, v{self.vsrc()}{vm}")
        elif kind == 7:
            name = c.pick(["vmseq", "vmsne", "vmsltu", "vmslt", "vmsleu", "vmsle", "vmsgtu", "vmsgt"])
            forms = {
                "vmseq": "VXI",
                "vmsne": "VXI",
                "vmsltu": "VX",
                "vmslt": "VX",
                "vmsleu": "VXI",
                "vmsle": "VXI",
                "vmsgtu": "XI",
                "vmsgt": "XI",
            }[name]
            form = c.pick(forms)
            n = self.group()
            vs2 = self.vsrc()
            vs1 = self.vsrc()
            avoid = [(vs2, n)] + ([(vs1, n)] if form == "V" else [])
            vd = self.vreg(emul=1, avoid=avoid)
            src = f"v{vs1}" if form == "V" else (self.xr() if form == "X" else str(c.int(-16, 15)))
            self.emit(f"{name}.v{form.lower()} v{vd}, v{vs2}, {src}{self.vm()}")
        elif kind == 8 and sew <= 16 and lmul <= 4:
            wide = 2 * lmul
            vm = self.vm()
            name = c.pick(
                [
                    "vwaddu",
                    "vwadd",
                    "vwsubu",
                    "vwsub",
                    "vwmulu",
                    "vwmulsu",
                    "vwmul",
                    "vwmaccu",
                    "vwmacc",
                    "vwmaccsu",
                    "vwaddu.w",
                    "vwadd.w",
                    "vwsubu.w",
                    "vwsub.w",
                ]
            )
            vd = self.vreg(emul=wide, avoid=[(0, 1)] if vm else ())
            n = self.group()
            srcs = [r for r in range(0, 32, n) if not (r < vd + int(max(1, wide)) and vd < r + n)]
            vs1 = c.pick(srcs)
            if name.endswith(".w"):
                vs2 = self.vsrc(emul=wide)
                base = name[:-2]
                if c.int(0, 1):
                    self.emit(f"{base}.wv v{vd}, v{vs2}, v{vs1}{vm}")
                else:
                    self.emit(f"{base}.wx v{vd}, v{vs2}, {self.xr()}{vm}")
            elif name.startswith("vwmacc"):
                vs2 = c.pick(srcs)
                if c.int(0, 1) and name != "vwmaccus":
                    self.emit(f"{name}.vv v{vd}, v{vs1}, v{vs2}{vm}")
                else:
                    self.emit(f"{c.pick([name, 'vwmaccus'])}.vx v{vd}, {self.xr()}, v{vs2}{vm}")
            else:
                vs2 = c.pick(srcs)
                if c.int(0, 1):
                    self.emit(f"{name}.vv v{vd}, v{vs2}, v{vs1}{vm}")
                else:
                    self.emit(f"{name}.vx v{vd}, v{vs2}, {self.xr()}{vm}")
        elif kind == 9 and sew <= 16 and lmul <= 4:
            name = c.pick(["vnsrl", "vnsra", "vnclipu", "vnclip"])
            vm = self.vm()
            vs2 = self.vsrc(emul=2 * lmul)
            vd = self.vreg(avoid=[(vs2, max(1, int(2 * lmul)))] + ([(0, 1)] if vm else []))
            form = c.pick("VXI")
            src = f"v{self.vsrc()}" if form == "V" else (self.xr() if form == "X" else str(c.int(0, 31)))
            self.emit(f"{name}.w{form.lower()} v{vd}, v{vs2}, {src}{vm}")
        elif kind == 10:
            name = c.pick(
                [
                    "vredsum",
                    "vredand",
                    "vredor",
                    "vredxor",
                    "vredminu",
                    "vredmin",
                    "vredmaxu",
                    "vredmax",
                    "vwredsumu",
                    "vwredsum",
                ]
            )
            if name.startswith("vw") and sew > 16:
                name = "vredsum"
            self.emit(f"{name}.vs v{self.vreg(emul=1)}, v{self.vsrc()}, v{self.vsrc(emul=1)}{self.vm()}")
        elif kind == 11:
            name = c.pick(["vmand", "vmnand", "vmandn", "vmxor", "vmor", "vmnor", "vmorn", "vmxnor"])
            self.emit(f"{name}.mm v{self.vreg(emul=1)}, v{self.vsrc(emul=1)}, v{self.vsrc(emul=1)}")
        elif kind == 12:
            which = c.int(0, 5)
            if which == 0:
                self.emit(f"vcpop.m {self.xr(write=True)}, v{self.vsrc(emul=1)}{self.vm()}")
            elif which == 1:
                self.emit(f"vfirst.m {self.xr(write=True)}, v{self.vsrc(emul=1)}{self.vm()}")
            elif which == 2:
                vm = self.vm()
                vs2 = self.vsrc(emul=1)
                vd = self.vreg(emul=1, avoid=[(vs2, 1)] + ([(0, 1)] if vm else []))
                self.emit(f"{c.pick(['vmsbf', 'vmsif', 'vmsof'])}.m v{vd}, v{vs2}{vm}")
            elif which == 3:
                vm = self.vm()
                vs2 = self.vsrc(emul=1)
                vd = self.vreg(avoid=[(vs2, 1)] + ([(0, 1)] if vm else []))
                self.emit(f"viota.m v{vd}, v{vs2}{vm}")
            elif which == 4:
                vm = self.vm()
                self.emit(f"vid.v v{self.vreg(avoid=[(0, 1)] if vm else ())}{vm}")
            else:
                self.emit(f"vmv.x.s {self.xr(write=True)}, v{self.vsrc(emul=1)}")
        elif kind == 13:
            which = c.int(0, 4)
            if which == 0:
                self.emit(f"vmv.s.x v{self.vreg(emul=1)}, {self.xr()}")
            elif which == 1:
                form = c.pick("VXI")
                src = (
                    f"v{self.vsrc()}" if form == "V" else (self.xr() if form == "X" else str(c.int(-16, 15)))
                )
                self.emit(f"vmv.v.{form.lower()} v{self.vreg()}, {src}")
            elif which == 2:
                form = c.pick("VXI")
                src = (
                    f"v{self.vsrc()}" if form == "V" else (self.xr() if form == "X" else str(c.int(-16, 15)))
                )
                self.emit(f"vmerge.v{form.lower()}m v{self.vreg(avoid=[(0, 1)])}, v{self.vsrc()}, {src}, v0")
            elif which == 3:
                nr = c.pick([1, 2, 4, 8])
                self.emit(f"vmv{nr}r.v v{c.pick(list(range(0, 24, nr)))}, v{c.pick(list(range(0, 32, nr)))}")
            else:
                name = c.pick(["vadc", "vmadc", "vsbc", "vmsbc"])
                form = c.pick("VX" if "sb" in name else "VXI")
                src = (
                    f"v{self.vsrc()}" if form == "V" else (self.xr() if form == "X" else str(c.int(-16, 15)))
                )
                vs2 = self.vsrc()
                if name.startswith("vm"):
                    n = self.group()
                    avoid = [(vs2, n)] + ([(int(src[1:]), n)] if form == "V" else [])
                    vd = self.vreg(emul=1, avoid=avoid)
                    carry = c.int(0, 1)
                    suffix = f"v{form.lower()}m" if carry else f"v{form.lower()}"
                    self.emit(f"{name}.{suffix} v{vd}, v{vs2}, {src}" + (", v0" if carry else ""))
                else:
                    self.emit(f"{name}.v{form.lower()}m v{self.vreg(avoid=[(0, 1)])}, v{vs2}, {src}, v0")
        elif kind == 14:
            n = self.group()
            vm = self.vm()
            which = c.int(0, 3)
            vs2 = self.vsrc()
            if which == 0:
                vd = self.vreg(avoid=[(vs2, n)] + ([(0, 1)] if vm else []))
                form = c.pick("XI")
                src = self.xr() if form == "X" else str(c.int(0, 31))
                if form == "X":
                    self.emit(f"li t5, {c.pick([0, 1, 2, 3, 7, 15, 16, 40, 200])}")
                    src = "t5"
                self.emit(f"vslideup.v{form.lower()} v{vd}, v{vs2}, {src}{vm}")
            elif which == 1:
                vd = self.vreg(avoid=[(0, 1)] if vm else ())
                form = c.pick("XI")
                if form == "X":
                    self.emit(f"li t5, {c.pick([0, 1, 2, 3, 7, 15, 16, 40, 200])}")
                    self.emit(f"vslidedown.vx v{vd}, v{vs2}, t5{vm}")
                else:
                    self.emit(f"vslidedown.vi v{vd}, v{vs2}, {c.int(0, 31)}{vm}")
            elif which == 2:
                vd = self.vreg(avoid=[(vs2, n)] + ([(0, 1)] if vm else []))
                self.emit(f"vslide1up.vx v{vd}, v{vs2}, {self.xr()}{vm}")
            else:
                vd = self.vreg(avoid=[(0, 1)] if vm else ())
                self.emit(f"vslide1down.vx v{vd}, v{vs2}, {self.xr()}{vm}")
        elif kind == 15:
            n = self.group()
            vm = self.vm()
            vs2 = self.vsrc()
            which = c.int(0, 3)
            if which == 0:
                vs1 = self.vsrc()
                vd = self.vreg(avoid=[(vs2, n), (vs1, n)] + ([(0, 1)] if vm else []))
                self.emit(f"vrgather.vv v{vd}, v{vs2}, v{vs1}{vm}")
            elif which == 1:
                vd = self.vreg(avoid=[(vs2, n)] + ([(0, 1)] if vm else []))
                if c.int(0, 1):
                    self.emit(f"li t5, {c.pick([0, 1, 5, 15, 31, 64, 127, 1000])}")
                    self.emit(f"vrgather.vx v{vd}, v{vs2}, t5{vm}")
                else:
                    self.emit(f"vrgather.vi v{vd}, v{vs2}, {c.int(0, 31)}{vm}")
            elif which == 2:
                iemul = lmul * 16 / sew
                if iemul > 8 or iemul < 0.125:
                    return
                vs1 = self.vsrc(emul=iemul)
                vd = self.vreg(avoid=[(vs2, n), (vs1, max(1, int(iemul)))] + ([(0, 1)] if vm else []))
                self.emit(f"vrgatherei16.vv v{vd}, v{vs2}, v{vs1}{vm}")
            else:
                vs1 = self.vsrc(emul=1)
                vd = self.vreg(avoid=[(vs2, n), (vs1, 1)])
                self.emit(f"vcompress.vm v{vd}, v{vs2}, v{vs1}")
        elif kind == 16 and sew >= 16:
            factor = c.pick([2, 4] if sew == 32 else [2])
            src_emul = lmul / factor
            if src_emul < 0.125:
                return
            vm = self.vm()
            vs2 = self.vsrc(emul=src_emul)
            vd = self.vreg(avoid=[(vs2, max(1, int(src_emul)))] + ([(0, 1)] if vm else []))
            self.emit(f"{c.pick(['vzext', 'vsext'])}.vf{factor} v{vd}, v{vs2}{vm}")
        elif kind == 17:
            self.emit(f"csrwi vxrm, {c.int(0, 3)}")
        else:
            self.gen_vmem()

    def gen_vmem(self) -> None:
        c = self.c
        sew, lmul = self.v.sew, self.v.lmul
        mode = c.pick(["unit", "unit", "strided", "indexed", "segment", "whole", "mask", "ff"])
        store = c.int(0, 2) == 0
        vm = self.vm() if mode not in ("whole", "mask") else ""
        eew = c.pick([8, 16, 32])
        self.emit(f"addi t5, s11, {c.int(256, 510) * 4}")
        if mode in ("unit", "ff", "strided", "segment"):
            emul = eew / sew * lmul
            nf = c.int(2, 4) if mode == "segment" else 1
            if emul < 0.125 or emul > 8 or nf * max(1, emul) > 8:
                return
            n = max(1, int(emul))
            choices = [r for r in range(0, 24, n) if r + nf * n <= 24 and not (vm and r == 0 and not store)]
            if not choices:
                return
            vd = c.pick(choices)
            if mode == "segment":
                name = f"{'vs' if store else 'vl'}seg{nf}e{eew}.v"
                self.emit(f"{name} v{vd}, (t5){vm}")
            elif mode == "strided":
                self.emit(f"li t6, {c.pick([0, 1, 2, 4, 8, 12, 16, 20, 64, -4, -16]) * (eew // 8)}")
                self.emit(f"{'vsse' if store else 'vlse'}{eew}.v v{vd}, (t5), t6{vm}")
            elif mode == "ff" and not store:
                self.emit(f"vle{eew}ff.v v{vd}, (t5){vm}")
            else:
                self.emit(f"{'vse' if store else 'vle'}{eew}.v v{vd}, (t5){vm}")
        elif mode == "indexed":
            iemul = eew / sew * lmul
            if iemul < 0.125 or iemul > 8:
                return
            ni = max(1, int(iemul))
            vs2 = c.pick([r for r in INDEX_VREGS if r % ni == 0 and r + ni <= 32])
            vd = self.vreg(avoid=[(0, 1)] if vm and not store else ())
            order = c.pick("uo")
            self.emit(f"{'vs' if store else 'vl'}{order}xei{eew}.v v{vd}, (t5), v{vs2}{vm}")
        elif mode == "whole":
            nr = c.pick([1, 2, 4, 8])
            vd = c.pick(list(range(0, 24, nr)))
            if store:
                self.emit(f"vs{nr}r.v v{c.pick(list(range(0, 32, nr)))}, (t5)")
            else:
                self.emit(f"vl{nr}re{eew}.v v{vd}, (t5)")
        else:
            if store:
                self.emit(f"vsm.v v{self.vsrc(emul=1)}, (t5)")
            else:
                self.emit(f"vlm.v v{self.vreg(emul=1)}, (t5)")


def program(blocks: list[Block]) -> tuple[str, list[tuple[int, bytes]], tuple[int, int]]:
    """The assembly of `main` running every block, its data blobs and the signature range."""
    lines = ["    .text", "    .globl main", "main:", "    la t0, __saved_ra", "    sw ra, 0(t0)"]
    for b in blocks:
        lines += b.lines
    # The blocks load random values into sp and the rest: ra comes back from memory.
    lines += [
        "    la t0, __saved_ra",
        "    lw ra, 0(t0)",
        "    li a0, 0",
        "    ret",
        "    .data",
        "    .balign 4",
        "__saved_ra: .word 0",
    ]
    blobs = [(b.base, b.init + bytes(DUMP) + b.scratch) for b in blocks]
    return "\n".join(lines) + "\n", blobs, (blocks[0].base, blocks[-1].base + BLOCK)


def describe_mismatch(ours: bytes, theirs: bytes, blocks: list[Block]) -> str:
    """Which block and which register or memory byte first differs."""
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            block = blocks[i // BLOCK]
            off = i % BLOCK
            where = _where(off)
            body = "\n".join(block.lines)
            return (
                f"block {block.index}, {where}: ours {ours[i - i % 4 : i - i % 4 + 4].hex()} vs spike "
                f"{theirs[i - i % 4 : i - i % 4 + 4].hex()}\n{body}"
            )
    if len(ours) != len(theirs):
        return f"signature lengths differ: {len(ours)} vs {len(theirs)}"
    return ""


def _where(off: int) -> str:
    if off < INIT:
        return f"init table byte {off}"
    off -= INIT
    if off < DUMP:
        if off < 128:
            return f"x{off // 4}"
        if off < 256:
            return f"f{(off - 128) // 4}"
        if off < 768:
            return f"v{(off - 256) // 16} byte {(off - 256) % 16}"
        names = ["vl", "vtype", "vxsat", "vxrm", "fflags", "frm", "vstart"]
        k = (off - 768) // 4
        return names[k] if k < len(names) else f"dump byte {off}"
    return f"scratch byte {off - DUMP}"
