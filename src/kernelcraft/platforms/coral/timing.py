"""The Coral NPU cycle model: the RTL's dispatch rules, LSU slot and RVV back end as timestamps.

The model runs alongside the functional simulator in program order. For each instruction it
finds the earliest dispatch cycle that every rule of the RTL allows (reference notes
coral-npu.md sections 1-3 and 7), commits it, and records when its results become visible:

* fetch: one 16-byte line per fetch, every other cycle (Feb 2026) or every cycle (Oct 2025);
  a line is dispatchable two cycles after its fetch; a new fetch needs room for 4 more in
  the 8-entry buffer; static prediction (jal and backward branches taken, forward branches
  not taken, jalr never) with a refetch 2 cycles after a mispredicted branch dispatches;
* dispatch: up to 4 in order per cycle; nothing after a branch, jump or fence in the same
  cycle; CSR, fence, float, divide and mpause only from slot 0 and alone; scoreboards with
  the registered view (one more cycle) for LSU base, jalr target and store data; one
  multiply per cycle; a non-pipelined divider; one float op in flight; a 4-entry LSU queue;
  RVV queue capacity min(free command-queue entries, 8) minus last cycle's RVV dispatches;
  vector loads/stores not right after any RVV dispatch nor after a vset in the same group;
  the 8-entry in-order retirement buffer (Feb 2026); CSRs wait for it to drain;
* LSU: one slot for scalar and vector accesses; scalar load 4 cycles (result 3 after dequeue),
  store 2; vector per register n + 3 (load) or n + 2 (store) for n distinct 16-byte lines,
  plus 1 per instruction; external memory costs an AXI round trip per transaction;
* RVV back end: 1-cycle front end, decode of 2 instructions / 6 uops per cycle into a 16-entry
  uop queue, in-order dispatch of 3 uops per cycle into an 8-entry ROB with RAW stalls (no
  chaining), 2 ALUs (latency 2), 2 MACs (latency 3), one permute/reduction unit, one divider,
  in-order retire of 4 uops per cycle; uops per instruction from EMUL after the automatic
  LMUL reduction (Feb 2026).

Cycles count from reset release to the cycle after mpause dispatches (the cocotb
`run_to_halt` count); `mcycle` reads the dispatch cycle of the reading instruction.
"""

from __future__ import annotations

from collections import Counter, deque

from .config import CoralConfig
from .machine import reset_in_place
from .stats import CoralStats

# Instruction classes for timing.
(
    K_ALU,
    K_MUL,
    K_DIV,
    K_LOAD,
    K_STORE,
    K_BRANCH,
    K_JAL,
    K_JALR,
    K_CSR,
    K_FPU,
    K_FDIV,
    K_FENCE,
    K_FENCEI,
    K_MPAUSE,
    K_SYSTEM,
    K_VSET,
    K_VEC,
    K_VLOAD,
    K_VSTORE,
    K_ILLEGAL,
) = range(20)

_UNIT_KIND = {
    "alu": K_ALU,
    "mul": K_MUL,
    "div": K_DIV,
    "load": K_LOAD,
    "store": K_STORE,
    "fload": K_LOAD,
    "fstore": K_STORE,
    "branch": K_BRANCH,
    "jal": K_JAL,
    "jalr": K_JALR,
    "csr": K_CSR,
    "fpu": K_FPU,
    "fdiv": K_FDIV,
    "fence": K_FENCE,
    "mpause": K_MPAUSE,
    "system": K_SYSTEM,
    "vset": K_VSET,
    "valu": K_VEC,
    "vmac": K_VEC,
    "vdiv": K_VEC,
    "vred": K_VEC,
    "vwred": K_VEC,
    "vcmp": K_VEC,
    "vperm": K_VEC,
    "vtoscalar": K_VEC,
    "vload": K_VLOAD,
    "vstore": K_VSTORE,
}
_CATEGORY = {
    K_ALU: "scalar_alu",
    K_MUL: "scalar_mul_div",
    K_DIV: "scalar_mul_div",
    K_LOAD: "scalar_load",
    K_STORE: "scalar_store",
    K_BRANCH: "branch_jump",
    K_JAL: "branch_jump",
    K_JALR: "branch_jump",
    K_CSR: "csr_system",
    K_FPU: "float",
    K_FDIV: "float",
    K_FENCE: "csr_system",
    K_FENCEI: "csr_system",
    K_MPAUSE: "csr_system",
    K_SYSTEM: "csr_system",
    K_VSET: "vset",
    K_VLOAD: "vector_load",
    K_VSTORE: "vector_store",
    K_ILLEGAL: "csr_system",
}
_VCAT = {
    "valu": "vector_alu",
    "vmac": "vector_mac",
    "vdiv": "vector_mac",
    "vred": "vector_reduce_permute",
    "vwred": "vector_reduce_permute",
    "vcmp": "vector_alu",
    "vperm": "vector_reduce_permute",
    "vtoscalar": "vector_alu",
}


def _nothing(npc: int) -> None:
    return None


# RVV execution units
U_ALU, U_MAC, U_PMT, U_DIV, U_LSU = range(5)


class TInfo:
    """Static timing facts of one instruction."""

    __slots__ = (
        "pc",
        "kind",
        "comb",
        "regd",
        "rd",
        "fsrc",
        "frd",
        "slot0",
        "ends",
        "backward",
        "imm",
        "unit",
        "category",
        "vkind",
        "vinfo",
        "vm",
        "vd",
        "vs1",
        "vs2",
        "form",
        "key",
        "is_rvv",
        "is_lsu",
        "size",
        "vsrc_vd",
        "ucache",
        "writes_x",
    )

    def __init__(self, op):
        d, f = op.d, op.f
        self.pc = op.pc
        self.kind = K_ILLEGAL if d is None else _UNIT_KIND[d.unit]
        if d is not None and d.name == "fence.i":
            self.kind = K_FENCEI
        self.unit = d.unit if d is not None else "illegal"
        self.category = _VCAT.get(self.unit) or _CATEGORY[self.kind]
        self.key = d.key if d is not None else ""
        syntax = d.syntax.split(", ") if d is not None and d.syntax else []
        self.comb, self.regd, self.fsrc = [], [], []
        self.rd = 0
        self.frd = -1
        self.writes_x = False
        k = self.kind
        for token in syntax:
            if token == "rd":
                self.rd = f.rd
                self.writes_x = f.rd != 0
            elif token == "rs1":
                (self.regd if k in (K_JALR,) else self.comb).append(f.rs1)
            elif token == "rs2":
                (self.regd if k == K_STORE else self.comb).append(f.rs2)
            elif token in ("imm(rs1)", "(rs1)"):
                (self.regd if k in (K_LOAD, K_STORE, K_JALR, K_VLOAD, K_VSTORE) else self.comb).append(f.rs1)
            elif token == "frd":
                self.frd = f.rd
            elif token in ("frs1", "frs2", "frs3"):
                self.fsrc.append({"frs1": f.rs1, "frs2": f.rs2, "frs3": f.rs3}[token])
        if d is not None and d.name == "mret":
            self.regd = []
        self.comb = [r for r in self.comb if r]
        self.regd = [r for r in self.regd if r]
        self.slot0 = k in (K_CSR, K_FENCE, K_FENCEI, K_MPAUSE, K_SYSTEM, K_FPU, K_FDIV, K_DIV, K_ILLEGAL) or (
            d is not None and d.ext == "F"
        )
        self.ends = self.slot0 or k in (K_BRANCH, K_JAL, K_JALR)
        self.backward = f is not None and f.imm < 0
        self.imm = f.imm if f is not None else 0
        self.is_rvv = d is not None and d.ext == "V"
        self.is_lsu = k in (K_LOAD, K_STORE, K_VLOAD, K_VSTORE, K_FENCEI)
        self.size = {"lb": 1, "lbu": 1, "sb": 1, "lh": 2, "lhu": 2, "sh": 2}.get(self.key, 4)
        self.vinfo = d.vinfo if d is not None else {}
        self.vkind = self.vinfo.get("kind", "")
        self.form = self.vinfo.get("form", "")
        self.vm = f.vm if f is not None else 1
        self.vd = f.rd if f is not None else 0
        self.vs1 = f.rs1 if f is not None else 0
        self.vs2 = f.rs2 if f is not None else 0
        self.ucache = None  # uops per (SEW, effective LMUL, vl)


# TInfo depends only on the instruction word and its address, and its uop lists (ucache) only on
# the vector configuration, so machines of one configuration share them: a program run again
# (hidden scoring runs each kernel several times) neither rebuilds them nor recomputes its uops.
TINFO_CACHE_SIZE = 1 << 16
_TINFOS: dict = {}


def tinfo_cache(config: CoralConfig) -> dict:
    """(pc, word) -> TInfo for machines of this configuration."""
    cache = _TINFOS.get(config)
    if cache is None:
        if len(_TINFOS) >= 16:
            _TINFOS.clear()
        cache = _TINFOS[config] = {}
    return cache


class Timing:
    """Timestamps of the RTL's pipeline; see the module docstring."""

    def __init__(self, config: CoralConfig, machine=None):
        c = config
        self.c = c
        self.m = machine
        self.fetch_gap = 2 if c.fetch_every_other_cycle else 1
        self.rb_on = c.retirement_buffer > 0
        self.rb_size = max(c.retirement_buffer, 1)
        self.n = 0
        self.cyc = 0
        self.slot = c.dispatch_width
        self.closed = True
        self.xready = [0] * 32
        self.xcause = ["scoreboard"] * 32
        self.fready = [0] * 32
        # fetch
        self.line = -1
        self.visible = 0
        self.next_fetch = 1  # reset released at cycle 0; pc is valid (and fetch starts) in cycle 1
        self.refetch = True  # the next instruction starts a new fetch (after reset, a jump, a redirect)
        self.redirect_at = 1
        self.redirected = True
        self.dhist = [0] * 8
        self.since_flush = 0
        # retirement buffer
        self.retire = [0] * self.rb_size
        self.last_retire = 0
        self.cf_pending = -1  # index of a control-flow instruction waiting for its successor
        # scalar units
        self.mul_cycle = -1
        self.dvu_free = 0
        self.fpu_free = 0
        # LSU
        self.lsu_deq = [0] * c.lsu_queue
        self.lsu_n = 0
        self.slot_free = 0
        # RVV front end and back end
        # RVV dispatches in the last two cycles that had any (their cycles only grow)
        self.rvv_cycle, self.rvv_cnt = -10, 0
        self.rvv_prev_cycle, self.rvv_prev_cnt = -10, 0
        self.vset_in_group = False
        self.cq = deque()
        self.dec_cycle = 0
        self.dec_insts = 0
        self.dec_uops = 0
        self.uq = [0] * c.rvv_uop_queue
        self.uop_n = 0
        self.dp_cycle = 0
        self.dp_uops = 0
        self.dp_reads = 0
        self.rob = [0] * c.rvv_rob
        self.rob_n = 0
        self.alu_cycle, self.alu_cnt = 0, 0
        self.mac_cycle, self.mac_cnt = 0, 0
        self.pmt_free = 0
        self.vdiv_free = 0
        self.ret_cycle, self.ret_cnt = 0, 0
        self.vready = [0] * 32
        self.rvv_idle = 0
        self.halt_cycle = None
        # statistics
        self.stalls = Counter()
        self.mix = Counter()
        self.vuops = 0
        self.mispredicts = 0
        self.ext_tx = 0
        self.trace: list[tuple[int, int]] | None = None  # (pc, dispatch cycle) per instruction when tracing
        self.fetch_why = "fetch"
        self.tinfos = tinfo_cache(c)

    def reset(self) -> None:
        """The state at reset release, in place: compiled blocks and per-instruction hooks hold
        this object's lists, counters and queue."""
        reset_in_place(self, Timing(self.c, self.m), keep=("c", "m", "tinfos"))

    # ------------------------------------------------------------------ binding
    def bind(self, op):
        """The per-instruction timing hook. CSR instructions are timed before they execute, so an
        mcycle read sees its own dispatch cycle (their hook then does nothing)."""
        info = self.tinfos.get((op.pc, op.word))
        if info is None:
            if len(self.tinfos) >= TINFO_CACHE_SIZE:
                self.tinfos.clear()
            info = self.tinfos[(op.pc, op.word)] = TInfo(op)
        op.tinfo = info
        step = self.step
        if info.kind == K_CSR:
            execute = op.fn
            nxt = op.pc + 4

            def timed_first():
                step(info, nxt)
                return execute()

            op.fn = timed_first
            return _nothing

        def time(npc: int) -> None:
            step(info, npc)

        return time

    # ------------------------------------------------------------------ fetch
    def _fetch(self, pc: int) -> tuple[int, str]:
        """When the instruction at pc can dispatch as far as fetch is concerned, and why it waited."""
        line = pc >> 4
        if self.refetch or line != self.line:
            f = self.next_fetch
            if self.redirected:
                f = max(f, self.redirect_at)
            elif self.since_flush >= 5:
                # The 8-entry buffer must have room for 4 more: the 5th-youngest must have left.
                f = max(f, self.dhist[(self.n - 5) & 7] + 1)
            self.line = line
            self.visible = f + 2
            self.next_fetch = f + self.fetch_gap
            self.refetch = False
            why = "branch" if self.redirected else "fetch"
            self.redirected = False
            self.fetch_why = why
        return self.visible, self.fetch_why

    def _redirect(self, at: int) -> None:
        self.refetch = True
        self.redirected = True
        self.redirect_at = at
        self.next_fetch = at
        self.since_flush = 0

    # ------------------------------------------------------------------ CSR support
    def csr_cycle(self) -> int:
        """The dispatch cycle of the executing CSR instruction (mcycle's value)."""
        return self.cyc

    # ------------------------------------------------------------------ the step
    def step(self, ti: TInfo, npc: int) -> None:
        c = self.c
        n = self.n
        kind = ti.kind
        avail, fetch_why = self._fetch(ti.pc)
        # A control-flow instruction completes once its successor is known (RetirementBuffer cfDone).
        if self.cf_pending >= 0:
            idx = self.cf_pending % self.rb_size
            done = max(self.retire[idx], avail)
            self.retire[idx] = done
            if done > self.last_retire:
                self.last_retire = done
            self.cf_pending = -1
        cyc = self.cyc
        join = not self.closed and self.slot < c.dispatch_width and not ti.slot0
        t0 = cyc if join else cyc + 1
        t = t0
        cause = ""
        if avail > t:
            t, cause = avail, fetch_why
        xr = self.xready
        for r in ti.comb:
            if xr[r] > t:
                t, cause = xr[r], self.xcause[r]
        for r in ti.regd:
            if xr[r] + 1 > t:
                t, cause = xr[r] + 1, self.xcause[r]
        if ti.writes_x and xr[ti.rd] > t:
            t, cause = xr[ti.rd], self.xcause[ti.rd]
        if ti.fsrc or ti.frd >= 0:
            fr = self.fready
            for r in ti.fsrc:
                if fr[r] > t:
                    t, cause = fr[r], "scoreboard"
            if ti.frd >= 0 and fr[ti.frd] > t:
                t, cause = fr[ti.frd], "scoreboard"
        if self.rb_on and n >= self.rb_size:
            free = self.retire[(n - self.rb_size) % self.rb_size] + 1
            if free > t:
                t, cause = free, "retirement"
        # class-specific lower bounds
        if ti.is_lsu:
            if self.lsu_n >= c.lsu_queue:
                q = self.lsu_deq[(self.lsu_n - c.lsu_queue) % c.lsu_queue] + 1
                if q > t:
                    t, cause = q, "lsu"
        if kind == K_CSR:
            if self.rb_on and n and self.last_retire + 1 > t:
                t, cause = self.last_retire + 1, "serialise"
            if self.fpu_free > t:
                t, cause = self.fpu_free, "unit"
        elif kind == K_DIV:
            if self.dvu_free > t:
                t, cause = self.dvu_free, "unit"
        elif kind in (K_FPU, K_FDIV):
            if self.fpu_free > t:
                t, cause = self.fpu_free, "unit"
        elif kind in (K_FENCE, K_FENCEI):
            if self.slot_free > t:
                t, cause = self.slot_free, "serialise"
        elif kind == K_MPAUSE:
            idle = max(max(xr), max(self.fready), self.slot_free, self.rvv_idle, self.dvu_free, self.fpu_free)
            if self.rb_on and n:
                idle = max(idle, self.last_retire + 1)
            if idle > t:
                t, cause = idle, "serialise"
        # per-cycle rules (may push to a later cycle)
        if kind == K_MUL and self.mul_cycle == t:
            t, cause = t + 1, "unit"
        if ti.is_rvv:
            t, cause = self.rvv_rules(t, cause, cyc, join, kind in (K_VLOAD, K_VSTORE))
        # commit the dispatch
        if t != cyc or not join:
            if t == cyc:  # cannot join (slot0 rule or closed) but the time constraints allowed cyc
                t = cyc + 1
            self.cyc = t
            self.slot = 0
            self.closed = False
            self.vset_in_group = False
        if self.trace is not None:
            self.trace.append((ti.pc, t))
        stall = t - t0
        if stall > 0:
            self.stalls[cause or "fetch"] += stall
        self.slot += 1
        if ti.ends:
            self.closed = True
        self.n = n + 1
        self.dhist[n & 7] = t
        self.since_flush += 1
        self.mix[ti.category] += 1
        complete = t + 1
        # effects
        if kind == K_ALU or kind == K_CSR:
            if ti.writes_x:
                xr[ti.rd] = t + 1
                self.xcause[ti.rd] = "scoreboard"
        elif kind == K_MUL:
            self.mul_cycle = t
            if ti.writes_x:
                xr[ti.rd] = t + c.mul_latency
                self.xcause[ti.rd] = "scoreboard"
            complete = t + c.mul_latency
        elif kind == K_DIV:
            value = self.m.div_operand if self.m is not None else 0
            if value & 0x80000000 and ti.key in ("div", "rem"):
                value = (-value) & 0xFFFFFFFF
            lat = c.divider_base + max(1, value.bit_length())
            self.dvu_free = t + lat
            if ti.writes_x:
                xr[ti.rd] = t + lat
                self.xcause[ti.rd] = "unit"
            complete = t + lat
        elif kind == K_LOAD or kind == K_STORE:
            complete = self._scalar_mem(ti, t)
        elif kind == K_BRANCH:
            taken = npc != ti.pc + 4
            if taken != ti.backward:
                self.mispredicts += 1
                self._redirect(t + c.branch_redirect_fetch)
            elif taken:
                self.refetch = True
            self._cf(n)
        elif kind == K_JAL:
            self.refetch = True
            if ti.writes_x:
                xr[ti.rd] = t + 1
                self.xcause[ti.rd] = "scoreboard"
            self._cf(n)
        elif kind == K_JALR:
            self.mispredicts += 1
            self._redirect(t + c.branch_redirect_fetch)
            if ti.writes_x:
                xr[ti.rd] = t + 1
                self.xcause[ti.rd] = "scoreboard"
            self._cf(n)
        elif kind == K_FPU or kind == K_FDIV:
            lat = c.fpu_latency if kind == K_FPU else c.fpu_divsqrt_latency
            self.fpu_free = t + lat
            if ti.frd >= 0:
                self.fready[ti.frd] = t + lat
            if ti.writes_x:
                xr[ti.rd] = t + lat
                self.xcause[ti.rd] = "unit"
            complete = t + lat
        elif kind == K_FENCEI:
            self._redirect(t + c.branch_redirect_fetch)
        elif kind == K_MPAUSE:
            self.halt_cycle = t + 1
        elif kind == K_VSET:
            self.vset_in_group = True
            self.rvv_note(t)
            if ti.writes_x:
                xr[ti.rd] = t + 1
                self.xcause[ti.rd] = "scoreboard"
        elif kind in (K_VEC, K_VLOAD, K_VSTORE):
            self.rvv_note(t)
            complete = self._vector(ti, t)
        # retirement (in order)
        retire = max(complete, self.last_retire)
        self.retire[n % self.rb_size] = retire
        self.last_retire = retire

    def _cf(self, n: int) -> None:
        self.cf_pending = n

    # ------------------------------------------------------------------ LSU
    def _scalar_mem(self, ti: TInfo, t: int) -> int:
        c = self.c
        addr = self.m.ea if self.m is not None else c.dtcm_base
        ext = c.ext_base <= addr < c.ext_end
        lat = c.axi_roundtrip if ext else 1
        lines = 1 + (((addr + ti.size - 1) >> 4) != (addr >> 4))
        bus = lines * lat
        deq = max(t + 1, self.slot_free)
        self.lsu_deq[self.lsu_n % c.lsu_queue] = deq
        self.lsu_n += 1
        if ext:
            self.ext_tx += lines
        if ti.kind == K_LOAD:
            ready = deq + 1 + bus + 1
            self.slot_free = deq + 2 + bus + 1
            if ti.writes_x:
                self.xready[ti.rd] = ready
                self.xcause[ti.rd] = "external_memory" if ext else "lsu"
            if ti.frd >= 0:
                self.fready[ti.frd] = ready
            return ready
        self.slot_free = deq + 1 + bus
        return deq + 1 + bus + 1

    def _rvv_capacity(self, t: int) -> int:
        c = self.c
        cq = self.cq
        while cq and cq[0] <= t:
            cq.popleft()
        free = c.rvv_command_queue - len(cq)
        return min(free, c.rvv_queue_capacity_cap) - self.rvv_dispatched(t - 1)

    def rvv_rules(self, t: int, cause, cyc: int, join: bool, vmem: bool):
        """The RVV rules that depend on the dispatch cycle itself: the config interlock for vector
        loads/stores (none right after any RVV dispatch, none after a vset in the same group) and
        the RVV queue capacity. Returns the (possibly later) cycle and the reason."""
        while True:
            if vmem:
                if self.rvv_dispatched(t - 1):
                    t, cause = t + 1, "vector_config"
                    continue
                if t == cyc and join and self.vset_in_group:
                    t, cause = t + 1, "vector_config"
                    continue
            if self.rvv_dispatched(t) + 1 > self._rvv_capacity(t):
                t, cause = t + 1, "rvv_queue"
                continue
            return t, cause

    def rvv_dispatched(self, cycle: int) -> int:
        """How many RVV instructions (vset included) dispatched in `cycle`."""
        if cycle == self.rvv_cycle:
            return self.rvv_cnt
        if cycle == self.rvv_prev_cycle:
            return self.rvv_prev_cnt
        return 0

    def rvv_note(self, cycle: int) -> None:
        if cycle == self.rvv_cycle:
            self.rvv_cnt += 1
        else:
            self.rvv_prev_cycle, self.rvv_prev_cnt = self.rvv_cycle, self.rvv_cnt
            self.rvv_cycle, self.rvv_cnt = cycle, 1

    # ------------------------------------------------------------------ RVV back end
    def _vector(self, ti: TInfo, t: int) -> int:
        m = self.m
        v = m.v
        access = m.vmem if ti.kind == K_VLOAD or ti.kind == K_VSTORE else None
        if access is None:
            return self.vector(ti, t, (v.sew, v.lmul_eff, v.vl), False, ())
        return self.vector(ti, t, (v.sew, v.lmul_eff, v.vl), access.external, access.lines)

    def vector(self, ti: TInfo, t: int, key: tuple, external: bool, lines) -> int:
        """Schedule the instruction's uops through decode, dispatch, execution and retire;
        returns when its last uop retires (the retirement buffer's completion). `key` is the
        (SEW, effective LMUL, vl) it ran with; a vector load/store's access went to external
        memory or not and touched `lines` 16-byte lines per uop. (The fast engine's blocks call
        this for a configuration they were not specialised for.)"""
        c = self.c
        cache = ti.ucache
        uops = cache.get(key) if cache is not None else None
        if uops is None:
            uops = self._uops(ti, key)
            if cache is None:
                cache = ti.ucache = {}
            cache[key] = uops
        U = len(uops)
        self.vuops += U
        # front end, command queue, decode
        dec_cycle = self.dec_cycle
        dec = t + 2 if t + 2 > dec_cycle else dec_cycle
        if dec == dec_cycle and (
            self.dec_insts >= c.rvv_decode_insts
            or self.dec_uops + min(U, c.rvv_decode_uops) > c.rvv_decode_uops
        ):
            dec += 1
        UQ = c.rvv_uop_queue
        uop_n = self.uop_n
        if U and uop_n + U > UQ:
            free = self.uq[(uop_n + U - 1 - UQ) % UQ] + 1
            if free > dec:
                dec = free
        DU = c.rvv_decode_uops
        dec_cycles = 1 if U <= DU else -(-U // DU)
        if dec != dec_cycle:
            self.dec_insts, self.dec_uops = 0, 0
        self.dec_cycle = dec + dec_cycles - 1
        self.dec_insts += 1
        self.dec_uops = (self.dec_uops + U) if dec_cycles == 1 else U % DU
        self.cq.append(dec)
        if U == 0:
            return dec + 1
        # LSU slot for vector memory
        kind = ti.kind
        mem = kind == K_VLOAD or kind == K_VSTORE
        if mem:
            sf = self.slot_free
            deq = t + 1 if t + 1 > sf else sf
            self.lsu_deq[self.lsu_n % c.lsu_queue] = deq
            self.lsu_n += 1
            cursor = deq + c.vector_mem_instruction_overhead
            lat = c.axi_roundtrip if external else 1
            nlines = len(lines)
            is_load = kind == K_VLOAD
        vr = self.vready
        rob = self.rob
        ROB = c.rvv_rob
        rob_n = self.rob_n
        uq = self.uq
        dp_cycle, dp_uops, dp_reads = self.dp_cycle, self.dp_uops, self.dp_reads
        DPU, PORTS = c.rvv_dispatch_uops, c.rvv_vrf_read_ports
        ret_cycle, ret_cnt, RET = self.ret_cycle, self.ret_cnt, c.rvv_retire_uops
        prev = dec + 1
        last_retire = 0
        shared_rob = -1
        first_issue = None
        for j, (unit, srcs, dst, reads, newrob) in enumerate(uops):
            dp = dec + 1 + j // DU
            if prev > dp:
                dp = prev
            for s_ in srcs:
                if vr[s_] > dp:
                    dp = vr[s_]
            if newrob and rob_n >= ROB:
                free = rob[(rob_n - ROB) % ROB] + 1
                if free > dp:
                    dp = free
            while dp == dp_cycle and (dp_uops >= DPU or (dp_uops == DPU - 1 and dp_reads + reads > PORTS)):
                dp += 1
            if dp != dp_cycle:
                dp_cycle, dp_uops, dp_reads = dp, 0, 0
            dp_uops += 1
            dp_reads += reads
            uq[uop_n % UQ] = dp
            uop_n += 1
            prev = dp
            # execute
            if unit == U_ALU:
                e = dp + 1
                if self.alu_cycle > e:
                    e = self.alu_cycle
                if e == self.alu_cycle and self.alu_cnt >= c.rvv_alu_units:
                    e += 1
                if e != self.alu_cycle:
                    self.alu_cycle, self.alu_cnt = e, 0
                self.alu_cnt += 1
                done = e + c.rvv_alu_latency - 1 + (1 if ti.key in ("vcpop", "viota") else 0)
            elif unit == U_MAC:
                e = dp + 1
                if self.mac_cycle > e:
                    e = self.mac_cycle
                if e == self.mac_cycle and self.mac_cnt >= c.rvv_mac_units:
                    e += 1
                if e != self.mac_cycle:
                    self.mac_cycle, self.mac_cnt = e, 0
                self.mac_cnt += 1
                done = e + c.rvv_mac_latency - 1
            elif unit == U_LSU:
                n_lines = lines[j] if j < nlines else 0
                if lat > 1:
                    self.ext_tx += n_lines
                h = dp + 1 if dp + 1 > cursor else cursor
                bus = n_lines * lat
                if is_load:
                    done = h + bus + 4
                    cursor = h + bus + c.vector_load_overhead
                else:
                    done = h + bus + c.vector_store_overhead
                    cursor = done
            elif unit == U_PMT:
                if ti.unit == "vperm":
                    if first_issue is None:
                        first_issue = max(dp + 1, self.pmt_free)
                        # permutes start once every uop is in the reservation station
                        first_issue = max(first_issue, dp + U)
                    e = first_issue + j
                    self.pmt_free = e + 1
                    done = first_issue + U + 1
                else:
                    e = max(dp + 1, self.pmt_free)
                    self.pmt_free = e + (2 if ti.unit == "vwred" else 1)
                    done = e + c.rvv_pmtrdt_latency
            else:  # U_DIV
                e = max(dp + 1, self.vdiv_free)
                lat_div = 2 + -(-(key[0] + 1) // 3)
                self.vdiv_free = e + lat_div
                done = e + lat_div
            if dst >= 0:
                vr[dst] = done
            # retire in order, 4 per cycle, into the VRF
            r = done if done > ret_cycle else ret_cycle
            if r == ret_cycle and ret_cnt >= RET:
                r += 1
            if r != ret_cycle:
                ret_cycle, ret_cnt = r, 0
            ret_cnt += 1
            if newrob:
                rob[rob_n % ROB] = r
                rob_n += 1
                shared_rob = rob_n - 1
            elif shared_rob >= 0:
                rob[shared_rob % ROB] = r
            last_retire = r
        self.rob_n, self.uop_n = rob_n, uop_n
        self.dp_cycle, self.dp_uops, self.dp_reads = dp_cycle, dp_uops, dp_reads
        self.ret_cycle, self.ret_cnt = ret_cycle, ret_cnt
        if mem:
            self.slot_free = cursor
        if last_retire > self.rvv_idle:
            self.rvv_idle = last_retire
        if ti.writes_x:  # vmv.x.s, vcpop.m, vfirst.m come back through the retire path
            self.xready[ti.rd] = last_retire + c.rvv_to_scalar_extra
            self.xcause[ti.rd] = "scoreboard"
            return last_retire + c.rvv_to_scalar_extra
        return last_retire

    def _uops(self, ti: TInfo, key: tuple) -> list[tuple[int, list[int], int, int, bool]]:
        """(unit, source registers, destination register or -1, VRF reads, needs a ROB entry) per
        uop, for the (SEW, effective LMUL, vl) in `key`."""
        sew, lmul_eff, vl = key
        vkind = ti.vkind
        masked = not ti.vm
        mask_src = [0] if masked else []
        if ti.kind in (K_VLOAD, K_VSTORE):
            return self._mem_uops(ti, key, mask_src)
        if vkind == "whole_move":
            nr = ti.vinfo["nr"]
            return [(U_ALU, [ti.vs2 + j], ti.vd + j, 1, True) for j in range(nr)]
        if vl == 0:
            return []
        g = max(1, int(lmul_eff))
        unit = {
            "valu": U_ALU,
            "vmac": U_MAC,
            "vdiv": U_DIV,
            "vred": U_PMT,
            "vwred": U_PMT,
            "vcmp": U_PMT,
            "vperm": U_PMT,
            "vtoscalar": U_ALU,
        }[ti.unit]
        vs1_vec = ti.form == "V"
        per_reg = 128 // sew
        out = []
        if vkind in ("reduction", "wreduction", "compare", "carry_out"):
            for j in range(g):
                srcs = (
                    [ti.vs2 + j]
                    + ([ti.vs1] if (vkind in ("reduction", "wreduction") and j == 0) else [])
                    + ([ti.vs1 + j] if vs1_vec and vkind not in ("reduction", "wreduction") else [])
                    + mask_src
                )
                if vkind == "carry_out" and ti.vinfo.get("carry_in"):
                    srcs.append(0)
                dst = ti.vd if j == g - 1 else -1
                out.append((unit, srcs, dst, len(srcs), j == 0))
            return out
        if vkind in ("mask_logic", "mask_scalar", "mask_unary", "to_scalar", "from_scalar"):
            srcs = [ti.vs2] + ([ti.vs1] if vkind == "mask_logic" else []) + mask_src
            dst = -1 if vkind in ("mask_scalar", "to_scalar") else ti.vd
            return [(unit, srcs, dst, len(srcs), True)]
        if vkind in ("wide", "wide_w", "wmac"):
            gw = max(1, int(2 * lmul_eff))
            for j in range(gw):
                half = j * g // gw
                srcs = (
                    [ti.vs2 + (j if vkind == "wide_w" else half)]
                    + ([ti.vs1 + half] if vs1_vec else [])
                    + ([ti.vd + j] if vkind == "wmac" else [])
                    + mask_src
                )
                out.append((unit, srcs, ti.vd + j, len(srcs), True))
            return out
        if vkind == "narrow":
            gw = max(1, int(2 * lmul_eff))
            for j in range(gw):
                srcs = [ti.vs2 + j] + ([ti.vs1 + j * g // gw] if vs1_vec else []) + mask_src
                out.append((unit, srcs, ti.vd + j * g // gw, len(srcs), True))
            return out
        for j in range(g):
            srcs = []
            if vkind not in ("move", "vid", "from_scalar"):
                srcs.append(ti.vs2 + (j if vkind != "ext" else 0))
            if vs1_vec:
                srcs.append(ti.vs1 + (j if vkind not in ("gather16",) else j))
            if vkind in ("mac",) or masked or (j == g - 1 and vl % per_reg and vl < per_reg * g):
                srcs.append(ti.vd + j)
            if vkind in ("merge", "carry") or masked:
                srcs.append(0)
            out.append((unit, srcs, ti.vd + j, len(srcs), True))
        return out

    def _mem_uops(self, ti: TInfo, key: tuple, mask_src: list[int]):
        sew, lmul_eff, vl = key
        mode = ti.vinfo["mode"]
        nf = ti.vinfo["nf"]
        eew = ti.vinfo["eew"]
        store = ti.kind == K_VSTORE
        if mode == "whole":
            regs = nf
            return [
                (U_LSU, [ti.vd + j] if store else [], -1 if store else ti.vd + j, 1 if store else 0, True)
                for j in range(regs)
            ]
        if mode == "mask":
            return [(U_LSU, [ti.vd] if store else [], -1 if store else ti.vd, 1, True)]
        if vl == 0:
            return []
        if mode == "indexed":
            emul = lmul_eff
        else:
            emul = eew / sew * lmul_eff
        g = max(1, int(emul))
        out = []
        for k in range(nf):
            for j in range(g):
                reg = ti.vd + k * g + j
                srcs = list(mask_src)
                if mode == "indexed":
                    srcs.append(ti.vs2 + min(j, max(1, int(eew / sew * lmul_eff)) - 1))
                if store:
                    srcs.append(reg)
                out.append((U_LSU, srcs, -1 if store else reg, len(srcs), True))
        return out

    # ------------------------------------------------------------------ results
    def cycles(self) -> int:
        if self.halt_cycle is not None:
            return self.halt_cycle
        return max(self.cyc + 1, self.last_retire)

    def stats(self, instructions: int | None = None) -> CoralStats:
        return CoralStats(
            cycles=self.cycles(),
            instructions=self.n if instructions is None else instructions,
            stalls={k: int(v) for k, v in self.stalls.items()},
            mix=dict(self.mix),
            vector_uops=self.vuops,
            branch_mispredicts=self.mispredicts,
            ext_transactions=self.ext_tx,
            profile=self.c.profile,
        )
