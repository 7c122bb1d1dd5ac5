"""IEEE 754 binary32 arithmetic as RISC-V F defines it, exactly, on raw 32-bit patterns.

Results are computed exactly with Python integers and rounded once in the requested mode
(RNE, RTZ, RDN, RUP, RMM), with the accrued exception flags (NV, DZ, OF, UF, NX; tininess
after rounding) and RISC-V's canonical NaN. This is slow next to hardware floats but exact
in every mode, which is what a differential test against Spike needs; the kernels this
platform runs are integer, so scalar float speed does not matter.
"""

from __future__ import annotations

NV, DZ, OF, UF, NX = 16, 8, 4, 2, 1
CANONICAL_NAN = 0x7FC00000
RNE, RTZ, RDN, RUP, RMM = 0, 1, 2, 3, 4
BIAS = 127
MANT_BITS = 23


def is_nan(b: int) -> bool:
    return (b & 0x7F800000) == 0x7F800000 and (b & 0x7FFFFF) != 0


def is_snan(b: int) -> bool:
    return is_nan(b) and not (b & 0x400000)


def is_inf(b: int) -> bool:
    return (b & 0x7FFFFFFF) == 0x7F800000


def is_zero(b: int) -> bool:
    return (b & 0x7FFFFFFF) == 0


def sign(b: int) -> int:
    return (b >> 31) & 1


def decompose(b: int) -> tuple[int, int, int]:
    """(sign, mantissa, exponent) with value = (-1)^sign * mantissa * 2^exponent (finite inputs)."""
    s = (b >> 31) & 1
    e = (b >> 23) & 0xFF
    m = b & 0x7FFFFF
    if e == 0:
        return s, m, 1 - BIAS - MANT_BITS
    return s, m | 0x800000, e - BIAS - MANT_BITS


def round_pack(s: int, mant: int, exp: int, rm: int, sticky: bool = False) -> tuple[int, int]:
    """Round (-1)^s * (mant * 2^exp + a positive amount below mant's last bit when `sticky`) to
    binary32 in mode rm. Returns (bits, flags)."""
    if mant == 0:
        if not sticky:
            return s << 31, 0
        mant, exp = 1, exp - 64  # an amount far below any quantum: only inexactness matters
    top = exp + mant.bit_length() - 1  # value lies in [2^top, 2^(top+1))
    quantum = top - 23 if top >= -126 else -149
    kept, inexact = _round_to(s, mant, exp, quantum, sticky, rm)
    flags = 0
    if inexact:
        flags |= NX
        if top < -126:
            # RISC-V detects tininess after rounding: round with an unbounded exponent range.
            kept_u, _ = _round_to(s, mant, exp, top - 23, sticky, rm)
            if kept_u.bit_length() - 1 + top - 23 < -126:
                flags |= UF
    if kept == 0:
        return s << 31, flags
    if kept >> 24:  # the increment carried into a new binade
        kept >>= 1
        quantum += 1
    if quantum + 23 > 127:
        return _overflow(s, rm), flags | OF | NX
    if kept >> 23:
        return (s << 31) | ((quantum + 150) << 23) | (kept & 0x7FFFFF), flags
    return (s << 31) | kept, flags  # subnormal (quantum is -149)


def _round_to(s: int, mant: int, exp: int, quantum: int, sticky: bool, rm: int) -> tuple[int, bool]:
    """mant * 2^exp (+ sticky) rounded to a multiple of 2^quantum: (multiple, inexact)."""
    shift = quantum - exp
    if shift <= 0:
        kept = mant << -shift
        if not sticky:
            return kept, False
        lost_cmp = -1  # strictly below half a quantum
    else:
        kept = mant >> shift
        lost = mant & ((1 << shift) - 1)
        if lost == 0 and not sticky:
            return kept, False
        half = 1 << (shift - 1)
        lost_cmp = -1 if lost < half else (1 if lost > half or sticky else 0)
    if rm == RNE:
        up = lost_cmp > 0 or (lost_cmp == 0 and kept & 1)
    elif rm == RMM:
        up = lost_cmp >= 0
    elif rm == RUP:
        up = not s
    elif rm == RDN:
        up = bool(s)
    else:
        up = False
    return kept + (1 if up else 0), True


def _overflow(s: int, rm: int) -> int:
    if rm == RTZ or (rm == RDN and not s) or (rm == RUP and s):
        return (s << 31) | 0x7F7FFFFF
    return (s << 31) | 0x7F800000


# ---------------------------------------------------------------------------- operations


def add(a: int, b: int, rm: int) -> tuple[int, int]:
    if is_nan(a) or is_nan(b):
        return CANONICAL_NAN, NV if (is_snan(a) or is_snan(b)) else 0
    if is_inf(a) or is_inf(b):
        if is_inf(a) and is_inf(b) and sign(a) != sign(b):
            return CANONICAL_NAN, NV
        return (a if is_inf(a) else b), 0
    sa, ma, ea = decompose(a)
    sb, mb, eb = decompose(b)
    e = min(ea, eb)
    va = (ma << (ea - e)) * (-1 if sa else 1)
    vb = (mb << (eb - e)) * (-1 if sb else 1)
    total = va + vb
    if total == 0:
        if ma == 0 and mb == 0 and sa == sb:
            return sa << 31, 0
        return (1 << 31 if rm == RDN else 0), 0
    return round_pack(1 if total < 0 else 0, abs(total), e, rm)


def sub(a: int, b: int, rm: int) -> tuple[int, int]:
    return add(a, b ^ 0x80000000 if not is_nan(b) else b, rm)


def mul(a: int, b: int, rm: int) -> tuple[int, int]:
    if is_nan(a) or is_nan(b):
        return CANONICAL_NAN, NV if (is_snan(a) or is_snan(b)) else 0
    s = sign(a) ^ sign(b)
    if is_inf(a) or is_inf(b):
        if is_zero(a) or is_zero(b):
            return CANONICAL_NAN, NV
        return (s << 31) | 0x7F800000, 0
    _, ma, ea = decompose(a)
    _, mb, eb = decompose(b)
    if ma == 0 or mb == 0:
        return s << 31, 0
    return round_pack(s, ma * mb, ea + eb, rm)


def fma(
    a: int, b: int, c: int, rm: int, negate_product: bool = False, negate_addend: bool = False
) -> tuple[int, int]:
    """(+-a*b) + (+-c) with one rounding (fmadd, fmsub, fnmsub, fnmadd)."""
    if is_nan(a) or is_nan(b) or is_nan(c):
        invalid = is_snan(a) or is_snan(b) or is_snan(c)
        if (is_inf(a) and is_zero(b)) or (is_zero(a) and is_inf(b)):
            invalid = True
        return CANONICAL_NAN, NV if invalid else 0
    ps = sign(a) ^ sign(b) ^ (1 if negate_product else 0)
    cs = sign(c) ^ (1 if negate_addend else 0)
    if is_inf(a) or is_inf(b):
        if is_zero(a) or is_zero(b):
            return CANONICAL_NAN, NV
        if is_inf(c) and cs != ps:
            return CANONICAL_NAN, NV
        return (ps << 31) | 0x7F800000, 0
    if is_inf(c):
        return (cs << 31) | 0x7F800000, 0
    _, ma, ea = decompose(a)
    _, mb, eb = decompose(b)
    _, mc, ec = decompose(c)
    mp, ep = ma * mb, ea + eb
    if mp == 0 and mc == 0:
        if ps == cs:
            return ps << 31, 0
        return (1 << 31 if rm == RDN else 0), 0
    e = min(ep, ec)
    vp = (mp << (ep - e)) * (-1 if ps else 1)
    vc = (mc << (ec - e)) * (-1 if cs else 1)
    total = vp + vc
    if total == 0:
        return (1 << 31 if rm == RDN else 0), 0
    return round_pack(1 if total < 0 else 0, abs(total), e, rm)


def div(a: int, b: int, rm: int) -> tuple[int, int]:
    if is_nan(a) or is_nan(b):
        return CANONICAL_NAN, NV if (is_snan(a) or is_snan(b)) else 0
    s = sign(a) ^ sign(b)
    if is_inf(a):
        if is_inf(b):
            return CANONICAL_NAN, NV
        return (s << 31) | 0x7F800000, 0
    if is_inf(b):
        return s << 31, 0
    if is_zero(b):
        if is_zero(a):
            return CANONICAL_NAN, NV
        return (s << 31) | 0x7F800000, DZ
    if is_zero(a):
        return s << 31, 0
    _, ma, ea = decompose(a)
    _, mb, eb = decompose(b)
    shift = 60
    q, r = divmod(ma << shift, mb)
    return round_pack(s, q, ea - eb - shift, rm, sticky=r != 0)


def sqrt(a: int, rm: int) -> tuple[int, int]:
    if is_nan(a):
        return CANONICAL_NAN, NV if is_snan(a) else 0
    if is_zero(a):
        return a, 0
    if sign(a):
        return CANONICAL_NAN, NV
    if is_inf(a):
        return a, 0
    _, m, e = decompose(a)
    if e % 2:
        m <<= 1
        e -= 1
    shift = 60  # even
    value = m << shift
    root = _isqrt(value)
    return round_pack(0, root, (e - shift) // 2, rm, sticky=root * root != value)


def _isqrt(n: int) -> int:
    import math

    return math.isqrt(n)


def min_max(a: int, b: int, want_max: bool) -> tuple[int, int]:
    flags = NV if (is_snan(a) or is_snan(b)) else 0
    if is_nan(a) and is_nan(b):
        return CANONICAL_NAN, flags
    if is_nan(a):
        return b, flags
    if is_nan(b):
        return a, flags
    if is_zero(a) and is_zero(b):
        if want_max:
            return (a if not sign(a) else b), flags
        return (a if sign(a) else b), flags
    less = lt_value(a, b)
    return ((b if less else a) if want_max else (a if less else b)), flags


def to_fraction(b: int):
    from fractions import Fraction

    s, m, e = decompose(b)
    value = Fraction(m) * (Fraction(2) ** e)
    return -value if s else value


def lt_value(a: int, b: int) -> bool:
    """a < b for non-NaN values (treating -0 == +0)."""
    if is_zero(a) and is_zero(b):
        return False
    return to_fraction_fast(a) < to_fraction_fast(b)


def to_fraction_fast(b: int):
    if is_inf(b):
        return float("-inf") if sign(b) else float("inf")
    return to_fraction(b)


def compare(a: int, b: int, op: str) -> tuple[int, int]:
    """feq (quiet: NV only for signaling NaNs), flt and fle (signaling: NV for any NaN)."""
    if is_nan(a) or is_nan(b):
        if op == "eq":
            return 0, NV if (is_snan(a) or is_snan(b)) else 0
        return 0, NV
    if op == "eq":
        return int(a == b or (is_zero(a) and is_zero(b))), 0
    less = lt_value(a, b)
    if op == "lt":
        return int(less), 0
    return int(less or a == b or (is_zero(a) and is_zero(b))), 0


def classify(b: int) -> int:
    s = sign(b)
    if is_inf(b):
        return 1 << 0 if s else 1 << 7
    if is_nan(b):
        return 1 << 8 if is_snan(b) else 1 << 9
    if is_zero(b):
        return 1 << 3 if s else 1 << 4
    if (b >> 23) & 0xFF == 0:
        return 1 << 2 if s else 1 << 5
    return 1 << 1 if s else 1 << 6


def to_int(b: int, rm: int, signed: bool) -> tuple[int, int]:
    """fcvt.w.s / fcvt.wu.s: result as an unsigned 32-bit pattern, with NV on overflow or NaN."""
    lo, hi = (-(1 << 31), (1 << 31) - 1) if signed else (0, (1 << 32) - 1)
    if is_nan(b):
        return hi & 0xFFFFFFFF, NV
    if is_inf(b):
        return (lo if sign(b) else hi) & 0xFFFFFFFF, NV
    s, m, e = decompose(b)
    if m == 0:
        return 0, 0
    if e >= 0:
        value, inexact = m << e, False
    else:
        q = m >> -e
        rem = m & ((1 << -e) - 1)
        half = 1 << (-e - 1)
        inexact = rem != 0
        if inexact:
            if rm == RNE:
                q += rem > half or (rem == half and q & 1)
            elif rm == RMM:
                q += rem >= half
            elif rm == RUP:
                q += not s
            elif rm == RDN:
                q += bool(s)
        value = q
    value = -value if s else value
    if value < lo or value > hi:
        return (lo if value < lo else hi) & 0xFFFFFFFF, NV
    return value & 0xFFFFFFFF, NX if inexact else 0


def from_int(value: int, rm: int, signed: bool) -> tuple[int, int]:
    value &= 0xFFFFFFFF
    if signed and value & 0x80000000:
        value -= 1 << 32
    if value == 0:
        return 0, 0
    return round_pack(1 if value < 0 else 0, abs(value), 0, rm)
