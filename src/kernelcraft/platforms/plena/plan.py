"""What a program's runs share: its distinct instructions, static costs and opcode groups.

Compiling and counting walk the whole program; for an unrolled kernel of thousands of
instructions that walk is a sizeable part of a run. A program is immutable (a frozen
dataclass over a tuple of frozen instructions, with its frozen config), so the walk's result
is kept per program object, for as long as that object lives: another program, or the same
text assembled again, or under another config, is another object and gets its own plan.
A plan holds no machine state: each run still builds fresh closures over its own machine,
one per distinct slot.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from .assembler import Program
from .isa import InstrSpec

PC_DEPENDENT = frozenset({"C_LOOP_START"})  # builders whose step uses its own pc
# id(program) -> (weak reference to it, its plan); an entry leaves when its program dies.
_PLANS: dict[int, tuple[weakref.ref, Plan]] = {}


@dataclass(frozen=True)
class Plan:
    # One slot per closure to build: (spec, operands, pc of its first use). Identical
    # instructions share a slot (unrolled kernels repeat the same text thousands of times);
    # PC_DEPENDENT instructions get one each.
    slots: tuple[tuple[InstrSpec, tuple[int, ...], int], ...]
    slot_of_pc: list[int]
    costs: list[int]  # static cycles per pc
    specs: tuple[InstrSpec, ...]  # distinct opcodes in first-use order
    order: np.ndarray  # pcs grouped by opcode (stable), for summing per-opcode counts
    group_starts: np.ndarray  # where each opcode's group begins in `order`
    costs_array: np.ndarray  # int64 static cycles per pc
    # C_LOOP_START pc -> its loop body for batching (loops.py) or None, filled on first use
    loop_bodies: dict = field(default_factory=dict, compare=False)


def program_plan(program: Program) -> Plan:
    """The program's plan, built on first use and kept while the program lives."""
    key = id(program)
    entry = _PLANS.get(key)
    if entry is not None and entry[0]() is program:
        return entry[1]
    plan = _build(program)
    _PLANS[key] = (weakref.ref(program), plan)
    weakref.finalize(program, _PLANS.pop, key, None)
    return plan


def _build(program: Program) -> Plan:
    cfg = program.config
    slots: list[tuple[InstrSpec, tuple[int, ...], int]] = []
    slot_of_pc: list[int] = []
    seen: dict[tuple[str, tuple[int, ...]], int] = {}
    for pc, ins in enumerate(program.instructions):
        spec = ins.spec
        key = (spec.name, ins.operands)
        slot = seen.get(key)
        if slot is None:
            slot = len(slots)
            slots.append((spec, ins.operands, pc))
            if spec.name not in PC_DEPENDENT:
                seen[key] = slot
        slot_of_pc.append(slot)
    # Per slot, then spread over the pcs with NumPy.
    spec_index: dict[str, int] = {}
    specs: list[InstrSpec] = []
    slot_spec, slot_cost = [], []
    for spec, operands, _ in slots:
        s = spec_index.get(spec.name)
        if s is None:
            s = spec_index[spec.name] = len(specs)
            specs.append(spec)
        slot_spec.append(s)
        slot_cost.append(spec.cycles(cfg, operands))
    slot_index = np.asarray(slot_of_pc, dtype=np.intp)
    costs_array = np.asarray(slot_cost, dtype=np.int64)[slot_index]
    groups = np.asarray(slot_spec, dtype=np.intp)[slot_index]
    order = np.argsort(groups, kind="stable")
    group_starts = np.searchsorted(groups[order], np.arange(len(specs)))
    return Plan(
        tuple(slots), slot_of_pc, costs_array.tolist(), tuple(specs), order, group_starts, costs_array
    )
