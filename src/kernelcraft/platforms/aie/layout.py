"""The tile's local-memory map as the harness uses it, and the constant table it preloads.

64 KB at 0x70000..0x7FFFF, four 16 KB logical banks (bank = address bits 15:14). The harness
keeps each operand stream in its own logical bank so that a kernel loading two operands and
storing a result in one bundle pays no bank conflict; ping/pong buffers of one stream share
a bank (the DMA fills one while the kernel reads the other).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import numerics as nx

BASE = 0x70000
BANK = 0x4000

# bank 0: first input stream (ping, pong)
IN0 = (0x70000, 0x72000)
# bank 1: second input stream
IN1 = (0x74000, 0x76000)
# bank 2: accumulator tile, output tiles, epilogue-operand tiles
ACC = 0x78000
OUT = (0x79000, 0x79800)
EPI = (0x7A000, 0x7A800)
# bank 3: kernel scratch, harness constants, stack
SCRATCH = 0x7C000
SCRATCH_BYTES = 0x3000
CONSTS = 0x7F000
CONSTS_BYTES = 0x800
STACK_TOP = 0x7FFF0

IN_BYTES = 0x2000  # each input ping/pong buffer
OUT_BYTES = 0x800
ACC_BYTES = 0x1000
EPI_BYTES = 0x800

REGIONS: tuple[tuple[str, int, int, str], ...] = (
    ("in0_ping", IN0[0], IN_BYTES, "first input tile (ping)"),
    ("in0_pong", IN0[1], IN_BYTES, "first input tile (pong)"),
    ("in1_ping", IN1[0], IN_BYTES, "second input tile (ping)"),
    ("in1_pong", IN1[1], IN_BYTES, "second input tile (pong)"),
    ("acc", ACC, ACC_BYTES, "fp32 accumulator tile, kept across the K steps of one output tile"),
    ("out_ping", OUT[0], OUT_BYTES, "output tile (ping)"),
    ("out_pong", OUT[1], OUT_BYTES, "output tile (pong)"),
    ("epi_ping", EPI[0], EPI_BYTES, "epilogue operand tile (bias, residual, gate) (ping)"),
    ("epi_pong", EPI[1], EPI_BYTES, "epilogue operand tile (pong)"),
    ("scratch", SCRATCH, SCRATCH_BYTES, "free for the kernel"),
    ("consts", CONSTS, CONSTS_BYTES, "constant table (read-only by convention)"),
    ("stack", STACK_TOP - 0x7F0, 0x800, "stack; sp = 0x7FFF0 at entry"),
)


@dataclass(frozen=True)
class Constant:
    name: str
    offset: int  # from CONSTS
    kind: str  # a key of LANE_FORMATS
    meaning: str

    @property
    def address(self) -> int:
        return CONSTS + self.offset

    @property
    def lanes(self) -> str:
        """How the 64 bytes are laid out, for the docs (the same kind drives the encoding)."""
        return LANE_FORMATS[self.kind]


# What each encoding kind puts in an entry's 64 bytes (see _encode).
LANE_FORMATS = {
    "f32x16": "16 fp32",
    "i32x16": "16 int32",
    "i16x32": "32 x 16-bit",
    "i16lo8": "32 x 16-bit",
    "bf16x32": "32 bf16",
    "bf16lo": "32 bf16 (16..31 = 0)",
    "bf16hilo": "32 bf16 (two values)",
    "bf16pm": "32 bf16 (two values)",
}


LOG2E = 1.4426950408889634
_L_HI = float(nx.to_bf16_values(np.array([LOG2E]))[0])
_L_LO = float(nx.to_bf16_values(np.array([LOG2E - _L_HI]))[0])
LN2 = 0.6931471805599453
# Taylor coefficients of 2^(-g) = exp(-g ln 2) for g in [-0.5, 0.5]
EXP_POLY = tuple((-LN2) ** k / float(np.prod(range(1, k + 1))) for k in range(5))

_FIXED: list[tuple[str, str, object, str]] = [
    ("one", "f32x16", 1.0, "1.0 in 16 fp32 lanes"),
    ("zero", "f32x16", 0.0, "0.0 in 16 fp32 lanes (also 32 zero bf16 lanes)"),
    ("magic", "f32x16", 12582912.0, "1.5 * 2^23 in fp32 lanes: x + magic - magic rounds x to an integer"),
    (
        "log2e",
        "bf16hilo",
        (_L_HI, _L_LO),
        f"bf16 lanes 0..15 = {_L_HI!r}, 16..31 = {_L_LO!r}: log2(e) as hi + lo",
    ),
    ("exp_bias", "i32x16", 0x4B400000 - 127, "int32 lanes: bits of 1.5 * 2^23 minus the fp32 exponent bias"),
    ("exp_c1", "f32x16", EXP_POLY[1], "-ln 2 (Taylor coefficient 1 of 2^-g, g in [-0.5, 0.5])"),
    ("exp_c2", "f32x16", EXP_POLY[2], "ln 2^2 / 2"),
    ("exp_c3", "f32x16", EXP_POLY[3], "-ln 2^3 / 6"),
    ("exp_c4", "bf16lo", EXP_POLY[4], "bf16 lanes 0..15 = ln 2^4 / 24, lanes 16..31 = 0"),
    ("clamp_lo", "bf16x32", -87.0, "-87.0 in 32 bf16 lanes (exp input floor)"),
    (
        "clamp_hi",
        "bf16x32",
        80.0,
        "80.0 in 32 bf16 lanes (exp input ceiling: 1/exp(80) is still a normal fp32)",
    ),
    ("recip_magic", "i32x16", 0x7EF311C3, "int32 lanes: initial reciprocal estimate is magic - bits(y)"),
    ("rsqrt_magic", "i32x16", 0x5F3759DF, "int32 lanes: initial 1/sqrt estimate is magic - bits(y)/2"),
    ("half", "bf16lo", 0.5, "bf16 lanes 0..15 = 0.5, lanes 16..31 = 0"),
    ("sign", "i16x32", 0x8000, "0x8000 in 32 16-bit lanes (bf16 sign bits; xor negates)"),
    ("one_neg_one", "bf16pm", (1.0, -1.0), "bf16 lanes 0..15 = 1.0, 16..31 = -1.0"),
    ("sign_lo8", "i16lo8", 0x8000, "16-bit lanes: 0x8000 in lanes 0..7 and 16..23, 0 in 8..15 and 24..31"),
]
TASK_CONSTANTS = ("eps", "inv_hidden", "inv_sqrt_dhead", "gelu_c1", "gelu_c3")
_TASK_MEANING = {
    "eps": "the task's epsilon in 16 fp32 lanes",
    "inv_hidden": "1 / H (the normalised row length) in 16 fp32 lanes",
    "inv_sqrt_dhead": "1 / sqrt(head size) in bf16 lanes 0..15, 0 in lanes 16..31",
    "gelu_c1": "GELU sigmoid form: 2*sqrt(2/pi) in bf16 lanes 0..15, 0 in 16..31",
    "gelu_c3": "GELU sigmoid form: 2*sqrt(2/pi)*0.044715 in bf16 lanes 0..15, 0 in 16..31",
}
_TASK_KIND = {
    "eps": "f32x16",
    "inv_hidden": "f32x16",
    "inv_sqrt_dhead": "bf16lo",
    "gelu_c1": "bf16lo",
    "gelu_c3": "bf16lo",
}

CONSTANTS: dict[str, Constant] = {}
for _i, (_name, _kind, _value, _meaning) in enumerate(_FIXED):
    CONSTANTS[_name] = Constant(_name, 64 * _i, _kind, _meaning)
for _j, _name in enumerate(TASK_CONSTANTS):
    CONSTANTS[_name] = Constant(_name, 64 * (len(_FIXED) + _j), _TASK_KIND[_name], _TASK_MEANING[_name])
FIXED_VALUES = {name: value for name, _k, value, _m in _FIXED}


def _encode(kind: str, value) -> np.ndarray:
    if kind == "f32x16":
        return np.full(16, value, dtype=np.float32).view(np.uint8)
    if kind == "i32x16":
        return np.full(16, value & 0xFFFFFFFF, dtype=np.uint32).view(np.uint8)
    if kind == "i16x32":
        return np.full(32, value, dtype=np.uint16).view(np.uint8)
    if kind == "i16lo8":
        lanes = np.zeros(32, dtype=np.uint16)
        lanes[0:8] = lanes[16:24] = value
        return lanes.view(np.uint8)
    if kind == "bf16x32":
        return nx.f32_to_bf16(np.full(32, value, dtype=np.float32)).view(np.uint8)
    if kind == "bf16lo":
        lanes = np.zeros(32, dtype=np.float32)
        lanes[:16] = value
        return nx.f32_to_bf16(lanes).view(np.uint8)
    lanes = np.zeros(32, dtype=np.float32)
    lanes[:16], lanes[16:] = value
    return nx.f32_to_bf16(lanes).view(np.uint8)


def constant_image(task_values: dict[str, float]) -> np.ndarray:
    """The constant table's bytes (CONSTS_BYTES long); task constants default to 0."""
    image = np.zeros(CONSTS_BYTES, dtype=np.uint8)
    for name, const in CONSTANTS.items():
        value = FIXED_VALUES.get(name, task_values.get(name, 0.0))
        image[const.offset : const.offset + 64] = _encode(const.kind, value)
    return image
