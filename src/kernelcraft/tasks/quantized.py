"""Integer (int8) forms of the tasks, for integer-only targets, with exact integer references.

Each form states its algorithm in words (the task prompt shows them) and implements it with
integer NumPy arithmetic, so a correct kernel matches bit for bit. Requantisation is the
TFLM-style fixed-point multiply as RVV kernels implement it (Google's Coral depthwise kernel
does exactly this): a rounding doubling high multiply by a Q31 multiplier M in (0, 2^31)
(`vsmul` with vxrm = round-to-nearest-up) followed by a rounding arithmetic right shift
(`vssra`, same rounding), then the output zero point and a clamp:

    smul(a, M)  = saturate((a * M + 2^30) >> 31)
    rshift(v, s) = (v + 2^(s-1)) >> s  (s >= 1; v itself for s = 0)
    requant(acc) = clamp(rshift(smul(acc, M), s) + zero_point, lo, 127)

Activations use 256-entry lookup tables indexed by x + 128 (TFLM's int8 LUT kernels);
softmax uses an exp table, a per-row fixed-point reciprocal and a rounding shift; RMSNorm
an integer square root and a fixed-point reciprocal. Tables and per-channel multipliers
are constants of the configuration (array-valued entries of `constants(params)`), placed
in memory by the platform and named in the I/O contract.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .base import InputSpec, IntegerForm, Params

INT8 = (-128, 127)
UNIFORM_INT8_STD = math.sqrt((256**2 - 1) / 12)  # about 73.9
TARGET_OUT_STD = 40.0  # requantised outputs spread over int8 without saturating much
ACT_SCALE_LOG2 = 4  # activations in, and LUT outputs: real value = q / 16


# ---------------------------------------------------------------------------- fixed-point primitives


def smul(a: np.ndarray, multiplier) -> np.ndarray:
    """Saturating rounding doubling high multiply (RVV vsmul, vxrm = rnu) on int32 values."""
    a = np.asarray(a, dtype=np.int64)
    product = a * np.asarray(multiplier, dtype=np.int64)
    return np.clip((product + (1 << 30)) >> 31, -(1 << 31), (1 << 31) - 1)


def rshift(v: np.ndarray, shift) -> np.ndarray:
    """Arithmetic right shift rounding half up (RVV vssra, vxrm = rnu)."""
    v = np.asarray(v, dtype=np.int64)
    s = np.asarray(shift, dtype=np.int64)
    rounding = np.where(s > 0, np.left_shift(np.int64(1), np.maximum(s - 1, 0)), 0)
    return (v + rounding) >> s


def requantize(acc, multiplier, shift, zero_point: int = 0, lo: int = -128, hi: int = 127) -> np.ndarray:
    return np.clip(rshift(smul(acc, multiplier), shift) + zero_point, lo, hi)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(M, s) with real ~ M * 2^-(31 + s), M in [2^30, 2^31), s >= 0 (TFLM's QuantizeMultiplier
    for scales below 1)."""
    if not 0 < real < 1:
        raise ValueError("multipliers must lie in (0, 1)")
    shift = max(0, math.ceil(math.log2(0.5 / real)))
    multiplier = int(round(real * 2 ** (31 + shift)))
    if multiplier >= 1 << 31:  # rounding reached 2^31: one more shift
        shift += 1
        multiplier = int(round(real * 2 ** (31 + shift)))
    return multiplier, shift


def isqrt(v: np.ndarray) -> np.ndarray:
    """floor(sqrt(v)) of non-negative integers, exactly."""
    return np.array([math.isqrt(int(x)) for x in np.asarray(v).reshape(-1)], dtype=np.int64).reshape(
        np.shape(v)
    )


def _rng(*key: int) -> np.random.Generator:
    """Deterministic constants per shape (they are the configuration's, not the seed's)."""
    return np.random.default_rng([0xC0A1, *key])


# ---------------------------------------------------------------------------- lookup tables


def activation_table(fn: str) -> np.ndarray:
    """int8[256]: T[x + 128] = clamp(round_half_away(f(x / 16) * 16)) for x in -128..127."""
    x = np.arange(-128, 128, dtype=np.float64) / 16
    if fn == "silu":
        y = x / (1 + np.exp(-x))
    elif fn == "gelu":
        y = 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    else:
        raise ValueError(fn)
    q = np.sign(y) * np.floor(np.abs(y) * 16 + 0.5)
    return np.clip(q, -128, 127).astype(np.int8)


SOFTMAX_SCALE_LOG2 = 5  # softmax inputs: real value = q / 32


def exp_table() -> np.ndarray:
    """int16[256]: E[k] = round(32767 * exp((k - 255) / 32)), k = x - max(row) + 255 in 0..255."""
    k = np.arange(256, dtype=np.float64)
    return np.floor(32767 * np.exp((k - 255) / 2**SOFTMAX_SCALE_LOG2) + 0.5).astype(np.int16)


# ---------------------------------------------------------------------------- compute functions


def relu(v: Mapping[str, np.ndarray], p: Params) -> np.ndarray:
    return np.maximum(np.asarray(v["x"], dtype=np.int64), 0)


def lut(fn: str):
    table = activation_table(fn).astype(np.int64)

    def compute(v: Mapping[str, np.ndarray], p: Params) -> np.ndarray:
        return table[np.asarray(v["x"], dtype=np.int64) + 128]

    return compute


def matmul_int(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.matmul(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))


def gemv(v, p):
    return matmul_int(v["x"], np.asarray(v["A"]).T)


def gemm(v, p):
    return matmul_int(v["X"], v["W"])


def batch_matmul(v, p):
    return matmul_int(v["X"], v["W"])


def linear(v, p):
    c = linear_constants(p)
    acc = matmul_int(v["X"], v["W"]) + np.asarray(v["b"], dtype=np.int64)
    return requantize(acc, c["multiplier"], c["shift"], c["out_zero_point"])


def conv2d_int(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Stride 1, 'same' zero padding, exact int64 accumulation: out[o, i, j] over c, u, v."""
    c_out, _, k, _ = w.shape
    pad = k // 2
    size = x.shape[1]
    padded = np.pad(np.asarray(x, dtype=np.int64), ((0, 0), (pad, pad), (pad, pad)))
    w = np.asarray(w, dtype=np.int64)
    out = np.zeros((c_out, size, size), dtype=np.int64)
    for u in range(k):
        for t in range(k):
            out += np.einsum("oc,chw->ohw", w[:, :, u, t], padded[:, u : u + size, t : t + size])
    return out


def conv2d(v, p):
    return conv2d_int(v["x"], v["w"])


def depthwise(v, p):
    c = depthwise_constants(p)
    x = np.asarray(v["x"], dtype=np.int64) + c["input_offset"]
    w = np.asarray(v["w"], dtype=np.int64)
    channels, k, _ = w.shape
    pad = k // 2
    size = x.shape[1]
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))  # padded taps contribute (x + offset) = 0
    acc = np.zeros((channels, size, size), dtype=np.int64)
    for u in range(k):
        for t in range(k):
            acc += w[:, u, t][:, None, None] * padded[:, u : u + size, t : t + size]
    acc += np.asarray(v["bias"], dtype=np.int64)[:, None, None]
    return requantize(acc, c["multiplier"][:, None, None], c["shift"], c["out_zero_point"])


def conv_block(v, p):
    c = conv_block_constants(p)
    acc = conv2d_int(v["x"], v["w"]) + np.asarray(v["bias"], dtype=np.int64)[:, None, None]
    zp = c["out_zero_point"]
    return requantize(acc, c["multiplier"][:, None, None], c["shift"], zp, lo=zp)


def softmax(v, p):
    x = np.asarray(v["x"], dtype=np.int64)
    table = exp_table().astype(np.int64)
    e = table[x - x.max(axis=-1, keepdims=True) + 255]
    total = e.sum(axis=-1, keepdims=True)
    recip = (1 << 30) // total
    return np.clip(((e * recip + (1 << 21)) >> 22) - 128, -128, 127)


def rmsnorm(v, p):
    c = rmsnorm_constants(p)
    x = np.asarray(v["x"], dtype=np.int64)
    ss = (x * x).sum(axis=-1, keepdims=True)
    mean = (ss << c["h_shift"]) + (1 << 16)
    inv = (1 << 28) // isqrt(mean)
    return np.clip((x * inv + (1 << 14)) >> 15, -128, 127)


def ffn(v, p):
    c = ffn_constants(p)
    h = requantize(matmul_int(v["x"], v["W1"]), c["multiplier1"], c["shift1"])
    g = c["silu_table"].astype(np.int64)[h + 128]
    return requantize(matmul_int(g, v["W2"]), c["multiplier2"], c["shift2"])


# ---------------------------------------------------------------------------- constants


def _per_tensor(fan_in_std: float) -> tuple[int, int]:
    return quantize_multiplier(TARGET_OUT_STD / fan_in_std)


def linear_constants(p: Params) -> dict:
    m, s = _per_tensor(UNIFORM_INT8_STD**2 * math.sqrt(p["K"]))
    return {"multiplier": m, "shift": s, "out_zero_point": 0}


def _per_channel(channels: int, real: float, key: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """Per-channel Q31 multipliers for scales spread +-30% around `real`, with one shift shared by
    all channels (chosen for the largest scale, so every multiplier is below 2^31)."""
    reals = real * _rng(*key).uniform(0.7, 1.3, channels)
    _, shift = quantize_multiplier(float(reals.max()))
    mults = np.minimum(np.round(reals * 2.0 ** (31 + shift)), (1 << 31) - 1).astype(np.int32)
    return mults, shift


def depthwise_constants(p: Params) -> dict:
    offset = 128  # input zero point -128: x + 128 lies in 0..255
    std = math.sqrt((127.5**2 + UNIFORM_INT8_STD**2) * UNIFORM_INT8_STD**2) * p["k"]
    mults, shift = _per_channel(p["C"], TARGET_OUT_STD / std, (1, p["H"], p["C"], p["k"]))
    return {"input_offset": offset, "out_zero_point": 0, "multiplier": mults, "shift": shift}


def conv_block_constants(p: Params) -> dict:
    std = UNIFORM_INT8_STD**2 * math.sqrt(p["Cin"] * p["k"] ** 2)
    mults, shift = _per_channel(p["Cout"], 2 * TARGET_OUT_STD / std, (2, p["H"], p["Cin"], p["Cout"], p["k"]))
    return {"out_zero_point": -128, "multiplier": mults, "shift": shift}


def rmsnorm_constants(p: Params) -> dict:
    h = p["H"]
    if h & (h - 1) or not 1 <= h <= 1 << 16:
        raise ValueError("RMSNorm's integer form needs H a power of two up to 65536")
    return {"h_shift": 16 - h.bit_length() + 1}


def ffn_constants(p: Params) -> dict:
    m1, s1 = _per_tensor(UNIFORM_INT8_STD**2 * math.sqrt(p["H"]))
    # silu of N(0, 40/16) activations re-scaled by 16 has an RMS of about 25
    m2, s2 = _per_tensor(25.0 * UNIFORM_INT8_STD * math.sqrt(p["I"]))
    return {
        "multiplier1": m1,
        "shift1": s1,
        "multiplier2": m2,
        "shift2": s2,
        "silu_table": activation_table("silu"),
    }


# ---------------------------------------------------------------------------- algorithm texts

REQUANT_TEXT = (
    "requant(acc) = clamp(rshift(smul(acc, M), s) + zp, lo, 127) with smul(a, M) = saturate((a*M + 2^30) >> "
    "31) "
    "(RVV vsmul with vxrm = 0, round-to-nearest-up) and rshift(v, s) = (v + 2^(s-1)) >> s for s >= 1 "
    "(vssra with vxrm = 0), arithmetic shifts, int64-exact"
)

ALGORITHMS = {
    "relu": "y = max(x, 0) elementwise on int8 (zero point 0); y is int8.",
    "silu": (
        "Table lookup: y[i] = lut[x[i] + 128], lut the int8[256] table in the contract "
        "(lut[x + 128] = round_half_away(silu(x/16) * 16) clamped to int8: inputs and outputs have scale "
        "1/16)."
    ),
    "gelu": (
        "Table lookup: y[i] = lut[x[i] + 128], lut the int8[256] table in the contract "
        "(lut[x + 128] = round_half_away(gelu(x/16) * 16) clamped to int8, exact erf GELU; scale 1/16)."
    ),
    "gemv": "y[0, m] = sum_n A[m, n] * x[0, n], int8 inputs, exact int32 accumulation; y is int32.",
    "gemm": "Y[m, n] = sum_k X[m, k] * W[k, n], int8 inputs, exact int32 accumulation; Y is int32.",
    "batch_matmul": (
        "Y[b, m, n] = sum_k X[b, m, k] * W[b, k, n], int8 inputs, exact int32 accumulation; Y is int32."
    ),
    "linear": (
        "acc[m, n] = sum_k X[m, k] * W[k, n] + b[0, n] (int32, exact); Y = requant(acc) with the per-tensor "
        "multiplier M, shift s and zero point zp of the contract, lo = -128; Y is int8. " + REQUANT_TEXT + "."
    ),
    "conv2d": (
        "out[o, i, j] = sum_{c,u,v} w[o, c, u, v] * x[c, i+u-k//2, j+v-k//2] with zero padding, int8 inputs, "
        "exact int32 accumulation; out is int32."
    ),
    "depthwise_conv": (
        "acc[c, i, j] = bias[c] + sum_{u,v} w[c, u, v] * (x[c, i+u-k//2, j+v-k//2] + input_offset), taps "
        "outside "
        "the image skipped (they contribute 0); out = requant(acc) with the per-channel multiplier M[c] "
        "(int32 "
        "table in the contract), the shared shift s and zero point zp, lo = -128; out is int8. "
        + REQUANT_TEXT
        + "."
    ),
    "conv_block": (
        "Conv2D + batch-norm + ReLU folded into integer arithmetic: acc[o, i, j] = bias[o] + sum_{c,u,v} "
        "w[o, c, u, v] * x[c, i+u-k//2, j+v-k//2] (zero padding, int32); out = requant(acc) with the "
        "per-channel "
        "multiplier M[o] (int32 table in the contract), the shared shift s and zero point zp, and lo = zp "
        "(the "
        "ReLU); out is int8. " + REQUANT_TEXT + "."
    ),
    "softmax": (
        "Per row (input scale 1/32, output scale 1/256 with zero point -128): m = max_j x[j]; e[j] = E[x[j] "
        "- m + "
        "255] with E the int16[256] exp table of the contract (E[k] = round(32767 * exp((k - 255)/32))); "
        "S = sum_j e[j] (int32); r = floor(2^30 / S); y[j] = clamp(((e[j] * r + 2^21) >> 22) - 128, -128, "
        "127); "
        "y is int8."
    ),
    "rmsnorm": (
        "Per row: ss = sum_j x[j]^2 (int32); q = (ss << h_shift) + 2^16 with h_shift = 16 - log2(H) (the "
        "mean "
        "square in Q16 plus eps = 1); d = floor(sqrt(q)) (exact integer square root); inv = floor(2^28 / d); "
        "y[j] = clamp((x[j] * inv + 2^14) >> 15, -128, 127) (y ~ 32 x / rms); y is int8."
    ),
    "ffn": (
        "h = requant1(x W1) (acc int32, per-tensor M1, s1, zp 0, lo -128); g[i] = silu_table[h[i] + 128] "
        "(the "
        "int8[256] table of the contract, scale 1/16 in and out); Y = requant2(g W2) (M2, s2, zp 0, lo "
        "-128); "
        "Y is int8. " + REQUANT_TEXT + "."
    ),
}


# ---------------------------------------------------------------------------- the forms


def _i8(name: str, shape) -> InputSpec:
    return InputSpec(name, shape, dtype="int8")


def _i32(name: str, shape, lo: int, hi: int) -> InputSpec:
    return InputSpec(name, shape, kind="bias", dtype="int32", int_range=(lo, hi))


def _rows(p):
    return (p["R"], p["H"])


BIAS_RANGE = (-(1 << 14), 1 << 14)

RELU = IntegerForm((_i8("x", _rows),), _rows, relu, "int8", ALGORITHMS["relu"], lambda p: {})
SILU = IntegerForm(
    (_i8("x", _rows),),
    _rows,
    lut("silu"),
    "int8",
    ALGORITHMS["silu"],
    lambda p: {"lut": activation_table("silu")},
)
GELU = IntegerForm(
    (_i8("x", _rows),),
    _rows,
    lut("gelu"),
    "int8",
    ALGORITHMS["gelu"],
    lambda p: {"lut": activation_table("gelu")},
)
SOFTMAX = IntegerForm(
    (_i8("x", _rows),), _rows, softmax, "int8", ALGORITHMS["softmax"], lambda p: {"exp_table": exp_table()}
)
RMSNORM = IntegerForm((_i8("x", _rows),), _rows, rmsnorm, "int8", ALGORITHMS["rmsnorm"], rmsnorm_constants)
GEMV = IntegerForm(
    (_i8("A", lambda p: (p["M"], p["N"])), _i8("x", lambda p: (1, p["N"]))),
    lambda p: (1, p["M"]),
    gemv,
    "int32",
    ALGORITHMS["gemv"],
    lambda p: {},
)
GEMM = IntegerForm(
    (_i8("X", lambda p: (p["M"], p["K"])), _i8("W", lambda p: (p["K"], p["N"]))),
    lambda p: (p["M"], p["N"]),
    gemm,
    "int32",
    ALGORITHMS["gemm"],
    lambda p: {},
)
BATCH_MATMUL = IntegerForm(
    (_i8("X", lambda p: (p["B"], p["M"], p["K"])), _i8("W", lambda p: (p["B"], p["K"], p["N"]))),
    lambda p: (p["B"], p["M"], p["N"]),
    batch_matmul,
    "int32",
    ALGORITHMS["batch_matmul"],
    lambda p: {},
)
LINEAR = IntegerForm(
    (
        _i8("X", lambda p: (p["M"], p["K"])),
        _i8("W", lambda p: (p["K"], p["N"])),
        _i32("b", lambda p: (1, p["N"]), *BIAS_RANGE),
    ),
    lambda p: (p["M"], p["N"]),
    linear,
    "int8",
    ALGORITHMS["linear"],
    linear_constants,
)
CONV2D = IntegerForm(
    (
        _i8("x", lambda p: (p["Cin"], p["H"], p["H"])),
        _i8("w", lambda p: (p["Cout"], p["Cin"], p["k"], p["k"])),
    ),
    lambda p: (p["Cout"], p["H"], p["H"]),
    conv2d,
    "int32",
    ALGORITHMS["conv2d"],
    lambda p: {},
)
DEPTHWISE_CONV = IntegerForm(
    (
        _i8("x", lambda p: (p["C"], p["H"], p["H"])),
        _i8("w", lambda p: (p["C"], p["k"], p["k"])),
        _i32("bias", lambda p: (p["C"],), *BIAS_RANGE),
    ),
    lambda p: (p["C"], p["H"], p["H"]),
    depthwise,
    "int8",
    ALGORITHMS["depthwise_conv"],
    depthwise_constants,
)
CONV_BLOCK = IntegerForm(
    (
        _i8("x", lambda p: (p["Cin"], p["H"], p["H"])),
        _i8("w", lambda p: (p["Cout"], p["Cin"], p["k"], p["k"])),
        _i32("bias", lambda p: (p["Cout"],), *BIAS_RANGE),
    ),
    lambda p: (p["Cout"], p["H"], p["H"]),
    conv_block,
    "int8",
    ALGORITHMS["conv_block"],
    conv_block_constants,
)
FFN = IntegerForm(
    (
        _i8("x", lambda p: (p["N"], p["H"])),
        _i8("W1", lambda p: (p["H"], p["I"])),
        _i8("W2", lambda p: (p["I"], p["H"])),
    ),
    lambda p: (p["N"], p["H"]),
    ffn,
    "int8",
    ALGORITHMS["ffn"],
    ffn_constants,
)
