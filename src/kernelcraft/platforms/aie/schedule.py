"""A Peano-like list scheduler: straight-line operations and zero-overhead loops packed into
bundles so that every result has landed before it is read.

The compiler baseline is written as plain sequences of AIE2 operations (what an AIE-API
kernel lowers to); this module places each operation in the earliest bundle where its slot
is free and its operands are ready (the latencies of the instruction table), keeping
write-after-read and write-after-write order, the one-accumulator-memory-op rule, and the
order of memory accesses to the same buffer. Loops become zero-overhead loops whose body is
padded so that values carried from one iteration to the next are ready (no software
pipelining across iterations). The output is assembly text the assembler checks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .assembler import Assembler, Op
from .config import DEFAULT_CONFIG, AieConfig
from .isa import Slot
from .registers import Reg


@dataclass
class _Item:
    op: Op
    mem_tag: str | None
    is_store: bool
    is_load: bool


@dataclass
class _Block:
    """One region: straight-line code, or the body of a zero-overhead loop."""

    items: list[_Item]
    loop_count: int | None = None  # a ZOL executing the body this many times
    label: str = ""
    comment: str = ""
    raw: list[str] | None = None  # literal lines (a branch and its delay slots, a label)


@dataclass
class Schedule:
    """Build a kernel region by region, then emit() the assembly."""

    config: AieConfig = DEFAULT_CONFIG
    name: str = "kernel"
    blocks: list[_Block] = field(default_factory=list)
    _cur: list[_Item] = field(default_factory=list)
    _labels: int = 0

    def __post_init__(self) -> None:
        self._asm = Assembler(self.config)

    # ------------------------------------------------------------------ building
    def op(self, text: str, mem: str | None = None) -> None:
        """Append one operation; `mem` tags its buffer so accesses to other buffers may reorder."""
        parsed = self._asm._op(0, 1, text)
        if parsed is None:
            problems = "; ".join(d.message for d in self._asm.diags[-1:])
            raise ValueError(f"baseline op {text!r} does not assemble: {problems}")
        spec = parsed.spec
        self._cur.append(_Item(parsed, mem, spec.mem == "store", spec.mem == "load"))

    def ops(self, texts: list[str], mem: str | None = None) -> None:
        for t in texts:
            self.op(t, mem)

    def loop(self, count: int, body: list[tuple[str, str | None]], comment: str = "") -> None:
        """A zero-overhead loop running `body` (ops with memory tags) `count` times (count >= 1)."""
        self._flush()
        items = []
        for text, mem in body:
            parsed = self._asm._op(0, 1, text)
            if parsed is None:
                raise ValueError(f"baseline op {text!r} does not assemble")
            items.append(_Item(parsed, mem, parsed.spec.mem == "store", parsed.spec.mem == "load"))
        self._labels += 1
        self.blocks.append(_Block(items, count, f".L{self.name}_{self._labels}", comment))

    def skip_unless(self, reg: str, label: str) -> None:
        """Branch to `label` when `reg` is zero (jz + its delay slots); everything in flight lands first."""
        self._flush()
        ds = self.config.branch_delay_slots
        self.blocks.append(_Block([], raw=[f"    jz {reg}, #{label}"] + ["    nop"] * ds))

    def label(self, name: str) -> None:
        self._flush()
        self.blocks.append(_Block([], raw=[f"{name}:"]))

    def loop_back(self, counter: str, label: str) -> None:
        """Close an outer loop: jnzd counter (trips - 1 on entry) back to label, after everything
        in flight has landed (no value is carried around the back edge)."""
        self._flush()
        ds = self.config.branch_delay_slots
        self.blocks.append(_Block([], raw=[f"    jnzd {counter}, {counter}, #{label}"] + ["    nop"] * ds))

    def _flush(self) -> None:
        if self._cur:
            self.blocks.append(_Block(self._cur))
            self._cur = []

    # ------------------------------------------------------------------ emitting
    def emit(self, ret: bool = True) -> str:
        self._flush()
        lines = [f"{self.name}:"]
        carry: dict[int, int] = {}  # location -> cycles after the region start until its value lands
        reads: dict[int, int] = {}  # location -> last read, relative to the region start (<= 0)
        mem: dict[str, int] = {}  # buffer tag -> last memory cycle, relative to the region start
        for i, block in enumerate(self.blocks):
            last_block = i == len(self.blocks) - 1
            nxt = self.blocks[i + 1] if not last_block else None
            if block.raw is not None:
                drain = max(carry.values(), default=0)
                drain = max(drain, max((v + 1 for v in mem.values()), default=0))
                lines += ["    nop"] * max(0, drain)
                lines += block.raw
                if last_block and ret:
                    lines += _render(self._with_return([]))
                carry, reads, mem = {}, {}, {}
                continue
            if block.loop_count is None:
                bundles, ready, last_read, mem_t = _place(block.items, carry, reads, mem)
                if nxt is not None and nxt.loop_count is not None:
                    bundles = self._with_setup(bundles, nxt)
                if last_block and ret:
                    bundles = self._with_return(bundles)
                lines += _render(bundles)
            else:
                if i == 0 or self.blocks[i - 1].loop_count is not None:
                    setup = self._with_setup([], block)
                    lines += _render(setup)
                    carry, reads, mem = _shift(carry, reads, mem, len(setup))
                body, ready, last_read, mem_t = _place(block.items, carry, reads, mem)
                need = max(1, len(body))
                written = _body_writes(body)
                for loc, lands in written.items():
                    first = _first_read(body, loc)
                    if first is not None:
                        need = max(need, lands - first)
                while len(body) < need:
                    body.append([])
                lines.append(f"{block.label}:" + (f"  // {block.comment}" if block.comment else ""))
                lines += _render(body[:-1])
                lines.append(f"{block.label}_end:")
                lines += _render(body[-1:])
                bundles = body
                if last_block and ret:
                    tail = self._with_return([])
                    lines += _render(tail)
            carry, reads, mem = _shift(ready, last_read, mem_t, len(bundles))
        if not self.blocks and ret:
            lines += _render(self._with_return([]))
        return "\n".join(lines) + "\n"

    def _with_return(self, bundles: list[list[Op]]) -> list[list[Op]]:
        """Place `ret lr` so that the last bundles become its delay slots, as Peano does."""
        ds = self.config.branch_delay_slots
        ret = self._asm._op(0, 1, "ret lr")
        assert ret is not None
        out = [list(b) for b in bundles]
        r = max(0, len(out) - ds - 1)
        while r < len(out) and any(o.spec.slot in (Slot.X, Slot.L) for o in out[r]):
            r += 1
        while len(out) <= r:
            out.append([])
        out[r].append(ret)
        while len(out) < r + ds + 1:
            out.append([])
        return out

    def _with_setup(self, bundles: list[list[Op]], loop: _Block) -> list[list[Op]]:
        """Put the loop set-up (ls, le, lc) into the bundles before the loop, padding with
        empty bundles so that the loop's last bundle is at least the set-up distance away."""
        setup = [f"movxm ls, #{loop.label}", f"movxm le, #{loop.label}_end", f"movxm lc, #{loop.loop_count}"]
        ops = []
        for text in setup:
            parsed = self._asm._op(0, 1, text)
            assert parsed is not None, text
            ops.append(parsed)
        out = [list(b) for b in bundles]
        # Each movxm takes the long slot (X and M): place them as late as free slots allow.
        placed = 0
        for b in reversed(out):
            if placed == len(ops):
                break
            if not any(o.spec.slot in (Slot.X, Slot.M, Slot.L) for o in b):
                b.append(ops[placed])
                placed += 1
        while placed < len(ops):
            out.append([ops[placed]])
            placed += 1
        # Distance from the last set-up bundle to the loop's last bundle.
        last_setup = max(i for i, b in enumerate(out) if any(o in ops for o in b))
        body_len = max(1, _estimate_len(loop))
        gap = len(out) - 1 - last_setup + body_len
        while gap < self.config.zol_setup_distance:
            out.append([])
            gap += 1
        return out


def _estimate_len(loop: _Block) -> int:
    bundles, *_ = _place(loop.items, {}, {}, {})
    return len(bundles)


def _shift(ready: dict[int, int], reads: dict[int, int], mem: dict[str, int], n: int):
    """Times relative to a region start -> relative to the start of the region n bundles later."""
    return (
        {loc: v - n for loc, v in ready.items() if v - n > 0},
        {loc: v - n for loc, v in reads.items() if v - n > -64},
        {k: v - n for k, v in mem.items() if v - n > -64},
    )


def _body_writes(bundles: list[list[Op]]) -> dict[int, int]:
    out: dict[int, int] = {}
    for t, b in enumerate(bundles):
        for op in b:
            for loc, lat in op.writes:
                out[loc] = max(out.get(loc, 0), t + max(lat, 1))
    return out


def _first_read(bundles: list[list[Op]], loc: int) -> int | None:
    for t, b in enumerate(bundles):
        for op in b:
            for rloc, delay in op.reads:
                if rloc == loc:
                    return t + delay
    return None


def _acc_mem(op: Op) -> bool:
    return bool(op.spec.mem) and any(isinstance(a, Reg) and a.file == "a" for a in op.args)


def _place(
    items: list[_Item], carry: dict[int, int], reads_in: dict[int, int], mem_in: dict[str, int]
) -> tuple[list[list[Op]], dict[int, int], dict[int, int], dict[str, int]]:
    """Greedy list scheduling of one region. Times are relative to the region start; `carry`
    holds when values written before the region land; the result's carry likewise."""
    ready = dict(carry)  # location -> land time of the latest write
    last_read = dict(reads_in)  # location -> latest read time
    last_issue = {loc: v for loc, v in reads_in.items()}  # location -> issue of its latest reader
    landing: dict[int, set[int]] = {}
    mem_time: dict[str, int] = dict(mem_in)  # buffer tag -> latest memory-cycle of an access
    bundles: list[list[Op]] = []
    slots: list[set[Slot]] = []
    accmem: list[bool] = []
    for item in items:
        op = item.op
        spec = op.spec
        t = 0
        for loc, delay in op.reads:
            t = max(t, ready.get(loc, 0) - delay)
        for loc, lat in op.writes:
            lat = max(lat, 1)
            # Write after read: issue no earlier than the last reader (so the write is never in
            # flight when it reads: no hazard) and land after its read.
            t = max(t, last_issue.get(loc, -1), last_read.get(loc, -1) - lat + 1, ready.get(loc, 0) - lat + 1)
        if spec.mem and item.mem_tag is not None:
            t = max(t, mem_time.get(item.mem_tag, -(10**6)) - spec.mem_stage + 1)
        if spec.branch:
            t = max(t, len(bundles))
        t = max(t, 0)
        want = {Slot.X, Slot.M} if spec.slot is Slot.L else {spec.slot}
        while True:
            while len(bundles) <= t:
                bundles.append([])
                slots.append(set())
                accmem.append(False)
            taken = slots[t]
            busy = bool(want & taken) or (spec.slot in (Slot.X, Slot.M) and Slot.L in taken)
            if spec.slot is Slot.L and (Slot.X in taken or Slot.M in taken):
                busy = True
            if not busy and _acc_mem(op) and accmem[t]:
                busy = True
            if not busy:
                for loc, lat in op.writes:
                    if t + max(lat, 1) in landing.get(loc, ()):
                        busy = True
                        break
            if not busy:
                break
            t += 1
        bundles[t].append(op)
        slots[t] |= want if spec.slot is not Slot.L else {Slot.L, Slot.X, Slot.M}
        if _acc_mem(op):
            accmem[t] = True
        for loc, delay in op.reads:
            last_read[loc] = max(last_read.get(loc, -(10**6)), t + delay)
            last_issue[loc] = max(last_issue.get(loc, -(10**6)), t)
        for loc, lat in op.writes:
            lands = t + max(lat, 1)
            ready[loc] = max(ready.get(loc, 0), lands)
            landing.setdefault(loc, set()).add(lands)
        if spec.mem and item.mem_tag is not None:
            mem_time[item.mem_tag] = max(mem_time.get(item.mem_tag, -(10**6)), t + spec.mem_stage)
    return bundles, ready, last_read, mem_time


def _render(bundles: list[list[Op]], label: str | None = None, force_full: bool = False) -> list[str]:
    out = []
    for i, b in enumerate(bundles):
        if i == 0 and label:
            out.append(f"{label}:")
        if not b:
            out.append("    nop")
        else:
            out.append("    " + " ; ".join(o.text for o in b))
    return out
