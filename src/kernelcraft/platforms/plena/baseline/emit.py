"""A small builder for PLENA assembly text.

The baseline generators describe a kernel in Python (loops, address arithmetic) and this
builder turns it into assembly: one instruction per line with an optional comment, the
shortest constant loads, hardware loops, and a register pool so that lowering blocks written
independently never clobber each other's registers.

Registers are handed out as their assembly names ("gp3", "f1", "a0"), so an emitted line
reads the same in Python as in the output.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..config import DEFAULT_CONFIG, PlenaConfig
from . import peephole

IMM_LIMIT = 1 << 18  # S_ADDI_INT immediates are unsigned 18-bit
LUI_SHIFT = 12
ZERO = "gp0"
FZERO = "f0"


class RegisterPoolExhausted(RuntimeError):
    """A lowering needed more registers than the register file has free."""


class Asm:
    """Collects instructions and tracks the machine state the generators rely on.

    Besides the text it remembers the last value written to SCALE_REG / STRIDE_REG and which
    tensor each HBM address register points at, so repeated set-ups are emitted once. A
    hardware loop body runs more than once, so entering a loop forgets that state: a set-up
    inside the body is then always emitted.
    """

    optimise = True  # drop dead and redundant scalar instructions in text() (see peephole.py)

    def __init__(self, hw: PlenaConfig = DEFAULT_CONFIG):
        self.hw = hw
        self._lines: list[str] = []
        self._free_gp = list(range(hw.gp_regs - 1, 0, -1))  # gp0 stays the constant 0
        self._free_fp = list(range(hw.fp_regs - 1, 0, -1))  # f0 stays 0.0
        self._free_addr = list(range(hw.addr_regs - 1, -1, -1))
        self.scale_value: int | None = None
        self.stride_value: int | None = None
        self.addr_tensor: dict[str, str] = {}  # address register -> tensor it is known to hold
        self.tensor_areg: dict[str, str] = {}  # tensor -> address register given to it (kept)

    # ------------------------------------------------------------------ text
    def emit(self, op: str, *operands: object, comment: str = "") -> None:
        line = op if not operands else f"{op} {', '.join(str(o) for o in operands)}"
        self._lines.append(f"{line}  ; {comment}" if comment else line)

    def comment(self, text: str) -> None:
        self._lines.append(f"; {text}")

    def lines(self) -> list[str]:
        """The emitted lines, after the peephole pass when `optimise` is set."""
        return peephole.optimise(self._lines) if self.optimise else list(self._lines)

    def text(self) -> str:
        return "\n".join(self.lines()) + "\n"

    @property
    def instruction_count(self) -> int:
        """Static instruction count (comment lines excluded)."""
        return sum(1 for line in self.lines() if not line.startswith(";"))

    # ------------------------------------------------------------------ constants
    def imm(self, reg: str, value: int, comment: str = "") -> None:
        """reg = value, in one instruction when the value fits an immediate, else two."""
        if not 0 <= value < 1 << 32:
            raise ValueError(f"constant {value} does not fit a 32-bit register")
        if value < IMM_LIMIT:
            self.emit("S_ADDI_INT", reg, ZERO, value, comment=comment)
            return
        self.emit("S_LUI_INT", reg, value >> LUI_SHIFT, comment=comment)
        if value & 0xFFF:
            self.emit("S_ADDI_INT", reg, reg, value & 0xFFF)

    def addi(self, reg: str, src: str, value: int, comment: str = "") -> None:
        """reg = src + value for a value that fits the immediate (the common pointer bump)."""
        if not 0 <= value < IMM_LIMIT:
            raise ValueError(f"increment {value} does not fit an 18-bit immediate; keep it in a register")
        self.emit("S_ADDI_INT", reg, src, value, comment=comment)

    def move(self, reg: str, src: str) -> None:
        self.emit("S_ADDI_INT", reg, src, 0)

    # ------------------------------------------------------------------ registers
    def alloc(self) -> str:
        if not self._free_gp:
            raise RegisterPoolExhausted("no free gp register left")
        return f"gp{self._free_gp.pop()}"

    def free(self, *regs: str) -> None:
        for reg in regs:
            pool, number = self._pool_of(reg)
            if number in pool:
                raise ValueError(f"register {reg} freed twice")
            pool.append(number)
            pool.sort(reverse=True)

    def falloc(self) -> str:
        if not self._free_fp:
            raise RegisterPoolExhausted("no free FP register left")
        return f"f{self._free_fp.pop()}"

    def aalloc(self) -> str:
        if not self._free_addr:
            raise RegisterPoolExhausted("no free address register left")
        return f"a{self._free_addr.pop()}"

    def reserve(self, reg: str) -> None:
        """Take a specific register out of the pool (e.g. one a caller keeps for itself)."""
        pool, number = self._pool_of(reg)
        if number not in pool:
            raise ValueError(f"register {reg} is already in use")
        pool.remove(number)

    @property
    def free_gp_count(self) -> int:
        return len(self._free_gp)

    def _pool_of(self, reg: str) -> tuple[list[int], int]:
        if reg.startswith("gp"):
            return self._free_gp, int(reg[2:])
        if reg.startswith("f"):
            return self._free_fp, int(reg[1:])
        if reg.startswith("a"):
            return self._free_addr, int(reg[1:])
        raise ValueError(f"not a register name: {reg!r}")

    @contextmanager
    def regs(self, count: int) -> Iterator[list[str]]:
        """`with asm.regs(3) as (a, b, c):` — gp registers released at the end of the block."""
        taken = [self.alloc() for _ in range(count)]
        try:
            yield taken
        finally:
            self.free(*taken)

    @contextmanager
    def fregs(self, count: int) -> Iterator[list[str]]:
        taken = [self.falloc() for _ in range(count)]
        try:
            yield taken
        finally:
            self.free(*taken)

    # ------------------------------------------------------------------ control
    @contextmanager
    def loop(self, counter_reg: str | None, count: int, comment: str = "") -> Iterator[str | None]:
        """Hardware loop running the body `count` times; a single pass emits the body bare.

        counter_reg None takes a counter from the pool for the duration of the loop. Yields the
        counter (None when no loop was emitted).
        """
        if count < 1:
            raise ValueError(f"loop count must be >= 1, got {count}")
        if count == 1:
            yield None
            return
        own = counter_reg is None
        counter = self.alloc() if own else counter_reg
        self.emit("C_LOOP_START", counter, count, comment=comment)
        self.forget_state()
        try:
            yield counter
        finally:
            self.emit("C_LOOP_END", counter)
            if own:
                self.free(counter)

    def forget_state(self) -> None:
        self.scale_value = None
        self.stride_value = None
        self.addr_tensor.clear()
