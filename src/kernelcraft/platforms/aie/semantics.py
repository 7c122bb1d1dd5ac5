"""What each operation does, one function per instruction family.

A semantics function runs when its bundle issues. It reads operands through the machine
(values as they are at issue, or at issue + 2 for the accumulator input of the vector unit)
and hands every result back with its latency (`m.put`, `m.vput`) or as a memory access at
its memory stage (`m.load`, `m.store`); the machine lands them later. The instruction table
(isa.py) binds these functions to mnemonics, operand forms, slots and latencies.
"""

from __future__ import annotations

import numpy as np

from . import numerics as nx
from .registers import Reg

MASK32 = 0xFFFFFFFF
_TINY = float(np.finfo(np.float32).tiny)
MASK20 = 0xFFFFF

# MAC configuration words (aiev2_compute_control bit layout: bit 0 zero_acc, 1-2 amode,
# 3-4 bmode, 5-7 variant, 8 sign_y, 9 sign_x, ...).
CFG_BF16_MATMUL = 28  # bf16 4x8x4, fp32 accumulation
CFG_BF16_ELEM = 60  # bf16 16-lane elementwise
CFG_INT8_MATMUL = 776  # signed int8 4x8x8, int32 accumulation
CFG_ZERO_ACC = 1


def s32(v: int) -> int:
    v &= MASK32
    return v - (1 << 32) if v & 0x80000000 else v


def s20(v: int) -> int:
    v &= MASK20
    return v - (1 << 20) if v & 0x80000 else v


# ---------------------------------------------------------------------------- scalar


def mov(m, op) -> None:
    d, s = op.args
    m.put(d, m.get(s) if isinstance(s, Reg) else s)


def mov_imm(m, op) -> None:
    d, imm = op.args
    m.put(d, imm)


def add(m, op) -> None:
    d, a, b = op.args
    x = m.get(a) & MASK32
    y = (m.get(b) if isinstance(b, Reg) else b) & MASK32
    total = x + y
    m.put(d, total)
    m.put_carry(total >> 32)


def add_nc(m, op) -> None:
    d, a, b = op.args
    m.put(d, m.get(a) + b)


def sub(m, op) -> None:
    d, a, b = op.args
    x, y = m.get(a) & MASK32, m.get(b) & MASK32
    m.put(d, x - y)
    m.put_carry(1 if x >= y else 0)


def mul(m, op) -> None:
    d, a, b = op.args
    m.put(d, s32(m.get(a)) * s32(m.get(b)))


def bitwise(kind: str):
    def run(m, op) -> None:
        d, a, b = op.args
        x, y = m.get(a), m.get(b)
        m.put(d, x & y if kind == "and" else x | y if kind == "or" else x ^ y)

    return run


def shift(arithmetic: bool):
    def run(m, op) -> None:
        d, a, b = op.args
        x, n = m.get(a) & MASK32, s32(m.get(b))
        if n >= 0:
            m.put(d, x << min(n, 32))
        elif arithmetic:
            m.put(d, s32(x) >> min(-n, 31))
        else:
            m.put(d, x >> min(-n, 32))

    return run


def compare(kind: str):
    def run(m, op) -> None:
        d, a, b = op.args
        x, y = m.get(a), m.get(b)
        if kind in ("ltu", "geu"):
            x, y = x & MASK32, y & MASK32
        else:
            x, y = s32(x), s32(y)
        result = {"eq": x == y, "ne": x != y, "lt": x < y, "ltu": x < y, "ge": x >= y, "geu": x >= y}[kind]
        m.put(d, int(result))

    return run


def select(on_zero: bool):
    def run(m, op) -> None:
        d, a, b, c = op.args
        cond = (m.get(c) & MASK32) == 0
        m.put(d, m.get(a) if cond == on_zero else m.get(b))

    return run


def extend(bits: int, signed: bool):
    def run(m, op) -> None:
        d, a = op.args
        v = m.get(a) & ((1 << bits) - 1)
        if signed and v & (1 << (bits - 1)):
            v -= 1 << bits
        m.put(d, v)

    return run


def padd(m, op) -> None:
    (addr,) = op.args
    m.effective_address(addr, 0)


def event(m, op) -> None:
    m.event(op.args[0])


# ---------------------------------------------------------------------------- control


def jump(m, op) -> None:
    m.branch(op.args[-1])


def jump_reg(m, op) -> None:
    m.branch(m.get(op.args[0]))


def jump_if(on_zero: bool):
    def run(m, op) -> None:
        cond, target = op.args
        if ((m.get(cond) & MASK32) == 0) == on_zero:
            m.branch(target)
        else:
            m.branch(None)

    return run


def jnzd(m, op) -> None:
    cond, dec, target = op.args
    value = m.get(cond) & MASK32
    m.put(dec, value - 1)
    m.branch(target if value != 0 else None)


def call(m, op) -> None:
    m.put(m.reg_lr, m.return_address())
    m.branch(op.args[0])


# ---------------------------------------------------------------------------- scalar memory


def lda(bits: int, signed: bool):
    nbytes = bits // 8

    dt = {8: np.int8 if signed else np.uint8, 16: np.int16 if signed else np.uint16, 32: np.int32}[bits]

    def convert(raw: np.ndarray) -> np.ndarray:
        return raw.view(dt)[..., 0].astype(np.int64)  # one value per lane

    def run(m, op) -> None:
        d, addr = op.args
        a = m.effective_address(addr, nbytes)
        m.load(a, nbytes, d, convert)

    return run


def st(bits: int):
    nbytes = bits // 8

    def run(m, op) -> None:
        s, addr = op.args
        value = m.get(s) & ((1 << bits) - 1)
        a = m.effective_address(addr, nbytes)
        m.store(a, np.frombuffer(value.to_bytes(nbytes, "little"), dtype=np.uint8).copy(), op.spec.mem_stage)

    return run


# ---------------------------------------------------------------------------- vector memory


def vld(m, op) -> None:
    d, addr = op.args
    a = m.effective_address(addr, 32)
    m.load(a, 32, d, None)


def _bf16_bytes_to_fp32_bytes(raw: np.ndarray) -> np.ndarray:
    return nx.bf16_to_f32(raw.view(np.uint16)).view(np.uint8)


def vlda_conv(m, op) -> None:
    d, addr = op.args
    a = m.effective_address(addr, 32)
    m.load(a, 32, d, _bf16_bytes_to_fp32_bytes)


def vldb_gather(hi: bool):
    """vldb.4x64: four 8-byte reads at the addresses in the lo (or hi) four 32-bit lanes of wIdx."""

    def run(m, op) -> None:
        d, idx = op.args
        lanes = m.vget(idx).view(np.uint32)[..., 4:8] if hi else m.vget(idx).view(np.uint32)[..., 0:4]
        addrs = [m.uniform(lanes[..., i]) & ~7 for i in range(4)]
        m.gather(addrs, 8, d)

    return run


def vst(m, op) -> None:
    s, addr = op.args
    data = m.vget(s)
    a = m.effective_address(addr, 32)
    m.store(a, data, op.spec.mem_stage)


def vst_conv(m, op) -> None:
    s, addr = op.args
    data = nx.f32_to_bf16(m.vget(s).view(np.float32), m.rounding()).view(np.uint8)
    a = m.effective_address(addr, 32)
    m.store(a, data, op.spec.mem_stage)


def vst_srs(out_bits: int, in_bits: int):
    def run(m, op) -> None:
        s, sh, addr = op.args
        lanes = m.vget(s).view(np.int32 if in_bits == 32 else np.int64).astype(np.int64)
        data = _srs_bytes(m, lanes, m.get(sh), out_bits)
        a = m.effective_address(addr, 32)
        m.store(a, data, op.spec.mem_stage)

    return run


# ---------------------------------------------------------------------------- MACs


def _bf16_lanes(m, reg: Reg) -> np.ndarray:
    return nx.BF16_F64[m.vraw16(reg)]


def _mac_terms(m, op, cfg: int, a: Reg, b: Reg, extra: int) -> np.ndarray | None:
    """The exact bf16 products (float64), one row per product term and one column per output
    lane, with `extra` spare rows at the end for the accumulator input (filled by the caller).
    Terms run down the first axis so that the reductions over them are elementwise."""
    base = cfg & ~CFG_ZERO_ACC
    lanes = m.lanes
    if base == CFG_BF16_MATMUL:
        terms = np.empty((8 + extra, lanes * 16))
        av = _bf16_lanes(m, a).reshape(lanes, 4, 1, 8)
        bv = _bf16_lanes(m, b).reshape(lanes, 8, 4).transpose(0, 2, 1)[:, None, :, :]
        np.multiply(av, bv, out=terms[:8].reshape(8, lanes, 4, 4).transpose(1, 2, 3, 0))
        return terms
    if base == CFG_BF16_ELEM:
        av, bv = _bf16_lanes(m, a), _bf16_lanes(m, b)
        terms = np.empty((2 + extra, lanes * 16))
        np.multiply(av[..., :16], bv[..., :16], out=terms[0].reshape(lanes, 16))
        np.multiply(av[..., 16:], bv[..., 16:], out=terms[1].reshape(lanes, 16))
        return terms
    m.fault(
        "operand",
        f"unsupported bf16 MAC configuration {cfg} in {op.args[-1]}",
        hint=f"use {CFG_BF16_MATMUL} (4x8x4 matrix) or {CFG_BF16_ELEM} (16-lane elementwise); "
        "add 1 to ignore the accumulator input",
    )
    return None


def fmac(sign_acc: int, sign_prod: int, has_acc: bool):
    """vmul.f / vmac.f / vmsc.f / vnegmul.f: bmD = sign_acc*acc + sign_prod*(A.B) in fp32."""

    def run(m, op) -> None:
        if has_acc:
            d, acc, a, b, c = op.args
        else:
            d, a, b, c = op.args
            acc = None
        cfg = m.get(c)
        use_acc = acc is not None and not cfg & CFG_ZERO_ACC
        terms = _mac_terms(m, op, cfg, a, b, 1 if use_acc else 0)
        if terms is None:
            return
        if sign_prod < 0:
            np.negative(terms, out=terms)
        if use_acc:
            acc_lanes = m.aget(acc, 2).view(np.float32).reshape(-1)
            col = terms[-1]
            col[:] = acc_lanes
            col[np.abs(col) < _TINY] = 0.0  # fp32 denormals flush to zero
            if sign_acc < 0:
                np.negative(col, out=col)
        m.vput(d, nx.accumulate(terms, m.fp_mode, axis=0).reshape(m.lanes, 16).view(np.uint8))

    return run


def imac(has_acc: bool, subtract: bool = False):
    """Integer vmul / vmac / vmsc on cm accumulators (signed int8 4x8x8)."""

    def run(m, op) -> None:
        if has_acc:
            d, acc, a, b, c = op.args
        else:
            d, a, b, c = op.args
            acc = None
        cfg = m.get(c)
        if cfg & ~CFG_ZERO_ACC != CFG_INT8_MATMUL:
            m.fault(
                "operand",
                f"unsupported integer MAC configuration {cfg}",
                hint=f"use {CFG_INT8_MATMUL} (signed int8 4x8x8: A = 4x8 in the low half of xA, B = "
                f"8x8 in xB)",
            )
            return
        av = m.vget(a)[..., :32].view(np.int8).astype(np.int64).reshape(-1, 4, 8)
        bv = m.vget(b).view(np.int8).astype(np.int64).reshape(-1, 8, 8)
        prod = np.matmul(av, bv).reshape(-1, 32)
        if subtract:
            prod = -prod
        if acc is not None and not cfg & CFG_ZERO_ACC:
            prod = prod + m.aget(acc, 2).view(np.int32).astype(np.int64).reshape(-1, 32)
        m.vput(d, nx.saturate(prod, 32, True, 0).astype(np.int32).view(np.uint8))

    return run


def fadd(subtract: bool):
    def run(m, op) -> None:
        d, a, b, _cfg = op.args
        x = nx.ftz32(m.aget(a, 2).view(np.float32)).astype(np.float64).reshape(-1)
        y = nx.ftz32(m.aget(b, 2).view(np.float32)).astype(np.float64).reshape(-1)
        terms = np.stack([x, -y if subtract else y])
        m.vput(d, nx.accumulate(terms, m.fp_mode, axis=0).reshape(m.lanes, 16).view(np.uint8))

    return run


def vclr(m, op) -> None:
    (d,) = op.args
    m.vput(d, np.zeros((m.lanes, d.nbytes), dtype=np.uint8))


# ---------------------------------------------------------------------------- vector ALU

_INT = {8: np.int8, 16: np.int16, 32: np.int32}


def _lanes(m, reg: Reg, kind: str) -> np.ndarray:
    raw = m.vget(reg)
    if kind == "bf16":
        return nx.bf16_to_f32(raw.view(np.uint16))
    return raw.view(_INT[int(kind[1:])])


def vadd_int(bits: int, subtract: bool):
    def run(m, op) -> None:
        d, a, b = op.args
        x = m.vget(a).view(_INT[bits])
        y = m.vget(b).view(_INT[bits])
        with np.errstate(over="ignore"):
            m.vput(d, (x - y if subtract else x + y).astype(_INT[bits]).view(np.uint8))

    return run


def _mask_bits(flags: np.ndarray) -> np.ndarray:
    """Per lane-set: bit i = flags[..., i] (at most 32 lanes)."""
    weights = np.left_shift(np.int64(1), np.arange(flags.shape[-1], dtype=np.int64))
    return (flags.astype(np.int64) * weights).sum(axis=-1)


def vminmax(kind: str, is_max: bool):
    """vmax_lt: D = max(A, B), mask bit i = A[i] < B[i]; vmin_ge: D = min(A, B), mask = A[i] >= B[i]."""

    def run(m, op) -> None:
        d, mask, a, b = op.args
        x, y = _lanes(m, a, kind), _lanes(m, b, kind)
        flag = x < y if is_max else x >= y
        pick_b = flag if is_max else flag  # max: take B where A < B; min: take B where A >= B
        raw_a, raw_b = m.vget(a), m.vget(b)
        width = 2 if kind in ("bf16", "s16") else 4
        lanes_a = raw_a.view(np.uint16 if width == 2 else np.uint32)
        lanes_b = raw_b.view(np.uint16 if width == 2 else np.uint32)
        out = np.where(pick_b, lanes_b, lanes_a)
        m.vput(d, out.view(np.uint8))
        m.put(mask, _mask_bits(flag))

    return run


def vcompare(kind: str, which: str):
    def run(m, op) -> None:
        if which == "eqz":
            d, a = op.args
            m.put(d, _mask_bits(_lanes(m, a, kind) == 0))
            return
        d, a, b = op.args
        x, y = _lanes(m, a, kind), _lanes(m, b, kind)
        m.put(d, _mask_bits(x < y if which == "lt" else x >= y))

    return run


def vsel(bits: int):
    def run(m, op) -> None:
        d, a, b, mask = op.args
        lanes = 512 // bits
        bitsel = m.get(mask) & ((1 << min(lanes, 32)) - 1)
        flags = np.array([(bitsel >> (i % 32)) & 1 for i in range(lanes)], dtype=bool)
        dt = {8: np.uint8, 16: np.uint16, 32: np.uint32}[bits]
        out = np.where(flags, m.vget(b).view(dt), m.vget(a).view(dt))
        m.vput(d, out.astype(dt).view(np.uint8))

    return run


def vbitwise(kind: str):
    def run(m, op) -> None:
        if kind == "neg":
            d, a = op.args
            m.vput(d, ~m.vget(a))
            return
        d, a, b = op.args
        x, y = m.vget(a), m.vget(b)
        m.vput(d, x & y if kind == "and" else x | y if kind == "or" else x ^ y)

    return run


def vbcst(bits: int):
    def run(m, op) -> None:
        d, s = op.args
        value = m.get(s) & ((1 << bits) - 1)
        lanes = d.nbytes * 8 // bits
        dt = {8: np.uint8, 16: np.uint16, 32: np.uint32}[bits]
        m.vput(d, np.full((m.lanes, lanes), value, dtype=dt).view(np.uint8))

    return run


# vshuffle modes (our numbering; the real AIE2 mode numbers were not verified).
SHUFFLE_MODES: dict[int, str] = {
    0: "interleave 32-bit lanes 0..7 of A and B: A0 B0 A1 B1 ... A7 B7",
    1: "interleave 32-bit lanes 8..15 of A and B: A8 B8 ... A15 B15",
    2: "interleave 16-bit lanes 0..15 of A and B: A0 B0 ... A15 B15",
    3: "interleave 16-bit lanes 16..31 of A and B: A16 B16 ... A31 B31",
    4: "even 32-bit lanes of A:B: A0 A2 ... A14 B0 B2 ... B14",
    5: "odd 32-bit lanes of A:B: A1 A3 ... A15 B1 B3 ... B15",
    6: "even 16-bit lanes of A:B: A0 A2 ... A30 B0 ... B30",
    7: "odd 16-bit lanes of A:B: A1 A3 ... A31 B1 ... B31",
    8: "swap the 256-bit halves of A (B unused): Ahi Alo",
    9: "low halves: Alo Blo",
    10: "high halves: Ahi Bhi",
}


def vshuffle(m, op) -> None:
    d, a, b, mode_reg = op.args
    mode = m.get(mode_reg) & MASK32
    x, y = m.vget(a), m.vget(b)
    if mode in (0, 1, 4, 5):
        xa, ya = x.view(np.uint32), y.view(np.uint32)
    else:
        xa, ya = x.view(np.uint16), y.view(np.uint16)
    if mode in (0, 1, 2, 3):
        n = xa.shape[-1] // 2
        part = slice(0, n) if mode in (0, 2) else slice(n, 2 * n)
        out = np.empty_like(xa)
        out[..., 0::2], out[..., 1::2] = xa[..., part], ya[..., part]
    elif mode in (4, 5, 6, 7):
        both = np.concatenate([xa, ya], axis=-1)
        out = both[..., 0::2] if mode in (4, 6) else both[..., 1::2]
    elif mode == 8:
        out = np.concatenate([x[..., 32:], x[..., :32]], axis=-1)
    elif mode == 9:
        out = np.concatenate([x[..., :32], y[..., :32]], axis=-1)
    elif mode == 10:
        out = np.concatenate([x[..., 32:], y[..., 32:]], axis=-1)
    else:
        m.fault(
            "operand",
            f"unsupported vshuffle mode {mode}",
            hint=f"modes 0..{max(SHUFFLE_MODES)} are documented",
        )
        return
    m.vput(d, np.ascontiguousarray(out).view(np.uint8))


def vshift(m, op) -> None:
    d, a, b, n_reg = op.args
    n = m.get(n_reg) & 63
    both = np.concatenate([m.vget(a), m.vget(b)], axis=-1)
    m.vput(d, both[..., n : n + 64].copy())


# ---------------------------------------------------------------------------- moves, conversions


def vextract(bits: int):
    def run(m, op) -> None:
        d, a, idx = op.args
        lanes = _lanes(m, a, f"s{bits}")
        i = m.get(idx) & (lanes.shape[-1] - 1)
        m.put(d, lanes[..., i].astype(np.int64))

    return run


def vinsert(bits: int):
    def run(m, op) -> None:
        d, a, idx, v = op.args
        dt = {8: np.uint8, 16: np.uint16, 32: np.uint32}[bits]
        lanes = m.vget(a).view(dt).copy()
        lanes[..., m.get(idx) & (lanes.shape[-1] - 1)] = m.get(v) & ((1 << bits) - 1)
        m.vput(d, lanes.view(np.uint8))

    return run


def vmov(m, op) -> None:
    d, s = op.args
    m.vput(d, m.vget(s))


def vconv_to_fp32(m, op) -> None:
    d, s = op.args
    m.vput(d, _bf16_bytes_to_fp32_bytes(m.vget(s)))


def vconv_to_bf16(m, op) -> None:
    d, s = op.args
    m.vput(d, nx.f32_to_bf16(m.vget(s).view(np.float32), m.rounding()).view(np.uint8))


def _srs_bytes(m, lanes: np.ndarray, shift: int, out_bits: int) -> np.ndarray:
    out = nx.srs(lanes, shift & 63, out_bits, True, m.rounding(), m.saturation())
    return out.astype(_INT[out_bits]).view(np.uint8)


def vsrs(out_bits: int, in_bits: int):
    def run(m, op) -> None:
        d, s, sh = op.args
        lanes = m.vget(s).view(np.int32 if in_bits == 32 else np.int64).astype(np.int64)
        m.vput(d, _srs_bytes(m, lanes, m.get(sh), out_bits))

    return run


def vups(out_bits: int, in_bits: int):
    def run(m, op) -> None:
        d, s, sh = op.args
        lanes = m.vget(s).view(_INT[in_bits]).astype(np.int64)
        out = nx.ups(lanes, m.get(sh) & 63, out_bits, m.saturation())
        m.vput(d, out.astype(np.int32 if out_bits == 32 else np.int64).view(np.uint8))

    return run


def vfloor(m, op) -> None:
    d, s, sh = op.args
    values = nx.bf16_to_f32(m.vget(s).view(np.uint16)).astype(np.float64)
    with np.errstate(all="ignore"):
        scaled = np.floor(
            np.ldexp(values, m.get(sh) & 63 if (m.get(sh) & 32) == 0 else (m.get(sh) & 63) - 64)
        )
        scaled = np.where(np.isnan(scaled), 0, scaled)
        out = np.clip(scaled, -(2**31), 2**31 - 1).astype(np.int64).astype(np.int32)
    m.vput(d, out.view(np.uint8))


# ---------------------------------------------------------------------------- AIE-ML v2 scalar float


def scalar_float(kind: str):
    def run(m, op) -> None:
        d, s = op.args
        x = np.array([m.get(s) & MASK32], dtype=np.uint32).view(np.float32).astype(np.float64)[0]
        with np.errstate(all="ignore"):
            y = {
                "inv": 1.0 / x if x != 0 else np.inf,
                "sqrt": np.sqrt(x),
                "invsqrt": 1.0 / np.sqrt(x) if x > 0 else np.inf,
            }[kind]
        m.put(d, int(nx.ftz32(np.array([y], dtype=np.float32)).view(np.uint32)[0]))

    return run
