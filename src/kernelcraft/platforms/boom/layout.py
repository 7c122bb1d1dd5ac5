"""How a CPU task meets the machine: the kernel's C signature, its buffers and their addresses.

Each task is a C-callable function `kernel` (LP64 ABI). The contract lists its arguments in
register order: constants (a shape parameter), pointers to input buffers, output buffers,
in-place buffers (input that becomes the output) and scratch. Buffers are laid out from
BUFFERS_BASE in argument order, each 64-byte aligned (plus the task's deliberate
misalignment for copy; the pmp arena 4 KiB aligned and last, so everything else lies below
it), with 64-byte gaps between them. The output is read back from the output buffers (in
the contract's order, concatenated) or from the returned a0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ...tasks.cpu import PMP_ARENA_SLOTS
from .runtime import ARGS_ADDR, BUFFERS_BASE, DATA_BASE, DATA_LIMIT, FAULT_ADDR

GAP = 64


@dataclass(frozen=True)
class Arg:
    name: str  # the C parameter name
    role: str  # "param", "input", "output", "inout", "scratch"
    source: str = ""  # shape parameter (param), task input (input/inout) the value comes from
    elements: Callable[[Mapping[str, int]], int] | None = None  # output/scratch element count
    dtype: str = ""  # output/scratch element type (inputs take theirs from the task)
    align: int = 64
    misalign: str | None = None  # shape parameter giving a deliberate offset past the alignment
    # Whether every correct kernel must read (input) or write (output) all of it: what the
    # roofline bound counts. False where a kernel may legitimately skip part of a buffer.
    always_touched: bool = True


@dataclass(frozen=True)
class TrapRecords:
    """Records a kernel writes for accesses that must really trap in user mode.

    Record j of buffer `records` is two int64; a denied access is (mcause, mtval - `base`'s
    address). The harness follows the run's traps and accepts the output only if the denied
    records of the reference are exactly the user-mode access faults taken, and if the PMP in
    force at each user-mode trap gives every access of `accesses(inputs, base address)` (address,
    bytes, is_store) the reference's decision.
    """

    records: str
    base: str
    accesses: Callable[[Mapping[str, np.ndarray], int], list[tuple[int, int, bool]]]


def _pmp_accesses(inputs: Mapping[str, np.ndarray], arena: int) -> list[tuple[int, int, bool]]:
    """The pmp task's accesses: (k, s) is a 64-bit load (k & 1 = 0) or store of slot s & 511."""
    return [
        (arena + 8 * (int(slot) & (PMP_ARENA_SLOTS - 1)), 8, bool(int(kind) & 1))
        for kind, slot in np.asarray(inputs["accesses"]).tolist()
    ]


@dataclass(frozen=True)
class Contract:
    signature: str  # the C prototype, shown to the agent
    args: tuple[Arg, ...]
    outputs: tuple[str, ...] = ()  # buffer names read back, in order; () means the return value a0
    notes: str = ""
    trap_records: TrapRecords | None = None


def _n(key: str) -> Callable[[Mapping[str, int]], int]:
    return lambda p: p[key]


CONTRACTS: dict[str, Contract] = {
    "multiply": Contract(
        "void kernel(long n, const int32_t *a, const int32_t *b, int32_t *out)",
        (
            Arg("n", "param", "N"),
            Arg("a", "input", "a"),
            Arg("b", "input", "b"),
            Arg("out", "output", elements=_n("N"), dtype="int32"),
        ),
        ("out",),
    ),
    "vvadd": Contract(
        "void kernel(long n, const int32_t *a, const int32_t *b, int32_t *c)",
        (
            Arg("n", "param", "N"),
            Arg("a", "input", "a"),
            Arg("b", "input", "b"),
            Arg("c", "output", elements=_n("N"), dtype="int32"),
        ),
        ("c",),
    ),
    "copy": Contract(
        "void kernel(uint8_t *dst, const uint8_t *src, long n)",
        (
            Arg("dst", "output", elements=_n("N"), dtype="uint8", align=8, misalign="dst_align"),
            Arg("src", "input", "src", align=8, misalign="src_align"),
            Arg("n", "param", "N"),
        ),
        ("dst",),
    ),
    "median": Contract(
        "void kernel(long n, const int32_t *in, int32_t *out)",
        (
            Arg("n", "param", "N"),
            Arg("in", "input", "signal"),
            Arg("out", "output", elements=_n("N"), dtype="int32"),
        ),
        ("out",),
    ),
    "dotprod": Contract(
        "int64_t kernel(long n, const int32_t *a, const int32_t *b)",
        (Arg("n", "param", "N"), Arg("a", "input", "a"), Arg("b", "input", "b")),
        (),
    ),
    "qsort": Contract(
        "void kernel(long n, int32_t *data)",
        (Arg("n", "param", "N"), Arg("data", "inout", "data")),
        ("data",),
    ),
    "rsort": Contract(
        "void kernel(long n, uint32_t *keys, uint32_t *scratch)",
        (
            Arg("n", "param", "N"),
            Arg("keys", "inout", "keys"),
            Arg("scratch", "scratch", elements=lambda p: p["N"] + 1024, dtype="uint32"),
        ),
        ("keys",),
        "scratch holds n + 1024 uint32 (for a second key buffer and digit counts); "
        "its contents are undefined",
    ),
    "towers": Contract(
        "void kernel(long discs, const int32_t *sel, int32_t *moves)",
        (
            Arg("discs", "param", "D"),
            Arg("sel", "input", "sel"),
            Arg("moves", "output", elements=lambda p: 2 ** p["D"] - 1, dtype="int32"),
        ),
        ("moves",),
    ),
    "dhrystone": Contract(
        "void kernel(long r, const int32_t *recs, const uint8_t *table, int64_t *out)",
        (
            Arg("r", "param", "R"),
            Arg("recs", "input", "recs"),
            Arg("table", "input", "table", always_touched=False),
            Arg("out", "output", elements=lambda p: p["R"] + 5, dtype="int64"),
        ),
        ("out",),
    ),
    "pmp": Contract(
        "void kernel(int64_t *arena, const int32_t *regions, const int32_t *accesses, "
        "const int64_t *values, int64_t *records)",
        (
            Arg("arena", "inout", "arena", align=4096, always_touched=False),
            Arg("regions", "input", "regions", always_touched=False),
            Arg("accesses", "input", "accesses"),
            Arg("values", "input", "values", always_touched=False),
            Arg("records", "output", elements=lambda p: 2 * p["ACCESSES"], dtype="int64"),
        ),
        ("records", "arena"),
        "the arena is the highest buffer: the program, the stack, the argument block and every other "
        "buffer lie below it. BOOM has 8 PMP entries (pmpcfg0, pmpaddr0..7); machine mode starts with "
        "none set. The harness follows the run's traps: every denied access must trap from user mode "
        "(mcause 5 for a load, 7 for a store, mtval its address), exactly once; the run is "
        "incorrect unless those traps are exactly the denied records and the PMP setting in force when "
        "user mode traps gives every one of the accesses the table's decision: program the PMP once, "
        "then make all the accesses in user mode (the decisions must come from the PMP, not from "
        "software). User mode can fetch and touch nothing no PMP entry grants it: "
        "cover your user-mode code and the data it touches (stack, records, values, your own "
        "variables) with an entry of your own with X (and R/W) that does not overlap the arena (an "
        "instruction fetch it denies traps with mcause 1). Install your own trap handler in mtvec and "
        "put the start-up code's handler back before returning. A faulting instruction may be 2 bytes "
        "long (the assembler compresses where it can): put `.option norvc` around the user-mode "
        "accesses or resume at a label, not at mepc + 4. Return to the caller in machine mode with "
        "sp, ra and s0..s11 as it gave them",
        TrapRecords("records", "arena", _pmp_accesses),
    ),
}


@dataclass(frozen=True)
class Buffer:
    name: str
    role: str
    address: int
    dtype: str
    count: int

    @property
    def nbytes(self) -> int:
        return self.count * np.dtype(self.dtype).itemsize

    @property
    def end(self) -> int:
        return self.address + self.nbytes


@dataclass(frozen=True)
class Layout:
    contract: Contract
    buffers: tuple[Buffer, ...]
    registers: tuple[int, ...]  # values of a0.. in order

    def buffer(self, name: str) -> Buffer:
        return next(b for b in self.buffers if b.name == name)

    @property
    def end(self) -> int:
        return max((b.end for b in self.buffers), default=BUFFERS_BASE)


def plan(task_id: str, params: Mapping[str, int], inputs: Mapping[str, np.ndarray]) -> Layout:
    """Addresses of every buffer and the register values for one instance."""
    contract = CONTRACTS[task_id]
    if len(contract.args) > 8:
        raise ValueError(f"{task_id}: more than 8 register arguments")
    cursor = BUFFERS_BASE
    buffers: list[Buffer] = []
    registers: list[int] = []
    ordered = sorted(contract.args, key=lambda a: a.align >= 4096)  # page-aligned buffers go last
    placed: dict[str, Buffer] = {}
    for arg in ordered:
        if arg.role == "param":
            continue
        if arg.role in ("input", "inout"):
            values = np.asarray(inputs[arg.source])
            dtype, count = values.dtype.name, int(values.size)
        else:
            dtype, count = arg.dtype, int(arg.elements(params))
        address = -(-cursor // arg.align) * arg.align
        if arg.misalign:
            address += int(params[arg.misalign])
        buf = Buffer(arg.name, arg.role, address, dtype, count)
        placed[arg.name] = buf
        cursor = buf.end + GAP
    for arg in contract.args:
        if arg.role == "param":
            registers.append(int(params[arg.source]))
        else:
            buffers.append(placed[arg.name])
            registers.append(placed[arg.name].address)
    layout = Layout(contract, tuple(sorted(buffers, key=lambda b: b.address)), tuple(registers))
    if layout.end > DATA_LIMIT:
        raise ValueError(f"{task_id}: the task's buffers do not fit below {DATA_LIMIT:#x}")
    return layout


def image(layout: Layout, inputs: Mapping[str, np.ndarray], poison: np.random.Generator | None) -> bytes:
    """The task window from DATA_BASE: argument block, return slot, fault record, buffers.

    Everything the contract does not initialise (outputs, scratch, gaps, the return slot) is
    poison bytes when a generator is given, else zero.
    """
    size = layout.end + GAP - DATA_BASE
    window = (
        bytearray(poison.integers(0, 256, size, dtype=np.uint8).tobytes())
        if poison is not None
        else bytearray(size)
    )
    regs = list(layout.registers) + [0] * (8 - len(layout.registers))
    window[ARGS_ADDR - DATA_BASE : ARGS_ADDR - DATA_BASE + 64] = np.array(regs, dtype=np.uint64).tobytes()
    window[FAULT_ADDR - DATA_BASE : FAULT_ADDR - DATA_BASE + 32] = bytes(32)
    sources = {a.name: a.source for a in layout.contract.args}
    for buf in layout.buffers:
        if buf.role in ("input", "inout"):
            data = np.ascontiguousarray(inputs[sources[buf.name]], dtype=buf.dtype).tobytes()
            window[buf.address - DATA_BASE : buf.address - DATA_BASE + len(data)] = data
    return bytes(window)


def read_output(
    layout: Layout, read: Callable[[int, int], bytes], returned: int, dtype: str, shape: tuple[int, ...]
) -> np.ndarray:
    """The kernel's output as the task defines it (buffers concatenated, or the return value)."""
    if not layout.contract.outputs:
        return np.array([returned], dtype=np.uint64).view(np.int64).astype(dtype).reshape(shape)
    parts = []
    for name in layout.contract.outputs:
        buf = layout.buffer(name)
        parts.append(np.frombuffer(read(buf.address, buf.nbytes), dtype=buf.dtype))
    return np.concatenate(parts).astype(dtype).reshape(shape)


def output_poison(layout: Layout, window: bytes, dtype: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """What the output buffers held before the run (to tell untouched elements), or None."""
    if not layout.contract.outputs:
        return None

    def read(address: int, length: int) -> bytes:
        return window[address - DATA_BASE : address - DATA_BASE + length]

    return read_output(layout, read, 0, dtype, shape)


def output_span(layout: Layout, name: str) -> slice:
    """Where buffer `name` lies in the flattened output (the output buffers concatenated)."""
    start = 0
    for out in layout.contract.outputs:
        buf = layout.buffer(out)
        if out == name:
            return slice(start, start + buf.count)
        start += buf.count
    raise KeyError(name)


def touched_bytes(layout: Layout) -> int:
    """Bytes every correct kernel must load or store (each buffer counted once)."""
    flags = {a.name: a.always_touched for a in layout.contract.args}
    return sum(b.nbytes for b in layout.buffers if flags[b.name] and b.role != "scratch")


def untouchable(layout: Layout) -> list[tuple[int, int, str]]:
    """Byte ranges of the task window a kernel must not write: inputs and the gaps between buffers."""
    ranges: list[tuple[int, int, str]] = []
    cursor, previous = BUFFERS_BASE, "the start of the task buffers"
    for buf in layout.buffers:
        if buf.address > cursor:
            ranges.append((cursor, buf.address, f"the gap after {previous}"))
        if buf.role == "input":
            ranges.append((buf.address, buf.end, f"input buffer {buf.name}"))
        cursor, previous = max(cursor, buf.end), f"buffer {buf.name}"
    ranges.append((cursor, layout.end + GAP, f"the gap after {previous}"))
    return ranges
