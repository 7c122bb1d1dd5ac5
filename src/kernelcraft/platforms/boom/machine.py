"""Running a program on rvsim's out-of-order core configured as BOOM.

`rvsim_config` maps a BoomConfig onto rvsim's Config (docs/boom.md says what cannot be
mapped). `simulate` runs a linked ELF (with the task image already added) under the run
limits (retired instructions and wall time, checked between chunks of cycles), and returns
the exit, the counters and a reader for memory afterwards. Nothing here raises for a bad
program: an unexpected trap, a hang or a limit comes back as the run's `stop` reason.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from typing import Any

from ..base import RunLimits
from .config import BoomConfig
from .runtime import EXIT_OK, FAULT_ADDR, RAM_BASE, RAM_BYTES, RESULT_ADDR

# The registers the LP64 calling convention makes the callee preserve (ra aside: without it
# kernel cannot return at all), by register number.
CALLEE_SAVED = {"sp": 2, "s0": 8, "s1": 9, **{f"s{i}": 16 + i for i in range(2, 12)}}

CHUNK_CYCLES = 2_000_000  # between wall-time checks
# Without a limit from the caller, a run may take this many cycles per retired-instruction limit.
CYCLES_PER_INSTRUCTION_CAP = 64


def rvsim_config(cfg: BoomConfig) -> Any:
    """The rvsim Config for a BOOM configuration."""
    from rvsim import (
        Backend,
        BranchPredictor,
        Cache,
        Config,
        Fu,
        MemDepPredictor,
        MemoryController,
        Prefetcher,
    )

    int_width = cfg.int_iq.issue_width
    fp_width = cfg.fp_iq.issue_width
    mem_width = cfg.mem_iq.issue_width
    units = [
        Fu.IntAlu(count=int_width, latency=cfg.alu_latency),
        Fu.IntMul(count=1, latency=cfg.imul_latency),
        Fu.IntDiv(count=1, latency=cfg.div_latency),
        Fu.Branch(count=int_width, latency=cfg.alu_latency),
        Fu.Mem(count=mem_width, latency=1),
        Fu.FpAdd(count=fp_width, latency=cfg.fma_latency),
        Fu.FpMul(count=fp_width, latency=cfg.fma_latency),
        Fu.FpFma(count=fp_width, latency=cfg.fma_latency),
        Fu.FpDivSqrt(count=1, latency=cfg.fdiv_latency),
    ]
    tables = cfg.tage_tables
    return Config(
        width=cfg.decode_width,
        fetch_width=cfg.fetch_instructions,
        decode_width=cfg.decode_width,
        rename_width=cfg.decode_width,
        commit_width=cfg.decode_width,
        issue_width=cfg.issue_width,
        branch_predictor=BranchPredictor.TAGE(
            num_banks=len(tables),
            table_size=cfg.tage_entries_per_table,
            reset_interval=cfg.tage_u_bit_period,
            history_lengths=[hist for _, hist, _ in tables],
            tag_widths=[tag for _, _, tag in tables],
            bimodal_entries=cfg.bim_entries,
        ),
        backend=Backend.OutOfOrder(
            rob_size=cfg.rob_entries,
            store_buffer_size=cfg.stq_entries,
            issue_queue_size=cfg.issue_queue_entries,
            load_queue_size=cfg.ldq_entries,
            load_ports=mem_width,
            store_ports=mem_width,
            prf_gpr_size=cfg.int_phys_regs,
            prf_fpr_size=cfg.fp_phys_regs,
            fu_config=Fu(units),
            checkpoint_count=cfg.max_br_count,
        ),
        # BOOM issues loads past older stores of unknown address and flushes on an ordering
        # failure (docs/sections/load-store-unit.rst:102-125); rvsim's store sets speculate too.
        mem_dep_predictor=MemDepPredictor.StoreSet(),
        btb_size=cfg.btb_entries,
        btb_ways=cfg.btb_ways,
        ras_size=cfg.ras_entries,
        l1i=Cache(
            f"{cfg.l1i_bytes}B",
            line=f"{cfg.line_bytes}B",
            ways=cfg.l1i_ways,
            latency=cfg.l1i_latency,
            prefetcher=Prefetcher.Off(),
        ),
        l1d=Cache(
            f"{cfg.l1d_bytes}B",
            line=f"{cfg.line_bytes}B",
            ways=cfg.l1d_ways,
            latency=cfg.l1d_latency,
            mshr_count=cfg.l1d_mshrs,
            prefetcher=Prefetcher.NextLine(degree=1) if cfg.l1d_prefetch else Prefetcher.Off(),
        ),
        l2=Cache(f"{cfg.l2_kib}KB", line=f"{cfg.line_bytes}B", ways=cfg.l2_ways, latency=cfg.l2_latency),
        memory_controller=MemoryController.Simple(latency=cfg.dram_latency),
        ram_size=RAM_BYTES,
        ram_base=RAM_BASE,
        tlb_size=cfg.tlb_entries,
        misaligned_access_trap=cfg.misaligned_trap,
        isa="RV64IMAFDC",
        cpu_clock_mhz=cfg.clock_mhz,
        trap_latency=cfg.trap_latency,
        bus_latency=cfg.bus_latency,
        console="quiet",
        hart_count=1,
    )


@dataclass
class RunStats:
    """The counters a CPU performance engineer reads first (the Platform API's RunStats)."""

    cycles: int
    instructions: int
    branches: int = 0
    mispredicts: int = 0
    l1d_accesses: int = 0
    l1d_misses: int = 0  # primary + secondary
    l1d_secondary_misses: int = 0  # misses on a line already being fetched (they wait, fetch nothing)
    l1i_misses: int = 0
    clock_ghz: float = 1.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def ipc(self) -> float:
        return self.instructions / self.cycles if self.cycles else 0.0

    @property
    def l1d_primary_misses(self) -> int:
        """Misses that fetched a line from the L2."""
        return self.l1d_misses - self.l1d_secondary_misses

    def to_dict(self) -> dict[str, Any]:
        return {
            "cycles": self.cycles,
            "instructions": self.instructions,
            "ipc": round(self.ipc, 4),
            "branches": self.branches,
            "branch_mispredicts": self.mispredicts,
            "l1d_accesses": self.l1d_accesses,
            "l1d_misses": self.l1d_misses,
            "l1d_primary_misses": self.l1d_primary_misses,
            "l1d_secondary_misses": self.l1d_secondary_misses,
            "l1i_misses": self.l1i_misses,
            "time_us": round(self.cycles / (self.clock_ghz * 1000.0), 3),
        }

    def summary_lines(self) -> list[str]:
        rate = (
            f" ({100 * self.mispredicts / self.branches:.1f}% of {self.branches} branches)"
            if self.branches
            else ""
        )
        return [
            f"IPC {self.ipc:.2f}; branch mispredicts {self.mispredicts}{rate}",
            f"L1D: {self.l1d_accesses} accesses, {self.l1d_accesses - self.l1d_misses} hits, "
            f"{self.l1d_primary_misses} primary misses (a line fetched), {self.l1d_secondary_misses} "
            f"secondary (waiting on a line already being fetched); L1I misses {self.l1i_misses}",
        ]


@dataclass
class Execution:
    """One finished (or stopped) run."""

    stop: str  # "exit", "trap", "instruction_limit", "wall_time", "error"
    exit_code: int | None
    stats: RunStats
    memory: MemoryReader
    trap: dict[str, int] | None = None  # mcause, mepc, mtval when the start-up handler caught a trap
    message: str = ""
    wall_s: float = 0.0
    traps: TrapLog | None = None  # every trap taken, when the run was asked to follow them
    callee_saved: dict[str, int] = field(default_factory=dict)  # sp, s0..s11 at exit
    stop_pc: int | None = None  # the next instruction to retire when a limit stopped the run


class MemoryReader:
    """Reads simulated physical memory after a run."""

    def __init__(self, sim: Any | None):
        self._sim = sim

    def read(self, addr: int, length: int) -> bytes:
        if self._sim is None or length <= 0:
            return bytes(max(length, 0))
        return bytes(self._sim.read_phys_bytes(addr, length))

    def u64(self, addr: int) -> int:
        return struct.unpack("<Q", self.read(addr, 8))[0]


def _stat(stats: Any, *paths: str) -> int:
    for path in paths:
        value = stats.get(path)
        if value is not None:
            return int(value)
    return 0


def read_stats(sim: Any, cfg: BoomConfig) -> RunStats:
    core = sim.stats
    mispredicts = _stat(core, "core0.bp.committed.mispredicts")
    l1d_misses = _stat(core, "core0.cache.l1d.misses")
    return RunStats(
        cycles=int(sim.cycle),
        instructions=int(sim.instructions_retired),
        branches=_stat(core, "core0.bp.committed.hits") + mispredicts,  # committed control transfers
        mispredicts=mispredicts,
        l1d_accesses=_stat(core, "core0.cache.l1d.hits") + l1d_misses,
        l1d_misses=l1d_misses,
        l1d_secondary_misses=_stat(core, "core0.cache.l1d.mshr_hits"),
        l1i_misses=_stat(core, "core0.cache.l1i.misses"),
        clock_ghz=cfg.clock_ghz,
    )


@dataclass(frozen=True)
class TrapEvent:
    """A trap the harness saw taken (mcause, mtval, mepc as the handler found them)."""

    cause: int
    tval: int
    epc: int
    from_mode: str  # "U", "S" or "M": mstatus.MPP at the handler's first instruction
    pmp: tuple[int, ...] = ()  # pmpcfg0, pmpaddr0..7 when it was taken (what decided the access)


@dataclass
class TrapLog:
    """Traps followed through a run: every trap that reached the current mtvec, and the total."""

    events: list[TrapEvent] = field(default_factory=list)
    total: int = 0  # rvsim's count of every trap taken
    unobserved: int = 0  # traps taken where the harness could not read their cause

    def from_user(self) -> list[TrapEvent]:
        return [t for t in self.events if t.from_mode == "U"]


_MODES = {0: "U", 1: "S", 3: "M"}
PMPCFG0, PMPADDR0, PMP_ENTRIES = 0x3A0, 0x3B0, 8


class _TrapWatcher:
    """Stops the run at the trap vector to read mcause/mtval/mepc of each trap taken.

    User mode is entered only through mret/sret, and user code cannot change mtvec, so
    stopping at every xRET site (to re-read mtvec) and at mtvec itself sees every trap taken
    from user mode. A stop at mtvec is a trap exactly when rvsim's trap count rose by one.
    """

    def __init__(self, sim: Any, sites: tuple[int, ...]):
        self.sim = sim
        self.sites = list(sites)
        self.log = TrapLog()

    def _count(self) -> int:
        return int(self.sim.stats.get("hart0.traps") or 0)

    def targets(self) -> list[int]:
        return self.sites + [int(self.sim.csrs["mtvec"]) & ~3]

    def stopped(self) -> None:
        sim, log = self.sim, self.log
        count = self._count()
        if count == log.total:
            return
        vector = int(sim.csrs["mtvec"]) & ~3
        if count == log.total + 1 and sim.pc == vector and sim.privilege == "M":
            csrs = sim.csrs
            mpp = (int(csrs["mstatus"]) >> 11) & 3
            pmp = (int(csrs[PMPCFG0]), *(int(csrs[PMPADDR0 + i]) for i in range(PMP_ENTRIES)))
            log.events.append(
                TrapEvent(
                    int(csrs["mcause"]), int(csrs["mtval"]), int(csrs["mepc"]), _MODES.get(mpp, "?"), pmp
                )
            )
        else:
            log.unobserved += count - log.total
        log.total = count

    def finish(self) -> TrapLog:
        count = self._count()
        self.log.unobserved += max(0, count - self.log.total)
        self.log.total = count
        return self.log


def simulate(
    elf: bytes,
    cfg: BoomConfig,
    limits: RunLimits | None = None,
    trap_sites: tuple[int, ...] | None = None,
) -> Execution:
    """Run a complete program (task image included) until it exits, traps or hits a limit.

    With `trap_sites` (the program's mret/sret addresses) the run also records every trap taken
    (Execution.traps); stopping to read them does not change the cycle count.
    """
    limits = limits or RunLimits()
    try:
        from rvsim import Simulator
    except ImportError:
        return Execution(
            "error",
            None,
            RunStats(0, 0, clock_ghz=cfg.clock_ghz),
            MemoryReader(None),
            message="rvsim is not installed: pip install 'kernelcraft[boom]'",
        )
    started = time.perf_counter()
    try:
        sim = Simulator(rvsim_config(cfg), elf_data=elf)
    except Exception as exc:  # rvsim rejects the image: report, do not raise
        return Execution(
            "error",
            None,
            RunStats(0, 0, clock_ghz=cfg.clock_ghz),
            MemoryReader(None),
            message=f"the simulator could not load the program: {exc}",
        )
    watcher = _TrapWatcher(sim, trap_sites) if trap_sites is not None else None
    max_cycles = limits.max_instructions * CYCLES_PER_INSTRUCTION_CAP
    stop, code, message = "error", None, ""
    while True:
        remaining = max_cycles - sim.cycle
        if remaining <= 0:
            stop, message = "instruction_limit", f"no exit within {max_cycles} cycles"
            break
        try:
            reason, value = sim.run_to(
                cycles=min(CHUNK_CYCLES, remaining),
                instructions=max(1, limits.max_instructions - sim.instructions_retired),
                pc=watcher.targets() if watcher is not None else None,
            )
        except Exception as exc:
            stop, message = "error", f"the simulator stopped: {exc}"
            break
        if reason == "exit":
            code = int(value) if value is not None else None
            stop = "exit" if code == EXIT_OK else "trap"
            break
        if reason == "pc" and watcher is not None:
            watcher.stopped()
        if sim.instructions_retired >= limits.max_instructions:
            stop, message = "instruction_limit", f"more than {limits.max_instructions} instructions executed"
            break
        if time.perf_counter() - started > limits.wall_time_s:
            stop, message = "wall_time", f"the run took longer than {limits.wall_time_s:.0f} s of host time"
            break
    memory = MemoryReader(sim)
    trap = None
    if stop == "trap":
        if memory.u64(FAULT_ADDR + 24) == 1:
            trap = {
                "mcause": memory.u64(FAULT_ADDR),
                "mepc": memory.u64(FAULT_ADDR + 8),
                "mtval": memory.u64(FAULT_ADDR + 16),
            }
        else:
            message = f"the program ended with exit code {code}"
    stop_pc = int(sim.pc) if stop in ("instruction_limit", "wall_time") else None
    saved = {}
    if stop == "exit":  # the start-up code touches none of them after kernel returns
        saved = {name: int(sim.regs[number]) for name, number in CALLEE_SAVED.items()}
    return Execution(
        stop,
        code,
        read_stats(sim, cfg),
        memory,
        trap,
        message,
        time.perf_counter() - started,
        traps=watcher.finish() if watcher is not None else None,
        callee_saved=saved,
        stop_pc=stop_pc,
    )


def returned(memory: MemoryReader) -> tuple[int, int]:
    """a0 and a1 as kernel returned them."""
    return memory.u64(RESULT_ADDR), memory.u64(RESULT_ADDR + 8)
