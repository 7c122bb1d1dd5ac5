"""Hardware loops run a batch of iterations at a time, one NumPy call per body instruction.

An innermost loop whose body is only unmasked element-wise vector instructions and
`S_ADDI_INT r, r, imm` counters (each register stepped at most once per iteration) touches
rows that move by a fixed step per iteration. For such a body, whether the rows one iteration
reads were written earlier, and by which instruction, follows from the body and the
iteration count alone (rows are compared per register, as base + step x iteration), so it is
worked out once per loop: each operand of each instruction reads either memory as it was
before the batch or the result of an earlier instruction of the same iteration. Then the
batch computes each instruction for all iterations at once (element-wise ops round each
element as a single row would), writes back only each row's last value, and advances the
counters. Bodies where an iteration reads what an earlier iteration wrote are not batched.

At run time a batch is taken only when nothing in it can fault or stop the run: every row
address aligned and inside VRAM, the rows of different registers apart, the instruction
limit and per-iteration cap out of reach, and the wall clock (checked where the loop's jumps
would check it) within its limit. Otherwise the loop runs instruction by instruction, which
raises the fault at its exact place. Counts, registers, memory and timing end as the
step-by-step run leaves them. Traced runs are never batched.

Runs that track poisoned reads (poison.py) batch a loop when every row its iterations read
from memory is CLEAN before the loop and no F register a body instruction reads is tainted:
then no iteration reports anything and every row the loop writes ends CLEAN, which the batch
sets directly. Otherwise the loop steps, each footprint reporting as it always does.
"""

from __future__ import annotations

import time

import numpy as np

from .assembler import Program
from .machine import MASK32, Machine
from .mx import BF16
from .poison import CLEAN

BATCH = 256  # iterations per batch: bounds the temporaries of long loops
ENABLED = True  # False: every loop steps (tests compare batched runs with step-by-step ones)
WALL_CHECK_EVERY = 2048  # semantics.WALL_CHECK_EVERY (kept equal by a test)

# name -> (kind, ufunc or None); unary tables come from semantics.
_BINARY = {"V_ADD_VV": np.add, "V_SUB_VV": np.subtract, "V_MUL_VV": np.multiply}
_SCALAR = {
    "V_ADD_VF": np.add,
    "V_MUL_VF": np.multiply,
    "V_MAX_VF": np.maximum,
    "V_MIN_VF": np.minimum,
    "V_SUB_VF": np.subtract,
}


class _Body:
    """A batchable loop body: its vector instructions and register steps (static)."""

    def __init__(self, end: int, vector: list, steps: dict[int, tuple[int, int]], address_regs: set[int]):
        self.end = end  # pc of the C_LOOP_END
        self.vector = vector  # (name, dest reg, source regs, fs, scalar_first), in body order
        self.steps = steps  # reg -> (imm, body index of its S_ADDI_INT)
        self.address_regs = address_regs
        self.plans: dict[int, list | None] = {}  # iterations -> batch plan (None: not batchable)


def loop_body(program: Program, pc: int, unary: dict) -> _Body | None:
    """The body of the loop started at pc, if its form allows batching."""
    instrs = program.instructions
    rc = instrs[pc].operands[0]
    vector, steps, address_regs = [], {}, set()
    for q in range(pc + 1, len(instrs)):
        ins = instrs[q]
        name, ops = ins.spec.name, ins.operands
        if name == "C_LOOP_END":
            if ops[0] != rc or not vector:
                return None
            return _Body(q, vector, steps, address_regs)
        k = q - pc - 1
        if name == "S_ADDI_INT":
            rd, rs1, imm = ops
            if rd != rs1 or rd == rc or rd in steps:
                return None
            steps[rd] = (imm, k)
            continue
        if name in _BINARY:
            rd, rs1, rs2, rmask = ops
            regs, fs, first = (rs1, rs2), None, False
        elif name in _SCALAR:
            rd, rs1, fs, rmask = ops[:4]
            regs, first = (rs1,), name == "V_SUB_VF" and bool(ops[4])
        elif name in unary:
            rd, rs1, rmask = ops
            regs, fs, first = (rs1,), None, False
        else:
            return None
        if rmask or rc in (rd, *regs):
            return None
        address_regs.update((rd, *regs))
        vector.append((name, rd, regs, fs, first, k))
    return None


def _plan(body: _Body, n: int) -> list | None:
    """Per vector instruction: (name, dest, sources, fs, scalar_first, finals) where a source
    is ('mem', reg, offset in steps) or ('res', index) and finals lists the iterations whose
    write is the row's last; None when an iteration reads an earlier iteration's write."""

    def key(reg: int, i: int, k: int) -> tuple[int, int]:
        imm, at = body.steps.get(reg, (0, -1))
        return (reg, 0) if imm == 0 else (reg, i + (1 if k > at else 0))

    def offset(reg: int, k: int) -> int:
        imm, at = body.steps.get(reg, (0, -1))
        return 1 if imm and k > at else 0

    last: dict[tuple[int, int], tuple[int, int]] = {}
    sources: list[list] = [[None] * len(v[2]) for v in body.vector]
    for i in range(n):
        for j, (_, rd, regs, _, _, k) in enumerate(body.vector):
            for s, reg in enumerate(regs):
                w = last.get(key(reg, i, k))
                if w is None:
                    src = ("mem", reg, offset(reg, k))
                elif w[0] == i:
                    src = ("res", w[1])
                else:
                    return None
                if sources[j][s] is None:
                    sources[j][s] = src
                elif sources[j][s] != src:
                    return None
            last[key(rd, i, k)] = (i, j)
    finals: list[list[int]] = [[] for _ in body.vector]
    for i, j in last.values():
        finals[j].append(i)
    return [
        (name, rd, tuple(sources[j]), fs, first, offset(rd, k), sorted(finals[j]))
        for j, (name, rd, _, fs, first, k) in enumerate(body.vector)
    ]


def batched_loop(m: Machine, program: Program, pc: int, start_step, body: _Body, unary: dict):
    """The C_LOOP_START step at pc, running its loop in batches when it safely can."""
    g = m.g
    rc, count = program.instructions[pc].operands
    length = body.end - pc  # instructions per iteration, C_LOOP_END included
    cfg = m.config
    vlen, last_row = cfg.vlen, cfg.vram_elems - cfg.vlen
    n = max(count, 1)
    if n < 2 or length > cfg.max_loop_iteration_instructions:
        return start_step
    sizes = sorted({min(n, BATCH), n % BATCH or BATCH} if n > BATCH else {n})
    for size in sizes:
        if size not in body.plans:
            body.plans[size] = _plan(body, size)
        if body.plans[size] is None:
            return start_step
    batches = [_compile(m, body, body.plans[size], size, unary) for size in sizes]
    full, rest = batches[-1], batches[0]  # BATCH iterations; the remainder (or n itself)
    full_runs, rest_runs = (n // BATCH, 1 if n % BATCH else 0) if n > BATCH else (0, 1)
    # Per address register: its step and how far its last used row lies (n - 1 or n steps on,
    # as the body uses it before or after its S_ADDI_INT).
    reach = dict.fromkeys(body.address_regs, 0)
    for _, rd, regs, _, _, k in body.vector:
        for reg in (rd, *regs):
            imm, at = body.steps.get(reg, (0, -1))
            reach[reg] = max(reach[reg], n if imm and k > at else n - 1)
    checked = [(reg, body.steps.get(reg, (0, -1))[0], reach[reg]) for reg in sorted(reach)]
    body_pcs = range(pc + 1, body.end + 1)
    last_jump = (n - 1) * length
    tracker = m.poison
    if tracker is not None:
        reads, writes, f_read = _row_walks(body, [body.plans[size] for size in sizes], n)
        row_states, taint, origin = tracker.vram_row, tracker.f, tracker.origin
        last_tracked = max(pc + 1 + k for *_, k in body.vector)

    def fits(executed: int) -> bool:
        if executed + last_jump > m.max_instructions:
            return False
        spans = []
        for reg, imm, steps in checked:
            base = g[reg]
            top = base + imm * steps
            if base % vlen or imm % vlen or top > last_row:
                return False
            spans.append((base, top))
        spans.sort()
        return all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))

    def rows_of(reg: int, imm: int, offset: int):
        first = (g[reg] + imm * offset) // vlen
        return first if imm == 0 else slice(first, first + (n - 1) * (imm // vlen) + 1, imm // vlen)

    def clean() -> bool:
        """Nothing the loop reads is poisoned or tainted (see the module docstring)."""
        if any(taint[fs] for fs in f_read):
            return False
        for reg, imm, offset in reads:
            rows = rows_of(reg, imm, offset)
            if imm:
                states = row_states[rows]
                if states.count(CLEAN) != len(states):
                    return False
            elif row_states[rows] != CLEAN:
                return False
        return True

    def mark_written() -> None:
        for reg, imm, offset in writes:
            rows = rows_of(reg, imm, offset)
            if imm:
                row_states[rows] = bytes([CLEAN]) * len(range(rows.start, rows.stop, rows.step))
            else:
                row_states[rows] = CLEAN
            if origin:
                for r in range(rows.start, rows.stop, rows.step) if imm else (rows,):
                    origin.pop(("VRAM", r), None)
        tracker.pc = last_tracked

    def step(executed):
        if not fits(executed) or (tracker is not None and not clean()):
            return start_step(executed)
        if tracker is not None:
            mark_written()
        check = m.next_wall_check
        final_jump = executed + last_jump
        if check <= final_jump:
            if time.perf_counter() > m.deadline:
                return start_step(executed)
            while check <= final_jump:  # where the loop's jumps would look at the clock next
                k = max(1, -(-(check - executed) // length))
                check = executed + k * length + WALL_CHECK_EVERY
            m.next_wall_check = check
        for _ in range(full_runs):
            full()
        if rest_runs:
            rest()
        g[rc] = 0
        m.jumps += n - 1
        m.loop_batches += 1
        counts = m.counts
        for q in body_pcs:
            counts[q] += n
        m.executed = executed + n * length
        return ~(body.end + 1)

    return step


def _row_walks(body: _Body, plans: list[list], n: int):
    """(reads, writes, F registers read) of a loop: (register, step, offset in steps) per row
    walk read from memory before the batch or written, over all n iterations."""
    steps = {reg: imm for reg, (imm, _) in body.steps.items()}
    reads, writes, f_read = set(), set(), set()
    for plan in plans:
        for _, rd, sources, fs, _, off, _ in plan:
            for src in sources:
                if src[0] == "mem":
                    reads.add((src[1], steps.get(src[1], 0), src[2]))
            writes.add((rd, steps.get(rd, 0), off))
            if fs is not None:
                f_read.add(fs)
    return sorted(reads), sorted(writes), sorted(f_read)


def _compile(m: Machine, body: _Body, plan: list, size: int, unary: dict):
    """One batch of `size` iterations as a function of the registers at its start."""
    g, f = m.g, m.f
    vlen = m.config.vlen
    rows2d = m.vram.reshape(-1, vlen)
    scalar = np.zeros((), dtype=BF16)
    step_of = {reg: imm for reg, (imm, _) in body.steps.items()}
    stepped = list(step_of.items())
    outs = [np.empty((size, vlen), dtype=BF16) for _ in plan]

    def source(src):
        if src[0] == "res":
            out = outs[src[1]]
            return lambda: out
        _, reg, off = src
        imm = step_of.get(reg, 0)
        if imm == 0:
            return lambda: rows2d[g[reg] // vlen]
        stride = imm // vlen
        return lambda: rows2d[(g[reg] + imm * off) // vlen :: stride][:size]

    def compute(name, sources, fs, first, out):
        args = [source(s) for s in sources]
        if name in _BINARY:
            fn, (a, b) = _BINARY[name], args
            return lambda: fn(a(), b(), out=out)
        if name in _SCALAR:
            fn, (a,) = _SCALAR[name], args

            def scalar_op():
                scalar[()] = f[fs]
                fn(*((scalar, a()) if first else (a(), scalar)), out=out)

            return scalar_op
        table, (a,) = unary[name], args
        index = np.empty((size, vlen), dtype=np.intp)
        out_bits = out.view(np.uint16)

        def lookup():
            np.copyto(index, a().view(np.uint16))
            table.take(index, out=out_bits, mode="clip")

        return lookup

    def write(rd, off, finals, out):
        imm = step_of.get(rd, 0)
        if imm == 0:  # one row: only its last write counts
            last = out[finals[-1]]

            def one():
                rows2d[g[rd] // vlen] = last

            return one
        stride = imm // vlen
        if len(finals) == size:

            def all_rows():
                rows2d[(g[rd] + imm * off) // vlen :: stride][:size] = out

            return all_rows
        picked = np.asarray(finals, dtype=np.intp)

        def some_rows():
            rows2d[(g[rd] + imm * off) // vlen + picked * stride] = out[picked]

        return some_rows

    steps = [
        compute(name, sources, fs, first, out)
        for (name, _, sources, fs, first, _, _), out in zip(plan, outs, strict=True)
    ]
    steps += [
        write(rd, off, finals, out)
        for (_, rd, _, _, _, off, finals), out in zip(plan, outs, strict=True)
        if finals
    ]

    def run_batch() -> None:
        for s in steps:
            s()
        for reg, imm in stepped:
            g[reg] = (g[reg] + imm * size) & MASK32

    return run_batch
