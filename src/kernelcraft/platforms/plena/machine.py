"""The PLENA machine: architectural state, the run loop, faults and statistics.

A program is compiled once into a list of closures (see semantics.py), one per
instruction, with operands already decoded; the run loop only calls them. Cycle costs of
non-DMA instructions are static, so cycles and per-unit busy time are computed after the
run from per-instruction execution counts; DMA instructions add their HBM time as they
run. Same program and image give the same state and cycles on any machine.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

import numpy as np

from ..base import Diagnostic, Fault, RunLimits
from .assembler import Program
from .config import PlenaConfig
from .hbm import HbmModel
from .isa import Unit
from .mx import BF16
from .plan import program_plan
from .poison import PoisonTracker
from .poison_fill import LazyPoison, nan_memory, poison_draws

MASK32 = 0xFFFFFFFF


class MachineFault(Exception):
    """Raised inside semantics; the run loop turns it into a Fault value."""

    def __init__(self, kind: str, message: str, **state):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.state = state


@dataclass
class MemoryImage:
    """Initial memory contents for one run. Anything not given is uninitialised."""

    hbm: np.ndarray | None = None  # uint8 bytes placed at HBM address 0
    vram: dict[int, np.ndarray] = field(default_factory=dict)  # element address -> values
    fpsram: dict[int, np.ndarray] = field(default_factory=dict)  # slot -> values (rounded to BF16)
    intsram: dict[int, np.ndarray] = field(default_factory=dict)  # slot -> u32 values
    # Fill uninitialised memory with a poison pattern (NaN on chip, random bytes in HBM) so a
    # kernel that reads memory it never wrote cannot pass by luck.
    poison: bool = False
    poison_seed: int = 0
    # Report every read of memory nothing wrote (Execution.warnings); None: when poisoned.
    track_reads: bool | None = None

    @property
    def tracks_reads(self) -> bool:
        return self.poison if self.track_reads is None else self.track_reads


@dataclass
class ExecutionStats:
    cycles: int
    instructions: int  # dynamic instruction count
    unit_busy_cycles: dict[str, int]
    instruction_mix: dict[str, int]  # dynamic counts per unit category
    opcode_counts: dict[str, int]
    hbm_read_bytes: int  # 64 bytes per request, scale reads included (as the emulator counts)
    hbm_write_bytes: int
    hbm_useful_read_bytes: int  # element and scale bytes the transfers needed
    hbm_useful_write_bytes: int
    macs: int
    mac_utilization: float  # useful MACs / (cycles x peak MACs per cycle)
    latency_ns: float
    timing_profile: str = "consistent"
    hbm_row_hits: int = 0
    hbm_row_misses: int = 0
    hbm_row_conflicts: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def summary_lines(self) -> list[str]:
        busy = ", ".join(f"{unit} {cycles}" for unit, cycles in self.unit_busy_cycles.items())
        return [f"busy cycles per unit: {busy}"]


MAX_TRACE_EVENTS = 100_000  # a traced run keeps this many events; later ones are only counted


class TraceEvents(list):
    """(pc, start cycle, duration, unit) per executed instruction, cut at MAX_TRACE_EVENTS;
    `dropped` counts the events not kept."""

    dropped: int = 0


@dataclass
class Execution:
    stats: ExecutionStats
    fault: Fault | None
    machine: Machine
    trace: list[tuple[int, int, int, str]] | None = None  # (pc, start cycle, duration, unit)
    # Run-time warnings: reads of memory nothing wrote, or holding values computed from it.
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.fault is None


def _on_chip(size: int, poison: bool) -> np.ndarray:
    """A BF16 memory: NaN when poisoned, else zeros (calloc: pages appear when touched; BF16
    0.0 is all zero bits)."""
    return nan_memory(size, BF16) if poison else np.zeros(size, dtype=BF16)


class Machine:
    """Architectural state of one PLENA core."""

    def __init__(self, config: PlenaConfig, image: MemoryImage | None = None):
        cfg = self.config = config
        image = image or MemoryImage()
        self.g = [0] * cfg.gp_regs
        self.f = [0.0] * cfg.fp_regs
        self.a = [0] * cfg.addr_regs
        self.scale_reg = 0
        self.stride_reg = 1
        self.vmask = 0
        self.vram = _on_chip(cfg.vram_elems, image.poison)
        self.mram = _on_chip(cfg.mram_elems, image.poison)
        self.fpsram = _on_chip(cfg.fpsram_words, image.poison)
        # HBM contents; when poisoned, pages get their poison when a transfer first touches
        # them (poison_fill.py). Outside the simulator read `hbm`, which fills the rest.
        self.hbm_array = np.zeros(cfg.hbm_bytes, dtype=np.uint8)  # calloc: pages appear when touched
        self.hbm_pages: LazyPoison | None = None
        if image.poison:
            # A random 1 MiB pattern repeated over HBM: as unusable as fully random bytes.
            words, pattern = poison_draws(image.poison_seed, cfg.intsram_words, cfg.hbm_bytes)
            self.intsram = words.copy()
            self.hbm_pages = LazyPoison(self.hbm_array, pattern)
        else:
            self.intsram = np.zeros(cfg.intsram_words, dtype=np.uint32)
        hbm_size = 0
        if image.hbm is not None:
            data = np.asarray(image.hbm, dtype=np.uint8).reshape(-1)
            if data.size > cfg.hbm_bytes:
                raise ValueError(f"HBM image of {data.size} bytes exceeds HBM size {cfg.hbm_bytes}")
            if self.hbm_pages is not None:
                self.hbm_pages.ensure(0, data.size)  # the pattern past the data's last byte
            self.hbm_array[: data.size] = data
            hbm_size = data.size
        self.poison: PoisonTracker | None = PoisonTracker(cfg, hbm_size) if image.tracks_reads else None
        for addr, values in image.vram.items():
            n = self._preload(self.vram, addr, values, "VRAM")
            if self.poison is not None:
                self.poison.preload_vram(addr, n)
        for addr, values in image.fpsram.items():
            n = self._preload(self.fpsram, addr, values, "FP SRAM")
            if self.poison is not None:
                self.poison.preload_words(self.poison.fpsram, addr, n)
        for addr, values in image.intsram.items():
            vals = np.asarray(values, dtype=np.uint64).reshape(-1)
            if addr < 0 or addr + vals.size > self.intsram.size:
                raise ValueError(f"INT SRAM preload [{addr}, {addr + vals.size}) out of range")
            self.intsram[addr : addr + vals.size] = vals.astype(np.uint32)
            if self.poison is not None:
                self.poison.preload_words(self.poison.intsram, addr, vals.size)
        self.m_accum = np.zeros((cfg.blen, cfg.blen), dtype=np.float32)
        self.v_accum = np.zeros(cfg.blen, dtype=np.float32)
        self.hm_accum = np.zeros((cfg.heads_per_row, cfg.mlen, cfg.mlen), dtype=np.float32)
        self.hv_accum = np.zeros((cfg.heads_per_row, cfg.mlen), dtype=np.float32)
        self.loops: list[list] = []  # frames: [body start pc, counter reg, iteration start count, broken]
        self.tile_cache: dict[int, np.ndarray] = {}  # MRAM tile -> float64 copy, dropped on write
        # M_MM: tile * VRAM size + activation address -> (the activation rows' BF16 bytes, their
        # product with the tile rounded to FP32); emptied on any MRAM write (semantics.py)
        self.mm_products: dict[int, tuple[bytes, np.ndarray]] = {}
        self.dma_cycles = 0
        self.hbm_timing = HbmModel(cfg)
        self.jumps = 0
        self.next_wall_check = 0  # dynamic instruction count at which to look at the clock again
        self.deadline = float("inf")
        self.max_instructions = 0
        self.pc = 0  # kept current only by the traced and tracked run loops
        self.footprints: list | None = None  # per pc, when reads are tracked (semantics.py)
        self.counts: list[int] = []  # executions per pc, shared with the run loop
        self.executed = 0  # set by a batched loop: the dynamic count after it
        self.loop_batches = 0  # loops run in batches (loops.py), for tests and profiling

    @staticmethod
    def _preload(target: np.ndarray, addr: int, values, what: str) -> int:
        vals = np.asarray(values, dtype=np.float32).reshape(-1)
        if addr < 0 or addr + vals.size > target.size:
            raise ValueError(f"{what} preload [{addr}, {addr + vals.size}) out of range 0..{target.size}")
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf preloads are legitimate
            target[addr : addr + vals.size] = vals.astype(BF16)
        return vals.size

    @property
    def hbm(self) -> np.ndarray:
        """All of HBM as the kernel would see it (poisoned pages filled in first)."""
        if self.hbm_pages is not None:
            self.hbm_pages.ensure_all()
        return self.hbm_array

    # Convenience readers for evaluation and tools.
    def read_vram(self, addr: int, count: int) -> np.ndarray:
        return self.vram[addr : addr + count].astype(np.float32)

    def registers(self) -> dict[str, object]:
        return {
            "gp": list(self.g),
            "f": list(self.f),
            "a": list(self.a),
            "SCALE_REG": self.scale_reg,
            "STRIDE_REG": self.stride_reg,
            "V_MASK": self.vmask,
        }


def run(
    program: Program,
    image: MemoryImage | None = None,
    limits: RunLimits | None = None,
    *,
    trace: bool = False,
) -> Execution:
    """Execute a program to completion or to its first fault. Never raises for kernel errors."""
    limits = limits or RunLimits()
    # Compiling makes one closure per instruction; the cyclic GC would rescan them all many
    # times (a third of the run time on large unrolled kernels) and nothing here needs it.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(program, image, limits, trace)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run(program: Program, image: MemoryImage | None, limits: RunLimits, trace: bool) -> Execution:
    from .semantics import compile_program  # local: semantics imports this module

    cfg = program.config
    m = Machine(cfg, image)
    m.deadline = time.perf_counter() + limits.wall_time_s
    m.max_instructions = limits.max_instructions
    counts = m.counts = [0] * len(program.instructions)
    ops, static_costs = compile_program(program, m, batch_loops=not trace)
    n = len(ops)
    events: TraceEvents | None = TraceEvents() if trace else None
    pc = 0
    executed = 0
    fault = None
    with np.errstate(all="ignore"):
        try:
            if trace:
                pc, executed = _run_traced(program, ops, static_costs, counts, m, events)
            elif m.footprints is not None:
                pc, executed = _run_tracked(ops, m.footprints, counts, m)
            else:
                while pc < n:
                    counts[pc] += 1
                    executed += 1
                    nxt = ops[pc](executed)
                    if nxt is None:
                        pc += 1
                    elif nxt >= 0:
                        pc = nxt
                    else:  # a batched loop ran (see loops.py): it counted its own instructions
                        pc, executed = ~nxt, m.executed
        except MachineFault as exc:
            pc = m.pc if trace or m.footprints is not None else pc
            ins = program.instructions[pc]
            fault = Fault(exc.kind, exc.message, pc, ins.text(), ins.line or None, exc.state)
        except Exception as exc:  # a simulator defect must still not reach the user as a traceback
            pc = m.pc if trace or m.footprints is not None else pc
            ins = program.instructions[pc] if pc < n else None
            fault = Fault(
                "internal",
                f"simulator error: {type(exc).__name__}: {exc}",
                pc,
                ins.text() if ins else "",
                (ins.line or None) if ins else None,
            )
    stats = _statistics(program, counts, m)
    warnings = m.poison.diagnostics() if m.poison is not None else []
    # The footprints close over the machine: without them the machine holds no cycle and is
    # freed as soon as the caller lets it go, so its poisoned memories can be reused at once
    # (poison_fill.nan_memory) rather than when the cyclic GC comes round.
    m.footprints = None
    return Execution(stats, fault, m, events, warnings)


def _run_tracked(ops, footprints, counts, m):
    """The run loop with poison tracking: each step's footprint, when it has one, runs first
    (knowing its pc through the tracker). m.pc follows pc, for a fault's place."""
    tracker = m.poison
    pc, executed = 0, 0
    n = len(ops)
    while pc < n:
        counts[pc] += 1
        executed += 1
        m.pc = pc
        fp = footprints[pc]
        if fp is not None:
            tracker.pc = pc
            fp()
        nxt = ops[pc](executed)
        if nxt is None:
            pc += 1
        elif nxt >= 0:
            pc = nxt
        else:  # a batched loop ran (see loops.py): it counted its own instructions
            pc, executed = ~nxt, m.executed
    m.pc = pc
    return pc, executed


def _run_traced(program, ops, static_costs, counts, m, events):
    units = [ins.spec.unit.value for ins in program.instructions]
    footprints, tracker = m.footprints, m.poison
    pc, executed, now = 0, 0, 0
    n = len(ops)
    while pc < n:
        counts[pc] += 1
        executed += 1
        m.pc = pc
        dma_before = m.dma_cycles
        if footprints is not None and footprints[pc] is not None:
            tracker.pc = pc
            footprints[pc]()
        nxt = ops[pc](executed)
        duration = static_costs[pc] + (m.dma_cycles - dma_before)
        if len(events) < MAX_TRACE_EVENTS:
            events.append((pc, now, duration, units[pc]))
        else:
            events.dropped += 1
        now += duration
        pc = pc + 1 if nxt is None else nxt
    return pc, executed


def peak_macs_per_cycle(cfg: PlenaConfig) -> int:
    """Best MACs per cycle any matrix instruction achieves under the timing profile."""
    from .isa import INSTRUCTIONS

    best = 0
    for spec in INSTRUCTIONS:
        if spec.macs is not None and spec.timing(cfg) is not None:
            cycles = max(1, spec.cycles(cfg, (0,) * len(spec.operands)))
            best = max(best, spec.macs(cfg) // cycles)
    return best


def _statistics(program: Program, counts: list[int], m: Machine) -> ExecutionStats:
    cfg = program.config
    busy = {u.value: 0 for u in Unit}
    mix = {u.value: 0 for u in Unit}
    # Executions and busy cycles per opcode: counts summed over each opcode's pcs (exact
    # integer sums, in int64: far beyond any run's instruction limit).
    plan = program_plan(program)
    executed = np.asarray(counts, dtype=np.int64)
    per_count: list[int] = []
    per_cycles: list[int] = []
    if len(counts):
        per_count = np.add.reduceat(executed[plan.order], plan.group_starts).tolist()
        per_cycles = np.add.reduceat((executed * plan.costs_array)[plan.order], plan.group_starts).tolist()
    per_spec: dict[str, list] = {}  # name -> [spec, executions, busy cycles]
    for spec, count, cycles in zip(plan.specs, per_count, per_cycles, strict=True):
        if count:
            per_spec[spec.name] = [spec, count, cycles]
    macs = 0
    for spec, count, cycles in per_spec.values():
        busy[spec.unit.value] += cycles
        mix[spec.unit.value] += count
        if spec.macs is not None:
            macs += count * spec.macs(cfg)
    busy[Unit.MEMORY.value] += m.dma_cycles
    cycles = sum(busy.values())
    peak = peak_macs_per_cycle(cfg)
    util = macs / (cycles * peak) if cycles and peak else 0.0
    hbm = m.hbm_timing.counters
    return ExecutionStats(
        cycles=cycles,
        instructions=int(executed.sum()),
        unit_busy_cycles=busy,
        instruction_mix=mix,
        opcode_counts={name: entry[1] for name, entry in sorted(per_spec.items())},
        hbm_read_bytes=hbm.read_bytes,
        hbm_write_bytes=hbm.write_bytes,
        hbm_useful_read_bytes=hbm.useful_read_bytes,
        hbm_useful_write_bytes=hbm.useful_write_bytes,
        macs=macs,
        mac_utilization=util,
        latency_ns=cycles / cfg.clock_ghz,
        timing_profile=cfg.timing_profile,
        hbm_row_hits=hbm.row_hits,
        hbm_row_misses=hbm.row_misses,
        hbm_row_conflicts=hbm.row_conflicts,
    )
