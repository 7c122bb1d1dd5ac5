"""Vector math built from the ISA alone (AIE-ML has no exp, divide or sqrt): exp, reciprocal,
1/sqrt and lane reductions on 16 fp32 lanes, as op sequences the scheduler places.

Register convention (set up by `prologue`): p5 = constant table, p4 = its second kilobyte;
r11 = 60 (elementwise MAC mode); r2 = 0 (scratch mask); s0 = 23, s1 = 0, s2 = 1;
r21..r25 = 32, 16, 8, 4, 2 (shift amounts); constants live in x7..x11 and cm6..cm8:
  x7 = [exp_c4 | 0], x8 = log2e [hi | lo], x9 = clamp_lo, x10 = clamp_hi, x11 = exp_bias,
  bml6 = exp_c1, bmh6 = one_neg_one..., bml7 = exp_c3, bmh7 = exp_c2, bml8 = one, bmh8 = magic.
Working registers: x0..x6 and cm0..cm5.

The algorithms (all lanes in parallel):
- exp(x): clamp x to [-87, 80]; t = x*log2e (log2e as bf16 hi + lo in one elementwise MAC);
  n = round(t) via t + 1.5*2^23 - 1.5*2^23; g = n - x*log2e; 2^-g by a degree-4 Taylor
  polynomial (Horner, bf16 operands, fp32 accumulation); scale by 2^n by adding n to the fp32
  exponent bits (integer lane add on the bit pattern).
- 1/y: integer estimate magic - bits(y), two Newton steps r += r*(1 - y*r), y split hi + lo.
- 1/sqrt(y): magic - bits(y)/2, two Newton steps r += r*(1 - y*r*r)/2.
- sums and maxima across lanes: rotate (vshift of a register with itself) and combine, log steps.
"""

from __future__ import annotations

from ..layout import CONSTANTS

Ops = list[tuple[str, str | None]]
E = "r11"  # elementwise MAC mode register


def c(name: str) -> tuple[str, int]:
    """(pointer, offset) of a constant table entry."""
    off = CONSTANTS[name].offset
    return ("p5", off) if off < 1024 else ("p4", off - 1024)


def load_x(xreg: str, name: str, name_hi: str | None = None) -> Ops:
    """Load a 64-byte constant into an x register (or the low halves of two constants)."""
    n = xreg[1:]
    p, off = c(name)
    if name_hi is None:
        return [(f"vlda wl{n}, [{p}, #{off}]", "const"), (f"vldb wh{n}, [{p}, #{off + 32}]", "const2")]
    p2, off2 = c(name_hi)
    return [(f"vlda wl{n}, [{p}, #{off}]", "const"), (f"vldb wh{n}, [{p2}, #{off2}]", "const2")]


def load_bm(bm: str, name: str) -> Ops:
    """Load a 64-byte fp32 constant into an accumulator (two quarter loads, slot A)."""
    p, off = c(name)
    kind, n = bm[:3], bm[3:]
    q = ("amll", "amlh") if kind == "bml" else ("amhl", "amhh")
    return [(f"vlda {q[0]}{n}, [{p}, #{off}]", "const"), (f"vlda {q[1]}{n}, [{p}, #{off + 32}]", "const")]


def prologue(const_ptr: str = "p5") -> Ops:
    ops: Ops = [
        (f"mov p4, {const_ptr}", None),
        ("movxm m0, #1024", None),
        ("paddb [p4], m0", None),
        ("movx r11, #60", None),
        ("movx r2, #0", None),
        ("mov s0, #23", None),
        ("mov s1, #0", None),
        ("mov s2, #1", None),
        ("movx r21, #32", None),
        ("movx r22, #16", None),
        ("movx r23, #8", None),
        ("movx r24, #4", None),
        ("movx r25, #2", None),
    ]
    ops += (
        load_x("x7", "exp_c4") + load_x("x8", "log2e") + load_x("x9", "clamp_lo") + load_x("x10", "clamp_hi")
    )
    ops += load_x("x11", "exp_bias")
    ops += load_bm("bml6", "exp_c1") + load_bm("bml7", "exp_c3") + load_bm("bmh7", "exp_c2")
    ops += load_bm("bml8", "one") + load_bm("bmh8", "magic")
    # x4, x5 and x3 keep zero high halves (MAC inputs whose lanes 16..31 must be 0)
    ops += [("vbxor x4, x4, x4", None), ("vbxor x5, x5, x5", None), ("vbxor x3, x3, x3", None)]
    return ops


def exp16(src_w: str, out_bm: str) -> Ops:
    """out_bm (fp32, 16 lanes) = exp(src_w (16 bf16)). Uses x0..x2, x4, x5, x6, cm0..cm5 except out."""
    head: Ops = [] if src_w == "wl0" else [(f"vmov wl0, {src_w}", None)]
    return head + [
        (f"vmov wh0, {src_w}", None),
        ("vmax_lt.bf16 x0, r2, x0, x9", None),
        ("vmin_ge.bf16 x0, r2, x0, x10", None),
        (f"vmul.f bml0, x0, x8, {E}", None),  # t = x*log2e
        ("vadd.f bmh0, bml0, bmh8, r0", None),  # t + magic (rounds t)
        ("vsub.f bml1, bmh0, bmh8, r0", None),  # n
        ("vmov x1, bmh0", None),  # bits: 0x4B400000 + n
        ("vsub.32 x1, x1, x11", None),  # n + 127
        ("vups.s64.d32 cm5, x1, s0", None),
        ("vsrs.d32.s64 x2, cm5, s1", None),  # bits of 2^n
        (f"vmsc.f bml2, bml1, x0, x8, {E}", None),  # g = n - x*log2e
        ("vconv.bf16.fp32 wl4, bml2", None),
        (f"vmac.f bmh2, bml7, x7, x4, {E}", None),  # c3 + c4 g
        ("vconv.bf16.fp32 wl5, bmh2", None),
        (f"vmac.f bml3, bmh7, x5, x4, {E}", None),  # c2 + . g
        ("vconv.bf16.fp32 wl5, bml3", None),
        (f"vmac.f bmh3, bml6, x5, x4, {E}", None),  # c1 + . g
        ("vconv.bf16.fp32 wl5, bmh3", None),
        (f"vmac.f bml4, bml8, x5, x4, {E}", None),  # p = 1 + . g  (= 2^-g)
        ("vmov x6, bml4", None),
        ("vadd.32 x6, x6, x2", None),  # exponent += n (+127)
        *load_x("x1", "one"),
        ("vsub.32 x6, x6, x1", None),  # ... - 127
        (f"vmov {out_bm}, x6", None),
    ]


def split(bm: str, x: str, tmp_bm: str) -> Ops:
    """x = [hi | lo] with hi = bf16(bm), lo = bf16(bm - hi): bm to 16 bits in two bf16 halves."""
    n = x[1:]
    return [
        (f"vconv.bf16.fp32 wl{n}, {bm}", None),
        (f"vconv.fp32.bf16 {tmp_bm}, wl{n}", None),
        (f"vsub.f {tmp_bm}, {bm}, {tmp_bm}, r0", None),
        (f"vconv.bf16.fp32 wh{n}, {tmp_bm}", None),
    ]


def recip16(y_bm: str, out_bm: str) -> Ops:
    """out_bm = 1 / y_bm (fp32 lanes, y > 0 or < 0, not 0). Uses x0..x2, x4, x6, cm1..cm3, cm5."""
    ops: Ops = [
        (f"vmov x6, {y_bm}", None),
        *load_x("x1", "recip_magic"),
        ("vsub.32 x6, x1, x6", None),
        ("vmov bml5, x6", None),
    ]
    ops += split(y_bm, "x2", "bmh5")
    r = "bml5"
    for step in range(2):
        nxt = out_bm if step == 1 else "bml3"
        ops += [
            (f"vconv.bf16.fp32 wl0, {r}", None),
            ("vmov wh0, wl0", None),  # x0 = [rb | rb]
            (f"vmsc.f bml1, bml8, x2, x0, {E}", None),  # e = 1 - y*rb
            ("vconv.bf16.fp32 wl4, bml1", None),
            ("vconv.fp32.bf16 bmh3, wl0", None),  # rb in fp32: Newton from rb, not r
            (f"vmac.f {nxt}, bmh3, x0, x4, {E}", None),  # rb + rb*e
        ]
        r = nxt
    return ops


def rsqrt16(y_bm: str, out_bm: str) -> Ops:
    """out_bm = 1 / sqrt(y_bm) (fp32 lanes, y > 0). Uses x0..x2, x4, x6, cm1..cm3, cm5."""
    ops: Ops = [
        (f"vmov x6, {y_bm}", None),
        ("vups.s64.d32 cm5, x6, s1", None),
        ("vsrs.d32.s64 x6, cm5, s2", None),
        *load_x("x1", "rsqrt_magic"),
        ("vsub.32 x6, x1, x6", None),
        ("vmov bml5, x6", None),
    ]
    ops += split(y_bm, "x2", "bmh5")
    r = "bml5"
    for step in range(2):
        nxt = out_bm if step == 1 else "bml3"
        ops += [
            (f"vconv.bf16.fp32 wl0, {r}", None),
            ("vmov wh0, wl0", None),  # x0 = [rb | rb]
            (f"vmul.f bml1, x2, x0, {E}", None),  # y*rb
            *split("bml1", "x1", "bmh1"),  # x1 = [yr hi | yr lo]
            (f"vmsc.f bml2, bml8, x1, x0, {E}", None),  # e = 1 - y*rb*rb
            ("vconv.bf16.fp32 wl4, bml2", None),
            *load_x("x1", "half"),
            (f"vmul.f bmh2, x4, x1, {E}", None),  # e/2
            ("vconv.bf16.fp32 wl4, bmh2", None),
            ("vconv.fp32.bf16 bmh3, wl0", None),  # rb in fp32: Newton from rb, not r
            (f"vmac.f {nxt}, bmh3, x0, x4, {E}", None),  # rb + rb*e/2
        ]
        r = nxt
    return ops


def allsum16(bm: str, tmp_x: str = "x6", tmp_x2: str = "x1", tmp_bm: str = "bmh5") -> Ops:
    """Every lane of bm (16 fp32) becomes the sum of all 16."""
    ops: Ops = []
    for shift in ("r21", "r22", "r23", "r24"):  # rotate by 8, 4, 2, 1 lanes
        ops += [
            (f"vmov {tmp_x}, {bm}", None),
            (f"vshift {tmp_x2}, {tmp_x}, {tmp_x}, {shift}", None),
            (f"vmov {tmp_bm}, {tmp_x2}", None),
            (f"vadd.f {bm}, {bm}, {tmp_bm}, r0", None),
        ]
    return ops


def allmax32(x: str, tmp_x: str = "x6") -> Ops:
    """Every bf16 lane of x (32 lanes) becomes the maximum of all 32."""
    ops: Ops = []
    for shift in ("r21", "r22", "r23", "r24", "r25"):  # rotate by 16, 8, 4, 2, 1 lanes
        ops += [(f"vshift {tmp_x}, {x}, {x}, {shift}", None), (f"vmax_lt.bf16 {x}, r2, {x}, {tmp_x}", None)]
    return ops


def sigmoid_times(x_reg: str, neg_src: str) -> Ops:
    """bml0 = x * sigmoid(z) where wl of neg_src holds -z (bf16) and x_reg = [x | 0]."""
    ops = exp16(neg_src, "bmh4")  # e = exp(-z)
    ops += [("vadd.f bmh4, bmh4, bml8, r0", None)]  # 1 + e
    ops += recip16("bmh4", "bmh1")  # sigmoid(z), fp32
    ops += [("vconv.bf16.fp32 wl5, bmh1", None), (f"vmul.f bml0, {x_reg}, x5, {E}", None)]
    return ops
