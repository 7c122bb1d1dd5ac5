"""The PLENA instruction table: the single source for the assembler, the binary encoding,
the simulator's dispatch, the timing model and the generated ISA reference.

Adding an instruction to the base ISA is one `InstrSpec` entry here plus its semantics
function in `semantics.py`; a test checks the two stay in step. Extension sets (ISA co-design,
extensions.py) are one entry per instruction with a behaviour (typed operands and a NumPy
reference) instead of a semantics function; a configuration's `extensions` name the sets its
InstructionTable includes, and instructions added at run time join a platform's table the same
way (PlenaPlatform.with_instructions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from .config import PlenaConfig


class Unit(StrEnum):
    MATRIX = "matrix"
    VECTOR = "vector"
    SCALAR = "scalar"
    MEMORY = "memory"  # HBM DMA
    CONTROL = "control"


class Kind(StrEnum):
    GP = "gp"  # integer register gp0..gp15
    FP = "fp"  # BF16 register f0..f7
    ADDR = "addr"  # HBM address register a0..a7
    IMM = "imm"  # unsigned integer immediate
    ZERO = "zero"  # placeholder operand: must be 0 (or gp0)


# Bit positions of the encoding fields (LSB first): name -> (shift, width).
FIELDS: dict[str, tuple[int, int]] = {
    "opcode": (0, 6),
    "rd": (6, 4),
    "rs1": (10, 4),
    "rs2": (14, 4),
    "rs3": (18, 4),
    "funct1": (22, 4),
    "imm18": (14, 18),
    "imm22": (10, 22),
}


@dataclass(frozen=True)
class Operand:
    name: str
    kind: Kind
    field: str
    doc: str
    choices: tuple[int, ...] | None = None  # allowed immediates for flag operands
    default: int | None = None  # trailing operand that may be omitted
    min_value: int = 0

    @property
    def max_value(self) -> int:
        if self.choices is not None:
            return max(self.choices)
        return (1 << FIELDS[self.field][1]) - 1

    def syntax(self) -> str:
        text = self.name
        return f"[{text}]" if self.default is not None else text


CostFn = Callable[[PlenaConfig, tuple[int, ...]], int]
MacFn = Callable[[PlenaConfig], int]


@dataclass(frozen=True)
class Cost:
    """An instruction's cycles under one timing profile, with where the number comes from."""

    fn: CostFn  # (config, operand values) -> cycles
    text: str  # the formula, as the docs show it
    source: str


@dataclass(frozen=True)
class InstrSpec:
    name: str
    opcode: int
    unit: Unit
    operands: tuple[Operand, ...]
    cost: Cost | None  # the public emulator's cost; None: DMA timed by the HBM model
    summary: str
    semantics: str
    notes: str = ""
    macs: MacFn | None = None  # useful multiply-accumulates per execution
    consistent_cost: Cost | None = None  # the consistent profile's cost when it differs
    surplus_zero_operands: int = 0  # trailing all-zero operands the public toolchain emits
    # Extension instructions (extensions.py) and instructions added at run time carry their
    # behaviour (typed operands and a reference the simulator calls) instead of a builder in
    # semantics.py, the extension set they belong to, and which register operands they write.
    behaviour: Any = None
    extension: str = ""
    written: tuple[int, ...] = ()

    def timing(self, cfg: PlenaConfig) -> Cost | None:
        """This instruction's cost under the configuration's timing profile."""
        if cfg.timing_profile == "consistent" and self.consistent_cost is not None:
            return self.consistent_cost
        return self.cost

    def cycles(self, cfg: PlenaConfig, ops: tuple[int, ...]) -> int:
        """Fixed cycles of one execution (0 for DMA: the HBM model times those)."""
        cost = self.timing(cfg)
        return 0 if cost is None else cost.fn(cfg, ops)

    def cost_text(self, cfg: PlenaConfig) -> str:
        cost = self.timing(cfg)
        return "HBM model" if cost is None else cost.text

    def syntax(self) -> str:
        ops = ", ".join(o.syntax() for o in self.operands)
        return f"{self.name} {ops}".strip()

    @property
    def required_operands(self) -> int:
        return sum(1 for o in self.operands if o.default is None)


# --- operand shorthands -------------------------------------------------------------


def _gp(name: str, field: str, doc: str) -> Operand:
    return Operand(name, Kind.GP, field, doc)


def _fp(name: str, field: str, doc: str) -> Operand:
    return Operand(name, Kind.FP, field, doc)


def _imm(name: str, field: str, doc: str, min_value: int = 0) -> Operand:
    return Operand(name, Kind.IMM, field, doc, min_value=min_value)


def _flag(name: str, field: str, doc: str, default: int | None = None) -> Operand:
    return Operand(name, Kind.IMM, field, doc, choices=(0, 1), default=default)


ZERO = Operand("0", Kind.ZERO, "rd", "placeholder, write 0")
# Masked elementwise ops follow the emulator: heads not enabled in V_MASK receive rs1's values,
# not rd's previous ones (the same thing when rd = rs1).
RMASK = _flag(
    "rmask",
    "rs3",
    "0: whole vector; 1: heads enabled in V_MASK get the result, the other heads of rd get rs1's values",
    default=0,
)
RMASK_READ = _flag("rmask", "rs3", "0: whole vector; 1: only heads enabled in V_MASK are read", default=0)
PREC_M = _flag("prec", "funct1", "precision class: 0 weights, 1 key/value (both MXFP8 here)")
PREC_V = _flag("prec", "funct1", "precision class: 0 activation, 1 key/value (both MXFP8 here)")
RSTRIDE = _flag("rstride", "rs3", "0: consecutive rows; 1: rows STRIDE_REG elements apart")
# The public toolchain and its emulator disagree on where these ops keep rmask.
_RMASK_BIT14_NOTE = (
    "rmask is encoded in rs3 (bits [21:18]), where the public emulator reads it. The public "
    "assembler (PLENA_Compiler assembler/assembly_to_binary.py) places this op's rmask at bit 14 "
    "instead, so its masked form has no effect on its emulator; disasm rejects such a word and says "
    "so. A trailing all-zero operand (`, 0`), as the public compiler writes, is accepted with a warning."
)
_RMASK_DROPPED_NOTE = (
    "rmask is encoded in rs3 (bits [21:18]), where the public emulator reads it. The public "
    "assembler (PLENA_Compiler assembler/assembly_to_binary.py) encodes V_RED_SUM with rd and rs1 "
    "only, so its masked form has no effect there. A trailing all-zero operand (`, 0`), as the "
    "public compiler writes, is accepted with a warning."
)


_SIM = "PLENA_Simulator@f0703b2 transactional_emulator"
_TOML = "PLENA_Simulator@f0703b2 plena_settings.toml"
_ISA_LIB = "PLENA_Simulator@f0703b2 analytic_models/performance/customISA_lib.json"
_DISPATCH_ONE = (
    f"{_SIM}/src/accelerator/dispatch.rs awaits cycle!(1) (S_LD_FP line 447, S_ST_FP 454, "
    "C_SET_* 596-608, C_LOOP_START 612, C_LOOP_END 620, C_BREAK 624)"
)


def _fixed(value: int, source: str, text: str | None = None) -> Cost:
    return Cost(lambda cfg, ops: value, text or str(value), source)


def _setting(value: int, name: str, line: int, where: str) -> Cost:
    """A latency the emulator awaits (`where`) and reads from plena_settings.toml (dc_lib_en)."""
    return _fixed(value, f"{_TOML}:{line} {name} = {value}, awaited in {where}")


def _mlen_cost(source: str) -> Cost:
    return Cost(
        lambda cfg, ops: cfg.systolic_overhead_cycles + cfg.mlen,
        "SYSTOLIC_PROCESSING_OVERHEAD + MLEN",
        f"{source} compute(SYSTOLIC_PROCESSING_OVERHEAD + mlen); {_TOML}:340 overhead = 0",
    )


def _one_row_cost(source: str) -> Cost:
    return Cost(
        lambda cfg, ops: cfg.systolic_overhead_cycles + 1,
        "SYSTOLIC_PROCESSING_OVERHEAD + 1",
        f"{source} compute(SYSTOLIC_PROCESSING_OVERHEAD + 1); {_TOML}:340 overhead = 0",
    )


def _wo_emulator(source: str) -> Cost:
    return _fixed(1, f"{source} compute(1)")


def drain_cycles(cfg: PlenaConfig) -> int:
    """Fill and drain of the array: customISA_lib.json M_MM alone (6 + 2*BLEN + 3) minus
    pipelined (BLEN): the cycles from the last input entering the array to its result."""
    return 9 + cfg.blen


def _array_cost(macs: MacFn, source: str, weight_load: bool = False) -> Cost:
    """Cycles at the array's peak rate; single-row forms also load BLEN weight columns."""
    if weight_load:
        return Cost(
            lambda cfg, ops: -(-macs(cfg) // cfg.array_macs_per_cycle) + cfg.blen,
            "MACs / (BLEN*MLEN) + BLEN",
            source,
        )
    return Cost(lambda cfg, ops: -(-macs(cfg) // cfg.array_macs_per_cycle), "MACs / (BLEN*MLEN)", source)


def _drain_cost(rows: Callable[[PlenaConfig], int], rows_text: str) -> Cost:
    return Cost(
        lambda cfg, ops: drain_cycles(cfg) + rows(cfg),
        f"(9 + BLEN) + {rows_text}",
        f"fill/drain 9 + BLEN = {_ISA_LIB}:3-4 M_MM alone (6 + 2*BLEN + 3) minus pipelined (BLEN), "
        "paid when the accumulators are read out; plus one VRAM row written per cycle (our choice: "
        "VRAM is VLEN wide, one row per write)",
    )


_MM_MACS: MacFn = lambda cfg: cfg.blen * cfg.mlen * cfg.blen  # noqa: E731
_BMM_MACS: MacFn = lambda cfg: cfg.heads_per_row * cfg.mlen * cfg.hlen * cfg.mlen  # noqa: E731
_MV_MACS: MacFn = lambda cfg: cfg.mlen * cfg.blen  # noqa: E731
_BMV_MACS: MacFn = lambda cfg: cfg.heads_per_row * cfg.hlen * cfg.mlen  # noqa: E731
_ARRAY = (
    "one array of BLEN x MLEN multipliers (PLENA_Doc doc/hardware_config.md, Matrix Unit: each GEMM "
    "step takes a (BLEN, MLEN) VRAM tile and an (MLEN, BLEN) MRAM tile)"
)
_MM_ARRAY = _array_cost(_MM_MACS, f"{_ARRAY}; {_ISA_LIB}:4 M_MM pipelined = BLEN, the same number")
_BMM_ARRAY = _array_cost(
    _BMM_MACS, f"{_ARRAY}; {_ISA_LIB}:14 M_BMM pipelined = (MLEN/BLEN)^2 * BLEN, the same number"
)
_MV_ARRAY = _array_cost(
    _MV_MACS,
    f"{_ARRAY}, plus BLEN cycles loading the weight columns that one row cannot hide; "
    f"{_ISA_LIB}:34 M_MV pipelined = 1 + BLEN, the same number",
    weight_load=True,
)
_BMV_ARRAY = _array_cost(
    _BMV_MACS,
    f"{_ARRAY}, plus the BLEN weight-load cycles of M_MV; {_ISA_LIB}:44 gives 1 + BLEN, which would "
    "exceed the array's peak, so the MACs are charged at the peak rate",
    weight_load=True,
)


INSTRUCTIONS: tuple[InstrSpec, ...] = (
    # ---------------------------------------------------------------- matrix
    InstrSpec(
        "M_MM",
        0x01,
        Unit.MATRIX,
        (
            ZERO,
            _gp("rs1", "rs1", "MRAM address: tile base + column block j * BLEN * MLEN"),
            _gp("rs2", "rs2", "VRAM address of the first of BLEN activation rows"),
        ),
        _mlen_cost(f"{_SIM}/src/matrix_machine.rs:126 mm"),
        "Accumulate a BLEN x BLEN block: BLEN VRAM rows times BLEN columns of an MRAM tile.",
        "X[i, :] = VRAM[G[rs2] + i*MLEN : +MLEN] for i < BLEN; tile T = MRAM tile containing G[rs1]; "
        "c = (G[rs1] mod MLEN*MLEN) / MLEN; m_accum += X @ T[:, c:c+BLEN] (FP32).",
        "Column block j of a tile is addressed as tile_base + j*BLEN*MLEN (row-granular form), so "
        "(G[rs1] mod MLEN*MLEN) must be a multiple of BLEN*MLEN.",
        macs=_MM_MACS,
        consistent_cost=_MM_ARRAY,
    ),
    InstrSpec(
        "M_TMM",
        0x02,
        Unit.MATRIX,
        (
            ZERO,
            _gp("rs1", "rs1", "VRAM address of the first of BLEN activation rows"),
            _gp("rs2", "rs2", "MRAM address: tile base + row block j * BLEN * MLEN"),
        ),
        _mlen_cost(f"{_SIM}/src/matrix_machine.rs:407 tmm"),
        "Like M_MM but against the transposed tile: X @ T[c:c+BLEN, :]^T. Note the swapped operands.",
        "X[i, :] = VRAM[G[rs1] + i*MLEN : +MLEN] for i < BLEN; T = MRAM tile containing G[rs2]; "
        "c = (G[rs2] mod MLEN*MLEN) / MLEN; m_accum += X @ T[c:c+BLEN, :]^T (FP32).",
        "Use it when the weight is stored transposed (out x in), and for Q @ K^T.",
        macs=_MM_MACS,
        consistent_cost=_MM_ARRAY,
    ),
    InstrSpec(
        "M_BMM",
        0x03,
        Unit.MATRIX,
        (
            ZERO,
            _gp(
                "rs1",
                "rs1",
                "MRAM address, written tile_base + c: c (a multiple of HLEN) selects tile rows c..c+HLEN-1",
            ),
            _gp("rs2", "rs2", "VRAM address of the first of MLEN rows (heads interleaved in each row)"),
        ),
        _mlen_cost(f"{_SIM}/src/matrix_machine.rs:167 bmm"),
        "Per-head matmul over MLEN/HLEN lanes: S_h += scale * X_h @ T[c:c+HLEN, :].",
        "The MRAM address is written tile_base + c: c = G[rs1] mod MLEN*MLEN (a multiple of HLEN, "
        "c + HLEN <= MLEN) selects rows c..c+HLEN-1 of the tile T containing G[rs1]. For lane h < "
        "MLEN/HLEN: X_h[i, j] = element j*(MLEN/HLEN) + h of the i-th of the MLEN VRAM rows starting at "
        "G[rs2] (heads interleaved); hm_accum[h] += bmm_scale * X_h @ T[c:c+HLEN, :] (MLEN x MLEN, FP32).",
        'bmm_scale (see "hardware > PLENA hardware configuration > Derived sizes") is applied inside '
        "the hardware and cannot be changed. M_BMM and "
        "M_BMV read the heads of a row interleaved (element j of head h at column j*(MLEN/HLEN) + h), "
        "as the public emulator does; M_BTMM, M_BTMV and V_MASK use contiguous heads (head h = columns "
        "h*HLEN..(h+1)*HLEN-1).",
        macs=_BMM_MACS,
        consistent_cost=_BMM_ARRAY,
    ),
    InstrSpec(
        "M_BTMM",
        0x04,
        Unit.MATRIX,
        (
            ZERO,
            _gp("rs1", "rs1", "MRAM address: tile base + head column offset c (multiple of HLEN)"),
            _gp("rs2", "rs2", "VRAM address of the first of MLEN rows (heads packed in each row)"),
        ),
        _mlen_cost(f"{_SIM}/src/matrix_machine.rs:285 btmm"),
        "Per-head Q @ K^T over MLEN/HLEN lanes sharing one K head: S_h += scale * Q_h @ K^T.",
        "For lane h < MLEN/HLEN: Q_h = columns [h*HLEN, (h+1)*HLEN) of the MLEN VRAM rows starting at "
        "G[rs2]; T = MRAM tile containing G[rs1] (MLEN keys x MLEN features), c = G[rs1] mod MLEN*MLEN "
        "(an element offset, multiple of HLEN); hm_accum[h] += bmm_scale * Q_h @ T[:, c:c+HLEN]^T.",
        "All lanes read the same K head (columns c..c+HLEN of the tile): grouped-query attention "
        "with MLEN/HLEN query heads per K head. bmm_scale is applied inside.",
        macs=_BMM_MACS,
        consistent_cost=_BMM_ARRAY,
    ),
    InstrSpec(
        "M_BMM_WO",
        0x05,
        Unit.MATRIX,
        (_gp("rd", "rd", "VRAM destination base"), _imm("imm", "imm18", "added to G[rd]")),
        _wo_emulator(f"{_SIM}/src/matrix_machine.rs:451 bmm_wo"),
        "Write the per-head accumulators as MLEN/HLEN consecutive MLEN x MLEN blocks, then clear.",
        "addr = G[rd] + imm (multiple of VLEN); lane h's MLEN x MLEN result (BF16) goes to VRAM rows "
        "addr + h*MLEN*MLEN + i*MLEN, i < MLEN (head-major); hm_accum = 0.",
        consistent_cost=_drain_cost(lambda cfg: cfg.heads_per_row * cfg.mlen, "MLEN/HLEN * MLEN rows"),
    ),
    InstrSpec(
        "M_MM_WO",
        0x06,
        Unit.MATRIX,
        (
            _gp("rd", "rd", "VRAM destination address"),
            _gp("rstride", "rs1", "row stride register in VRAM rows; gp0 means 1"),
            _imm("imm", "imm18", "added to G[rd]"),
        ),
        _wo_emulator(f"{_SIM}/src/matrix_machine.rs:430 mm_wo"),
        "Write the BLEN x BLEN accumulator into VRAM (BF16), then clear it.",
        "addr = G[rd] + imm; base = addr rounded down to VLEN; o = addr mod VLEN (multiple of BLEN); "
        "s = 1 if rstride is gp0 else G[rstride]; for i < BLEN: VRAM[base + i*VLEN*s + o : +BLEN] = "
        "m_accum[i, :]; m_accum = 0.",
        "Only the BLEN written columns of each row change. An accumulator holds BLEN x BLEN: write it "
        "out once per output block.",
        consistent_cost=_drain_cost(lambda cfg: cfg.blen, "BLEN rows"),
    ),
    InstrSpec(
        "M_MV",
        0x07,
        Unit.MATRIX,
        (
            ZERO,
            _gp("rs1", "rs1", "MRAM address: tile base + column offset c (c + BLEN <= MLEN)"),
            _gp("rs2", "rs2", "VRAM address of the input row"),
        ),
        Cost(lambda cfg, ops: cfg.mlen, "MLEN", f"{_SIM}/src/matrix_machine.rs:504 mv compute(mlen)"),
        "Vector times matrix slice: v_accum (BLEN) += x @ T[:, c:c+BLEN].",
        "x = VRAM[G[rs2] : +MLEN]; T = MRAM tile containing G[rs1]; c = G[rs1] mod MLEN*MLEN "
        "(element offset inside the first row, multiple of BLEN); v_accum += x @ T[:, c:c+BLEN].",
        macs=_MV_MACS,
        consistent_cost=_MV_ARRAY,
    ),
    InstrSpec(
        "M_TMV",
        0x08,
        Unit.MATRIX,
        (
            ZERO,
            _gp("rs1", "rs1", "MRAM address: tile base + row offset c (multiple of BLEN)"),
            _gp("rs2", "rs2", "VRAM address of the input row"),
        ),
        Cost(lambda cfg, ops: cfg.mlen, "MLEN", f"{_SIM}/src/matrix_machine.rs:529 tmv compute(mlen)"),
        "Vector times transposed slice: v_accum (BLEN) += x @ T[c:c+BLEN, :]^T.",
        "x = VRAM[G[rs2] : +MLEN]; T = MRAM tile containing G[rs1]; c = G[rs1] mod MLEN*MLEN (an "
        "element offset, multiple of BLEN, c + BLEN <= MLEN); v_accum += x @ T[c:c+BLEN, :]^T.",
        macs=_MV_MACS,
        consistent_cost=_MV_ARRAY,
    ),
    InstrSpec(
        "M_BMV",
        0x09,
        Unit.MATRIX,
        (
            _gp("rd", "rd", "extra MRAM offset register (gp0 for none)"),
            _gp(
                "rs1",
                "rs1",
                "MRAM address, written tile_base + c: c (a multiple of HLEN) selects tile rows c..c+HLEN-1",
            ),
            _gp("rs2", "rs2", "VRAM address of the query row (heads interleaved)"),
        ),
        _one_row_cost(f"{_SIM}/src/matrix_machine.rs:226 bmv"),
        "Decode-time M_BMM for one token: per lane h, hv_accum[h] += scale * q_h @ T[c:c+HLEN, :].",
        "a = G[rs1] + G[rd], written tile_base + c: T = MRAM tile containing a, c = a mod MLEN*MLEN (a "
        "multiple of HLEN) selects tile rows c..c+HLEN-1; lane h: q_h[j] = VRAM[G[rs2] + j*(MLEN/HLEN) + h] "
        "(heads interleaved, as M_BMM); hv_accum[h] += bmm_scale * q_h @ T[c:c+HLEN, :].",
        macs=_BMV_MACS,
        consistent_cost=_BMV_ARRAY,
    ),
    InstrSpec(
        "M_BTMV",
        0x0A,
        Unit.MATRIX,
        (
            _gp("rd", "rd", "extra MRAM offset register (gp0 for none)"),
            _gp("rs1", "rs1", "MRAM address: tile base + head column offset c (multiple of HLEN)"),
            _gp("rs2", "rs2", "VRAM address of the query row (heads packed)"),
        ),
        _one_row_cost(f"{_SIM}/src/matrix_machine.rs:351 btmv"),
        "Decode-time M_BTMM for one token: per lane h, hv_accum[h] += scale * q_h @ K^T.",
        "a = G[rs1] + G[rd]; T = MRAM tile containing a, c = a mod MLEN*MLEN (element offset); lane h: "
        "q_h = VRAM[G[rs2] + h*HLEN : +HLEN]; hv_accum[h] += bmm_scale * q_h @ T[:, c:c+HLEN]^T.",
        macs=_BMV_MACS,
        consistent_cost=_BMV_ARRAY,
    ),
    InstrSpec(
        "M_MV_WO",
        0x0B,
        Unit.MATRIX,
        (_gp("rd", "rd", "VRAM destination address"), _imm("imm", "imm18", "added to G[rd]")),
        _wo_emulator(f"{_SIM}/src/matrix_machine.rs:549 mv_wo"),
        "Write the BLEN-element vector accumulator into VRAM (BF16), then clear it.",
        "addr = G[rd] + imm (multiple of BLEN, within one row); VRAM[addr : +BLEN] = v_accum; v_accum = 0.",
        consistent_cost=_drain_cost(lambda cfg: 1, "1 row"),
    ),
    InstrSpec(
        "M_BMV_WO",
        0x0C,
        Unit.MATRIX,
        (_gp("rd", "rd", "VRAM destination base"), _imm("imm", "imm18", "added to G[rd]")),
        _wo_emulator(f"{_SIM}/src/matrix_machine.rs:480 bmv_wo"),
        "Write the per-head vector accumulators as MLEN/HLEN consecutive VRAM rows, then clear.",
        "addr = G[rd] + imm (multiple of VLEN); VRAM[addr + h*VLEN : +VLEN] = hv_accum[h]; hv_accum = 0.",
        consistent_cost=_drain_cost(lambda cfg: cfg.heads_per_row, "MLEN/HLEN rows"),
    ),
    # ---------------------------------------------------------------- vector
    InstrSpec(
        "V_ADD_VV",
        0x0D,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "first source row"),
            _gp("rs2", "rs2", "second source row"),
            RMASK,
        ),
        _setting(1, "VECTOR_ADD_CYCLES", 352, f"{_SIM}/src/vector_machine.rs"),
        "Elementwise add of two VRAM rows.",
        "V[G[rd]] = V[G[rs1]] + V[G[rs2]].",
        "gp0 as a source means VRAM address 0, not a zero vector.",
    ),
    InstrSpec(
        "V_ADD_VF",
        0x0E,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "source row"),
            _fp("fs", "rs2", "scalar"),
            RMASK,
        ),
        _setting(1, "VECTOR_ADD_CYCLES", 352, f"{_SIM}/src/vector_machine.rs"),
        "Add a broadcast scalar to a VRAM row.",
        "V[G[rd]] = V[G[rs1]] + F[fs].",
    ),
    InstrSpec(
        "V_SUB_VV",
        0x0F,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "minuend row"),
            _gp("rs2", "rs2", "subtrahend row"),
            RMASK,
        ),
        _setting(1, "VECTOR_ADD_CYCLES", 352, f"{_SIM}/src/vector_machine.rs"),
        "Elementwise subtract: rs1 - rs2.",
        "V[G[rd]] = V[G[rs1]] - V[G[rs2]].",
        "Order follows the public emulator (rs1 - rs2); one copy of the written spec says rs2 - rs1.",
    ),
    InstrSpec(
        "V_SUB_VF",
        0x10,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "source row"),
            _fp("fs", "rs2", "scalar"),
            RMASK,
            _flag("rorder", "funct1", "0: vector - scalar; 1: scalar - vector", default=0),
        ),
        _setting(1, "VECTOR_ADD_CYCLES", 352, f"{_SIM}/src/vector_machine.rs"),
        "Subtract a broadcast scalar (or subtract the row from it with rorder=1).",
        "rorder=0: V[G[rd]] = V[G[rs1]] - F[fs]; rorder=1: V[G[rd]] = F[fs] - V[G[rs1]].",
        "Negate a row with V_SUB_VF rd, rs1, f0, 0, 1.",
    ),
    InstrSpec(
        "V_MUL_VV",
        0x11,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "first source row"),
            _gp("rs2", "rs2", "second source row"),
            RMASK,
        ),
        _setting(1, "VECTOR_MUL_CYCLES", 356, f"{_SIM}/src/vector_machine.rs"),
        "Elementwise multiply of two VRAM rows.",
        "V[G[rd]] = V[G[rs1]] * V[G[rs2]].",
    ),
    InstrSpec(
        "V_MUL_VF",
        0x12,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "source row"),
            _fp("fs", "rs2", "scalar"),
            RMASK,
        ),
        _setting(1, "VECTOR_MUL_CYCLES", 356, f"{_SIM}/src/vector_machine.rs"),
        "Multiply a VRAM row by a broadcast scalar.",
        "V[G[rd]] = V[G[rs1]] * F[fs].",
    ),
    InstrSpec(
        "V_EXP_V",
        0x13,
        Unit.VECTOR,
        (_gp("rd", "rd", "destination row"), _gp("rs1", "rs1", "source row"), RMASK),
        _setting(1, "VECTOR_EXP_CYCLES", 360, f"{_SIM}/src/vector_machine.rs"),
        "Elementwise exp, inputs clamped to [-88, 88].",
        "V[G[rd]] = exp(clamp(V[G[rs1]], -88, 88)).",
        notes=_RMASK_BIT14_NOTE,
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "V_RECI_V",
        0x14,
        Unit.VECTOR,
        (_gp("rd", "rd", "destination row"), _gp("rs1", "rs1", "source row"), RMASK),
        _setting(2, "VECTOR_RECI_CYCLES", 372, f"{_SIM}/src/vector_machine.rs"),
        "Elementwise reciprocal.",
        "V[G[rd]] = 1 / V[G[rs1]] (1/0 = inf).",
        notes=_RMASK_BIT14_NOTE,
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "V_RED_SUM",
        0x15,
        Unit.VECTOR,
        (_fp("fd", "rd", "accumulating scalar"), _gp("rs1", "rs1", "source row"), RMASK_READ),
        _setting(8, "VECTOR_SUM_CYCLES", 380, f"{_SIM}/src/vector_machine.rs"),
        "Sum a VRAM row INTO a scalar register (it accumulates: zero it first).",
        "F[fd] = F[fd] + sum(V[G[rs1]]) (sum in FP32, result rounded to BF16); with rmask=1 only "
        "elements of heads enabled in V_MASK are summed. Writes to f0 are dropped.",
        notes=_RMASK_DROPPED_NOTE,
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "V_RED_MAX",
        0x16,
        Unit.VECTOR,
        (_fp("fd", "rd", "running-max scalar"), _gp("rs1", "rs1", "source row"), RMASK_READ),
        _setting(4, "VECTOR_MAX_CYCLES", 376, f"{_SIM}/src/vector_machine.rs"),
        "Running max of a VRAM row into a scalar register.",
        "F[fd] = max(F[fd], max(V[G[rs1]])); with rmask=1 only heads enabled in V_MASK count. "
        "Writes to f0 are dropped. Start from -inf (load it from FP SRAM) for a fresh max.",
        notes=_RMASK_BIT14_NOTE,
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "V_SHFT_V",
        0x32,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "source row"),
            _gp("rs2", "rs2", "shift amount register"),
        ),
        _setting(1, "VECTOR_MUL_CYCLES", 356, f"{_SIM}/src/vector_machine.rs"),
        "Shift a row toward higher element indices, filling with zeros.",
        "k = G[rs2]; V[G[rd]][i] = V[G[rs1]][i - k] for i >= k, else 0.",
        "Direction follows the public emulator (toward higher indices).",
    ),
    InstrSpec(
        "V_MAX_VF",
        0x35,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "source row"),
            _fp("fs", "rs2", "scalar"),
            RMASK,
        ),
        _setting(4, "VECTOR_MAX_CYCLES", 376, f"{_SIM}/src/vector_machine.rs"),
        "Elementwise max with a broadcast scalar (e.g. ReLU with f0).",
        "V[G[rd]] = max(V[G[rs1]], F[fs]).",
    ),
    InstrSpec(
        "V_MIN_VF",
        0x36,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "destination row"),
            _gp("rs1", "rs1", "source row"),
            _fp("fs", "rs2", "scalar"),
            RMASK,
        ),
        _fixed(
            4,
            f"{_TOML}:376 VECTOR_MAX_CYCLES = 4, awaited as VECTOR_MIN_CYCLES (runtime_config.rs:19) "
            f"in {_SIM}/src/vector_machine.rs",
        ),
        "Elementwise min with a broadcast scalar.",
        "V[G[rd]] = min(V[G[rs1]], F[fs]).",
    ),
    InstrSpec(
        "V_TOPK",
        0x37,
        Unit.VECTOR,
        (
            _gp("rd", "rd", "FP SRAM address for the k weights"),
            _gp("rs1", "rs1", "VRAM address of the logits"),
            _gp("rs2", "rs2", "INT SRAM address for the k indices"),
            _flag("policy", "rs3", "0: top-4 of 32 logits; 1: top-8 of 128 logits"),
        ),
        Cost(
            lambda cfg, ops: topk_cost(ops[3]),
            "4 x logits (32 or 128)",
            f"{_SIM}/src/vector_machine.rs:458 VECTOR_MAX_CYCLES x expert count",
        ),
        "Mixture-of-experts router: top-k logits, softmax over the selected ones.",
        "n, k = (32, 4) or (128, 8); L = VRAM[G[rs1] : +n]; idx = indices of the k largest (ties: lower "
        "index first, in descending order); FP_SRAM[G[rd] + j] = softmax(L[idx])[j]; "
        "INT_SRAM[G[rs2] + j] = idx[j].",
    ),
    # ---------------------------------------------------------------- scalar FP
    InstrSpec(
        "S_ADD_FP",
        0x17,
        Unit.SCALAR,
        (_fp("fd", "rd", "destination"), _fp("fa", "rs1", "a"), _fp("fb", "rs2", "b")),
        _setting(1, "SCALAR_FP_BASIC_CYCLES", 388, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Scalar add.",
        "F[fd] = F[fa] + F[fb].",
    ),
    InstrSpec(
        "S_SUB_FP",
        0x18,
        Unit.SCALAR,
        (_fp("fd", "rd", "destination"), _fp("fa", "rs1", "a"), _fp("fb", "rs2", "b")),
        _setting(1, "SCALAR_FP_BASIC_CYCLES", 388, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Scalar subtract.",
        "F[fd] = F[fa] - F[fb].",
    ),
    InstrSpec(
        "S_MAX_FP",
        0x19,
        Unit.SCALAR,
        (_fp("fd", "rd", "destination"), _fp("fa", "rs1", "a"), _fp("fb", "rs2", "b")),
        _setting(1, "SCALAR_FP_BASIC_CYCLES", 388, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Scalar max.",
        "F[fd] = max(F[fa], F[fb]).",
    ),
    InstrSpec(
        "S_MUL_FP",
        0x1A,
        Unit.SCALAR,
        (_fp("fd", "rd", "destination"), _fp("fa", "rs1", "a"), _fp("fb", "rs2", "b")),
        _setting(1, "SCALAR_FP_BASIC_CYCLES", 388, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Scalar multiply.",
        "F[fd] = F[fa] * F[fb].",
    ),
    InstrSpec(
        "S_EXP_FP",
        0x1B,
        Unit.SCALAR,
        (_fp("fd", "rd", "destination"), _fp("fa", "rs1", "source")),
        _setting(1, "SCALAR_FP_EXP_CYCLES", 392, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Scalar exp, input clamped to [-88, 88].",
        "F[fd] = exp(clamp(F[fa], -88, 88)).",
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "S_RECI_FP",
        0x1C,
        Unit.SCALAR,
        (_fp("fd", "rd", "destination"), _fp("fa", "rs1", "source")),
        _setting(1, "SCALAR_FP_RECI_CYCLES", 400, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Scalar reciprocal.",
        "F[fd] = 1 / F[fa].",
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "S_SQRT_FP",
        0x1D,
        Unit.SCALAR,
        (_fp("fd", "rd", "destination"), _fp("fa", "rs1", "source")),
        _setting(1, "SCALAR_FP_SQRT_CYCLES", 396, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Scalar square root.",
        "F[fd] = sqrt(F[fa]) (NaN for negative input).",
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "S_LD_FP",
        0x1E,
        Unit.SCALAR,
        (
            _fp("fd", "rd", "destination"),
            _gp("rs1", "rs1", "FP SRAM base register"),
            _imm("imm", "imm18", "offset"),
        ),
        _fixed(1, _DISPATCH_ONE),
        "Load a BF16 scalar from FP SRAM.",
        "F[fd] = FP_SRAM[G[rs1] + imm].",
        "Writes to f0 are dropped (f0 stays 0.0).",
    ),
    InstrSpec(
        "S_ST_FP",
        0x1F,
        Unit.SCALAR,
        (
            _fp("fs", "rd", "source"),
            _gp("rs1", "rs1", "FP SRAM base register"),
            _imm("imm", "imm18", "offset"),
        ),
        _fixed(1, _DISPATCH_ONE),
        "Store a BF16 scalar to FP SRAM.",
        "FP_SRAM[G[rs1] + imm] = F[fs].",
    ),
    InstrSpec(
        "S_MAP_V_FP",
        0x20,
        Unit.SCALAR,
        (
            _gp("rd", "rd", "VRAM destination row"),
            _gp("rs1", "rs1", "FP SRAM base register"),
            _imm("imm", "imm18", "offset"),
        ),
        Cost(lambda cfg, ops: cfg.vlen, "VLEN", f"{_SIM}/src/vector_machine.rs:347 cycle!(VLEN)"),
        "Copy VLEN consecutive FP SRAM entries into a VRAM row.",
        "V[G[rd]] = FP_SRAM[G[rs1] + imm : +VLEN].",
    ),
    # ---------------------------------------------------------------- scalar INT
    InstrSpec(
        "S_ADD_INT",
        0x21,
        Unit.SCALAR,
        (_gp("rd", "rd", "destination"), _gp("rs1", "rs1", "a"), _gp("rs2", "rs2", "b")),
        _setting(1, "SCALAR_INT_BASIC_CYCLES", 404, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Integer add (u32, wrapping).",
        "G[rd] = (G[rs1] + G[rs2]) mod 2^32.",
    ),
    InstrSpec(
        "S_ADDI_INT",
        0x22,
        Unit.SCALAR,
        (
            _gp("rd", "rd", "destination"),
            _gp("rs1", "rs1", "source"),
            _imm("imm", "imm18", "unsigned immediate < 2^18"),
        ),
        _setting(1, "SCALAR_INT_BASIC_CYCLES", 404, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Integer add immediate (u32, wrapping; the immediate is unsigned).",
        "G[rd] = (G[rs1] + imm) mod 2^32.",
        "Build constants >= 2^18 with S_LUI_INT rd, v >> 12 then S_ADDI_INT rd, rd, v & 0xFFF. "
        "S_ADDI_INT gp0, gp0, 0 is the customary no-op.",
    ),
    InstrSpec(
        "S_SUB_INT",
        0x23,
        Unit.SCALAR,
        (_gp("rd", "rd", "destination"), _gp("rs1", "rs1", "a"), _gp("rs2", "rs2", "b")),
        _setting(1, "SCALAR_INT_BASIC_CYCLES", 404, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Integer subtract (u32, wrapping).",
        "G[rd] = (G[rs1] - G[rs2]) mod 2^32.",
    ),
    InstrSpec(
        "S_MUL_INT",
        0x24,
        Unit.SCALAR,
        (_gp("rd", "rd", "destination"), _gp("rs1", "rs1", "a"), _gp("rs2", "rs2", "b")),
        _setting(1, "SCALAR_INT_BASIC_CYCLES", 404, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Integer multiply (u32, wrapping). Registers only: no immediate form.",
        "G[rd] = (G[rs1] * G[rs2]) mod 2^32.",
    ),
    InstrSpec(
        "S_LUI_INT",
        0x25,
        Unit.SCALAR,
        (_gp("rd", "rd", "destination"), _imm("imm", "imm22", "upper immediate < 2^22")),
        _setting(1, "SCALAR_INT_BASIC_CYCLES", 404, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Load upper immediate.",
        "G[rd] = (imm << 12) mod 2^32.",
    ),
    InstrSpec(
        "S_LD_INT",
        0x26,
        Unit.SCALAR,
        (
            _gp("rd", "rd", "destination"),
            _gp("rs1", "rs1", "INT SRAM base register"),
            _imm("imm", "imm18", "offset"),
        ),
        _setting(1, "SCALAR_INT_BASIC_CYCLES", 404, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Load a u32 from INT SRAM.",
        "G[rd] = INT_SRAM[G[rs1] + imm].",
    ),
    InstrSpec(
        "S_ST_INT",
        0x27,
        Unit.SCALAR,
        (
            _gp("rs", "rd", "source"),
            _gp("rs1", "rs1", "INT SRAM base register"),
            _imm("imm", "imm18", "offset"),
        ),
        _setting(1, "SCALAR_INT_BASIC_CYCLES", 404, f"{_SIM}/src/accelerator/dispatch.rs"),
        "Store a u32 to INT SRAM.",
        "INT_SRAM[G[rs1] + imm] = G[rs].",
    ),
    # ---------------------------------------------------------------- memory (DMA)
    InstrSpec(
        "H_PREFETCH_M",
        0x28,
        Unit.MEMORY,
        (
            _gp("rd", "rd", "MRAM destination (multiple of MLEN*MLEN)"),
            _gp("rs1", "rs1", "HBM element offset register"),
            Operand("ab", Kind.ADDR, "rs2", "HBM base"),
            RSTRIDE,
            PREC_M,
        ),
        None,
        "Load PREFETCH_M rows of MLEN MXFP8 elements from HBM into MRAM tile(s), as BF16.",
        "for r < PREFETCH_M: off = G[rs1] + r*stride (stride = STRIDE_REG if rstride else MLEN); "
        "elements at HBM[A[ab] + off : +MLEN], scales at HBM[A[ab] + SCALE_REG + off/8 : +MLEN/8]; "
        "row r lands in MRAM tile G[rd] + (r div MLEN)*MLEN*MLEN, row r mod MLEN.",
        "For W[K, N] stored row-major: STRIDE_REG = N and tile (k, j) starts at element offset "
        "k*MLEN*N + j*MLEN.",
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "H_PREFETCH_V",
        0x29,
        Unit.MEMORY,
        (
            _gp("rd", "rd", "VRAM destination row"),
            _gp("rs1", "rs1", "HBM element offset register"),
            Operand("ab", Kind.ADDR, "rs2", "HBM base"),
            RSTRIDE,
            PREC_V,
        ),
        None,
        "Load PREFETCH_V rows of VLEN MXFP8 elements from HBM into consecutive VRAM rows, as BF16.",
        "for r < PREFETCH_V: off = G[rs1] + r*stride (stride = STRIDE_REG if rstride else VLEN); "
        "V[G[rd] + r*VLEN] = dequant(HBM[A[ab] + off : +VLEN], scales at A[ab] + SCALE_REG + off/8).",
        surplus_zero_operands=1,
    ),
    InstrSpec(
        "H_STORE_V",
        0x2A,
        Unit.MEMORY,
        (
            _gp("rs", "rd", "VRAM source row"),
            _gp("rs1", "rs1", "HBM element offset register"),
            Operand("ab", Kind.ADDR, "rs2", "HBM base"),
            RSTRIDE,
            PREC_V,
        ),
        None,
        "Quantise STORE_V consecutive VRAM rows to MXFP8 and write them to HBM.",
        "for r < STORE_V: off = G[rs1] + r*stride; HBM[A[ab] + off : +VLEN] = elements of "
        "quant(V[G[rs] + r*VLEN]); scales to A[ab] + SCALE_REG + off/8.",
        surplus_zero_operands=1,
    ),
    # ---------------------------------------------------------------- control
    InstrSpec(
        "C_SET_ADDR_REG",
        0x2B,
        Unit.CONTROL,
        (
            Operand("ad", Kind.ADDR, "rd", "destination"),
            _gp("rs1", "rs1", "high 32 bits"),
            _gp("rs2", "rs2", "low 32 bits"),
        ),
        _fixed(1, _DISPATCH_ONE),
        "Set an HBM address register from two GP registers.",
        "A[ad] = (G[rs1] << 32) | G[rs2].",
    ),
    InstrSpec(
        "C_SET_SCALE_REG",
        0x2C,
        Unit.CONTROL,
        (_gp("rs", "rd", "source"),),
        _fixed(1, _DISPATCH_ONE),
        "Set SCALE_REG: byte distance from a tensor's elements to its scales.",
        "SCALE_REG = G[rs].",
    ),
    InstrSpec(
        "C_SET_STRIDE_REG",
        0x2D,
        Unit.CONTROL,
        (_gp("rs", "rd", "source"),),
        _fixed(1, _DISPATCH_ONE),
        "Set STRIDE_REG: HBM row stride in elements for rstride=1 transfers.",
        "STRIDE_REG = G[rs].",
    ),
    InstrSpec(
        "C_SET_V_MASK_REG",
        0x2E,
        Unit.CONTROL,
        (_gp("rs", "rd", "source"),),
        _fixed(1, _DISPATCH_ONE),
        "Set V_MASK: bit h enables elements [h*HLEN, (h+1)*HLEN) for rmask=1 ops.",
        "V_MASK = G[rs].",
    ),
    InstrSpec(
        "C_LOOP_START",
        0x2F,
        Unit.CONTROL,
        (_gp("rc", "rd", "counter register"), _imm("count", "imm22", "iterations (>= 1)", min_value=1)),
        _fixed(1, _DISPATCH_ONE),
        "Start a hardware loop running its body `count` times.",
        "G[rc] = count; push (body start, rc).",
        "G[rc] counts down and is not an index: keep your own induction register.",
    ),
    InstrSpec(
        "C_LOOP_END",
        0x30,
        Unit.CONTROL,
        (_gp("rc", "rd", "counter register of the loop"),),
        _fixed(1, _DISPATCH_ONE),
        "End of a hardware loop body.",
        "if G[rc] > 1: G[rc] -= 1 and jump to the first body instruction; else G[rc] = 0 and pop.",
    ),
    InstrSpec(
        "C_BREAK",
        0x34,
        Unit.CONTROL,
        (),
        _fixed(1, _DISPATCH_ONE),
        "Leave the innermost loop after the current iteration.",
        "Marks the innermost active loop finished: its C_LOOP_END falls through.",
    ),
)

BY_NAME: dict[str, InstrSpec] = {spec.name: spec for spec in INSTRUCTIONS}
BY_OPCODE: dict[int, InstrSpec] = {spec.opcode: spec for spec in INSTRUCTIONS}
OPCODE_LIMIT = 1 << FIELDS["opcode"][1]


@dataclass(frozen=True)
class InstructionTable:
    """The instructions one hardware configuration has: the base ISA, the extension sets the
    configuration names, and any instructions added at run time (an accepted proposal)."""

    instructions: tuple[InstrSpec, ...]
    by_name: dict[str, InstrSpec] = field(init=False, compare=False, repr=False)
    by_opcode: dict[int, InstrSpec] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {spec.name: spec for spec in self.instructions})
        object.__setattr__(self, "by_opcode", {spec.opcode: spec for spec in self.instructions})
        if len(self.by_name) != len(self.instructions) or len(self.by_opcode) != len(self.instructions):
            raise ValueError("two instructions share a name or an opcode")

    def __hash__(self) -> int:
        return hash(self.instructions)

    def free_opcodes(self) -> list[int]:
        return [code for code in range(1, OPCODE_LIMIT) if code not in self.by_opcode]


@cache
def instruction_table(
    extensions: tuple[str, ...] = (), added: tuple[InstrSpec, ...] = ()
) -> InstructionTable:
    """The table for a configuration's extension sets (cfg.extensions) plus added instructions."""
    from .extensions import extension_specs

    specs = list(INSTRUCTIONS)
    for name in extensions:
        specs += extension_specs(name)
    return InstructionTable(tuple(specs) + tuple(added))


def table_for(cfg: PlenaConfig) -> InstructionTable:
    return instruction_table(tuple(cfg.extensions))


@cache
def known_spec(name: str) -> InstrSpec | None:
    """An instruction of the base ISA or of any extension set, by name (None if neither)."""
    from .config import EXTENSION_SETS

    return instruction_table(EXTENSION_SETS).by_name.get(name)


REGISTER_PREFIX = {Kind.GP: "gp", Kind.FP: "f", Kind.ADDR: "a"}


def register_count(kind: Kind, cfg: PlenaConfig) -> int:
    return {Kind.GP: cfg.gp_regs, Kind.FP: cfg.fp_regs, Kind.ADDR: cfg.addr_regs}[kind]


def topk_cost(policy: int) -> int:
    return 4 * (128 if policy else 32)
