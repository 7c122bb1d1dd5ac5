"""PLENA instruction extension sets: instructions a hardware configuration may include.

The "dllm" set holds the instructions the KernelCraft paper's co-design case study (its
Appendix G) cites as withheld from the agent, from prior work on diffusion-LLM sampling NPUs:
Lou et al. 2026, "Beyond GEMM-Centric NPUs: Enabling Efficient Diffusion LLM Sampling"
(arXiv 2601.20706, the DART project). The names are theirs; the exact semantics, operand
order, encoding and costs below are our own definitions, written to do what that sampling
step needs on PLENA's memories:

- V_RED_MAX_IDX: a running argmax across the VRAM rows of a long vector;
- V_TOPK_MASK: a 0/1 row marking the k largest scores among masked positions;
- S_SELECT_INT: an elementwise select between two INT SRAM rows under a VRAM mask.

The fourth instruction the paper lists, S_MAP_V_FP (FP SRAM to a VRAM row), is already in
PLENA's base ISA (the public PLENA repository has it), so this set does not repeat it.

Each entry is the single source for what the instruction is: its behaviour (typed operands
and a NumPy reference, which codesign mode compares proposals with and the simulator runs),
its encoding (opcode, one field per operand), its cycle cost and its documentation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..api import ExtensionSet
from ..behaviour import AddedInstruction, Behaviour, OperandRole
from .config import PlenaConfig
from .isa import Cost, InstrSpec, Kind, Operand, Unit

DLLM_SOURCE = (
    'Lou et al. 2026, "Beyond GEMM-Centric NPUs: Enabling Efficient Diffusion LLM Sampling", '
    "arXiv 2601.20706 (DART); instruction names as cited by the KernelCraft paper, Appendix G. "
    "Semantics, operand order, encoding and costs: our definitions."
)


@dataclass(frozen=True)
class ExtensionInstruction:
    """One extension instruction: behaviour, encoding, cost and documentation."""

    behaviour: Behaviour
    opcode: int
    unit: Unit
    fields: tuple[str, ...]  # the encoding field of each operand, in operand order
    cost: Callable[[PlenaConfig], int]
    cost_text: str
    cost_source: str
    semantics: str
    notes: str = ""

    @property
    def name(self) -> str:
        return self.behaviour.mnemonic


def _red_max_idx(index: int, row: np.ndarray, offset: int, running_max: float) -> tuple[int, float]:
    peak = float(np.max(row))
    if peak > running_max:  # strictly: an earlier row keeps a tie
        return offset + int(np.argmax(row)), peak
    return index, running_max


def _topk_mask(scores: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    candidates = np.flatnonzero(mask != 0)
    chosen = candidates[np.argsort(-scores[candidates], kind="stable")[: max(int(k), 0)]]
    out = np.zeros(scores.shape[0])
    out[chosen] = 1.0
    return out


def _select_int(where_clear: np.ndarray, where_set: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask != 0, where_set, where_clear)


DLLM: tuple[ExtensionInstruction, ...] = (
    ExtensionInstruction(
        behaviour=Behaviour(
            "V_RED_MAX_IDX",
            (
                OperandRole(
                    "rd", "int", "readwrite", "running index (gp): where the running maximum was found"
                ),
                OperandRole("rs1", "vector", "read", "VRAM address of the row"),
                OperandRole("rs2", "int", "read", "index of the row's first element in the whole vector"),
                OperandRole("fm", "fp", "readwrite", "running maximum (start it at -inf)"),
            ),
            _red_max_idx,
            "Running argmax over VRAM rows: keeps the maximum and the index where it first occurred.",
        ),
        opcode=0x38,
        unit=Unit.VECTOR,
        fields=("rd", "rs1", "rs2", "rs3"),
        cost=lambda cfg: 6,
        cost_text="6",
        cost_source="our choice: V_RED_MAX's 4 cycles plus 2 to select and add the index",
        semantics=(
            "m = max(V[G[rs1]]); j = the first position of m in that row; if m > F[fm]: F[fm] = m and "
            "G[rd] = G[rs2] + j; otherwise both stay."
        ),
        notes=(
            "Walk the rows of a long vector with G[rs2] = the index of each row's first element, "
            "after F[fm] = -inf: G[rd] ends as the first argmax of the whole vector (ties keep the "
            "earlier row, because the test is strict)."
        ),
    ),
    ExtensionInstruction(
        behaviour=Behaviour(
            "V_TOPK_MASK",
            (
                OperandRole("rd", "vector", "write", "VRAM address of the 0/1 result row"),
                OperandRole("rs1", "vector", "read", "VRAM address of the scores"),
                OperandRole(
                    "rs2", "vector", "read", "VRAM address of the candidate mask (non-zero: candidate)"
                ),
                OperandRole("rs3", "int", "read", "k (gp)"),
            ),
            _topk_mask,
            "Marks the k largest scores among the candidate positions of a row.",
        ),
        opcode=0x39,
        unit=Unit.VECTOR,
        fields=("rd", "rs1", "rs2", "rs3"),
        cost=lambda cfg: cfg.vlen,
        cost_text="VLEN",
        cost_source="our choice: one selection step per element, as S_MAP_V_FP moves one word a cycle",
        semantics=(
            "V[G[rd]][i] = 1.0 for the G[rs3] largest V[G[rs1]][i] among the positions i with "
            "V[G[rs2]][i] != 0 (ties: the lower position first; every candidate when there are fewer "
            "than G[rs3]), 0.0 at every other position."
        ),
    ),
    ExtensionInstruction(
        behaviour=Behaviour(
            "S_SELECT_INT",
            (
                OperandRole("rd", "int_vector", "write", "INT SRAM address of the result row"),
                OperandRole(
                    "rs1", "int_vector", "read", "INT SRAM address of the values where the mask is 0"
                ),
                OperandRole(
                    "rs2", "int_vector", "read", "INT SRAM address of the values where the mask is set"
                ),
                OperandRole("rs3", "vector", "read", "VRAM address of the mask row"),
            ),
            _select_int,
            "Elementwise select between two INT SRAM rows under a VRAM mask.",
        ),
        opcode=0x3A,
        unit=Unit.SCALAR,
        fields=("rd", "rs1", "rs2", "rs3"),
        cost=lambda cfg: cfg.vlen,
        cost_text="VLEN",
        cost_source="our choice: INT SRAM is a scalar memory, one word a cycle (as S_MAP_V_FP for FP SRAM)",
        semantics=(
            "for i < VLEN: INT_SRAM[G[rd] + i] = INT_SRAM[G[rs2] + i] if V[G[rs3]][i] != 0 else "
            "INT_SRAM[G[rs1] + i] (the rows may overlap only if they coincide)."
        ),
    ),
)

SETS: dict[str, tuple[ExtensionInstruction, ...]] = {"dllm": DLLM}
TITLES = {"dllm": "Diffusion-LLM sampling (argmax, top-k mask, integer select)"}


_KIND = {"int": Kind.GP, "vector": Kind.GP, "int_vector": Kind.GP, "fp": Kind.FP, "imm": Kind.IMM}
_WHAT = {
    "int": "gp register",
    "vector": "gp register holding a VRAM row address",
    "int_vector": "gp register holding an INT SRAM address",
    "fp": "f register",
    "imm": "immediate",
}
REGISTER_FIELDS = ("rd", "rs1", "rs2", "rs3", "funct1")
_UNITS = {"V": Unit.VECTOR, "S": Unit.SCALAR, "M": Unit.MATRIX, "H": Unit.MEMORY, "C": Unit.CONTROL}


def _operands(roles: tuple[OperandRole, ...], fields: tuple[str, ...]) -> tuple[Operand, ...]:
    return tuple(
        Operand(
            role.name, _KIND[role.kind], field, f"{_WHAT[role.kind]}, {role.access}: {role.doc}".rstrip(": ")
        )
        for role, field in zip(roles, fields, strict=True)
    )


def _written(roles: tuple[OperandRole, ...]) -> tuple[int, ...]:
    """Operands naming a register the instruction writes (memory rows are not registers)."""
    return tuple(i for i, r in enumerate(roles) if r.writes and r.kind in ("int", "fp"))


def to_spec(ins: ExtensionInstruction, extension: str) -> InstrSpec:
    cost = Cost(lambda cfg, ops, fn=ins.cost: fn(cfg), ins.cost_text, ins.cost_source)
    return InstrSpec(
        ins.name,
        ins.opcode,
        ins.unit,
        _operands(ins.behaviour.operands, ins.fields),
        cost,
        ins.behaviour.summary,
        ins.semantics,
        ins.notes,
        behaviour=ins.behaviour,
        extension=extension,
        written=_written(ins.behaviour.operands),
    )


@cache
def extension_specs(name: str) -> tuple[InstrSpec, ...]:
    """The set's table entries (the assembler, simulator and docs read them like any other)."""
    return tuple(to_spec(ins, name) for ins in SETS[name])


def encoding_fields(roles: tuple[OperandRole, ...]) -> tuple[str, ...]:
    """Encoding fields for a proposed instruction's operands, in order: registers take rd, rs1,
    rs2, rs3, funct1; one immediate takes imm18 (bits 14..31), so it must follow at most two
    registers. ValueError when the operands do not fit a 32-bit word."""
    immediates = [i for i, r in enumerate(roles) if r.kind == "imm"]
    registers = [i for i, r in enumerate(roles) if r.kind != "imm"]
    if len(immediates) > 1 or (immediates and len(registers) > 2):
        raise ValueError("one immediate (18 bits) and at most two registers fit a 32-bit word with it")
    if len(registers) > len(REGISTER_FIELDS):
        raise ValueError(f"at most {len(REGISTER_FIELDS)} register operands fit the encoding")
    fields, next_register = [], iter(REGISTER_FIELDS)
    for role in roles:
        fields.append("imm18" if role.kind == "imm" else next(next_register))
    return tuple(fields)


def added_spec(added: AddedInstruction, opcode: int) -> InstrSpec:
    """The table entry of an instruction added at run time (an accepted proposal)."""
    roles = added.behaviour.operands
    cost = Cost(lambda cfg, ops, n=added.cost: n, str(added.cost), f"the estimate of {added.origin}")
    unit = _UNITS.get(added.behaviour.mnemonic[:1], Unit.VECTOR)
    return InstrSpec(
        added.behaviour.mnemonic,
        opcode,
        unit,
        _operands(roles, encoding_fields(roles)),
        cost,
        added.behaviour.summary or added.semantics,
        added.semantics,
        f"Added to this session's ISA: {added.origin}.",
        behaviour=added.behaviour,
        extension="session",
        written=_written(roles),
    )


def extension_doc(name: str) -> str:
    """The set's reference text (Markdown) for the docs and the co-design report."""
    lines = [f"# Extension set `{name}`: {TITLES[name]}", "", f"Source: {DLLM_SOURCE}", ""]
    for ins in SETS[name]:
        ops = ", ".join(o.name for o in ins.behaviour.operands)
        lines += [
            f"## {ins.name} {ops}",
            "",
            ins.behaviour.summary,
            "",
            f"Semantics: {ins.semantics}",
            "",
            "Operands: "
            + "; ".join(f"`{o.name}` {o.kind} ({o.access}): {o.doc}" for o in ins.behaviour.operands),
            "",
            f"Cycles: {ins.cost_text} ({ins.cost_source}). Opcode 0x{ins.opcode:02X}.",
        ]
        if ins.notes:
            lines += ["", ins.notes]
        lines.append("")
    return "\n".join(lines)


def extension_sets(cfg: PlenaConfig) -> dict[str, ExtensionSet]:
    return {
        name: ExtensionSet(
            name=name,
            title=TITLES[name],
            source=DLLM_SOURCE,
            behaviours=tuple(ins.behaviour for ins in instructions),
            vlen=cfg.vlen,
            doc=extension_doc(name),
        )
        for name, instructions in SETS.items()
    }
