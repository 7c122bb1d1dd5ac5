"""Shortcuts for the vector instructions kernels run most, unmasked at vstart = 0.

vector.py gives every instruction its general semantics: legality checks, masks, vstart,
operands widened to int64, results written back through a mask. Once an instruction has run
cleanly in a configuration (SEW, LMUL, vl), its register groups, element views and legality
are fixed for every later run in that configuration, so a shortcut made for it does only the
arithmetic, on NumPy views of the register file in the element type (wrap-around in that type
is the instruction's semantics). Anything a shortcut does not cover (masks, vstart != 0, a
configuration not seen yet, an address outside DTCM and external memory) takes the general
path. Tests run random programs with shortcuts on and off and require identical state.
"""

from __future__ import annotations

import struct

import numpy as np

FAST_PATHS = True  # tests turn shortcuts off to compare them with the general semantics

_SIGNED_RESULT = {"vmin", "vmax", "vsra"}  # binary operations on signed elements
_SHIFTS = {"vsll", "vsrl", "vsra"}
_UFUNC = {
    "vadd": np.add,
    "vsub": np.subtract,
    "vand": np.bitwise_and,
    "vor": np.bitwise_or,
    "vxor": np.bitwise_xor,
    "vminu": np.minimum,
    "vmaxu": np.maximum,
    "vmin": np.minimum,
    "vmax": np.maximum,
    "vmul": np.multiply,
    "vsll": np.left_shift,
    "vsrl": np.right_shift,
    "vsra": np.right_shift,
}
_WIDE = {8: np.int16, 16: np.int32}


def wrap(m, op, general):
    """The instruction's function: its shortcut where one applies, else `general`."""
    if not FAST_PATHS:
        return general
    maker = _maker(m, op, general)
    if maker is None:
        return general
    v = m.v
    shortcuts: dict = {}

    def fn():
        short = shortcuts.get(v.vkey)
        if short is not None and not v.vstart:
            return short()
        npc = general()
        if v.vl:  # (never cached at vl = 0, so an illegal vtype, which forces vl = 0, always traps)
            key = v.vkey
            if key not in shortcuts:
                shortcuts[key] = maker()
        return npc

    fn.shortcuts = shortcuts  # compiled blocks look the shortcut up themselves (fast.py)
    return fn


def _maker(m, op, general):
    d, f = op.d, op.f
    if not f.vm:
        return None
    key = d.key
    if key.startswith(("vl_", "vs_")):
        info = d.vinfo
        if info["mode"] == "unit" and info["nf"] == 1:
            return _unit_stride(m, op, general)
        if info["mode"] == "indexed" and info["nf"] == 1 and key.startswith("vl_"):
            return _indexed_load(m, op, general)
        return None
    kind = d.vinfo.get("kind", "binary")
    if kind == "binary":
        if key in _UFUNC or key == "vrsub":
            return _binary(m, op)
        if key == "vsmul":
            return _vsmul(m, op)
        if key in ("vssra", "vssrl"):
            return _scaling_shift(m, op)
        return None
    if kind == "wmac":
        return _wmac(m, op)
    if kind == "ext":
        return _ext(m, op)
    if kind == "move":
        return _move(m, op)
    if kind == "narrow" and key in ("vnsrl", "vnsra"):
        return _narrow_shift(m, op)
    if kind in ("reduction", "wreduction"):
        return _reduction(m, op)
    return None


def _group(v, reg: int, eew: int, signed: bool, count: int):
    """Elements 0..count-1 of the register group at reg, as a view of the register file."""
    per = 128 // eew
    return v.views[(eew, signed)][reg * per : reg * per + count]


def _scalar(f, form: str, uimm: bool, sew: int) -> int:
    """The immediate operand as the general path reads it (unsigned SEW-bit)."""
    return f.uimm5 if uimm else f.simm5 & ((1 << sew) - 1)


# ---------------------------------------------------------------------------- arithmetic


def _binary(m, op):
    v, x, f = m.v, m.x, op.f
    key, form = op.d.key, op.d.vinfo["form"]
    rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4
    ufunc = _UFUNC.get(key, np.subtract)
    signed = key in _SIGNED_RESULT
    shift = key in _SHIFTS
    reverse = key == "vrsub"
    from .vector import _UIMM

    uimm = key in _UIMM

    def make():
        sew, vl = v.sew, v.vl
        a = _group(v, rs2, sew, signed, vl)
        out = _group(v, rd, sew, signed, vl)
        smask, top, full = (1 << sew) - 1, 1 << (sew - 1), 1 << sew
        if form == "V":
            b = _group(v, rs1, sew, signed, vl)
            if shift:
                amount = sew - 1

                def short():
                    ufunc(a, b & amount, out=out)
                    return nxt
            else:

                def short():
                    ufunc(a, b, out=out)
                    return nxt

            return short

        # The scalar operand as an array of vl copies in the element type: NumPy combines two
        # arrays of one type faster than an array and a scalar, and the value (the operand
        # reduced to the element type, as the general path reduces it) is the same. A register
        # operand is refilled only when the register changes (loops keep theirs).
        operand = np.empty(vl, dtype=out.dtype)
        amount = sew - 1

        def element(raw: int) -> int:
            if shift:
                return raw & amount
            r = raw & smask
            return r - full if signed and r & top else r

        if form == "I":
            operand.fill(element(_scalar(f, form, uimm, sew)))
            if reverse:

                def short():
                    np.subtract(operand, a, out=out)
                    return nxt
            else:

                def short():
                    ufunc(a, operand, out=out)
                    return nxt

            return short
        last = [None]  # the register value the operand holds

        if reverse:

            def short():
                raw = x[rs1]
                if raw != last[0]:
                    last[0] = raw
                    operand.fill(element(raw))
                np.subtract(operand, a, out=out)
                return nxt
        else:

            def short():
                raw = x[rs1]
                if raw != last[0]:
                    last[0] = raw
                    operand.fill(element(raw))
                ufunc(a, operand, out=out)
                return nxt

        return short

    return make


def round_shift(value: np.ndarray, d: int, vxrm: int) -> np.ndarray:
    """vector.roundoff for one shift amount d: (value >> d) rounded per vxrm."""
    if d == 0:
        return value
    shifted = value >> d
    if vxrm == 2:  # rdn
        return shifted
    half = (value >> (d - 1)) & 1
    if vxrm == 0:  # rnu
        return shifted + half
    if vxrm == 1:  # rne
        below = (value & ((1 << (d - 1)) - 1)) != 0
        return shifted + (half & (below | (shifted & 1).astype(bool)))
    lost = (value & ((1 << d) - 1)) != 0  # rod
    return shifted + (((shifted & 1) == 0) & lost)


def _vsmul(m, op):
    v, x, f = m.v, m.x, op.f
    form = op.d.vinfo["form"]
    rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4
    if form == "I":  # (vsmul has no immediate form)
        return None

    def make():
        sew, vl = v.sew, v.vl
        a = _group(v, rs2, sew, True, vl)
        out = _group(v, rd, sew, False, vl)
        d, hi = sew - 1, (1 << (sew - 1)) - 1
        smask, top, full = (1 << sew) - 1, 1 << (sew - 1), 1 << sew
        b = _group(v, rs1, sew, True, vl) if form == "V" else None

        def short():
            if b is None:
                raw = x[rs1] & smask
                product = a.astype(np.int64) * (raw - full if raw & top else raw)
            else:
                product = a.astype(np.int64) * b
            r = round_shift(product, d, v.vxrm)
            over = r > hi  # only (-2^(sew-1))^2 overflows
            if over.any():
                v.vxsat = 1
                r = np.minimum(r, hi)
            out[:] = r
            return nxt

        return short

    return make


def _scaling_shift(m, op):
    v, x, f = m.v, m.x, op.f
    key, form = op.d.key, op.d.vinfo["form"]
    rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4
    signed = key == "vssra"

    def make():
        sew, vl = v.sew, v.vl
        a = _group(v, rs2, sew, signed, vl)
        out = _group(v, rd, sew, False, vl)
        amount = sew - 1
        if form == "V":
            from .vector import roundoff

            b = _group(v, rs1, sew, False, vl)

            def short():
                out[:] = roundoff(a.astype(np.int64), (b & amount).astype(np.int64), v.vxrm)
                return nxt

            return short
        if form == "I":
            d = _scalar(f, form, True, sew) & amount

            def short():
                out[:] = round_shift(a.astype(np.int64), d, v.vxrm)
                return nxt

            return short

        def short():
            out[:] = round_shift(a.astype(np.int64), x[rs1] & amount, v.vxrm)
            return nxt

        return short

    return make


def _wmac(m, op):
    v, x, f = m.v, m.x, op.f
    key, form = op.d.key, op.d.vinfo["form"]
    rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4
    sign_src = key in ("vwmacc", "vwmaccsu")
    sign_vs2 = key in ("vwmacc", "vwmaccus")
    multiply, add = np.multiply, np.add

    def make():
        sew, vl = v.sew, v.vl
        wide = _WIDE[sew]
        acc = _group(v, rd, 2 * sew, True, vl)
        b = _group(v, rs2, sew, sign_vs2, vl)
        product = np.empty(vl, dtype=wide)
        if form == "V":
            a = _group(v, rs1, sew, sign_src, vl)

            def short():
                multiply(b, a, out=product, dtype=wide)
                add(acc, product, out=acc)
                return nxt

            return short
        smask, top, full = (1 << sew) - 1, 1 << (sew - 1), 1 << sew
        # The scalar as vl copies in the wide type (faster for NumPy than a Python int operand,
        # the same product), refilled only when the register changes.
        operand = np.empty(vl, dtype=wide)
        last = [None]

        def short():
            raw = x[rs1]
            if raw != last[0]:
                last[0] = raw
                r = raw & smask
                operand.fill(r - full if sign_src and r & top else r)
            multiply(b, operand, out=product, dtype=wide)  # wraps in 2*SEW bits like the hardware
            add(acc, product, out=acc)
            return nxt

        return short

    return make


def _ext(m, op):
    v, f = m.v, op.f
    rd, rs2, nxt = f.rd, f.rs2, op.pc + 4
    factor, signed = op.d.vinfo["factor"], op.d.vinfo["signed"]

    def make():
        sew, vl = v.sew, v.vl
        out = _group(v, rd, sew, signed, vl)
        src = _group(v, rs2, sew // factor, signed, vl)

        def short():
            out[:] = src
            return nxt

        return short

    return make


def _move(m, op):
    v, x, f = m.v, m.x, op.f
    form = op.d.vinfo["form"]
    rd, rs1, nxt = f.rd, f.rs1, op.pc + 4

    def make():
        sew, vl = v.sew, v.vl
        out = _group(v, rd, sew, False, vl)
        if form == "V":
            src = _group(v, rs1, sew, False, vl)

            def short():
                out[:] = src
                return nxt

            return short
        if form == "I":
            c = _scalar(f, form, False, sew)

            def short():
                out[:] = c
                return nxt

            return short
        smask = (1 << sew) - 1

        def short():
            out[:] = x[rs1] & smask
            return nxt

        return short

    return make


def _narrow_shift(m, op):
    v, x, f = m.v, m.x, op.f
    key, form = op.d.key, op.d.vinfo["form"]
    rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4
    signed = key == "vnsra"

    def make():
        sew, vl = v.sew, v.vl
        src = _group(v, rs2, 2 * sew, signed, vl)
        out = _group(v, rd, sew, False, vl)
        amount = 2 * sew - 1
        if form == "V":
            b = _group(v, rs1, sew, False, vl)

            def short():
                out[:] = src >> (b & amount)
                return nxt

            return short
        if form == "I":
            c = _scalar(f, form, True, sew) & amount
            if c == 0:  # a plain narrowing (the usual way to narrow)

                def short():
                    out[:] = src
                    return nxt

                return short

            def short():
                out[:] = src >> c
                return nxt

            return short

        def short():
            out[:] = src >> (x[rs1] & amount)
            return nxt

        return short

    return make


def _reduction(m, op):
    v, f = m.v, op.f
    key = op.d.key
    rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4
    widening = op.d.vinfo["kind"] == "wreduction"
    signed = key in ("vredmin", "vredmax", "vwredsum")

    def make():
        sew, vl = v.sew, v.vl
        out_eew = 2 * sew if widening else sew
        a = _group(v, rs2, sew, signed, vl)
        init_view, init_at = v.views[(out_eew, signed)], rs1 * (128 // out_eew)
        out_view, out_at = v.views[(out_eew, False)], rd * (128 // out_eew)
        mask = (1 << out_eew) - 1
        # Short vectors reduce faster as Python ints (tolist, then a builtin) than in NumPy.
        item = init_view.item
        if key in ("vredsum", "vwredsum", "vwredsumu"):

            def short():
                out_view[out_at] = (item(init_at) + sum(a.tolist())) & mask
                return nxt

            return short
        if key in ("vredmax", "vredmaxu", "vredmin", "vredminu"):
            pick = max if key.startswith("vredmax") else min

            def short():
                out_view[out_at] = pick(item(init_at), pick(a.tolist())) & mask
                return nxt

            return short
        else:
            reduce = {"vredand": np.bitwise_and, "vredor": np.bitwise_or, "vredxor": np.bitwise_xor}[
                key
            ].reduce
            pair = {"vredand": int.__and__, "vredor": int.__or__, "vredxor": int.__xor__}[key]

            def combine():
                return pair(int(init_view[init_at]), int(reduce(a)))

        def short():
            out_view[out_at] = combine() & mask
            return nxt

        return short

    return make


# ---------------------------------------------------------------------------- memory


def _unit_stride(m, op, general):
    """vle<eew>.v / vse<eew>.v, one field: a copy between the register file and DTCM or external
    memory, and the lines per register the timing model charges."""
    v, x, f = m.v, m.x, op.f
    info = op.d.vinfo
    eew, store = info["eew"], op.d.key.startswith("vs_")
    reg, rs1, nxt = f.rd, f.rs1, op.pc + 4
    c, mem = m.config, m.mem
    from .vector import VLENB

    def make():
        sew, vl, lmul = v.sew, v.vl, v.lmul
        group = max(1, int(eew / sew * lmul))
        n = vl * (eew // 8)
        first = reg * VLENB
        last = first + n
        # Byte copies through the buffer protocol (memoryview slices, bytearray and mmap slices)
        # cost a fraction of NumPy slicing for vectors this short.
        regs = memoryview(v.vrf)
        dtcm, ext, written = mem.dtcm, mem.ext, mem.ext_written
        ones = b"\x01" * n
        dbase, dlimit = c.dtcm_base, c.dtcm_size - n
        ebase, elimit = c.ext_base, c.ext_size - n
        spans = [(r * VLENB, min(n, (r + 1) * VLENB)) for r in range(group) if r * VLENB < n]
        unused = [0] * (group - len(spans))
        access = m.vmem  # this instruction's record (the general path just set it)

        def short():
            a = x[rs1]
            off = a - dbase
            if 0 <= off <= dlimit:
                buf, external = dtcm, False
            else:
                off = a - ebase
                if not 0 <= off <= elimit:
                    return general()  # the ITCM, or a fault: the general path reports it
                buf, external = ext, True
            if store:
                buf[off : off + n] = regs[first:last]
                if external:
                    written[off : off + n] = ones
            else:
                regs[first:last] = buf[off : off + n]
            if group == 1:
                access.lines = [((a + n - 1) >> 4) - (a >> 4) + 1]
            else:
                access.lines = [((a + hi - 1) >> 4) - ((a + lo) >> 4) + 1 for lo, hi in spans] + unused
            access.uops = group
            access.external = external
            m.vmem = access
            return nxt

        return short

    return make


def _indexed_load(m, op, general):
    """vluxei<eew>.v / vloxei<eew>.v, one field: a gather from DTCM or external memory (all
    elements in one of them), and the distinct lines per destination register the timing model
    charges. Elements are independent reads, so ordered and unordered forms agree."""
    v, x, f = m.v, m.x, op.f
    eew = op.d.vinfo["eew"]
    reg, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4
    c, mem = m.config, m.mem
    from .vector import VLENB

    def make():
        sew, vl, lmul = v.sew, v.vl, v.lmul
        size = sew // 8
        group = max(1, int(lmul))
        index = _group(v, rs2, eew, False, vl)
        out = _group(v, reg, sew, False, vl)
        per = VLENB // size
        spans = [(r * per, min(vl, (r + 1) * per)) for r in range(group) if r * per < vl]
        unused = [0] * (group - len(spans))
        dtcm, ext = mem.np[1], mem.np[2]
        dbase, dlimit = c.dtcm_base, c.dtcm_size - size
        ebase, elimit = c.ext_base, c.ext_size - size
        byte_offsets = np.arange(size, dtype=np.int64)[None, :]
        # Memory as elements of this size (memoryviews, read item by item: for vectors this
        # short, cheaper than NumPy's fancy indexing): an element-aligned gather reads them
        # directly, and an aligned element (at most 4 bytes) never crosses a 16-byte line.
        shift = size.bit_length() - 1
        code = {1: "B", 2: "H", 4: "I"}[size]
        dwords, ewords = (memoryview(b)[: len(b) - len(b) % size].cast(code) for b in (mem.dtcm, mem.ext))
        pack_out = struct.Struct(f"={vl}{code}").pack_into
        out_at = reg * VLENB
        vrf = v.vrf
        align = size - 1
        misaligned = align.__and__
        top = 0xFFFFFFFF
        access = m.vmem  # this instruction's record (the general path just set it)

        def short():
            offsets = index.tolist()
            b = x[rs1]
            ordered = sorted(offsets)  # (one sort costs less than a min and a max)
            lo, hi = ordered[0] + b, ordered[-1] + b
            if hi > top:
                return general()  # addresses wrap around: the general path
            if dbase <= lo and hi - dbase <= dlimit:
                buf, base, external, words = dtcm, dbase, False, dwords
            elif ebase <= lo and hi - ebase <= elimit:
                buf, base, external, words = ext, ebase, True, ewords
            else:
                return general()  # the ITCM, a fault or a mix of regions: the general path
            if not (align and ((b - base) & align or any(map(misaligned, offsets)))):
                k = (b - base) >> shift
                pack_out(vrf, out_at, *[words[(i >> shift) + k] for i in offsets])
                firsts = [(i + b) >> 4 for i in offsets]
                access.lines = [len(set(firsts[i:j])) for i, j in spans] + unused
            else:
                a = index.astype(np.int64) + b
                offs = a - base
                out[:] = buf[offs[:, None] + byte_offsets].view(out.dtype).ravel()
                firsts, lasts = (a >> 4).tolist(), ((a + (size - 1)) >> 4).tolist()
                access.lines = [len(set(firsts[i:j]) | set(lasts[i:j])) for i, j in spans] + unused
            access.uops = group
            access.external = external
            m.vmem = access
            return nxt

        return short

    return make
