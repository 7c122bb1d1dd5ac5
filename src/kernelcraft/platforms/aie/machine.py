"""The tile's core: machine state, the exposed pipeline, memory stages, banks, branches, loops.

Timing model (cycle = one bundle issue slot):
- One bundle issues per cycle, in order. An operation's register result lands `latency`
  cycles after issue; operands are read at issue (the accumulator input of vector-unit
  operations at issue + 2). A read before an in-flight write lands sees the old value and
  is recorded as a hazard warning (bundle, register, cycles early). In the `interlocked`
  ablation the bundle instead waits until its operands have landed; those cycles are
  counted as interlock stalls.
- Loads and vst touch memory at issue + 4 (E5), vst.conv / vst.srs at issue + 6 (E7); a
  store is visible to loads whose memory cycle is later. If k accesses hit one physical bank
  in the same memory cycle, the whole core stalls k - 1 cycles (a 32-byte access occupies
  both banks of its 16 KB logical bank, a smaller one the bank holding it).
- Branches take effect after 5 delay-slot bundles. A zero-overhead loop repeats the bundles
  ls..le while lc counts down, at no cycle cost.

Nothing here raises on a bad kernel: problems become a Fault that stops the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..base import Diagnostic, Fault, RunLimits
from .assembler import Addr, Program
from .config import AieConfig
from .numerics import RND_CONV_EVEN
from .registers import (
    ACC_BASE,
    N_CM,
    N_LOCATIONS,
    N_SCALARS,
    N_X,
    SCALAR_INDEX,
    SCALAR_MASK,
    VEC_BASE,
    Reg,
    location_name,
)
from .stats import AieStats

RETURN_ADDRESS = 0xFFFF0  # lr at kernel entry: not an address of the program
NO_LOOP = 0xFFFFF
POISON_BYTE = 0xFF  # bf16 / fp32 NaN in every lane
_LS, _LE, _LC, _LR = (SCALAR_INDEX[n] for n in ("ls", "le", "lc", "lr"))
_LOOP_LOCS = {_LS, _LE, _LC}
_CRRND, _CRSAT, _CARRY = SCALAR_INDEX["crrnd"], SCALAR_INDEX["crsat"], SCALAR_INDEX["srcarry"]


class _Stop(Exception):
    """Unwinds the interpreter after a fault."""


class Diverged(Exception):
    """Lockstep lanes disagree on a scalar value (a branch, address or count would differ)."""


@dataclass
class Hazard:
    bundle: int
    location: int
    cycles_early: int
    count: int = 1


@dataclass
class CallOutcome:
    cycles: int
    fault: Fault | None = None
    diverged: bool = False


@dataclass
class _LoadEvent:
    offset: int
    nbytes: int
    reg: Reg
    convert: object
    lands: int


@dataclass
class Machine:
    config: AieConfig
    memory: np.ndarray = field(default=None)  # type: ignore[assignment]
    poison: bool = False
    lanes: int = 1  # independent calls run in lockstep: per-lane memory and vector state, shared scalars

    def __post_init__(self) -> None:
        cfg = self.config
        if self.memory is None:
            self.memory = np.zeros((self.lanes, cfg.data_memory_bytes), dtype=np.uint8)
        elif self.memory.ndim == 1:
            self.memory = self.memory.reshape(1, -1)
        self.s: list[int] = [0] * N_SCALARS
        self.vec = np.zeros((self.lanes, 2 * N_X * 32), dtype=np.uint8)
        self.acc = np.zeros((self.lanes, 4 * N_CM * 32), dtype=np.uint8)
        self.land = [0] * N_LOCATIONS  # cycle the latest in-flight write to a location lands
        self.pending: dict[int, list[tuple[Reg | int, object]]] = {}
        self.mem_events: dict[int, list] = {}
        self.t = 0  # cycle of the next issue
        self.stats = AieStats()
        self.hazards: dict[tuple[int, int], Hazard] = {}
        self.fp_mode = cfg.fp_mode
        self.reg_lr = Reg("s", _LR, 1, "lr")
        self._writes: list[tuple[Reg | int, object, int]] = []
        self._op = None
        self._bundle_index = 0
        self._branch: tuple[int | None, int] | None = None  # (target address, delay slots left)
        self._fault: Fault | None = None
        self._program: Program | None = None
        self._loop_setup_at = -(10**9)
        self._issued = 0
        self._call_stalls = 0
        self.events: list[tuple[int, int]] = []

    # ------------------------------------------------------------------ operand access (semantics API)
    def get(self, reg: Reg) -> int:
        return self.s[reg.index]

    def vget(self, reg: Reg) -> np.ndarray:
        buf = self.vec if reg.file == "v" else self.acc
        off = reg.byte_offset
        return buf[:, off : off + reg.nbytes].copy()

    def vraw16(self, reg: Reg) -> np.ndarray:
        """A vector register's 16-bit lanes, without a copy (the caller must not keep it)."""
        buf = self.vec if reg.file == "v" else self.acc
        off = reg.byte_offset
        return buf[:, off : off + reg.nbytes].view(np.uint16)

    def aget(self, reg: Reg, delay: int) -> np.ndarray:
        """An accumulator as it is `delay` cycles after issue (writes landing by then included)."""
        value = self.vget(reg)
        lo, hi = reg.index, reg.index + reg.granules
        for c in range(self.t + 1, self.t + delay + 1):
            for target, data in self.pending.get(c, ()):
                if isinstance(target, Reg) and target.file == reg.file:
                    a, b = max(lo, target.index), min(hi, target.index + target.granules)
                    if a < b:
                        value[:, (a - lo) * 32 : (b - lo) * 32] = data[
                            ..., (a - target.index) * 32 : (b - target.index) * 32
                        ]
        return value

    def uniform(self, values) -> int:
        """One scalar for all lanes, or Diverged when the lanes disagree."""
        if isinstance(values, np.ndarray):
            flat = values.reshape(-1)
            if flat.size > 1 and not (flat == flat[0]).all():
                raise Diverged
            return int(flat[0])
        return int(values)

    def put(self, reg: Reg, value) -> None:
        if isinstance(value, np.ndarray):
            value = self.uniform(value)
        self._writes.append((reg, value, self._op.spec.latency))

    def put_carry(self, value: int) -> None:
        self._writes.append((Reg("s", _CARRY, 1, "srCarry"), value, 1))

    def vput(self, reg: Reg, data: np.ndarray) -> None:
        self._writes.append((reg, np.asarray(data, dtype=np.uint8), self._op.spec.latency))

    def rounding(self) -> int:
        return self.s[_CRRND]

    def saturation(self) -> int:
        return self.s[_CRSAT]

    def event(self, n: int) -> None:
        self.events.append((n, self.t))

    def return_address(self) -> int:
        """The address after a call's delay slots (for jl)."""
        index = self._bundle_index + self.config.branch_delay_slots + 1
        program = self._program
        if index < len(program.bundles):
            return program.bundles[index].address
        return program.size_bytes

    # ------------------------------------------------------------------ memory
    def effective_address(self, addr: Addr, nbytes: int) -> int:
        base = self.s[addr.preg.index]
        new = None
        if addr.mode == "idx":
            a = base + addr.imm
        elif addr.mode == "idxj":
            a = base + _s20(self.s[addr.reg.index])
        elif addr.mode == "post":
            a, new = base, base + addr.imm
        elif addr.mode == "postm":
            a, new = base, base + _s20(self.s[addr.reg.index])
        else:
            k = addr.dim
            count = self.s[SCALAR_INDEX[f"dc{k}"]] + 1
            size = self.s[SCALAR_INDEX[f"dn{k}"]]
            a = base
            if count >= size:
                new = base + _s20(self.s[SCALAR_INDEX[f"dj{k}"]])
                count = 0
            else:
                new = base + _s20(self.s[SCALAR_INDEX[f"m{k}"]])
            self._writes.append((Reg("s", SCALAR_INDEX[f"dc{k}"], 1, f"dc{k}"), count, 1))
        if new is not None:
            self._writes.append((addr.preg, new & 0xFFFFF, 1))
        a &= 0xFFFFF
        if nbytes:
            self._check_access(a, nbytes)
        return a

    def _check_access(self, a: int, nbytes: int) -> None:
        cfg = self.config
        if not (cfg.data_memory_base <= a and a + nbytes <= cfg.data_memory_end):
            self.fault(
                "address",
                f"address 0x{a:05X} ({nbytes} B) is outside data memory "
                f"0x{cfg.data_memory_base:05X}..0x{cfg.data_memory_end - 1:05X}",
                hint="pointers hold byte addresses in 0x70000..0x7FFFF; check the pointer and its increments",
            )
        if a % min(nbytes, 32):
            self.fault(
                "alignment",
                f"address 0x{a:05X} is not {min(nbytes, 32)}-byte aligned for a {nbytes}-byte access",
                hint="vector loads and stores need 32-byte aligned addresses",
            )

    def load(self, a: int, nbytes: int, reg: Reg, convert) -> None:
        lat = self._op.spec.latency
        stage = self._op.spec.mem_stage
        lands = self.t + lat
        self._note_write(reg, lands)
        self.mem_events.setdefault(self.t + stage, []).append(
            _LoadEvent(a - self.config.data_memory_base, nbytes, reg, convert, lands)
        )
        self.stats.loads += self.lanes

    def gather(self, addrs: list[int], nbytes: int, reg: Reg) -> None:
        for a in addrs:
            self._check_access(a, nbytes)
        lat = self._op.spec.latency
        lands = self.t + lat
        self._note_write(reg, lands)
        base = self.config.data_memory_base
        self.mem_events.setdefault(self.t + self._op.spec.mem_stage, []).append(
            ("gather", [a - base for a in addrs], nbytes, reg, lands)
        )
        self.stats.loads += self.lanes

    def store(self, a: int, data: np.ndarray, stage: int) -> None:
        self.mem_events.setdefault(self.t + stage, []).append(
            ("store", a - self.config.data_memory_base, data)
        )
        self.stats.stores += self.lanes

    # ------------------------------------------------------------------ control
    def branch(self, target: int | None) -> None:
        if self._branch is not None:
            self.fault(
                "control",
                "branch in the delay slots of another branch",
                hint="the 5 bundles after a branch always execute and may not branch",
            )
        self._branch = (target, self.config.branch_delay_slots + 1)

    def fault(self, kind: str, message: str, hint: str = "") -> None:
        if self._fault is None:
            b = self._program.bundles[self._bundle_index] if self._program is not None else None
            state = {
                "cycle": self.t,
                **{f"p{i}": f"0x{self.s[SCALAR_INDEX[f'p{i}']]:05X}" for i in range(8)},
            }
            if hint:
                message = f"{message}\n    hint: {hint}"
            self._fault = Fault(
                kind,
                message,
                pc=b.address if b else None,
                instruction=self._op.text if self._op is not None else (b.text if b else ""),
                line=b.line if b else None,
                state=state,
            )
        raise _Stop

    # ------------------------------------------------------------------ pipeline bookkeeping
    def _note_write(self, reg: Reg, lands: int) -> None:
        for loc in reg.locations:
            if self.land[loc] == lands and lands > self.t:
                self._writes.clear()
                self.fault(
                    "write_collision",
                    f"two writes to {location_name(loc)} land in cycle {lands}",
                    hint="two results may not land in one register in the same cycle; separate them",
                )
            if lands > self.land[loc]:
                self.land[loc] = lands
            if loc in _LOOP_LOCS:
                self._loop_setup_at = self._issued

    def _commit(self) -> None:
        t = self.t
        for reg, value, lat in self._writes:
            lands = t + max(lat, 1)
            self._note_write(reg, lands)
            self.pending.setdefault(lands, []).append((reg, value))
        self._writes.clear()

    def _apply(self, c: int) -> None:
        for reg, value in self.pending.pop(c, ()):
            if reg.file == "s":
                if isinstance(value, np.ndarray):
                    value = self.uniform(value)
                self.s[reg.index] = int(value) & SCALAR_MASK[reg.index]
            else:
                buf = self.vec if reg.file == "v" else self.acc
                off = reg.byte_offset
                buf[:, off : off + reg.nbytes] = value
        events = self.mem_events.pop(c, None)
        if events:
            self._memory_cycle(c, events)

    def _memory_cycle(self, c: int, events: list) -> None:
        mem = self.memory
        banks: dict[int, int] = {}

        def use(offset: int, nbytes: int) -> None:
            logical = (offset >> 14) & 3
            if nbytes >= 32:
                for b in (2 * logical, 2 * logical + 1):
                    banks[b] = banks.get(b, 0) + 1
            else:
                b = 2 * logical + ((offset >> 4) & 1)
                banks[b] = banks.get(b, 0) + 1

        for ev in events:  # loads read before stores write in the same memory cycle
            if isinstance(ev, _LoadEvent):
                use(ev.offset, ev.nbytes)
                raw = mem[:, ev.offset : ev.offset + ev.nbytes].copy()
                value = ev.convert(raw) if ev.convert is not None else raw
                self.pending.setdefault(ev.lands, []).append((ev.reg, value))
            elif ev[0] == "gather":
                _, offsets, nbytes, reg, lands = ev
                parts = []
                for off in offsets:
                    use(off, nbytes)
                    parts.append(mem[:, off : off + nbytes])
                self.pending.setdefault(lands, []).append((reg, np.concatenate(parts, axis=-1)))
        for ev in events:
            if not isinstance(ev, _LoadEvent) and ev[0] == "store":
                _, off, data = ev
                n = data.shape[-1]
                use(off, n)
                mem[:, off : off + n] = data
        worst = max(banks.values()) if banks else 0
        if worst > 1:
            self._call_stalls += worst - 1
            self.stats.stall_bank += (worst - 1) * self.lanes

    def _advance(self, to: int) -> None:
        while self.t < to:
            self.t += 1
            self._apply(self.t)

    # ------------------------------------------------------------------ running a call
    def reset_registers(self, rng: np.random.Generator | None = None) -> None:
        """Registers hold nothing meaningful at a call: zeros, or poison when scoring poisons."""
        if self.poison:
            self.s = [
                int(v) & m
                for v, m in zip(
                    (rng.integers(0, 1 << 32, N_SCALARS) if rng is not None else [0xDEADBEEF] * N_SCALARS),
                    SCALAR_MASK,
                    strict=True,
                )
            ]
            self.vec[:] = POISON_BYTE
            self.acc[:] = POISON_BYTE
        else:
            self.s = [0] * N_SCALARS
            self.vec[:] = 0
            self.acc[:] = 0

    def call(
        self,
        program: Program,
        entry: int,
        args: dict[str, int],
        limits: RunLimits,
        deadline: float | None = None,
        rng: np.random.Generator | None = None,
    ) -> CallOutcome:
        """Run one kernel call from byte address `entry` with argument registers `args` until it
        returns to the harness (ret lr, then its delay slots). Cycles: entry to return."""
        self._program = program
        self.reset_registers(rng)
        for name, value in args.items():
            idx = SCALAR_INDEX[name]
            self.s[idx] = value & SCALAR_MASK[idx]
        self.s[_LR] = RETURN_ADDRESS
        self.s[_LE] = NO_LOOP
        self.s[_LS] = NO_LOOP
        self.s[_CRRND] = RND_CONV_EVEN
        self.s[_CRSAT] = 1
        self.s[SCALAR_INDEX["sp"]] = self.config.data_memory_end - 16
        self.land = [self.t] * N_LOCATIONS
        self._branch = None
        self._fault = None
        self._loop_setup_at = -(10**9)
        self._call_stalls = 0
        start_t = self.t
        index = program.index_of.get(entry)
        if index is None:
            return CallOutcome(0, Fault("control", f"entry address {entry} is not a bundle"))
        diverged = False
        try:
            self._loop(program, index, limits, deadline)
        except _Stop:
            pass
        except Diverged:
            diverged = True
        except Exception as exc:  # a simulator bug must not take the harness down
            self._fault = Fault("internal", f"simulator error: {type(exc).__name__}: {exc}")
        self._writes.clear()
        cycles = self.t - start_t + self._call_stalls
        # Let in-flight results and stores land (the caller's time; not counted).
        try:
            while self.pending or self.mem_events:
                self.t += 1
                self._apply(self.t)
        except Diverged:
            diverged = True
        self.t += 1
        self.stats.calls += self.lanes
        self.stats.kernel_cycles += cycles * self.lanes
        return CallOutcome(cycles, self._fault, diverged)

    def _loop(self, program: Program, index: int, limits: RunLimits, deadline: float | None) -> None:
        bundles = program.bundles
        n = len(bundles)
        index_of = program.index_of
        interlocked = self.config.interlocked
        stats = self.stats
        land = self.land
        s = self.s
        max_bundles = limits.max_instructions
        lanes = self.lanes
        while True:
            if index >= n or index < 0:
                self._bundle_index = n - 1
                self._op = None
                self.fault(
                    "control",
                    "execution ran past the end of the program",
                    hint="end the kernel with ret lr followed by its 5 delay-slot bundles",
                )
            b = bundles[index]
            self._bundle_index = index
            t = self.t
            # Operand timing: hazards (exposed) or interlock stalls.
            worst = 0
            for op in b.ops:
                for loc, delay in op.reads:
                    early = land[loc] - (t + delay)
                    if early > worst:
                        worst = early
                    if early > 0 and not interlocked:
                        key = (index, loc)
                        h = self.hazards.get(key)
                        if h is None:
                            self.hazards[key] = Hazard(index, loc, early, lanes)
                        else:
                            h.count += lanes
                            h.cycles_early = max(h.cycles_early, early)
            if interlocked and worst > 0:
                stats.stall_interlock += worst * lanes
                self._advance(t + worst)
                t = self.t
            # Operations reading an accumulator 2 cycles after issue run after the others of
            # their bundle have staged their results, so a result landing by then is seen.
            late = None
            for op in b.ops:
                if op.delayed:
                    late = op
                    continue
                self._op = op
                op.spec.execute(self, op)
            if late is not None:
                self._commit()
                self._op = late
                late.spec.execute(self, late)
            self._op = None
            self._commit()
            # Statistics.
            self._issued += 1
            summary = b.summary
            stats.bundles += lanes
            stats.operations += summary[0] * lanes
            stats.mac_ops += summary[1] * lanes
            for slot, count in summary[2]:
                stats.slot_ops[slot] = stats.slot_ops.get(slot, 0) + count * lanes
            # Next bundle: branch delay slots, then zero-overhead loop, then fall through.
            nxt = index + 1
            if self._branch is not None:
                target, left = self._branch
                left -= 1
                if left == 0:
                    self._branch = None
                    if target is not None:
                        if target == RETURN_ADDRESS:
                            self.t += 1
                            self._apply(self.t)
                            return
                        j = index_of.get(target)
                        if j is None:
                            self.fault(
                                "control",
                                f"branch target 0x{target:X} is not the address of a bundle",
                                hint="branch to labels; lr must hold a return address",
                            )
                        nxt = j
                else:
                    self._branch = (target, left)
            if b.address == s[_LE]:
                if self._branch is not None:
                    self.fault(
                        "control",
                        "a branch's delay slots cross the end of a zero-overhead loop",
                        hint=f"no branch in the last {self.config.zol_no_branch_tail} bundles of a loop body",
                    )
                if self._issued - 1 - self._loop_setup_at < self.config.zol_setup_distance:
                    self.fault(
                        "loop_setup",
                        f"the loop's last bundle issued {self._issued - 1 - self._loop_setup_at} "
                        "bundle(s) after ls/le/lc were written; at least "
                        f"{self.config.zol_setup_distance} are needed",
                        hint="set up the loop earlier or pad with nop bundles",
                    )
                count = s[_LC]
                if count > 1:
                    s[_LC] = count - 1
                    j = index_of.get(s[_LS])
                    if j is None:
                        self.fault(
                            "control",
                            f"ls = 0x{s[_LS]:X} is not the address of a bundle",
                            hint="movxm ls, #label_of_first_body_bundle",
                        )
                    nxt = j
                    stats.zol_iterations += lanes
                elif count == 1:
                    s[_LC] = 0
            index = nxt
            self.t += 1
            self._apply(self.t)
            if self._issued >= max_bundles:
                self.fault(
                    "instruction_limit",
                    f"more than {max_bundles} bundles executed",
                    hint="check loop counts (lc, jnzd counters) and branch conditions",
                )
            if deadline is not None and (self._issued & 4095) == 0 and time.monotonic() > deadline:
                self.fault(
                    "wall_time",
                    "the simulation ran out of wall-clock time",
                    hint="the kernel may loop forever; check loop counts",
                )

    # ------------------------------------------------------------------ reports
    def hazard_diagnostics(self, program: Program, limit: int = 20) -> list[Diagnostic]:
        return hazard_diagnostics(program, self.hazards, limit)


def hazard_diagnostics(program: Program, hazards: dict, limit: int = 20) -> list[Diagnostic]:
    out = []
    for h in sorted(hazards.values(), key=lambda h: (h.bundle, h.location))[:limit]:
        b = program.bundles[h.bundle]
        reader = next((o for o in b.ops if any(loc == h.location for loc, _ in o.reads)), None)
        out.append(
            Diagnostic(
                b.line,
                reader.column if reader else 1,
                f"hazard: reads {location_name(h.location)} up to {h.cycles_early} cycle(s) before "
                f"an in-flight "
                f"write lands ({h.count} time(s) in this run): it saw the old value",
                reader.text if reader else b.text,
                "exposed pipeline: results land `latency` cycles after issue; wait longer or reorder",
                "warning",
            )
        )
    if len(hazards) > limit:
        out.append(
            Diagnostic(0, 0, f"... {len(hazards) - limit} more hazard(s) not shown", severity="warning")
        )
    return out


def _s20(v: int) -> int:
    v &= 0xFFFFF
    return v - (1 << 20) if v & 0x80000 else v


def new_machine(config: AieConfig, poison: bool = False, lanes: int = 1) -> Machine:
    m = Machine(config, None, poison, lanes)
    if poison:
        m.memory[:] = POISON_BYTE
    return m


__all__ = ["ACC_BASE", "VEC_BASE", "Machine", "new_machine", "RETURN_ADDRESS", "CallOutcome"]
