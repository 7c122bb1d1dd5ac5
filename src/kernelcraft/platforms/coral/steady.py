"""Timing without re-running the model: loop replay and block memoisation, exactly.

The timing model (timing.py) is shift-invariant: every rule compares timestamps with each
other or adds constants to them, so adding the same number of cycles to every timestamp of a
state adds exactly that many to every later dispatch, completion and retirement, and leaves
the statistics it accumulates unchanged. And much of a state cannot matter any more: a
register that was ready long ago, an ALU that last issued before anything now in flight, a
retirement-buffer slot that has drained. `StateCodec.key(T)` describes a state relative to
its current dispatch cycle c, with every such stale entry replaced by None:

* it is exact for whatever can still influence the future, and
* an entry is stale when its value is at most c + floor, where the floor (next to each field in
  `_fields`) is chosen so that every rule that reads the field compares it with, or takes the
  maximum with, a quantity above c + floor; those quantities only grow as c does, so a stale
  entry stays invisible, and values derived from it (a maximum with it) are stale too.

So two states whose keys are equal time every future instruction sequence identically, up to
the shift of their cycles. `StateCodec.restore(T, key, c)` writes a state back from a key at
base cycle c (stale entries at their floor): the state it makes is equivalent to the one the
key was taken from, shifted to c.

Two uses, both in `BlockRunner` (fast.py runs a block through one when it is a loop or big):

* Loop replay. A loop whose body is one block (a self-loop: it ends in a branch or jump back
  to its start) is probed: at the start of an iteration the runner takes the key and runs the
  iteration in two halves, the block's functional form (fast.py) recording what the timing
  depends on (branch outcome, scalar access classes, each vector instruction's configuration
  and lines touched) and its timing form consuming that record. When the key at the start of
  iteration k equals the key at the start of iteration k - p, the p iterations in between are
  one period of a steady state: every further period whose records equal that period's ends in
  the same key, p periods' cycles later, with the same statistics added. From then on only the
  functional form runs and its records are compared with the period's; at the first difference
  (the loop's exit, a new vector length, an access landing elsewhere) or any other end (a
  fault, an instruction or time limit) the accumulated periods are applied in one step (counters
  advanced, state restored from the key at the later cycle, statistics added), the unfinished
  period's iterations are timed from their records, and ordinary blocks carry on.
* Memoisation. For a block whose timing costs much more than a key, the result of timing it
  from a given key with given records (cycles, counters, statistics, key after) is kept; the
  next time the same key meets the same records, the result is restored instead of computed.

What a runner learnt (its memo, its known steady states, its memo's hit counts) outlives the
run: the next run of the program on the same machine (Machine.reset) starts from it, since
an effect depends only on a key and records, never on the run. A loop whose probing found
no steady state (a gather whose lines depend on the data) gets a memo from its next run on:
within one run its states rarely repeat, across runs (hidden seeds) they mostly do. In a
loop or block timed through its memo, the key at the start of a call is the key after the
previous call when nothing else was timed in between, so it is not computed again.

Tests run kernels both ways and with `VERIFY` on, which also times every replayed iteration
and every memoised block and checks the prediction against it.
"""

from __future__ import annotations

from .timing import K_BRANCH, K_JAL, K_VEC, K_VLOAD, K_VSTORE

PROBE_ITERATIONS = 8  # probe at most this many iterations of one entry into a loop
PERIOD_MAX = 4  # longest period (in iterations) looked for
MEMO_WEIGHT = 40  # memoise blocks whose weight (instructions + 2 per vector instruction) reaches this
MEMO_TRIAL = 48  # lookups after which a memo that hits less than half the time is dropped
MEMO_SIZE = 256  # results kept per block
KNOWN_PERIODS = 16  # steady states kept per loop, to replay later entries without probing again
VERIFY = False  # tests: time replayed and memoised blocks too, and check the prediction
LOOP_MEMO_WEIGHT = 20  # a loop no steady state replays gets a memo from its next run at this weight
LOOP_MEMO_TRIAL = 512  # lookups (over several runs) after which such a memo hitting less than half goes


def is_self_loop(ops: list) -> bool:
    """Does the block end in a branch or jump back to its own first instruction?"""
    last = ops[-1]
    return last.tinfo.kind in (K_BRANCH, K_JAL) and (last.pc + last.f.imm) & 0xFFFFFFFF == ops[0].pc


def weight(ops: list) -> int:
    return len(ops) + 2 * sum(op.tinfo.kind in (K_VEC, K_VLOAD, K_VSTORE) for op in ops)


# ---------------------------------------------------------------------------- the key and restore


def _timestamp(get: str, put: str, floor: int, extra: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """A timestamp field (and plain fields that matter only while it is live): key expression,
    restore statements (with the key entry in k_)."""
    bound = "c" if floor == 0 else f"c {'+' if floor > 0 else '-'} {abs(floor)}"
    if extra:
        key = f"((v_ - c, {', '.join(extra)}) if (v_ := {get}) > {bound} else None)"
        restore = [
            f"if k_ is None: {put} = {bound}",
            f"else: {put} = c + k_[0]; " + "; ".join(f"{e} = k_[{i + 1}]" for i, e in enumerate(extra)),
        ]
    else:
        key = f"(v_ - c if (v_ := {get}) > {bound} else None)"
        restore = [f"{put} = {bound} if k_ is None else c + k_"]
    return key, restore


def _register_file(name: str, first: int, floor: int, extra: str = "") -> tuple[str, list[str]]:
    """A register-indexed list of timestamps: None when all are stale (the usual case for the
    float and vector scoreboards outside their kernels), else one entry per register."""
    bound = "c" if floor == 0 else f"c {'+' if floor > 0 else '-'} {abs(floor)}"
    entries = [
        _timestamp(f"{name}[{r}]", f"{name}[{r}]", floor, (f"{extra}[{r}]",) if extra else ())
        for r in range(first, 32)
    ]
    key = f"(None if max({name}) <= {bound} else ({', '.join(k for k, _ in entries)},))"
    restore = [f"if k_ is None: {name}[{first}:] = [{bound}] * {32 - first}", "else:", "    g_ = k_"]
    for i, (_, statements) in enumerate(entries):
        restore.append(f"    k_ = g_[{i}]")
        restore += ["    " + s for s in statements]
    return key, restore


def _ring(name: str, base: str, size: int, floor: int) -> list[tuple[str, list[str]]]:
    """A ring buffer, newest entry first (its physical slots rotate with the counter)."""
    return [_timestamp(f"{name}[{base} - {j + 1}]", f"{name}[{base} - {j + 1}]", floor) for j in range(size)]


def _fields(rb: int, q: int, uq: int, rob: int) -> list[tuple[str, list[str]]]:
    """Every field of the timing state: (key expression, restore statements). Dispatch is at
    t >= c; the RVV decode at >= t + 2, uop dispatch at >= decode + 1, execution at >= uop
    dispatch + 1; a floor is the largest value every reader compares above, minus c."""
    plain = [
        (f"T.{name}", [f"T.{name} = k_"])
        for name in ("closed", "vset_in_group", "line", "refetch", "redirected")
    ]
    return [
        *plain,
        ("0 if T.closed else T.slot", ["T.slot = k_"]),  # the slot count matters only in an open group
        # next_fetch: after five dispatches since a redirect the next fetch takes the maximum of
        # it and a dispatch cycle at least the fifth-newest's (dispatch cycles never decrease);
        # while redirected it equals redirect_at
        ("nfk", ["T.next_fetch = T.redirect_at = c + k_"]),
        _timestamp("T.visible", "T.visible", -1, ("T.fetch_why",)),  # visible > t
        ("sf if sf < 5 else 5", ["T.since_flush = k_"]),  # only since_flush >= 5 is tested
        ("n - cp if cp >= 0 else -1", ["T.cf_pending = n - k_ if k_ >= 0 else -1"]),
        # the five newest dispatch cycles: the fetch-buffer rule reads the fifth-newest at the
        # next fetch, older ones are never read again
        *[(f"dh[bd - {j + 1}] - c", [f"dh[bd - {j + 1}] = c + k_"]) for j in range(5)],
        (f"n if n < {rb} else -1", []),
        *_ring("rt", "b_rt", rb, -1),  # retirement buffer: rt + 1 > t
        (f"ln if ln < {q} else -1", []),
        *_ring("lq", "b_lq", q, -1),  # LSU queue dequeue cycles: lq + 1 > t
        _timestamp("T.last_retire", "T.last_retire", 0),  # max(completion > t, lr); CSR: lr + 1 > t >= c + 1
        _timestamp("T.slot_free", "T.slot_free", 1),  # max(t + 1, slot_free); fence: slot_free > t >= c + 1
        _timestamp("T.mul_cycle", "T.mul_cycle", -1),  # mul_cycle == t
        # divides, float, CSR and mpause issue alone from slot 0, so at t >= c + 1
        _timestamp("T.dvu_free", "T.dvu_free", 1),  # dvu_free > t
        _timestamp("T.fpu_free", "T.fpu_free", 1),  # fpu_free > t
        _timestamp("T.pmt_free", "T.pmt_free", 4),  # max(uop dispatch + 1, pmt_free)
        _timestamp("T.vdiv_free", "T.vdiv_free", 4),  # max(uop dispatch + 1, vdiv_free)
        _timestamp("T.rvv_idle", "T.rvv_idle", 1),  # mpause: rvv_idle > t
        _register_file("xr", 1, -1, "xc"),  # xr > t, xr + 1 > t (x0 is never written)
        _register_file("fr", 0, 1),  # fr > t (float instructions and mpause)
        # RVV dispatches counted per cycle, looked up for t - 1 and t
        _timestamp("T.rvv_cycle", "T.rvv_cycle", -2, ("T.rvv_cnt",)),
        _timestamp("T.rvv_prev_cycle", "T.rvv_prev_cycle", -2, ("T.rvv_prev_cnt",)),
        # command queue (non-decreasing): entries <= t are dropped before its length is read
        ("tuple([v - c for v in T.cq if v > c])", ["T.cq.clear(); T.cq.extend([c + v for v in k_])"]),
        _timestamp("T.dec_cycle", "T.dec_cycle", 1, ("T.dec_insts", "T.dec_uops")),  # dec = max(t + 2, ...)
        (f"un if un < {uq} else -1", []),
        *_ring("uq", "b_uq", uq, 1),  # uq + 1 > decode cycle
        _timestamp("T.dp_cycle", "T.dp_cycle", 2, ("T.dp_uops", "T.dp_reads")),  # uop dispatch == dp_cycle
        (f"rn if rn < {rob} else -1", []),
        *_ring("rob", "b_rob", rob, 2),  # rob + 1 > uop dispatch
        _timestamp("T.alu_cycle", "T.alu_cycle", 3, ("T.alu_cnt",)),  # max(uop dispatch + 1, alu_cycle)
        _timestamp("T.mac_cycle", "T.mac_cycle", 3, ("T.mac_cnt",)),
        # max(completion, ret_cycle): a uop completes at >= its execution cycle (latencies >= 1)
        _timestamp("T.ret_cycle", "T.ret_cycle", 3, ("T.ret_cnt",)),
        _register_file("vr", 0, 3),  # vr > uop dispatch
    ]


# Attributes of Timing the codec covers (a test checks this against Timing itself): restored
# from a key, counters (advanced by the runner), statistics (added by the runner), and fixed.
COVERED = {
    "restored": {
        "cyc", "closed", "vset_in_group", "line", "refetch", "redirected", "slot", "next_fetch",
        "redirect_at", "visible", "fetch_why", "since_flush", "cf_pending", "dhist", "retire",
        "lsu_deq", "last_retire", "slot_free", "mul_cycle", "dvu_free", "fpu_free", "pmt_free",
        "vdiv_free", "rvv_idle", "xready", "xcause", "fready", "rvv_cycle", "rvv_cnt",
        "rvv_prev_cycle", "rvv_prev_cnt", "cq", "dec_cycle", "dec_insts", "dec_uops", "uq",
        "dp_cycle", "dp_uops", "dp_reads", "rob", "alu_cycle", "alu_cnt", "mac_cycle", "mac_cnt",
        "ret_cycle", "ret_cnt", "vready",
    },
    "counters": {"n", "lsu_n", "uop_n", "rob_n"},
    "statistics": {"stalls", "mix", "vuops", "mispredicts", "ext_tx"},
    "fixed": {"c", "m", "fetch_gap", "rb_on", "rb_size", "halt_cycle", "trace", "tinfos"},
}  # fmt: skip

_PROLOGUE = [
    "    n = T.n; dh = T.dhist; bd = n & 7",
    "    rt = T.retire; b_rt = n % {rb}",
    "    lq = T.lsu_deq; ln = T.lsu_n; b_lq = ln % {q}",
    "    uq = T.uq; un = T.uop_n; b_uq = un % {uq}",
    "    rob = T.rob; rn = T.rob_n; b_rob = rn % {rob}",
    "    xr = T.xready; xc = T.xcause; fr = T.fready; vr = T.vready",
]


def codec_source(rb: int, q: int, uq: int, rob: int) -> str:
    """Source of key(T) and restore(T, K, c) for these ring sizes: retirement buffer, LSU queue,
    uop queue, RVV ROB."""
    fields = _fields(rb, q, uq, rob)
    prologue = [line.format(rb=rb, q=q, uq=uq, rob=rob) for line in _PROLOGUE]
    key = [
        "def key(T):",
        "    c = T.cyc",
        *prologue,
        "    sf = T.since_flush; nf = T.next_fetch; cp = T.cf_pending",
        "    if T.redirected: nfk = nf - c",
        "    elif sf >= 5:",
        "        v_ = dh[(n - 5) & 7] + 1",
        "        nfk = (nf if nf > v_ else v_) - c",
        "    else: nfk = nf - c",
        "    return (",
        *[f"        {expr}," for expr, _ in fields],
        "    )",
    ]
    restore = ["def restore(T, K, c):", "    T.cyc = c", *prologue]
    for i, (_, statements) in enumerate(fields):
        if statements:
            restore.append(f"    k_ = K[{i}]")
            restore += ["    " + s for s in statements]
    return "\n".join(key + [""] + restore) + "\n"


class StateCodec:
    __slots__ = ("key", "restore")

    def __init__(self, key, restore):
        self.key = key
        self.restore = restore


_CODECS: dict = {}


def codec_for(T) -> StateCodec:
    """key and restore for the ring sizes of this timing model (generated once per sizes)."""
    sizes = (T.rb_size, len(T.lsu_deq), len(T.uq), len(T.rob))
    codec = _CODECS.get(sizes)
    if codec is None:
        namespace: dict = {}
        exec(compile(codec_source(*sizes), "<coral timing-state codec>", "exec"), namespace)  # noqa: S102
        codec = _CODECS[sizes] = StateCodec(namespace["key"], namespace["restore"])
    return codec


# ---------------------------------------------------------------------------- effects of timing


def snapshot(T) -> tuple:
    """What an effect is measured from: cycle, counters, statistics."""
    return (
        T.cyc,
        T.n,
        T.lsu_n,
        T.uop_n,
        T.rob_n,
        dict(T.stalls),
        dict(T.mix),
        T.vuops,
        T.mispredicts,
        T.ext_tx,
    )


class Effect:
    """What timing a stretch of instructions did: cycles, counter advances, statistics, and
    (for memoised blocks) the key after it."""

    __slots__ = ("cycles", "counters", "stalls", "mix", "stats", "after")

    def __init__(self, before: tuple, after: tuple, key_after=None):
        self.cycles = after[0] - before[0]
        self.counters = tuple(a - b for a, b in zip(after[1:5], before[1:5], strict=True))
        self.stalls = _difference(before[5], after[5])
        self.mix = _difference(before[6], after[6])
        self.stats = tuple(a - b for a, b in zip(after[7:], before[7:], strict=True))
        self.after = key_after

    def apply(self, T, codec: StateCodec, key, times: int = 1) -> None:
        """Advance T by `times` repetitions of this effect and restore its state from `key`
        (for memoised blocks, the key after; for a loop's periods, the key at their start)."""
        self.advance_counters(T, times)
        codec.restore(T, key, T.cyc + times * self.cycles)
        self.add_statistics(T, times)

    def advance_counters(self, T, times: int = 1) -> None:
        """Advance T's instruction, LSU, uop and ROB counters by `times` repetitions."""
        n, lsn, un, rn = self.counters
        T.n += times * n
        T.lsu_n += times * lsn
        T.uop_n += times * un
        T.rob_n += times * rn

    def add_statistics(self, T, times: int) -> None:
        """Add `times` repetitions of this effect's statistics (vector uops, mispredicts,
        external transactions, stalls, instruction mix) to T."""
        vu, mp, ex = self.stats
        T.vuops += times * vu
        T.mispredicts += times * mp
        T.ext_tx += times * ex
        for counter, deltas in ((T.stalls, self.stalls), (T.mix, self.mix)):
            for k, v in deltas.items():
                counter[k] += times * v


def _difference(before: dict, after: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


# ---------------------------------------------------------------------------- the runner


class BlockRunner:
    """Runs one block: fused, or probing and replaying a loop, or through its memo."""

    def __init__(self, engine, ops: list, loop: bool, memo: bool):
        self.engine = engine
        self.T = engine.T
        self.m = engine.m
        self.ops = ops
        self.fused = self._first_fused  # replaced by the block's fused form when first called
        self.has_fused = False
        self.head = ops[0].pc
        self.length = len(ops)
        self.codec = codec_for(self.T)
        self.functional = None  # the other two forms, compiled when first needed
        self.timing = None
        self.prefixes: dict = {}  # k -> timing form of the first k instructions
        self.loop = loop
        self.n_after = -1  # T.n after the last iteration this runner timed
        self.iteration = 0  # within the current entry into the loop
        self.entries = 0
        self.next_probe = 0  # entry number from which probing resumes after failures
        self.failures = 0
        self.probing = False
        self.probe_until = 0  # last iteration of this entry to probe
        self.outcome = None  # of this entry's probing: None (none yet), True (replayed), False
        self.history: list = []  # (key, snapshot, records) of consecutive probed iterations
        self.replaying = False
        self.period: Effect | None = None
        self.reference: list = []  # records of each iteration of the period
        self.phase = 0
        self.periods = 0
        self.scratch: list = []
        self.start_key = None  # key and snapshot where the replay started
        self.start_snap: tuple = ()
        self.min_period = 1  # shortest period still worth trying in this entry
        self.memo: dict | None = {} if memo else None
        self.known: dict = {}  # key at a period's start -> (its Effect, its records), from any entry
        self.lookups = 0
        self.hits = 0
        self.replays = 0  # entries of this run whose probing replayed periods
        self.chained: tuple = ()  # (T.n, T.cyc, key) the last memoised call left
        # A loop's memo hits in a row are not restored one by one: counters advance, and the
        # state (key after the last hit, cycles and statistics owed) waits for a miss, the
        # loop's exit or anything else that reads the timing model (engine.settle).
        self.chaining = False
        self.chain_key = None
        self.chain_cycles = 0
        self.owed: dict = {}  # Effect -> times its statistics are owed
        self.trial = MEMO_TRIAL  # lookups after which a memo hitting less than half the time goes
        learnt = engine.learnt.get(self.head)
        if learnt is not None:  # what an earlier run of the program learnt here
            self.memo, self.known, self.lookups, self.hits, self.trial = learnt

    def learnt(self) -> tuple:
        """What the next run starts from (BlockEngine.reset): memo, known steady states, memo
        statistics; a loop that probing never replayed gets a memo."""
        memo, trial = self.memo, self.trial
        replayed = self.replays or self.outcome is True
        # (an entry still probing, or done probing, with history and nothing found: as _entry_ended)
        probed_in_vain = (
            self.failures or self.outcome is False or (self.outcome is None and self.probing and self.history)
        )
        if (
            memo is None
            and self.lookups == 0
            and self.loop
            and probed_in_vain
            and not replayed
            and weight(self.ops) >= LOOP_MEMO_WEIGHT
        ):
            memo, trial = {}, LOOP_MEMO_TRIAL
        return memo, self.known, self.lookups, self.hits, trial

    def __call__(self) -> int:
        if self.replaying:
            return self._replay()
        if self.chaining:  # the loop's next iteration, its timing state still pending
            self.iteration += 1
            npc = self._memoised()
            self.n_after = self.T.n
            return npc
        if not self.loop:
            return self._memoised()
        T = self.T
        if T.n != self.n_after:  # entered from elsewhere
            self._entry_ended()
            self.entries += 1
            self.iteration = 0
            self.probing = self.entries >= self.next_probe
            self.probe_until = PROBE_ITERATIONS
            self.outcome = None
            self.history.clear()
            self.min_period = 1
        else:
            self.iteration += 1
        if self.probing and self.iteration <= self.probe_until and self.iteration:
            npc = self._probe()
        elif self.memo is not None:
            npc = self._memoised()
        else:
            npc = self.fused()
        self.n_after = T.n
        return npc

    def _entry_ended(self) -> None:
        """Probing costs; entries whose probing found nothing to replay make the next ones wait
        (2, 4 ... 64 entries) before probing again."""
        if self.outcome is None and self.probing and self.history:
            self.outcome = False
        if self.outcome is False:
            self.failures += 1
            self.next_probe = self.entries + (1 << min(self.failures, 6))
        elif self.outcome:
            self.failures = 0
            self.replays += 1

    def _first_fused(self) -> int:
        """Compile the fused form on its first call: a block timed through its memo from its
        first call on never needs it, and compiling is most of a first run's cost."""
        from .fast import FUSED

        self.fused = self.engine.make(self.ops, FUSED)
        self.has_fused = True
        return self.fused()

    def _forms(self) -> None:
        from .fast import FUNCTIONAL, TIMING

        self.functional = self.engine.make(self.ops, FUNCTIONAL)
        self.timing = self.engine.make(self.ops, TIMING)
        self.scratch = [None] * self.functional.slots

    def _split(self, records: list) -> int:
        """One execution as the functional form then the timing form."""
        try:
            npc = self.functional(records)
        except BaseException:
            self._time_prefix(records)
            raise
        self.timing(records)
        return npc

    def _time_prefix(self, records: list) -> None:
        """Time the instructions a faulting functional run completed."""
        done = (self.m.fault_pc - self.head) >> 2 if self.m.fault_pc is not None else 0
        if done <= 0:
            return
        form = self.prefixes.get(done)
        if form is None:
            from .fast import TIMING

            form = self.prefixes[done] = self.engine.make(self.ops[:done], TIMING)
        form(records)

    # ------------------------------------------------------------------ memoisation
    def _memoised(self) -> int:
        memo = self.memo
        if memo is None:
            return self.fused()
        if self.functional is None:
            self._forms()
        T = self.T
        chained = self.chained
        if self.chaining:
            key = self.chain_key
        elif chained and chained[0] == T.n and chained[1] == T.cyc:
            key = chained[2]  # the state the last call left (restored or keyed), untouched since
            if VERIFY and key != self.codec.key(T):
                raise AssertionError(f"chained key of the block at {self.head:#x} differs")
        else:
            key = self.codec.key(T)
        self.chained = ()
        records = [None] * len(self.scratch)
        try:
            npc = self.functional(records)
        except BaseException:
            if self.chaining:
                self._settle_chain()
            self._time_prefix(records)
            raise
        entry = (key, tuple(records))
        effect = memo.get(entry)
        self.lookups += 1
        if effect is not None and not VERIFY:
            self.hits += 1
            self.engine.memo_hits += 1
            if self.loop:
                effect.advance_counters(T)
                self.chain_cycles += effect.cycles
                self.chain_key = effect.after
                owed = self.owed
                owed[effect] = owed.get(effect, 0) + 1
                if not self.chaining:
                    self.chaining = True
                    self.engine.active = self
                if npc != self.head:  # the loop ends: others read the timing model next
                    self._settle_chain()
                return npc
            effect.apply(T, self.codec, effect.after)
            self.chained = (T.n, T.cyc, effect.after)
            return npc
        if self.chaining:
            self._settle_chain()
        before = snapshot(T)
        self.timing(records)
        after = self.codec.key(T)
        if effect is not None:  # VERIFY: the memoised effect must be what timing did
            self.hits += 1
            self.engine.memo_hits += 1
            if not _same(effect, Effect(before, snapshot(T), after)):
                raise AssertionError(f"memoised timing of the block at {self.head:#x} differs")
        elif len(memo) < MEMO_SIZE:
            memo[entry] = Effect(before, snapshot(T), after)
        self.chained = (T.n, T.cyc, after)
        if self.lookups == self.trial and self.hits * 2 < self.lookups:
            self.memo = None  # this block's states rarely repeat
        return npc

    # ------------------------------------------------------------------ loops
    def _probe(self) -> int:
        if self.functional is None:
            self._forms()
        T = self.T
        key = self.codec.key(T)
        snap = snapshot(T)
        known = self.known.get(key) if self.memo is None else None
        if known is not None:  # a steady state an earlier entry (or this one) found
            self._begin(known[0], known[1], key, snap)
            return self._replay()
        history = self.history
        for p in range(self.min_period, min(PERIOD_MAX, len(history)) + 1):
            if history[-p][0] == key:
                self._start(p, key, snap)
                return self._replay()
        records = [None] * len(self.scratch)
        npc = self._split(records)
        self._remember(key, snap, records)
        return npc

    def _remember(self, key, snap: tuple, records: list) -> None:
        history = self.history
        history.append((key, snap, records))
        if len(history) > PERIOD_MAX:
            del history[0]

    def _start(self, p: int, key, snap: tuple) -> None:
        history = self.history
        period, reference = Effect(history[-p][1], snap), [entry[2] for entry in history[-p:]]
        if len(self.known) >= KNOWN_PERIODS:
            self.known.clear()
        self.known[key] = (period, reference)
        self._begin(period, reference, key, snap)

    def _begin(self, period: Effect, reference: list, key, snap: tuple) -> None:
        """Replay from a state whose key starts `period`: p iterations with these records take
        the state back to the same key, period.cycles later."""
        self.period = period
        self.start_key = key
        self.start_snap = snap
        self.reference = reference
        self.phase = 0
        self.periods = 0
        self.replaying = True
        self.engine.active = self

    def _replay(self) -> int:
        records = self.scratch
        try:
            npc = self.functional(records)
        except BaseException:
            self.flush()
            self._time_prefix(records)
            self.n_after = self.T.n
            raise
        if records == self.reference[self.phase]:
            if VERIFY:
                self.timing(records)
            self.phase += 1
            if self.phase == len(self.reference):
                self.phase = 0
                self.periods += 1
                if VERIFY:
                    self._verify()
            return npc
        period = len(self.reference)
        first = self.periods == 0 and self.phase == 0
        self._apply()
        self.timing(records)
        T = self.T
        self.n_after = T.n
        if first:
            self.known.pop(self.start_key, None)  # a steady state whose records did not come back
        if first and self.probing:
            # The state repeated with this period but the records did not: go on probing for a
            # longer period, with this iteration in the history.
            self._remember(self.start_key, self.start_snap, list(records))
            self.min_period = period + 1
        else:
            self._stop_probing()
        return npc

    def _settle_chain(self) -> None:
        """Write the pending state of a run of memo hits into the timing model."""
        T = self.T
        self.codec.restore(T, self.chain_key, T.cyc + self.chain_cycles)
        for effect, times in self.owed.items():
            effect.add_statistics(T, times)
        self.owed.clear()
        self.chained = (T.n, T.cyc, self.chain_key)
        self.chain_key = None
        self.chain_cycles = 0
        self.chaining = False
        self.engine.active = None

    def flush(self) -> None:
        """Apply the replayed periods and time the unfinished period; probing stops."""
        if self.chaining:
            self._settle_chain()
            return
        self._apply()
        self._stop_probing()
        self.n_after = self.T.n

    def _apply(self) -> None:
        T = self.T
        if not VERIFY:
            if self.periods:
                self.period.apply(T, self.codec, self.start_key, self.periods)
            for records in self.reference[: self.phase]:
                self.timing(records)
        self.engine.replayed += self.periods * len(self.reference)
        if self.periods:
            self.outcome = True
        self.periods = 0
        self.phase = 0
        self.replaying = False
        self.engine.active = None

    def _stop_probing(self) -> None:
        """After a replay, probe again for the rest of the loop (if it goes on); after nothing
        replayed, stop probing this entry."""
        if self.outcome:
            self.probe_until = self.iteration + PROBE_ITERATIONS
        else:
            self.outcome = False
            self.probing = False
        self.history.clear()
        self.min_period = 1

    def _verify(self) -> None:
        """VERIFY: the state after whole periods is the start's key, shifted by their cycles."""
        T = self.T
        start, period, times = self.start_snap, self.period, self.periods
        predicted = Effect(start, snapshot(T))
        if (
            self.codec.key(T) != self.start_key
            or predicted.cycles != times * period.cycles
            or predicted.counters != tuple(times * c for c in period.counters)
            or predicted.stats != tuple(times * s for s in period.stats)
            or predicted.stalls != {k: times * v for k, v in period.stalls.items()}
            or predicted.mix != {k: times * v for k, v in period.mix.items()}
        ):
            raise AssertionError(f"steady-state replay of the loop at {self.head:#x} mispredicted the timing")


def _same(a: Effect, b: Effect) -> bool:
    return all(getattr(a, name) == getattr(b, name) for name in Effect.__slots__)
