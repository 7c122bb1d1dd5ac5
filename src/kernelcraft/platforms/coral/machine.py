"""The Coral NPU functional simulator: RV32IMF + Zicsr + Zifencei + Zbb + Zve32x + mpause.

Every instruction word in the ITCM is decoded once into an Op whose `fn` is a closure that
executes it and returns the next pc; an optional timing model (timing.py) is called after
each one. Architectural problems are values: a trap stops the run with a `Stop` carrying
the cause, pc and instruction, unless the program installed its own trap vector, in which
case the trap is taken as the RTL would (mepc, mcause, mtval, jump to mtvec).
"""

from __future__ import annotations

import struct
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from . import fp32
from .config import CoralConfig
from .decode import decode, disassemble
from .isa import CSR_NAMES, READ_ONLY_CSRS, InstrDef
from .memory import DTCM, EXT, ITCM, Memory, MemoryFault
from .scalar_ops import ALU_EXPR, BRANCH_EXPR, compiled

M32 = 0xFFFFFFFF

# mcause values
CAUSE_MISALIGNED_FETCH = 0
CAUSE_FETCH_ACCESS = 1
CAUSE_ILLEGAL = 2
CAUSE_BREAKPOINT = 3
CAUSE_LOAD_ACCESS = 5
CAUSE_STORE_ACCESS = 7
CAUSE_ECALL = 11


class Trap(Exception):
    """An architectural exception raised by an instruction."""

    def __init__(self, cause: int, tval: int, message: str, kind: str):
        super().__init__(message)
        self.cause = cause
        self.tval = tval
        self.message = message
        self.kind = kind


class _Halt(Exception):
    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


@dataclass
class Stop:
    """How a run ended: 'mpause' (clean halt), or a fault kind with where and why."""

    kind: str  # mpause, ebreak, trap kinds, instruction_limit, wall_time, wfi, stop_pc
    pc: int
    message: str = ""
    instruction: str = ""
    cause: int | None = None
    tval: int | None = None

    @property
    def clean(self) -> bool:
        return self.kind in ("mpause", "stop_pc")


class Op:
    """One decoded instruction at one address."""

    __slots__ = ("pc", "d", "f", "fn", "time", "word", "tinfo")

    def __init__(self, pc: int, d: InstrDef | None, f, word: int):
        self.pc = pc
        self.d = d
        self.f = f
        self.word = word
        self.fn = None
        self.time = None
        self.tinfo = None

    @property
    def text(self) -> str:
        return disassemble(self.word, self.pc)


_S = {
    n: struct.Struct(f)
    for n, f in (("b", "<b"), ("B", "<B"), ("h", "<h"), ("H", "<H"), ("i", "<i"), ("I", "<I"))
}


@dataclass
class CsrState:
    fflags: int = 0
    frm: int = 0
    vstart: int = 0
    vxsat: int = 0
    vxrm: int = 0
    mpp: int = 0
    mie: int = 0
    mtvec: int = 0
    mscratch: int = 0
    mepc: int = 0
    mcause: int = 0
    mtval: int = 0
    store: dict = field(default_factory=dict)  # trigger/debug/context scratch registers
    minstret_offset: int = 0
    mcycle_offset: int = 0


class Machine:
    """Architectural state, memory and the run loop."""

    def __init__(self, config: CoralConfig, memory: Memory | None = None, poison: bool = False):
        from .vector import VectorUnit  # local import: vector.py imports Trap from here

        self.config = config
        self.mem = memory or Memory(config, poison=poison)
        self.x = [0] * 32
        self.f = [0] * 32
        self.csr = CsrState()
        self.v = VectorUnit(self)
        self.pc = config.itcm_base
        self.code: dict[int, Op] = {}
        self.timing = None
        self.instret = 0
        self.ea = 0  # effective address of the last scalar memory access (for timing)
        self.div_operand = 0
        self.vmem = None  # what the last vector memory instruction touched (for timing)
        self.engine = None  # the block engine (fast.py), made on the first timed run
        self.use_blocks = True  # False: the per-instruction reference engine
        self.fault_pc: int | None = None
        self.user_trap_vector = False  # set when the program points mtvec at its own handler
        self.default_trap_vectors: set[int] = set()

    # ------------------------------------------------------------------ loading
    def load_program(self, program, keep_code: bool = False) -> None:
        """Write the program's segments and point the pc at its entry. `keep_code`: the ITCM holds
        what it held when the decoded instructions (and blocks) were made, so they stay."""
        for seg in program.segments:
            if seg.data:
                self.mem.write(seg.address, seg.data)
        self.pc = program.entry
        for name in ("__crt_trap", "__oracle_trap"):  # start-up code's handlers: report the trap itself
            if name in program.symbols:
                self.default_trap_vectors.add(program.symbols[name])
        if not keep_code:
            self.code.clear()
            if self.engine is not None:
                self.engine.forget()

    def reset(self, poison: bool = False) -> None:
        """Back to the state Machine(config, poison=poison) has (memory, registers, CSRs,
        vector state, timing model, the block engine's per-run state), in place: the decoded
        instructions, their closures and the compiled blocks hold these objects and stay valid,
        so running the same program again skips decoding and compiling (runner.py). The
        decoded instructions are kept; `load_program(..., keep_code=True)` keeps them."""
        self.mem.reset(poison)
        self.x[:] = [0] * 32
        self.f[:] = [0] * 32
        reset_in_place(self.csr, CsrState())
        self.v.reset()
        self.pc = self.config.itcm_base
        self.instret = 0
        self.ea = 0
        self.div_operand = 0
        self.vmem = None
        self.fault_pc = None
        self.use_blocks = True
        self.user_trap_vector = False
        self.default_trap_vectors.clear()
        if self.timing is not None:
            self.timing.reset()
        if self.engine is not None:
            self.engine.reset()

    # ------------------------------------------------------------------ decoding
    def op_at(self, pc: int) -> Op:
        c = self.config
        if pc & 3:
            raise Trap(CAUSE_MISALIGNED_FETCH, pc, f"pc {pc:#x} is not 4-byte aligned", "misaligned_fetch")
        off = pc - c.itcm_base
        if not (0 <= off < c.itcm_size):
            raise Trap(
                CAUSE_FETCH_ACCESS,
                pc,
                f"pc {pc:#x} is outside the ITCM: instructions are fetched from "
                f"[{c.itcm_base:#x}, {c.itcm_end:#x}) only",
                "fetch",
            )
        word = _S["I"].unpack_from(self.mem.itcm, off)[0]
        found = decode(word)
        op = Op(pc, found[0] if found else None, found[1] if found else None, word)
        op.fn = _build(self, op)
        if self.timing is not None:
            op.time = self.timing.bind(op)
        self.code[pc] = op
        return op

    # ------------------------------------------------------------------ running
    def run(
        self, max_instructions: int = 20_000_000, wall_time_s: float = 120.0, stop_pc: int | None = None
    ) -> Stop:
        """Execute until mpause, a fault, a limit, or (for differential tests) reaching stop_pc."""
        if self.timing is not None and self.timing.trace is None and stop_pc is None and self.use_blocks:
            return self._run_blocks(max_instructions, wall_time_s)
        code = self.code
        get = code.get
        timing = self.timing
        pc = self.pc
        n = 0
        deadline = time.monotonic() + wall_time_s
        check_every = 1 << 15
        next_check = check_every
        budget = max_instructions
        try:
            if timing is None:
                while True:
                    if pc == stop_pc:
                        self.pc = pc
                        return Stop("stop_pc", pc)
                    op = get(pc)
                    if op is None:
                        op = self.op_at(pc)
                    self.instret = n
                    pc = op.fn()
                    n += 1
                    if n >= next_check:
                        if n >= budget:
                            break
                        next_check += check_every
                        if time.monotonic() > deadline:
                            self.pc = pc
                            return self._limit("wall_time", pc, n, wall_time_s)
            else:
                while True:
                    op = get(pc)
                    if op is None:
                        if pc == stop_pc:
                            break
                        op = self.op_at(pc)
                    npc = op.fn()
                    op.time(npc)
                    pc = npc
                    n += 1
                    if n >= next_check:
                        if n >= budget:
                            break
                        next_check += check_every
                        if time.monotonic() > deadline:
                            self.pc = pc
                            return self._limit("wall_time", pc, n, wall_time_s)
                    if pc == stop_pc:
                        self.pc = pc
                        self.instret = n
                        return Stop("stop_pc", pc)
        except _Halt as halt:
            self.instret = n + 1
            self.pc = op.pc
            if halt.kind == "mpause" and timing is not None:
                op.time(op.pc)
            return Stop(halt.kind, op.pc, instruction=op.text)
        except Trap as trap:
            self.instret = n
            failing = get(pc) or Op(pc, None, None, 0)
            if self._take_trap(trap, pc):
                return self.run(max(1, max_instructions - n), max(0.0, deadline - time.monotonic()), stop_pc)
            self.pc = pc
            return Stop(
                trap.kind,
                pc,
                trap.message,
                failing.text if failing.d or failing.word else "",
                trap.cause,
                trap.tval,
            )
        self.pc = pc
        self.instret = n
        if pc == stop_pc:
            return Stop("stop_pc", pc)
        return self._limit("instruction_limit", pc, n, max_instructions)

    def _run_blocks(self, max_instructions: int, wall_time_s: float) -> Stop:
        """The fast engine: compiled basic blocks with the timing model inlined (fast.py)."""
        from .fast import BlockEngine

        if self.engine is None:
            self.engine = BlockEngine(self, self.timing)
        engine = self.engine
        blocks, block = engine.blocks, engine.block
        pc = self.pc
        self.instret = 0
        deadline = time.monotonic() + wall_time_s
        check_every = 1 << 15
        next_check = check_every
        try:
            while True:
                self.fault_pc = None
                b = blocks.get(pc)
                if b is None:
                    b = block(pc)
                pc = b()
                if self.instret >= next_check:
                    if self.instret >= max_instructions:
                        engine.settle()
                        self.pc = pc
                        return self._limit("instruction_limit", pc, self.instret, max_instructions)
                    next_check += check_every
                    if time.monotonic() > deadline:
                        engine.settle()
                        self.pc = pc
                        return self._limit("wall_time", pc, self.instret, wall_time_s)
        except _Halt as halt:
            engine.settle()
            op = self.code[self.fault_pc]
            self.instret += 1
            self.pc = op.pc
            if halt.kind == "mpause":
                op.time(op.pc)
            return Stop(halt.kind, op.pc, instruction=op.text)
        except Trap as trap:
            engine.settle()
            where = self.fault_pc if self.fault_pc is not None else pc
            failing = self.code.get(where) or Op(where, None, None, 0)
            if self._take_trap(trap, where):
                return self._run_blocks(
                    max(1, max_instructions - self.instret), max(0.0, deadline - time.monotonic())
                )
            self.pc = where
            return Stop(
                trap.kind,
                where,
                trap.message,
                failing.text if failing.d or failing.word else "",
                trap.cause,
                trap.tval,
            )

    def _limit(self, kind: str, pc: int, n: int, bound) -> Stop:
        self.instret = n
        op = self.code.get(pc)
        text = op.text if op else ""
        if kind == "wall_time":
            msg = f"the run took longer than {bound:g} s of wall time (after {n} instructions)"
        else:
            msg = f"the kernel executed {n} instructions without halting (limit {bound})"
        msg += "; is there an endless loop?"
        return Stop(kind, pc, msg, text)

    def _take_trap(self, trap: Trap, pc: int) -> bool:
        """Enter the program's own trap handler when it installed one; else stop the run."""
        c = self.csr
        vector = c.mtvec & ~3
        if not vector or vector in self.default_trap_vectors:
            return False
        c.mepc, c.mcause, c.mtval = pc, trap.cause, trap.tval & M32
        self.pc = vector
        return True

    # ------------------------------------------------------------------ memory (slow paths)
    def load(self, address: int, size: int, fmt: str) -> int:
        try:
            rid, off = self.mem.region(address, size, store=False)
        except MemoryFault as e:
            raise Trap(CAUSE_LOAD_ACCESS, address, f"load of {size} bytes: {e.why}", "load_access") from None
        return _S[fmt].unpack_from(self.mem.bufs[rid], off)[0]

    def store(self, address: int, size: int, fmt: str, value: int) -> None:
        try:
            rid, off = self.mem.region(address, size, store=True)
        except MemoryFault as e:
            raise Trap(
                CAUSE_STORE_ACCESS, address, f"store of {size} bytes: {e.why}", "store_access"
            ) from None
        _S[fmt].pack_into(self.mem.bufs[rid], off, value)
        if rid == EXT:
            self.mem.ext_written[off : off + size] = b"\x01" * size

    # ------------------------------------------------------------------ CSRs
    def csr_read(self, number: int) -> int:
        c = self.csr
        v = self.v
        name = CSR_NAMES.get(number)
        if name is None:
            raise Trap(
                CAUSE_ILLEGAL,
                number,
                f"CSR {number:#x} is not implemented on Coral NPU",
                "illegal_instruction",
            )
        if name == "fflags":
            return c.fflags
        if name == "frm":
            return c.frm
        if name == "fcsr":
            return (c.frm << 5) | c.fflags
        if name == "vstart":
            return v.vstart
        if name == "vxsat":
            return v.vxsat
        if name == "vxrm":
            return v.vxrm
        if name == "vl":
            return v.vl
        if name == "vtype":
            return v.vtype_csr()
        if name == "vlenb":
            return self.config.vlenb
        if name == "mstatus":
            return (1 << 13) | (c.mpp << 11) | (1 << 9)  # FS = VS = Initial (the RTL ties them)
        if name == "misa":
            return 0x40001100 | (1 << 21) | (1 << 5)
        if name == "mie":
            return c.mie
        if name in ("mtvec", "mscratch", "mepc", "mcause", "mtval"):
            return getattr(c, name)
        if name == "mvendorid":
            return 0x426
        if name in ("mcycle", "mcycleh"):
            cycles = (self.timing.csr_cycle() if self.timing is not None else self.instret) + c.mcycle_offset
            return cycles & M32 if name == "mcycle" else (cycles >> 32) & M32
        if name in ("minstret", "minstreth"):
            count = (self.timing.n if self.timing is not None else self.instret) + c.minstret_offset
            return count & M32 if name == "minstret" else (count >> 32) & M32
        if name == "tinfo":
            return 0x01000040
        return c.store.get(name, 0)

    def csr_write(self, number: int, value: int) -> None:
        c = self.csr
        v = self.v
        name = CSR_NAMES.get(number)
        if name is None:
            raise Trap(
                CAUSE_ILLEGAL,
                number,
                f"CSR {number:#x} is not implemented on Coral NPU",
                "illegal_instruction",
            )
        if (
            number in READ_ONLY_CSRS
            or (number >> 10) == 3
            and name not in ("mcycle", "minstret", "mcycleh", "minstreth")
        ):
            raise Trap(CAUSE_ILLEGAL, number, f"CSR {name} is read-only", "illegal_instruction")
        value &= M32
        if name == "fflags":
            c.fflags = value & 0x1F
        elif name == "frm":
            c.frm = value & 7
        elif name == "fcsr":
            c.fflags, c.frm = value & 0x1F, (value >> 5) & 7
        elif name == "vstart":
            v.vstart = value & 0x7F
        elif name == "vxsat":
            v.vxsat = value & 1
        elif name == "vxrm":
            v.vxrm = value & 3
        elif name == "mstatus":
            c.mpp = (value >> 11) & 3
        elif name == "misa":
            pass  # WARL: the extensions are fixed
        elif name == "mie":
            c.mie = value
        elif name == "mtvec":
            c.mtvec = value & ~2
        elif name in ("mscratch", "mepc", "mcause", "mtval"):
            setattr(c, name, value & (~3 & M32) if name == "mepc" else value)
        elif name in ("mcycle", "mcycleh"):
            now = self.timing.csr_cycle() if self.timing is not None else self.instret
            cur = now + c.mcycle_offset
            new = (cur & ~M32) | value if name == "mcycle" else (cur & M32) | (value << 32)
            c.mcycle_offset = new - now
        elif name in ("minstret", "minstreth"):
            now = self.timing.n if self.timing is not None else self.instret
            cur = now + c.minstret_offset
            new = (cur & ~M32) | value if name == "minstret" else (cur & M32) | (value << 32)
            c.minstret_offset = new - now - 1  # this instruction retires after the write
        else:
            c.store[name] = value

    def rounding_mode(self, rm: int) -> int:
        if rm == 7:
            rm = self.csr.frm
        if rm > 4:
            raise Trap(CAUSE_ILLEGAL, rm, f"rounding mode {rm} is reserved", "illegal_instruction")
        return rm

    # ------------------------------------------------------------------ inspection
    def read_symbol_or_address(self, where: int, size: int) -> bytes:
        return self.mem.read(where, size)


# ---------------------------------------------------------------------------- executors


def reset_in_place(obj, fresh, keep: tuple[str, ...] = ()) -> None:
    """Give `obj` the attribute values of `fresh` (a newly made object of its class), keeping
    the identity of its containers: closures made for `obj` hold its lists, dicts, deques and
    arrays, so those are refilled rather than replaced. Attributes named in `keep` (caches that
    depend only on the configuration, views of a kept array) stay as they are."""
    for name, value in vars(fresh).items():
        if name in keep:
            continue
        current = getattr(obj, name)
        if current is value:
            continue
        if isinstance(current, list) and type(value) is type(current):
            current[:] = value
        elif isinstance(current, deque) and type(value) is type(current):
            current.clear()
            current.extend(value)
        elif isinstance(current, dict | set) and type(value) is type(current):
            current.clear()
            current.update(value)
        elif isinstance(current, np.ndarray):
            current[...] = value
        else:
            setattr(obj, name, value)


def _illegal(m: Machine, op: Op):
    word = op.word

    def fn():
        raise Trap(
            CAUSE_ILLEGAL,
            word,
            f"illegal instruction word {word:#010x}: not an instruction Coral NPU implements",
            "illegal_instruction",
        )

    return fn


def _build(m: Machine, op: Op):
    if op.d is None:
        return _illegal(m, op)
    if op.d.ext == "V":
        from .vector import build_vector

        return build_vector(m, op)
    factory = _SCALAR.get(op.d.key)
    if factory is None:  # pragma: no cover - every table entry has semantics
        return _illegal(m, op)
    return factory(m, op)


def _alu_from(key: str):
    """An ALU instruction from its expression in scalar_ops.ALU_EXPR."""
    fn = compiled(ALU_EXPR[key])

    def factory(m: Machine, op: Op):
        x, f = m.x, op.f
        rd, rs1, rs2, imm, pc = f.rd, f.rs1, f.rs2, f.imm, op.pc
        nxt = op.pc + 4
        if rd == 0:
            return lambda: nxt

        def run():
            x[rd] = fn(x[rs1], x[rs2], imm, pc)
            return nxt

        return run

    return factory


def _branch_from(key: str):
    cond = compiled(BRANCH_EXPR[key])

    def factory(m: Machine, op: Op):
        x, f = m.x, op.f
        rs1, rs2 = f.rs1, f.rs2
        target = (op.pc + f.imm) & M32
        nxt = op.pc + 4
        if target & 3:

            def bad():
                if cond(x[rs1], x[rs2], 0, 0):
                    raise Trap(
                        CAUSE_MISALIGNED_FETCH,
                        target,
                        f"branch target {target:#x} is not 4-byte aligned",
                        "misaligned_fetch",
                    )
                return nxt

            return bad

        def run():
            return target if cond(x[rs1], x[rs2], 0, 0) else nxt

        return run

    return factory


def _alu_rr(expr):
    """Register-register ALU op from a function of two unsigned 32-bit values."""

    def factory(m: Machine, op: Op):
        x, f = m.x, op.f
        rd, rs1, rs2 = f.rd, f.rs1, f.rs2
        nxt = op.pc + 4
        if rd == 0:
            return lambda: nxt

        def fn():
            x[rd] = expr(x[rs1], x[rs2]) & M32
            return nxt

        return fn

    return factory


def _s(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _jal(m: Machine, op: Op):
    x, rd = m.x, op.f.rd
    target = (op.pc + op.f.imm) & M32
    link = (op.pc + 4) & M32
    if target & 3:

        def bad():
            raise Trap(
                CAUSE_MISALIGNED_FETCH,
                target,
                f"jump target {target:#x} is not 4-byte aligned",
                "misaligned_fetch",
            )

        return bad

    def fn():
        if rd:
            x[rd] = link
        return target

    return fn


def _jalr(m: Machine, op: Op):
    x, f = m.x, op.f
    rd, rs1, imm = f.rd, f.rs1, f.imm
    link = (op.pc + 4) & M32

    def fn():
        target = (x[rs1] + imm) & 0xFFFFFFFE
        if target & 2:
            raise Trap(
                CAUSE_MISALIGNED_FETCH,
                target,
                f"jump target {target:#x} is not 4-byte aligned",
                "misaligned_fetch",
            )
        if rd:
            x[rd] = link
        return target

    return fn


def _load(size: int, fmt: str):
    unpack = _S[fmt].unpack_from

    def factory(m: Machine, op: Op):
        x, f = m.x, op.f
        rd, rs1, imm = f.rd, f.rs1, f.imm
        dtcm = m.mem.dtcm
        dbase = m.config.dtcm_base
        dlim = m.config.dtcm_size - size
        nxt = op.pc + 4
        load = m.load

        def fn():
            a = (x[rs1] + imm) & M32
            m.ea = a
            o = a - dbase
            v = unpack(dtcm, o)[0] if 0 <= o <= dlim else load(a, size, fmt)
            if rd:
                x[rd] = v & M32
            return nxt

        return fn

    return factory


def _store(size: int, fmt: str):
    pack = _S[fmt].pack_into
    mask = (1 << (8 * size)) - 1

    def factory(m: Machine, op: Op):
        x, f = m.x, op.f
        rs1, rs2, imm = f.rs1, f.rs2, f.imm
        dtcm = m.mem.dtcm
        dbase = m.config.dtcm_base
        dlim = m.config.dtcm_size - size
        nxt = op.pc + 4
        store = m.store

        def fn():
            a = (x[rs1] + imm) & M32
            m.ea = a
            o = a - dbase
            if 0 <= o <= dlim:
                pack(dtcm, o, x[rs2] & mask)
            else:
                store(a, size, fmt, x[rs2] & mask)
            return nxt

        return fn

    return factory


def _div(a: int, b: int) -> int:
    if b == 0:
        return M32
    sa, sb = _s(a), _s(b)
    if sa == -(1 << 31) and sb == -1:
        return a
    q = abs(sa) // abs(sb)
    return -q if (sa < 0) != (sb < 0) else q


def _rem(a: int, b: int) -> int:
    if b == 0:
        return a
    sa, sb = _s(a), _s(b)
    if sa == -(1 << 31) and sb == -1:
        return 0
    r = abs(sa) % abs(sb)
    return -r if sa < 0 else r


def _divider(expr):
    base = _alu_rr(expr)

    def factory(m: Machine, op: Op):
        inner = base(m, op)
        x, rs1 = m.x, op.f.rs1

        def fn():
            m.div_operand = x[rs1]
            return inner()

        return fn

    return factory


def _csr(kind: str, immediate: bool):
    def factory(m: Machine, op: Op):
        x, f = m.x, op.f
        rd, rs1, number, nxt = f.rd, f.rs1, f.csr, op.pc + 4

        def fn():
            src = rs1 if immediate else x[rs1]
            writes = kind == "w" or rs1 != 0
            if kind == "w" and rd == 0:
                old = 0
                if number not in CSR_NAMES:
                    m.csr_read(number)  # raises for an unknown CSR
            else:
                old = m.csr_read(number)
            if writes:
                new = src if kind == "w" else (old | src if kind == "s" else old & ~src)
                m.csr_write(number, new)
            if rd:
                x[rd] = old & M32
            return nxt

        return fn

    return factory


def _system(kind: str):
    def factory(m: Machine, op: Op):
        pc = op.pc

        def fn():
            if kind == "ecall":
                raise Trap(CAUSE_ECALL, 0, "ecall: there is no environment to call (the core traps)", "ecall")
            if kind == "wfi":
                raise _Halt("wfi")
            raise _Halt(kind)

        del pc
        return fn

    return factory


def _mret(m: Machine, op: Op):
    def fn():
        return m.csr.mepc & M32

    return fn


def _nop(m: Machine, op: Op):
    nxt = op.pc + 4
    return lambda: nxt


# ------------------------------------------------------------------ float


def _fp_binary(fn_name: str):
    impl = getattr(fp32, fn_name)

    def factory(m: Machine, op: Op):
        fr, f = m.f, op.f
        rd, rs1, rs2, rm, nxt = f.rd, f.rs1, f.rs2, f.rm, op.pc + 4
        csr = m.csr

        def fn():
            result, flags = impl(fr[rs1], fr[rs2], m.rounding_mode(rm))
            csr.fflags |= flags
            fr[rd] = result
            return nxt

        return fn

    return factory


def _fp_fma(neg_product: bool, neg_addend: bool):
    def factory(m: Machine, op: Op):
        fr, f = m.f, op.f
        rd, rs1, rs2, rs3, rm, nxt = f.rd, f.rs1, f.rs2, f.rs3, f.rm, op.pc + 4
        csr = m.csr

        def fn():
            result, flags = fp32.fma(fr[rs1], fr[rs2], fr[rs3], m.rounding_mode(rm), neg_product, neg_addend)
            csr.fflags |= flags
            fr[rd] = result
            return nxt

        return fn

    return factory


def _fsqrt(m: Machine, op: Op):
    fr, f = m.f, op.f
    rd, rs1, rm, nxt = f.rd, f.rs1, f.rm, op.pc + 4

    def fn():
        result, flags = fp32.sqrt(fr[rs1], m.rounding_mode(rm))
        m.csr.fflags |= flags
        fr[rd] = result
        return nxt

    return fn


def _fsgnj(kind: str):
    def factory(m: Machine, op: Op):
        fr, f = m.f, op.f
        rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4

        def fn():
            a, b = fr[rs1], fr[rs2]
            s = b & 0x80000000
            if kind == "n":
                s ^= 0x80000000
            elif kind == "x":
                s = (a ^ b) & 0x80000000
            fr[rd] = (a & 0x7FFFFFFF) | s
            return nxt

        return fn

    return factory


def _fminmax(want_max: bool):
    def factory(m: Machine, op: Op):
        fr, f = m.f, op.f
        rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4

        def fn():
            result, flags = fp32.min_max(fr[rs1], fr[rs2], want_max)
            m.csr.fflags |= flags
            fr[rd] = result
            return nxt

        return fn

    return factory


def _fcmp(kind: str):
    def factory(m: Machine, op: Op):
        x, fr, f = m.x, m.f, op.f
        rd, rs1, rs2, nxt = f.rd, f.rs1, f.rs2, op.pc + 4

        def fn():
            result, flags = fp32.compare(fr[rs1], fr[rs2], kind)
            m.csr.fflags |= flags
            if rd:
                x[rd] = result
            return nxt

        return fn

    return factory


def _fcvt_to_int(signed: bool):
    def factory(m: Machine, op: Op):
        x, fr, f = m.x, m.f, op.f
        rd, rs1, rm, nxt = f.rd, f.rs1, f.rm, op.pc + 4

        def fn():
            result, flags = fp32.to_int(fr[rs1], m.rounding_mode(rm), signed)
            m.csr.fflags |= flags
            if rd:
                x[rd] = result
            return nxt

        return fn

    return factory


def _fcvt_from_int(signed: bool):
    def factory(m: Machine, op: Op):
        x, fr, f = m.x, m.f, op.f
        rd, rs1, rm, nxt = f.rd, f.rs1, f.rm, op.pc + 4

        def fn():
            result, flags = fp32.from_int(x[rs1], m.rounding_mode(rm), signed)
            m.csr.fflags |= flags
            fr[rd] = result
            return nxt

        return fn

    return factory


def _fmv_x_w(m: Machine, op: Op):
    x, fr, rd, rs1, nxt = m.x, m.f, op.f.rd, op.f.rs1, op.pc + 4

    def fn():
        if rd:
            x[rd] = fr[rs1]
        return nxt

    return fn


def _fclass(m: Machine, op: Op):
    x, fr, rd, rs1, nxt = m.x, m.f, op.f.rd, op.f.rs1, op.pc + 4

    def fn():
        if rd:
            x[rd] = fp32.classify(fr[rs1])
        return nxt

    return fn


def _fmv_w_x(m: Machine, op: Op):
    x, fr, rd, rs1, nxt = m.x, m.f, op.f.rd, op.f.rs1, op.pc + 4

    def fn():
        fr[rd] = x[rs1]
        return nxt

    return fn


def _flw(m: Machine, op: Op):
    x, fr, f = m.x, m.f, op.f
    rd, rs1, imm, nxt = f.rd, f.rs1, f.imm, op.pc + 4

    def fn():
        a = (x[rs1] + imm) & M32
        m.ea = a
        fr[rd] = m.load(a, 4, "I")
        return nxt

    return fn


def _fsw(m: Machine, op: Op):
    x, fr, f = m.x, m.f, op.f
    rs1, rs2, imm, nxt = f.rs1, f.rs2, f.imm, op.pc + 4

    def fn():
        a = (x[rs1] + imm) & M32
        m.ea = a
        m.store(a, 4, "I", fr[rs2])
        return nxt

    return fn


def _fp_check_rm(factory):
    """Static rounding modes 5 and 6 are reserved: the instruction is illegal."""

    def wrapped(m: Machine, op: Op):
        if op.f.rm in (5, 6):
            return _illegal(m, op)
        return factory(m, op)

    return wrapped


_SCALAR = {
    "jal": _jal,
    "jalr": _jalr,
    "lb": _load(1, "b"),
    "lh": _load(2, "h"),
    "lw": _load(4, "I"),
    "lbu": _load(1, "B"),
    "lhu": _load(2, "H"),
    "sb": _store(1, "B"),
    "sh": _store(2, "H"),
    "sw": _store(4, "I"),
    "fence": _nop,
    "fence.i": _nop,
    "ecall": _system("ecall"),
    "ebreak": _system("ebreak"),
    "wfi": _system("wfi"),
    "mpause": _system("mpause"),
    "mret": _mret,
    "csrrw": _csr("w", False),
    "csrrs": _csr("s", False),
    "csrrc": _csr("c", False),
    "csrrwi": _csr("w", True),
    "csrrsi": _csr("s", True),
    "csrrci": _csr("c", True),
    "div": _divider(_div),
    "divu": _divider(lambda a, b: a // b if b else M32),
    "rem": _divider(_rem),
    "remu": _divider(lambda a, b: a % b if b else a),
    "flw": _flw,
    "fsw": _fsw,
    "fmadd.s": _fp_check_rm(_fp_fma(False, False)),
    "fmsub.s": _fp_check_rm(_fp_fma(False, True)),
    "fnmsub.s": _fp_check_rm(_fp_fma(True, False)),
    "fnmadd.s": _fp_check_rm(_fp_fma(True, True)),
    "fadd.s": _fp_check_rm(_fp_binary("add")),
    "fsub.s": _fp_check_rm(_fp_binary("sub")),
    "fmul.s": _fp_check_rm(_fp_binary("mul")),
    "fdiv.s": _fp_check_rm(_fp_binary("div")),
    "fsqrt.s": _fp_check_rm(_fsqrt),
    "fsgnj.s": _fsgnj(""),
    "fsgnjn.s": _fsgnj("n"),
    "fsgnjx.s": _fsgnj("x"),
    "fmin.s": _fminmax(False),
    "fmax.s": _fminmax(True),
    "fcvt.w.s": _fp_check_rm(_fcvt_to_int(True)),
    "fcvt.wu.s": _fp_check_rm(_fcvt_to_int(False)),
    "fmv.x.w": _fmv_x_w,
    "fclass.s": _fclass,
    "feq.s": _fcmp("eq"),
    "flt.s": _fcmp("lt"),
    "fle.s": _fcmp("le"),
    "fcvt.s.w": _fp_check_rm(_fcvt_from_int(True)),
    "fcvt.s.wu": _fp_check_rm(_fcvt_from_int(False)),
    "fmv.w.x": _fmv_w_x,
}

_SCALAR.update({key: _alu_from(key) for key in ALU_EXPR})
_SCALAR.update({key: _branch_from(key) for key in BRANCH_EXPR})

__all__ = ["Machine", "Stop", "Trap", "Op", "M32", "DTCM", "EXT", "ITCM"]
