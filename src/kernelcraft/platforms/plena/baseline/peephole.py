"""A peephole pass over generated PLENA assembly: drop scalar instructions that do nothing.

The template compiler emits set-ups per block, so its output carries pointer increments after
a pointer's last use, registers set to a value they already hold (re-zeroing a zero register),
and registers set twice before being read. Two analyses find them:

- liveness (backwards, with hardware loops as back edges): a scalar instruction whose only
  effect is writing a register nobody reads afterwards is dead;
- known values (forwards): an integer instruction that writes the value its register already
  holds is redundant. Registers start at 0; inside a loop body, and after it, a register the
  body writes is unknown.

Only side-effect-free scalar instructions are removed (integer arithmetic, S_LUI_INT, S_LD_INT,
FP scalar arithmetic, S_LD_FP); memory, vector, matrix, DMA and control instructions are kept,
as are all writes to loop counters. Comment lines are kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..isa import Kind, known_spec

MASK32 = 0xFFFFFFFF
REMOVABLE = frozenset(
    {
        "S_ADD_INT",
        "S_ADDI_INT",
        "S_SUB_INT",
        "S_MUL_INT",
        "S_LUI_INT",
        "S_LD_INT",
        "S_ADD_FP",
        "S_SUB_FP",
        "S_MAX_FP",
        "S_MUL_FP",
        "S_EXP_FP",
        "S_RECI_FP",
        "S_SQRT_FP",
        "S_LD_FP",
    }
)
# Instructions whose first register operand is written (and not, or also, read).
_GP_WRITERS = frozenset({"S_ADD_INT", "S_ADDI_INT", "S_SUB_INT", "S_MUL_INT", "S_LUI_INT", "S_LD_INT"})
_FP_ACCUMULATORS = frozenset({"V_RED_SUM", "V_RED_MAX"})  # read and write fd


@dataclass
class _Ins:
    index: int  # line index in the text
    op: str
    args: list[str]
    reads: set[str]
    writes: set[str]


def _parse(line: str) -> tuple[str, list[str]] | None:
    code = line.split(";", 1)[0].strip()
    if not code:
        return None
    op, _, rest = code.partition(" ")
    return op, [a.strip() for a in rest.split(",")] if rest.strip() else []


def _effects(op: str, args: list[str]) -> tuple[set[str], set[str]]:
    spec = known_spec(op)
    regs = [a for a, o in zip(args, spec.operands, strict=False) if o.kind in (Kind.GP, Kind.FP)]
    reads = {r for r in regs if r not in ("gp0", "f0")}
    writes: set[str] = set()
    if spec.behaviour is not None:  # extension instructions: the table says which registers they write
        return reads, {args[i] for i in spec.written if i < len(args) and args[i] not in ("gp0", "f0")}
    if op in _GP_WRITERS or (spec.operands and spec.operands[0].name == "fd"):
        writes = {args[0]}
        if op not in _FP_ACCUMULATORS:
            reads.discard(args[0])
            reads |= {a for a in regs[1:] if a not in ("gp0", "f0")}
    if op == "C_LOOP_START":
        reads, writes = set(), {args[0]}
    elif op == "C_LOOP_END":
        writes = {args[0]}
    return reads, writes


def optimise(lines: list[str]) -> list[str]:
    """The lines with dead and redundant scalar instructions removed (repeated to a fixpoint)."""
    while True:
        program = []
        for i, line in enumerate(lines):
            parsed = _parse(line)
            if parsed is not None:
                op, args = parsed
                reads, writes = _effects(op, args)
                program.append(_Ins(i, op, args, reads, writes))
        # One analysis per round: each is safe on its own, but a redundant write judged against a
        # value an instruction removed as dead in the same round would not be.
        drop = _redundant(program) or _dead(program)
        if not drop:
            return lines
        lines = [line for i, line in enumerate(lines) if i not in drop]


def _loops(program: list[_Ins]) -> dict[int, int]:
    """Position of each C_LOOP_END -> position of its C_LOOP_START."""
    stack, pairs = [], {}
    for k, ins in enumerate(program):
        if ins.op == "C_LOOP_START":
            stack.append(k)
        elif ins.op == "C_LOOP_END" and stack:
            pairs[k] = stack.pop()
    return pairs


def _dead(program: list[_Ins]) -> set[int]:
    """Removable instructions whose written register is not live afterwards."""
    n = len(program)
    back = _loops(program)
    live_in: list[set[str]] = [set() for _ in range(n + 1)]
    changed = True
    while changed:
        changed = False
        for k in range(n - 1, -1, -1):
            ins = program[k]
            out = set(live_in[k + 1])
            if k in back:  # the back edge to the first body instruction
                out |= live_in[back[k] + 1]
            new = ins.reads | (out - ins.writes)
            if new != live_in[k]:
                live_in[k] = new
                changed = True
    dead = set()
    for k, ins in enumerate(program):
        if ins.op not in REMOVABLE or not ins.writes:
            continue
        out = set(live_in[k + 1])
        if k in back:
            out |= live_in[back[k] + 1]
        if not ins.writes & out and "gp0" not in ins.writes:
            dead.add(ins.index)
    return dead


def _written_in_bodies(program: list[_Ins]) -> dict[int, set[str]]:
    """Position of each C_LOOP_START -> registers its body (nested loops included) writes."""
    out: dict[int, set[str]] = {}
    stack: list[int] = []
    for k, ins in enumerate(program):
        for s in stack:
            out[s] |= ins.writes
        if ins.op == "C_LOOP_START":
            stack.append(k)
            out[k] = set(ins.writes)
        elif ins.op == "C_LOOP_END" and stack:
            stack.pop()
    return out


def _value(ins: _Ins, known: dict[str, int]) -> int | None:
    """The value an integer instruction writes, when its inputs are known."""

    def get(reg: str) -> int | None:
        return 0 if reg == "gp0" else known.get(reg)

    a = ins.args
    if ins.op == "S_LUI_INT":
        return (int(a[1], 0) << 12) & MASK32
    if ins.op == "S_ADDI_INT":
        base = get(a[1])
        return None if base is None else (base + int(a[2], 0)) & MASK32
    if ins.op in ("S_ADD_INT", "S_SUB_INT", "S_MUL_INT"):
        x, y = get(a[1]), get(a[2])
        if x is None or y is None:
            return None
        return {"S_ADD_INT": x + y, "S_SUB_INT": x - y, "S_MUL_INT": x * y}[ins.op] & MASK32
    return None


def _redundant(program: list[_Ins]) -> set[int]:
    """Integer instructions writing the value their register already holds."""
    bodies = _written_in_bodies(program)
    gp = [f"gp{i}" for i in range(16)]
    known: dict[str, int] = dict.fromkeys(gp, 0)  # registers start at 0
    ends: list[set[str]] = []
    drop = set()
    for k, ins in enumerate(program):
        if ins.op == "C_LOOP_START":
            for reg in bodies[k]:
                known.pop(reg, None)
            ends.append(bodies[k])
            continue
        if ins.op == "C_LOOP_END":
            for reg in ends.pop() if ends else ():
                known.pop(reg, None)
            continue
        value = _value(ins, known)
        for reg in ins.writes:
            if reg.startswith("gp"):
                if value is not None and known.get(reg) == value and ins.op in REMOVABLE:
                    drop.add(ins.index)
                elif value is None:
                    known.pop(reg, None)
                else:
                    known[reg] = value
    return drop
