"""The Zve32x vector unit: state (vl, vtype, vstart, vxrm, vxsat, 32 x 128-bit registers) and
the semantics of every vector instruction in the table, on NumPy views of one register file.

Policies follow the RTL: tail and inactive (masked-off) elements are left undisturbed whatever
vta/vma say (the back end's AGNOSTIC_ONE option is off), an illegal vtype sets vill and every
later vector instruction except vset* and whole-register moves, loads and stores traps, and
register-group constraints (alignment to EMUL, overlap rules, the mask register) are checked
as the RVV 1.0 spec states them and trap as illegal instructions, as the RTL's decode checks do.
"""

from __future__ import annotations

import numpy as np

from . import shortcuts
from .isa import REQUIRES_VSTART0
from .machine import (
    CAUSE_ILLEGAL,
    CAUSE_LOAD_ACCESS,
    CAUSE_STORE_ACCESS,
    M32,
    Machine,
    Op,
    Trap,
    reset_in_place,
)
from .memory import EXT, MemoryFault

VLENB = 16
DT = {
    (8, True): np.int8,
    (8, False): np.uint8,
    (16, True): np.int16,
    (16, False): np.uint16,
    (32, True): np.int32,
    (32, False): np.uint32,
}
LMUL_CODE = {0: 1.0, 1: 2.0, 2: 4.0, 3: 8.0, 5: 0.125, 6: 0.25, 7: 0.5}
SEW_CODE = {0: 8, 1: 16, 2: 32}
_UKEYS: dict = {}


def ukey_of(sew: int, lmul_eff: float, vl: int) -> tuple:
    """(SEW, effective LMUL, vl): what a vector instruction's uop list depends on. Interned, so the
    compiled blocks recognise a configuration they were specialised for with an identity test."""
    key = (sew, lmul_eff, vl)
    return _UKEYS.setdefault(key, key)


def _illegal(message: str, word: int = 0) -> Trap:
    return Trap(CAUSE_ILLEGAL, word, message, "illegal_instruction")


class VectorUnit:
    def __init__(self, m: Machine):
        self.m = m
        self.vrf = np.zeros(32 * VLENB, dtype=np.uint8)
        self.views = {key: self.vrf.view(dt) for key, dt in DT.items()}
        # Reset state (RvvFrontEnd.sv): vill set, vl 0, e8, m1, vxrm RNU.
        self.vill = True
        self.vl = 0
        self.sew = 8
        self.lmul = 1.0
        self.lmul_code = 0
        self.lmul_eff = 1.0  # after the automatic LMUL reduction (timing only)
        self.ukey = ukey_of(8, 1.0, 0)  # (sew, lmul_eff, vl), kept in step with them
        self.vkey = ukey_of(8, 1.0, 0)  # (sew, lmul, vl): what an instruction's shortcut depends on
        self.vta = 0
        self.vma = 0
        self.vstart = 0
        self.vxrm = 0
        self.vxsat = 0
        self._vset_cache: dict = {}
        self._applied = None  # the cached state set_vtype last applied, while nothing else has changed it

    def reset(self) -> None:
        """The reset state, in place (the shortcuts hold the register file's views); the vset
        cache depends only on (vtype, AVL) and stays."""
        reset_in_place(self, VectorUnit(self.m), keep=("m", "views", "_vset_cache"))

    # ------------------------------------------------------------------ state
    def vtype_csr(self) -> int:
        code = {8: 0, 16: 1, 32: 2}.get(self.sew, 3)
        return (int(self.vill) << 31) | (self.vma << 7) | (self.vta << 6) | (code << 3) | self.lmul_code

    @property
    def vlmax(self) -> int:
        return int(VLENB * 8 * self.lmul) // self.sew

    def set_vtype(self, vtype: int, avl: int) -> int:
        key = (vtype, avl if avl < 256 else 256)
        state = self._vset_cache.get(key)
        if state is None:
            self._set_vtype(vtype, key[1])
            state = self._vset_cache[key] = (
                self.vill,
                self.vl,
                self.sew,
                self.lmul,
                self.lmul_eff,
                self.vta,
                self.vma,
                self.lmul_code,
                ukey_of(self.sew, self.lmul_eff, self.vl),
                ukey_of(self.sew, self.lmul, self.vl),
            )
            self.ukey, self.vkey = state[-2:]
            self._applied = state
            return self.vl
        if state is self._applied:  # a loop's vsetvli that changes nothing
            return self.vl
        self._applied = state
        (
            self.vill,
            self.vl,
            self.sew,
            self.lmul,
            self.lmul_eff,
            self.vta,
            self.vma,
            self.lmul_code,
            self.ukey,
            self.vkey,
        ) = state
        return self.vl

    def _set_vtype(self, vtype: int, avl: int) -> int:
        sew_code = (vtype >> 3) & 7
        lmul_code = vtype & 7
        sew = SEW_CODE.get(sew_code)
        lmul = LMUL_CODE.get(lmul_code)
        self.vta = (vtype >> 6) & 1
        self.vma = (vtype >> 7) & 1
        self.lmul_code = lmul_code
        legal = sew is not None and lmul is not None and lmul >= sew / 32
        if not legal:
            self.vill = True
            self.vl = 0
            self.sew = sew or 8
            self.lmul = lmul or 1.0
            self.lmul_eff = self.lmul
            return 0
        self.vill = False
        self.sew = sew
        self.lmul = lmul
        vlmax = int(VLENB * 8 * lmul) // sew
        self.vl = min(avl, vlmax)
        self.lmul_eff = self._reduced_lmul() if self.m.config.lmul_reduction else lmul
        return self.vl

    def _reduced_lmul(self) -> float:
        """The RTL's automatic LMUL reduction: the smallest LMUL whose VLMAX covers vl."""
        lmul = self.lmul
        floor = self.sew / 32
        candidate = max(floor, 0.25 if self.sew == 8 else floor)
        while candidate < lmul and int(VLENB * 8 * candidate) // self.sew < max(self.vl, 1):
            candidate *= 2
        return min(candidate, lmul)

    def require_valid(self, word: int) -> None:
        if self.vill:
            raise _illegal(
                "vector instruction with an illegal or unset vtype (vill = 1): run a valid vsetvli "
                "first (SEW e8/e16/e32, LMUL mf4..m8 with SEW/LMUL <= 32)",
                word,
            )

    # ------------------------------------------------------------------ element access
    def get(self, reg: int, eew: int, count: int, signed: bool) -> np.ndarray:
        per = VLENB * 8 // eew
        base = reg * per
        return self.views[(eew, signed)][base : base + count].astype(np.int64)

    def put(
        self, reg: int, eew: int, values: np.ndarray, start: int, end: int, mask: np.ndarray | None
    ) -> None:
        """Write elements [start, end) of the group at reg, only where mask (if any) is set."""
        if end <= start:
            return
        per = VLENB * 8 // eew
        base = reg * per
        view = self.views[(eew, False)]
        vals = (values[start:end] & ((1 << eew) - 1)).astype(view.dtype)
        if mask is None:
            view[base + start : base + end] = vals
        else:
            dst = view[base + start : base + end]
            np.copyto(dst, vals, where=mask[start:end])

    def mask(self, count: int) -> np.ndarray:
        return np.unpackbits(self.vrf[0:VLENB], bitorder="little")[:count].astype(bool)

    def mask_of(self, reg: int, count: int) -> np.ndarray:
        base = reg * VLENB
        return np.unpackbits(self.vrf[base : base + VLENB], bitorder="little")[:count].astype(bool)

    def put_mask(self, reg: int, bits: np.ndarray, start: int, end: int, active: np.ndarray | None) -> None:
        if end <= start:
            return
        base = reg * VLENB
        cur = np.unpackbits(self.vrf[base : base + VLENB], bitorder="little").astype(bool)
        new = cur.copy()
        sel = np.zeros(VLENB * 8, dtype=bool)
        sel[start:end] = True if active is None else active[start:end]
        new[sel] = bits[: VLENB * 8][sel] if len(bits) >= VLENB * 8 else _pad(bits)[sel]
        self.vrf[base : base + VLENB] = np.packbits(new, bitorder="little")

    def reg_bytes(self, reg: int, nregs: int = 1) -> bytes:
        return bytes(self.vrf[reg * VLENB : (reg + nregs) * VLENB])


def _pad(bits: np.ndarray) -> np.ndarray:
    out = np.zeros(VLENB * 8, dtype=bool)
    out[: len(bits)] = bits
    return out


def _to_signed(a: np.ndarray, sew: int) -> np.ndarray:
    return a - ((a >> (sew - 1)) & 1) * (1 << sew)


def roundoff(v: np.ndarray, d, vxrm: int) -> np.ndarray:
    """(v >> d) rounded per vxrm (0 rnu, 1 rne, 2 rdn, 3 rod), v int64, d a shift (array or int)."""
    d = np.asarray(d, dtype=np.int64)
    shifted = v >> d
    if vxrm == 2:
        return shifted
    dm1 = np.maximum(d - 1, 0)
    pos = d > 0
    bit_d1 = (v >> dm1) & 1
    if vxrm == 0:
        r = bit_d1
    elif vxrm == 1:
        below = (v & ((np.int64(1) << dm1) - 1)) != 0
        r = bit_d1 & (below | ((v >> d) & 1).astype(bool)).astype(np.int64)
    else:
        lost = (v & ((np.int64(1) << d) - 1)) != 0
        r = ((((v >> d) & 1) == 0) & lost).astype(np.int64)
    return shifted + np.where(pos, r, 0)


# ---------------------------------------------------------------------------- builders


def build_vector(m: Machine, op: Op):
    d = op.d
    key = d.key
    if key in ("vsetvli", "vsetivli", "vsetvl"):
        return _vset(m, op)
    if key.startswith(("vl_", "vs_")):
        return shortcuts.wrap(m, op, _vmem(m, op))
    kind = d.vinfo.get("kind", "binary")
    builder = _KINDS.get(kind)
    if builder is None:  # pragma: no cover
        raise KeyError(kind)
    return shortcuts.wrap(m, op, builder(m, op))


def _vset(m: Machine, op: Op):
    v, x, f = m.v, m.x, op.f
    rd, rs1, rs2, key, nxt = f.rd, f.rs1, f.rs2, op.d.key, op.pc + 4
    cfg = m.config
    set_vtype = v.set_vtype
    if key == "vsetivli":  # the common forms, without the general one's tests
        vtypei, avl_i = f.vtypei & 0xFF, f.uimm5

        def fn():
            vl = set_vtype(vtypei, avl_i)
            if rd:
                x[rd] = vl
            return nxt

        return fn
    if key == "vsetvli" and rs1 != 0:
        vtypei = f.vtypei & 0xFF

        def fn():
            vl = set_vtype(vtypei, x[rs1])
            if rd:
                x[rd] = vl
            return nxt

        return fn
    if key == "vsetvli" and rd == 0:  # rs1 = rd = x0: keep vl, change vtype
        vtypei = f.vtypei & 0xFF

        def fn():
            set_vtype(vtypei, v.vl)
            return nxt

        return fn

    def fn():
        if key == "vsetivli":
            vtype, avl = f.vtypei, f.uimm5
        else:
            vtype = f.vtypei if key == "vsetvli" else x[rs2] & 0xFF
            if rs1 != 0:
                avl = x[rs1]
            elif rd != 0:
                avl = 0 if cfg.vsetvli_x0_bug else M32
            else:
                avl = v.vl
        vl = v.set_vtype(vtype & 0xFF, avl)
        if rd:
            x[rd] = vl
        return nxt

    return fn


def _common(m: Machine, op: Op):
    f = op.f
    return m.v, m.x, f, f.rd, f.rs2, f.rs1, f.vm, op.pc + 4, op.word


def _emul_ok(reg: int, emul: float) -> bool:
    if emul > 8 or emul < 0.125:
        return False
    n = max(1, int(emul))
    return reg % n == 0 and reg + n <= 32


def _groups_overlap(a: int, na: int, b: int, nb: int) -> bool:
    return a < b + nb and b < a + na


def _scalar_operand(v: VectorUnit, x, f, form: str, sew: int, uimm: bool) -> int:
    if form == "X":
        return x[f.rs1] & ((1 << sew) - 1)
    if uimm:
        return f.uimm5
    return f.simm5 & ((1 << sew) - 1)


_UIMM = {
    "vsll",
    "vsrl",
    "vsra",
    "vssrl",
    "vssra",
    "vnsrl",
    "vnsra",
    "vnclipu",
    "vnclip",
    "vslideup",
    "vslidedown",
    "vrgather",
}


def _src1(v: VectorUnit, x, f, form: str, sew: int, n: int, key: str) -> np.ndarray:
    """Operand 1 as unsigned SEW-bit values in int64: vs1 elements, or the scalar/immediate broadcast."""
    if form == "V":
        return v.get(f.rs1, sew, n, False)
    return np.full(n, _scalar_operand(v, x, f, form, sew, key in _UIMM), dtype=np.int64)


def _binary(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key, form = op.d.key, op.d.vinfo["form"]
    kernel = _BINARY[key]
    sat = key in ("vsaddu", "vsadd", "vssubu", "vssub", "vsmul")
    fast = _FAST_BINARY.get(key)
    legal: set = set()
    views = v.views
    uimm = key in _UIMM

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if (sew, lmul) not in legal:
            if not (_emul_ok(rd, lmul) and _emul_ok(rs2, lmul) and (form != "V" or _emul_ok(rs1, lmul))):
                raise _illegal(f"{op.d.name}: register numbers must be multiples of LMUL={_lm(lmul)}", word)
            if not vm and rd == 0:
                raise _illegal(f"{op.d.name}: a masked instruction cannot write v0 (the mask)", word)
            legal.add((sew, lmul))
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        if fast is not None and vm and not start:
            ufunc, signed = fast
            view = views[(sew, signed)]
            per = 128 // sew
            a = view[rs2 * per : rs2 * per + vl]
            if form == "V":
                b = view[rs1 * per : rs1 * per + vl]
            else:
                raw = (
                    x[rs1] & ((1 << sew) - 1)
                    if form == "X"
                    else (f.uimm5 if uimm else f.simm5 & ((1 << sew) - 1))
                )
                if key in _SHIFTS:
                    raw &= sew - 1
                elif signed and raw >> (sew - 1):
                    raw -= 1 << sew
                b = view.dtype.type(raw)
            if key in _SHIFTS and form == "V":
                b = b & (sew - 1)
            ufunc(a, b, out=view[rd * per : rd * per + vl]) if key != "vrsub" else np.subtract(
                b, a, out=view[rd * per : rd * per + vl]
            )
            return nxt
        a = v.get(rs2, sew, vl, False)
        b = _src1(v, x, f, form, sew, vl, key)
        active = None if vm else v.mask(vl)
        result, saturated = (
            kernel(a, b, sew, v.vxrm) if (sat or key in _ROUNDING) else (kernel(a, b, sew), None)
        )
        if sat and saturated is not None:
            flags = saturated[start:vl] if active is None else (saturated & active)[start:vl]
            if flags.any():
                v.vxsat = 1
        v.put(rd, sew, result, start, vl, active)
        return nxt

    return fn


def _lm(lmul: float) -> str:
    return f"m{int(lmul)}" if lmul >= 1 else f"mf{int(1 / lmul)}"


def _s(a, sew):
    return _to_signed(a, sew)


def _divu(a, b, sew):
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, (1 << sew) - 1, a // safe)


def _remu(a, b, sew):
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, a, a % safe)


def _div(a, b, sew):
    sa, sb = _s(a, sew), _s(b, sew)
    safe = np.where(sb == 0, 1, sb)
    q = np.abs(sa) // np.abs(safe)
    q = np.where((sa < 0) != (safe < 0), -q, q)
    q = np.where(sb == 0, -1, q)
    overflow = (sa == -(1 << (sew - 1))) & (sb == -1)
    return np.where(overflow, sa, q)


def _rem(a, b, sew):
    sa, sb = _s(a, sew), _s(b, sew)
    safe = np.where(sb == 0, 1, sb)
    r = np.abs(sa) % np.abs(safe)
    r = np.where(sa < 0, -r, r)
    r = np.where(sb == 0, sa, r)
    overflow = (sa == -(1 << (sew - 1))) & (sb == -1)
    return np.where(overflow, 0, r)


def _mulhu(a, b, sew):
    if sew == 32:
        return ((a.astype(np.uint64) * b.astype(np.uint64)) >> np.uint64(32)).astype(np.int64)
    return (a * b) >> sew


def _sat_add_u(a, b, sew, _vxrm):
    r = a + b
    top = (1 << sew) - 1
    return np.minimum(r, top), r > top


def _sat_add_s(a, b, sew, _vxrm):
    r = _s(a, sew) + _s(b, sew)
    lo, hi = -(1 << (sew - 1)), (1 << (sew - 1)) - 1
    return np.clip(r, lo, hi), (r < lo) | (r > hi)


def _sat_sub_u(a, b, sew, _vxrm):
    r = a - b
    return np.maximum(r, 0), r < 0


def _sat_sub_s(a, b, sew, _vxrm):
    r = _s(a, sew) - _s(b, sew)
    lo, hi = -(1 << (sew - 1)), (1 << (sew - 1)) - 1
    return np.clip(r, lo, hi), (r < lo) | (r > hi)


def _smul(a, b, sew, vxrm):
    sa, sb = _s(a, sew), _s(b, sew)
    r = roundoff(sa * sb, sew - 1, vxrm)
    hi = (1 << (sew - 1)) - 1
    over = r > hi  # only (-2^(sew-1))^2 overflows
    return np.minimum(r, hi), over


def _avg(signed: bool, subtract: bool):
    def kernel(a, b, sew, vxrm):
        x, y = (_s(a, sew), _s(b, sew)) if signed else (a, b)
        return roundoff(x - y if subtract else x + y, 1, vxrm), None

    return kernel


def _ssr(signed: bool):
    def kernel(a, b, sew, vxrm):
        x = _s(a, sew) if signed else a
        return roundoff(x, b & (sew - 1), vxrm), None

    return kernel


_ROUNDING = {"vaaddu", "vaadd", "vasubu", "vasub", "vssrl", "vssra"}
_SHIFTS = {"vsll", "vsrl", "vsra"}
# Unmasked, vstart = 0: operate on the registers' own dtype (wrap-around is the semantics).
_FAST_BINARY = {
    "vadd": (np.add, False),
    "vsub": (np.subtract, False),
    "vrsub": (np.subtract, False),
    "vand": (np.bitwise_and, False),
    "vor": (np.bitwise_or, False),
    "vxor": (np.bitwise_xor, False),
    "vminu": (np.minimum, False),
    "vmaxu": (np.maximum, False),
    "vmin": (np.minimum, True),
    "vmax": (np.maximum, True),
    "vmul": (np.multiply, False),
    "vsll": (np.left_shift, False),
    "vsrl": (np.right_shift, False),
    "vsra": (np.right_shift, True),
}

_BINARY = {
    "vadd": lambda a, b, s: a + b,
    "vsub": lambda a, b, s: a - b,
    "vrsub": lambda a, b, s: b - a,
    "vminu": lambda a, b, s: np.minimum(a, b),
    "vmaxu": lambda a, b, s: np.maximum(a, b),
    "vmin": lambda a, b, s: np.minimum(_s(a, s), _s(b, s)),
    "vmax": lambda a, b, s: np.maximum(_s(a, s), _s(b, s)),
    "vand": lambda a, b, s: a & b,
    "vor": lambda a, b, s: a | b,
    "vxor": lambda a, b, s: a ^ b,
    "vsll": lambda a, b, s: a << (b & (s - 1)),
    "vsrl": lambda a, b, s: a >> (b & (s - 1)),
    "vsra": lambda a, b, s: _s(a, s) >> (b & (s - 1)),
    "vmul": lambda a, b, s: (
        (a * b) if s < 32 else (a.astype(np.uint64) * b.astype(np.uint64)).astype(np.int64)
    ),
    "vmulh": lambda a, b, s: (_s(a, s) * _s(b, s)) >> s,
    "vmulhu": _mulhu,
    "vmulhsu": lambda a, b, s: (_s(a, s) * b) >> s,
    "vdivu": _divu,
    "vdiv": _div,
    "vremu": _remu,
    "vrem": _rem,
    "vsaddu": _sat_add_u,
    "vsadd": _sat_add_s,
    "vssubu": _sat_sub_u,
    "vssub": _sat_sub_s,
    "vsmul": _smul,
    "vaaddu": _avg(False, False),
    "vaadd": _avg(True, False),
    "vasubu": _avg(False, True),
    "vasub": _avg(True, True),
    "vssrl": _ssr(False),
    "vssra": _ssr(True),
}


def _compare(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key, form = op.d.key, op.d.vinfo["form"]
    signed = key in ("vmslt", "vmsle", "vmsgt")
    cmp = {
        "vmseq": np.equal,
        "vmsne": np.not_equal,
        "vmsltu": np.less,
        "vmslt": np.less,
        "vmsleu": np.less_equal,
        "vmsle": np.less_equal,
        "vmsgtu": np.greater,
        "vmsgt": np.greater,
    }[key]

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if not (_emul_ok(rs2, lmul) and (form != "V" or _emul_ok(rs1, lmul))):
            raise _illegal(
                f"{op.d.name}: source register numbers must be multiples of LMUL={_lm(lmul)}", word
            )
        _check_mask_dest_overlap(op, rd, rs2, rs1 if form == "V" else None, lmul, word)
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        a = v.get(rs2, sew, vl, signed)
        if form == "V":
            b = v.get(rs1, sew, vl, signed)
        else:
            raw = _scalar_operand(v, x, f, form, sew, False)
            b = np.full(vl, _s(np.int64(raw), sew) if signed else raw, dtype=np.int64)
        bits = cmp(a, b)
        v.put_mask(rd, bits, start, vl, None if vm else v.mask(vl))
        return nxt

    return fn


def _check_mask_dest_overlap(op: Op, rd: int, rs2: int, rs1: int | None, lmul: float, word: int) -> None:
    """A mask result may overlap a source group only in its lowest register (RVV 1.0 5.2)."""
    n = max(1, int(lmul))
    for src in (rs2, rs1):
        if src is None or n == 1:
            continue
        if _groups_overlap(rd, 1, src, n) and rd != src:
            raise _illegal(
                f"{op.d.name}: the mask destination v{rd} overlaps the source group v{src} "
                "other than in its lowest register",
                word,
            )


def _mac(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key, form = op.d.key, op.d.vinfo["form"]

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if not (_emul_ok(rd, lmul) and _emul_ok(rs2, lmul) and (form != "V" or _emul_ok(rs1, lmul))):
            raise _illegal(f"{op.d.name}: register numbers must be multiples of LMUL={_lm(lmul)}", word)
        if not vm and rd == 0:
            raise _illegal(f"{op.d.name}: a masked instruction cannot write v0 (the mask)", word)
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        a = _src1(v, x, f, form, sew, vl, key)  # vs1 / rs1
        b = v.get(rs2, sew, vl, False)
        acc = v.get(rd, sew, vl, False)
        if sew == 32:
            a, b, acc = (t.astype(np.uint64) for t in (a, b, acc))
        if key == "vmacc":
            r = a * b + acc
        elif key == "vnmsac":
            r = acc - a * b
        elif key == "vmadd":
            r = a * acc + b
        else:
            r = b - a * acc
        v.put(rd, sew, r.astype(np.int64) if sew == 32 else r, start, vl, None if vm else v.mask(vl))
        return nxt

    return fn


def _carry(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key, form = op.d.key, op.d.vinfo["form"]
    produces_mask = op.d.vinfo["kind"] == "carry_out"
    carry_in = op.d.vinfo.get("carry_in", True)

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if not (_emul_ok(rs2, lmul) and (form != "V" or _emul_ok(rs1, lmul))):
            raise _illegal(f"{op.d.name}: register numbers must be multiples of LMUL={_lm(lmul)}", word)
        if produces_mask:
            _check_mask_dest_overlap(op, rd, rs2, rs1 if form == "V" else None, lmul, word)
        else:
            if not _emul_ok(rd, lmul):
                raise _illegal(f"{op.d.name}: register numbers must be multiples of LMUL={_lm(lmul)}", word)
            if rd == 0:
                raise _illegal(f"{op.d.name}: the destination cannot be v0 (it holds the carry)", word)
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        a = v.get(rs2, sew, vl, False)
        b = _src1(v, x, f, form, sew, vl, key)
        c = v.mask(vl).astype(np.int64) if carry_in else np.zeros(vl, dtype=np.int64)
        if key in ("vadc", "vmadc"):
            r = a + b + c
            out = r >> sew
        else:
            r = a - b - c
            out = (r < 0).astype(np.int64)
        if produces_mask:
            v.put_mask(rd, out.astype(bool), start, vl, None)
        else:
            v.put(rd, sew, r, start, vl, None)
        return nxt

    return fn


def _merge(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    form, key = op.d.vinfo["form"], op.d.key
    is_move = op.d.vinfo["kind"] == "move"

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if not (
            _emul_ok(rd, lmul) and (is_move or _emul_ok(rs2, lmul)) and (form != "V" or _emul_ok(rs1, lmul))
        ):
            raise _illegal(f"{op.d.name}: register numbers must be multiples of LMUL={_lm(lmul)}", word)
        if not is_move and rd == 0:
            raise _illegal(f"{op.d.name}: the destination cannot be v0 (it holds the mask)", word)
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        b = _src1(v, x, f, form, sew, vl, key)
        if is_move:
            r = b
        else:
            r = np.where(v.mask(vl), b, v.get(rs2, sew, vl, False))
        v.put(rd, sew, r, start, vl, None)
        return nxt

    return fn


def _narrow(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key, form = op.d.key, op.d.vinfo["form"]

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if sew * 2 > 32 or lmul * 2 > 8:
            raise _illegal(
                f"{op.d.name}: the source is 2*SEW wide and 2*LMUL long; needs SEW <= 16 and LMUL <= 4", word
            )
        if not (_emul_ok(rd, lmul) and _emul_ok(rs2, lmul * 2) and (form != "V" or _emul_ok(rs1, lmul))):
            raise _illegal(f"{op.d.name}: register numbers must be multiples of their group sizes", word)
        _check_narrow_overlap(op, rd, lmul, rs2, lmul * 2, word)
        if not vm and rd == 0:
            raise _illegal(f"{op.d.name}: a masked instruction cannot write v0 (the mask)", word)
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        wide = 2 * sew
        a = v.get(rs2, wide, vl, key in ("vnsra", "vnclip"))
        b = _src1(v, x, f, form, sew, vl, key) & (wide - 1)
        active = None if vm else v.mask(vl)
        if key in ("vnsrl", "vnsra"):
            r = a >> b
        else:
            r = roundoff(a, b, v.vxrm)
            lo, hi = (-(1 << (sew - 1)), (1 << (sew - 1)) - 1) if key == "vnclip" else (0, (1 << sew) - 1)
            sat = (r < lo) | (r > hi)
            r = np.clip(r, lo, hi)
            flags = sat if active is None else sat & active
            if flags[start:vl].any():
                v.vxsat = 1
        v.put(rd, sew, r, start, vl, active)
        return nxt

    return fn


def _check_narrow_overlap(op: Op, rd: int, nd: float, rs: int, ns: float, word: int) -> None:
    """Destination EEW smaller than the source's: overlap allowed only in the source's lowest part."""
    d, s = max(1, int(nd)), max(1, int(ns))
    if _groups_overlap(rd, d, rs, s) and rd != rs:
        raise _illegal(
            f"{op.d.name}: v{rd} overlaps the wider source group v{rs} other than at its start", word
        )


def _check_widen_overlap(op: Op, rd: int, nd: float, rs: int, ns: float, word: int) -> None:
    """Destination EEW larger than the source's: overlap allowed only in the destination's highest part
    (and only when the source LMUL is at least 1)."""
    d, s = max(1, int(nd)), max(1, int(ns))
    if not _groups_overlap(rd, d, rs, s):
        return
    if ns >= 1 and rs == rd + d - s:
        return
    raise _illegal(f"{op.d.name}: the wide destination v{rd} overlaps the source group v{rs}", word)


def _wide(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key, form, kind = op.d.key, op.d.vinfo["form"], op.d.vinfo["kind"]
    base = key[:-2] if key.endswith("_w") else key
    signed = base in ("vwadd", "vwsub", "vwmul")
    sign_a = signed or base == "vwmulsu"

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if sew * 2 > 32 or lmul * 2 > 8:
            raise _illegal(
                f"{op.d.name}: the result is 2*SEW wide and 2*LMUL long; needs SEW <= 16 and LMUL <= 4", word
            )
        wide_a = kind == "wide_w"
        if not (
            _emul_ok(rd, 2 * lmul)
            and _emul_ok(rs2, 2 * lmul if wide_a else lmul)
            and (form != "V" or _emul_ok(rs1, lmul))
        ):
            raise _illegal(f"{op.d.name}: register numbers must be multiples of their group sizes", word)
        if not wide_a:
            _check_widen_overlap(op, rd, 2 * lmul, rs2, lmul, word)
        if form == "V":
            _check_widen_overlap(op, rd, 2 * lmul, rs1, lmul, word)
        if not vm and rd == 0:
            raise _illegal(f"{op.d.name}: a masked instruction cannot write v0 (the mask)", word)
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        wide = 2 * sew
        a = v.get(rs2, wide, vl, signed) if wide_a else v.get(rs2, sew, vl, sign_a)
        if form == "V":
            b = v.get(rs1, sew, vl, signed)
        else:
            raw = x[rs1] & ((1 << sew) - 1)
            b = np.full(vl, _s(np.int64(raw), sew) if signed else raw, dtype=np.int64)
        if base in ("vwadd", "vwaddu"):
            r = a + b
        elif base in ("vwsub", "vwsubu"):
            r = a - b
        else:
            r = a * b
        v.put(rd, wide, r, start, vl, None if vm else v.mask(vl))
        return nxt

    return fn


def _wmac(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key, form = op.d.key, op.d.vinfo["form"]
    sign_src = key in ("vwmacc", "vwmaccsu")
    sign_vs2 = key in ("vwmacc", "vwmaccus")
    legal: set = set()
    views = v.views
    wide_dt = {8: np.int16, 16: np.int32}

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if (sew, lmul) not in legal:
            if sew * 2 > 32 or lmul * 2 > 8:
                raise _illegal(
                    f"{op.d.name}: the result is 2*SEW wide and 2*LMUL long; needs SEW <= 16 and LMUL <= 4",
                    word,
                )
            if not (_emul_ok(rd, 2 * lmul) and _emul_ok(rs2, lmul) and (form != "V" or _emul_ok(rs1, lmul))):
                raise _illegal(f"{op.d.name}: register numbers must be multiples of their group sizes", word)
            _check_widen_overlap(op, rd, 2 * lmul, rs2, lmul, word)
            if form == "V":
                _check_widen_overlap(op, rd, 2 * lmul, rs1, lmul, word)
            if not vm and rd == 0:
                raise _illegal(f"{op.d.name}: a masked instruction cannot write v0 (the mask)", word)
            legal.add((sew, lmul))
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        wide = 2 * sew
        if vm and not start:
            per, per_w = 128 // sew, 64 // sew
            dt = wide_dt[sew]
            acc = views[(wide, True)][rd * per_w : rd * per_w + vl]
            b = views[(sew, sign_vs2)][rs2 * per : rs2 * per + vl]
            if form == "V":
                a = views[(sew, sign_src)][rs1 * per : rs1 * per + vl].astype(dt)
            else:
                raw = x[rs1] & ((1 << sew) - 1)
                if sign_src and raw >> (sew - 1):
                    raw -= 1 << sew
                a = dt(raw)
            acc += b * a  # b (SEW) times a (2*SEW) promotes to 2*SEW; wraps like the hardware
            return nxt
        if form == "V":
            a = v.get(rs1, sew, vl, sign_src)
        else:
            raw = x[rs1] & ((1 << sew) - 1)
            a = np.full(vl, _s(np.int64(raw), sew) if sign_src else raw, dtype=np.int64)
        b = v.get(rs2, sew, vl, sign_vs2)
        acc = v.get(rd, wide, vl, False)
        v.put(rd, wide, acc + a * b, start, vl, None if vm else v.mask(vl))
        return nxt

    return fn


def _ext(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    factor, signed = op.d.vinfo["factor"], op.d.vinfo["signed"]
    legal: set = set()
    views = v.views

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        src_eew, src_emul = sew // factor, lmul / factor
        if (sew, lmul) not in legal:
            if src_eew < 8 or src_emul < 0.125:
                raise _illegal(
                    f"{op.d.name}: the source would be {sew}/{factor}-bit with EMUL={src_emul:g}; "
                    f"set SEW to at least {8 * factor} first",
                    word,
                )
            if not (_emul_ok(rd, lmul) and _emul_ok(rs2, src_emul)):
                raise _illegal(f"{op.d.name}: register numbers must be multiples of their group sizes", word)
            _check_widen_overlap(op, rd, lmul, rs2, src_emul, word)
            if not vm and rd == 0:
                raise _illegal(f"{op.d.name}: a masked instruction cannot write v0 (the mask)", word)
            legal.add((sew, lmul))
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        if vm and not start:
            per_d, per_s = 128 // sew, 128 // src_eew
            views[(sew, signed)][rd * per_d : rd * per_d + vl] = views[(src_eew, signed)][
                rs2 * per_s : rs2 * per_s + vl
            ]
            return nxt
        a = v.get(rs2, src_eew, vl, signed)
        v.put(rd, sew, a, start, vl, None if vm else v.mask(vl))
        return nxt

    return fn


def _reduction(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key = op.d.key
    widening = op.d.vinfo["kind"] == "wreduction"

    def fn():
        v.require_valid(word)
        if v.vstart:
            raise _illegal(f"{op.d.name} requires vstart = 0", word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if widening and sew * 2 > 32:
            raise _illegal(f"{op.d.name}: the sum is 2*SEW wide; needs SEW <= 16", word)
        if not _emul_ok(rs2, lmul):
            raise _illegal(f"{op.d.name}: vs2 must be a multiple of LMUL={_lm(lmul)}", word)
        if vl == 0:
            return nxt
        out_eew = 2 * sew if widening else sew
        signed = key in ("vredmin", "vredmax", "vwredsum")
        a = v.get(rs2, sew, vl, signed)
        if not vm:
            a = a[v.mask(vl)]
        init = v.get(rs1, out_eew, 1, signed)[0]
        if key in ("vredsum", "vwredsum", "vwredsumu"):
            r = init + int(a.sum())
        elif key == "vredand":
            r = init
            for e in a:
                r &= int(e)
        elif key == "vredor":
            r = init
            for e in a:
                r |= int(e)
        elif key == "vredxor":
            r = init
            for e in a:
                r ^= int(e)
        elif key in ("vredminu", "vredmin"):
            r = min([int(init)] + [int(e) for e in a])
        else:
            r = max([int(init)] + [int(e) for e in a])
        v.put(rd, out_eew, np.array([r], dtype=np.int64), 0, 1, None)
        return nxt

    return fn


def _mask_logic(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key = op.d.key
    fn_ = {
        "vmand": lambda a, b: a & b,
        "vmnand": lambda a, b: ~(a & b),
        "vmandn": lambda a, b: a & ~b,
        "vmxor": lambda a, b: a ^ b,
        "vmor": lambda a, b: a | b,
        "vmnor": lambda a, b: ~(a | b),
        "vmorn": lambda a, b: a | ~b,
        "vmxnor": lambda a, b: ~(a ^ b),
    }[key]

    def fn():
        v.require_valid(word)
        vl = v.vl
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        a = v.mask_of(rs2, vl)
        b = v.mask_of(rs1, vl)
        v.put_mask(rd, fn_(a, b), start, vl, None)
        return nxt

    return fn


def _mask_scalar(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key = op.d.key

    def fn():
        v.require_valid(word)
        if v.vstart:
            raise _illegal(f"{op.d.name} requires vstart = 0", word)
        vl = v.vl
        bits = v.mask_of(rs2, vl)
        if not vm:
            bits = bits & v.mask(vl)
        if key == "vcpop":
            r = int(bits.sum())
        else:
            idx = np.flatnonzero(bits)
            r = int(idx[0]) if idx.size else -1
        if rd:
            x[rd] = r & M32
        return nxt

    return fn


def _mask_unary(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    key = op.d.key

    def fn():
        v.require_valid(word)
        if v.vstart:
            raise _illegal(f"{op.d.name} requires vstart = 0", word)
        if rd == rs2 or (not vm and rd == 0):
            raise _illegal(f"{op.d.name}: the destination cannot overlap the source or the mask", word)
        vl = v.vl
        if vl == 0:
            return nxt
        active = np.ones(vl, dtype=bool) if vm else v.mask(vl)
        src = v.mask_of(rs2, vl) & active
        idx = np.flatnonzero(src)
        first = int(idx[0]) if idx.size else vl
        pos = np.arange(vl)
        if key == "vmsbf":
            out = pos < first
        elif key == "vmsif":
            out = pos <= first
        else:
            out = pos == first
        v.put_mask(rd, out, 0, vl, None if vm else active)
        return nxt

    return fn


def _iota(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)

    def fn():
        v.require_valid(word)
        if v.vstart:
            raise _illegal(f"{op.d.name} requires vstart = 0", word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if not _emul_ok(rd, lmul) or _groups_overlap(rd, max(1, int(lmul)), rs2, 1) or (not vm and rd == 0):
            raise _illegal(f"{op.d.name}: vd must be a multiple of LMUL and overlap neither vs2 nor v0", word)
        if vl == 0:
            return nxt
        active = None if vm else v.mask(vl)
        src = v.mask_of(rs2, vl) if vm else v.mask_of(rs2, vl) & active
        counts = np.concatenate([[0], np.cumsum(src)[:-1]]).astype(np.int64)
        v.put(rd, sew, counts, 0, vl, active)
        return nxt

    return fn


def _vid(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if not _emul_ok(rd, lmul) or (not vm and rd == 0):
            raise _illegal(f"{op.d.name}: vd must be a multiple of LMUL and not v0 when masked", word)
        start = v.vstart
        v.vstart = 0
        v.put(rd, sew, np.arange(vl, dtype=np.int64), start, vl, None if vm else v.mask(vl))
        return nxt

    return fn


def _to_scalar(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)

    def fn():
        v.require_valid(word)
        sew = v.sew
        value = int(v.get(rs2, sew, 1, True)[0])
        if rd:
            x[rd] = value & M32
        v.vstart = 0
        return nxt

    return fn


def _from_scalar(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)

    def fn():
        v.require_valid(word)
        sew, vl = v.sew, v.vl
        if v.vstart < vl:
            v.put(rd, sew, np.array([x[rs1]], dtype=np.int64), 0, 1, None)
        v.vstart = 0
        return nxt

    return fn


def _slide(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    kind, form = op.d.vinfo["kind"], op.d.vinfo.get("form", "X")

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        n = max(1, int(lmul))
        if not (_emul_ok(rd, lmul) and _emul_ok(rs2, lmul)):
            raise _illegal(f"{op.d.name}: register numbers must be multiples of LMUL={_lm(lmul)}", word)
        if kind in ("slideup", "slide1up") and _groups_overlap(rd, n, rs2, n):
            raise _illegal(f"{op.d.name}: the destination cannot overlap the source", word)
        if not vm and rd == 0:
            raise _illegal(f"{op.d.name}: a masked instruction cannot write v0 (the mask)", word)
        start = v.vstart
        v.vstart = 0
        vlmax = v.vlmax
        active = None if vm else v.mask(vl)
        if kind in ("slide1up", "slide1down"):
            scalar = x[rs1] & ((1 << sew) - 1)
            src = v.get(rs2, sew, vlmax, False)
            if kind == "slide1up":
                r = np.concatenate([[scalar], src[: vl - 1]]) if vl else src[:0]
            else:
                r = np.concatenate([src[1:vl], [scalar]]) if vl else src[:0]
            v.put(rd, sew, r.astype(np.int64), start, vl, active)
            return nxt
        offset = x[rs1] if form == "X" else f.uimm5
        if kind == "slideup":
            lo = max(start, min(offset, vl))
            if lo >= vl:
                return nxt
            src = v.get(rs2, sew, vl, False)
            r = np.zeros(vl, dtype=np.int64)
            r[lo:] = src[lo - offset : vl - offset]
            v.put(rd, sew, r, lo, vl, active)
        else:
            src = v.get(rs2, sew, vlmax, False)
            idx = np.arange(vl, dtype=np.int64) + offset
            r = np.where(idx < vlmax, src[np.minimum(idx, vlmax - 1)], 0)
            v.put(rd, sew, r, start, vl, active)
        return nxt

    return fn


def _gather(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    kind, form = op.d.vinfo["kind"], op.d.vinfo.get("form", "V")

    def fn():
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        n = max(1, int(lmul))
        idx_emul = lmul * 16 / sew if kind == "gather16" else lmul
        if not (_emul_ok(rd, lmul) and _emul_ok(rs2, lmul) and (form != "V" or _emul_ok(rs1, idx_emul))):
            raise _illegal(f"{op.d.name}: register numbers must be multiples of their group sizes", word)
        if _groups_overlap(rd, n, rs2, n) or (
            form == "V" and _groups_overlap(rd, n, rs1, max(1, int(idx_emul)))
        ):
            raise _illegal(f"{op.d.name}: the destination cannot overlap the sources", word)
        if not vm and rd == 0:
            raise _illegal(f"{op.d.name}: a masked instruction cannot write v0 (the mask)", word)
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            return nxt
        vlmax = v.vlmax
        src = v.get(rs2, sew, vlmax, False)
        if form == "V":
            index = v.get(rs1, 16 if kind == "gather16" else sew, vl, False)
        else:
            index = np.full(vl, x[rs1] if form == "X" else f.uimm5, dtype=np.int64)
        r = np.where(index < vlmax, src[np.minimum(index, vlmax - 1)], 0)
        v.put(rd, sew, r, start, vl, None if vm else v.mask(vl))
        return nxt

    return fn


def _compress(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)

    def fn():
        v.require_valid(word)
        if v.vstart:
            raise _illegal(f"{op.d.name} requires vstart = 0", word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        n = max(1, int(lmul))
        if (
            not (_emul_ok(rd, lmul) and _emul_ok(rs2, lmul))
            or _groups_overlap(rd, n, rs2, n)
            or _groups_overlap(rd, n, rs1, 1)
        ):
            raise _illegal(
                f"{op.d.name}: vd must be a multiple of LMUL and overlap neither vs2 nor vs1", word
            )
        if vl == 0:
            return nxt
        src = v.get(rs2, sew, vl, False)
        picked = src[v.mask_of(rs1, vl)]
        v.put(rd, sew, picked, 0, len(picked), None)
        return nxt

    return fn


def _whole_move(m: Machine, op: Op):
    v, x, f, rd, rs2, rs1, vm, nxt, word = _common(m, op)
    nr = op.d.vinfo["nr"]

    def fn():
        if rd % nr or rs2 % nr:
            raise _illegal(f"{op.d.name}: register numbers must be multiples of {nr}", word)
        v.vrf[rd * VLENB : (rd + nr) * VLENB] = v.vrf[rs2 * VLENB : (rs2 + nr) * VLENB].copy()
        v.vstart = 0
        return nxt

    return fn


_KINDS = {
    "binary": _binary,
    "compare": _compare,
    "mac": _mac,
    "carry": _carry,
    "carry_out": _carry,
    "merge": _merge,
    "move": _merge,
    "narrow": _narrow,
    "wide": _wide,
    "wide_w": _wide,
    "wmac": _wmac,
    "ext": _ext,
    "reduction": _reduction,
    "wreduction": _reduction,
    "mask_logic": _mask_logic,
    "mask_scalar": _mask_scalar,
    "mask_unary": _mask_unary,
    "iota": _iota,
    "vid": _vid,
    "to_scalar": _to_scalar,
    "from_scalar": _from_scalar,
    "slideup": _slide,
    "slidedown": _slide,
    "slide1up": _slide,
    "slide1down": _slide,
    "gather": _gather,
    "gather16": _gather,
    "compress": _compress,
    "whole_move": _whole_move,
}


# ---------------------------------------------------------------------------- loads and stores


class VMemAccess:
    """What a vector memory instruction touched, for the timing model: per register (uop) the
    number of distinct 16-byte lines and whether any are external."""

    __slots__ = ("lines", "external", "uops")

    def __init__(self):
        self.lines: list[int] = []
        self.external = False
        self.uops = 0


def _vmem(m: Machine, op: Op):
    v, x, f = m.v, m.x, op.f
    d = op.d
    eew, nf, mode = d.vinfo["eew"], d.vinfo["nf"], d.vinfo["mode"]
    store = d.key.startswith("vs_")
    reg, rs1, rs2, vm, word, nxt = f.rd, f.rs1, f.rs2, f.vm, op.word, op.pc + 4
    access = VMemAccess()
    m_access = m  # the timing model reads m.vmem after each vector memory instruction

    def fn():
        base = x[rs1]
        if mode == "whole":
            nregs = nf
            if reg % nregs:
                raise _illegal(f"{d.name}: the register number must be a multiple of {nregs}", word)
            start = v.vstart * (eew // 8)
            _contiguous(m, d.name, reg, base, start, nregs * VLENB, nregs, store, access)
            v.vstart = 0
            m_access.vmem = access
            return nxt
        v.require_valid(word)
        sew, vl, lmul = v.sew, v.vl, v.lmul
        if mode == "mask":
            _contiguous(m, d.name, reg, base, v.vstart, (vl + 7) // 8, 1, store, access)
            v.vstart = 0
            m_access.vmem = access
            return nxt
        if mode == "unit" and nf == 1 and vm:
            emul = eew / sew * lmul
            if emul < 0.125 or emul > 8:
                raise _illegal(
                    f"{d.name}: EEW={eew} with SEW={sew}, LMUL={_lm(lmul)} gives an illegal register "
                    "group size",
                    word,
                )
            group = max(1, int(emul))
            if reg % group:
                raise _illegal(f"{d.name}: v{reg} must be a multiple of EMUL={_lm(emul)}", word)
            start = v.vstart
            v.vstart = 0
            size = eew // 8
            if start < vl:
                _contiguous(
                    m, d.name, reg, base + start * size, start * size, vl * size, group, store, access
                )
            else:
                access.lines, access.uops, access.external = [0] * group, group, False
            m_access.vmem = access
            return nxt
        if mode == "indexed":
            data_eew, emul, idx_emul = sew, lmul, eew / sew * lmul
        else:
            data_eew, emul, idx_emul = eew, eew / sew * lmul, 0
        if (
            emul < 0.125
            or emul > 8
            or nf * max(1, emul) > 8
            or (idx_emul and (idx_emul < 0.125 or idx_emul > 8))
        ):
            raise _illegal(
                f"{d.name}: EEW={eew} with SEW={sew}, LMUL={_lm(lmul)} gives an illegal register group size",
                word,
            )
        group = max(1, int(emul))
        if reg % group or reg + nf * group > 32:
            raise _illegal(
                f"{d.name}: v{reg} must be a multiple of EMUL={_lm(emul)} and the {nf} field group(s) "
                "must fit v0..v31",
                word,
            )
        if mode == "indexed":
            igroup = max(1, int(idx_emul))
            if rs2 % igroup:
                raise _illegal(f"{d.name}: the index register must be a multiple of its EMUL", word)
            if not store:
                for k in range(nf):
                    dst = reg + k * group
                    if _groups_overlap(dst, group, rs2, igroup):
                        if eew > data_eew or (eew < data_eew and rs2 != dst + group - igroup) or nf > 1:
                            raise _illegal(f"{d.name}: the destination overlaps the index registers", word)
        if not vm and not store and reg == 0:
            raise _illegal(f"{d.name}: a masked load cannot write v0 (the mask)", word)
        start = v.vstart
        v.vstart = 0
        if start >= vl:
            access.lines, access.uops = [], 0
            m_access.vmem = access
            return nxt
        size = data_eew // 8
        elems = np.arange(vl, dtype=np.int64)
        if mode in ("unit", "ff"):
            offsets = elems * (size * nf)
        elif mode == "strided":
            stride = x[rs2]
            stride = stride - (1 << 32) if stride & 0x80000000 else stride
            offsets = elems * stride
        else:
            offsets = v.get(rs2, eew, vl, False)
        active = None if vm else v.mask(vl)
        for k in range(nf):
            addrs = (base + offsets + k * size) & M32
            trimmed = _transfer(
                m,
                d.name,
                reg + k * group,
                data_eew,
                addrs,
                start,
                vl,
                active,
                store,
                group,
                access,
                first_only=(mode == "ff"),
                field=k,
                nf=nf,
            )
            if trimmed is not None:
                v.vl = trimmed
                v._applied = None
                v.ukey = ukey_of(v.sew, v.lmul_eff, trimmed)
                v.vkey = ukey_of(v.sew, v.lmul, trimmed)
                vl = trimmed
        m_access.vmem = access
        return nxt

    return fn


def _contiguous(
    m: Machine,
    name: str,
    reg: int,
    address: int,
    lo: int,
    hi: int,
    nregs: int,
    store: bool,
    access: VMemAccess,
) -> None:
    """Bytes [lo, hi) of the register group at reg to or from memory starting at address (the
    address of byte lo); the common unit-stride case without per-element work."""
    n = hi - lo
    lines = [0] * nregs
    access.lines, access.uops, access.external = lines, nregs, False
    if n <= 0:
        return
    mem = m.mem
    address &= M32
    c = m.config
    off = address - c.dtcm_base
    if 0 <= off and off + n <= c.dtcm_size:
        rid = 1
    else:
        off = address - c.ext_base
        if 0 <= off and off + n <= c.ext_size:
            rid = EXT
        else:
            rid = -1
    try:
        if rid < 0:
            rid, off = mem.region(address, n, store)
    except MemoryFault as e:
        # Find the first element that faults, as the element-wise path reports it.
        cause, kind = (CAUSE_STORE_ACCESS, "store_access") if store else (CAUSE_LOAD_ACCESS, "load_access")
        raise Trap(cause, address, f"{name} at {address:#010x} ({n} bytes): {e.why}", kind) from None
    start = reg * VLENB + lo
    vrf = m.v.vrf
    buf = mem.np[rid]
    if store:
        buf[off : off + n] = vrf[start : start + n]
        if rid == EXT:
            mem.ext_written_np[off : off + n] = 1
    else:
        vrf[start : start + n] = buf[off : off + n]
    base = address - lo
    if nregs == 1:
        lines[0] = ((base + hi - 1) >> 4) - ((base + lo) >> 4) + 1
    else:
        for r in range(nregs):
            a = lo if lo > r * VLENB else r * VLENB
            b = hi if hi < (r + 1) * VLENB else (r + 1) * VLENB
            if b > a:
                lines[r] = ((base + b - 1) >> 4) - ((base + a) >> 4) + 1
    access.external = rid == EXT


def _transfer(
    m: Machine,
    name: str,
    reg: int,
    eew: int,
    addrs: np.ndarray,
    start: int,
    end: int,
    active: np.ndarray | None,
    store: bool,
    group: int,
    access: VMemAccess,
    *,
    whole: bool = False,
    first_only: bool = False,
    field: int = 0,
    nf: int = 1,
) -> int | None:
    """Move elements [start, end) between the register group at reg and memory at addrs.

    Faults on the first active element outside memory; a fault-only-first load trims vl instead
    when the faulting element is not element 0 (returns the new vl)."""
    v, mem = m.v, m.mem
    size = eew // 8
    sel = np.arange(len(addrs)) >= start
    sel &= np.arange(len(addrs)) < end
    if active is not None:
        sel[: len(active)] &= active
        sel[len(active) :] = False
    idx = np.flatnonzero(sel)
    if field == 0:
        access.lines = []
        access.external = False
        access.uops = 0
    if idx.size == 0:
        return None
    a = addrs[idx]
    regions = _classify(mem, a, size, store)
    bad = np.flatnonzero(regions < 0)
    new_vl = None
    if bad.size:
        first_bad = int(idx[bad[0]])
        if first_only and first_bad > 0:
            new_vl = first_bad
            keep = idx < first_bad
            idx, a, regions = idx[keep], a[keep], regions[keep]
        else:
            addr = int(a[bad[0]])
            try:
                mem.region(addr, size, store)
                why = "inaccessible"
            except MemoryFault as e:
                why = e.why
            cause, kind = (
                (CAUSE_STORE_ACCESS, "store_access") if store else (CAUSE_LOAD_ACCESS, "load_access")
            )
            raise Trap(cause, addr, f"{name} element {first_bad} at {addr:#010x}: {why}", kind)
    per = VLENB // size
    # timing: distinct 16-byte lines per register of the group
    nregs = max(1, group) if not whole else max(1, (end * size + VLENB - 1) // VLENB)
    firsts = (a >> 4).tolist()
    lasts = ((a + (size - 1)) >> 4).tolist() if size > 1 else firsts
    regs_of = (idx // per).tolist()
    seen: list[set] = [set() for _ in range(nregs)]
    for r, lo_line, hi_line in zip(regs_of, firsts, lasts, strict=True):
        if r < nregs:
            seen[r].add(lo_line)
            seen[r].add(hi_line)
    lines_per_reg = [len(lines) for lines in seen]
    access.lines.extend(lines_per_reg)
    access.uops += len(lines_per_reg)
    view = v.views[(eew, False)]
    base_elem = reg * (VLENB * 8 // eew)
    positions_all = base_elem + idx
    single = bool((regions == regions[0]).all())
    for rid in [int(regions[0])] if single else np.unique(regions).tolist():
        if rid == EXT:
            access.external = True
        if single:
            offs0, positions = a - mem.bases[rid], positions_all
        else:
            sel_r = regions == rid
            offs0, positions = a[sel_r] - mem.bases[rid], positions_all[sel_r]
        buf = mem.np[rid]
        if size == 1:
            if store:
                buf[offs0] = view[positions]
                if rid == EXT:
                    mem.ext_written_np[offs0] = 1
            else:
                view[positions] = buf[offs0]
            continue
        offs = offs0[:, None] + _BYTE_OFFSETS[size]
        if store:
            buf[offs] = view[positions].view(np.uint8).reshape(-1, size)
            if rid == EXT:
                mem.ext_written_np[offs.ravel()] = 1
        else:
            view[positions] = np.ascontiguousarray(buf[offs]).view(view.dtype).ravel()
    return new_vl


_BYTE_OFFSETS = {2: np.arange(2, dtype=np.int64)[None, :], 4: np.arange(4, dtype=np.int64)[None, :]}


def _classify(mem, addrs: np.ndarray, size: int, store: bool) -> np.ndarray:
    """Region id per access (-1 when it faults)."""
    out = np.full(len(addrs), -1, dtype=np.int64)
    for rid in (1, 2, 0):
        base, limit = mem.bases[rid], mem.sizes[rid]
        ok = (addrs >= base) & (addrs + size <= base + limit)
        if rid == 0 and store:
            continue
        out[ok & (out < 0)] = rid
    return out


__all__ = ["VectorUnit", "build_vector", "REQUIRES_VSTART0", "roundoff"]
