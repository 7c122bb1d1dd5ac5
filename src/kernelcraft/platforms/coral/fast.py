"""Basic-block compilation of the simulator with the timing model: the fast engine.

A basic block (straight-line instructions up to and including a branch or jump) becomes one
generated Python function that executes the instructions and advances the timing model,
with the timing state in local variables and every static fact (registers, immediates,
classes, latencies) folded in as constants. Integer ALU and branch semantics are inlined
from scalar_ops (the same expressions the per-instruction closures are built from); vector
instructions call their closures and the timing model's RVV back end. Rare instructions
(CSRs, fences, divides, float, mpause, traps) go through the per-instruction path
(Op.fn + Timing.step), which remains the reference: tests check both engines give the same
cycles and statistics.
"""

from __future__ import annotations

import re
import struct
from collections import OrderedDict

from .scalar_ops import ALU_EXPR, BRANCH_EXPR, NAMESPACE
from .timing import (
    K_ALU,
    K_BRANCH,
    K_JAL,
    K_JALR,
    K_LOAD,
    K_MUL,
    K_STORE,
    K_VEC,
    K_VLOAD,
    K_VSET,
    K_VSTORE,
    TInfo,
)

MAX_BLOCK = 48
HOT = 2  # a block is compiled on its second entry; before that the per-instruction path runs it
_CODE_CACHE: OrderedDict = OrderedDict()  # (consts, (pc, word) of each instruction) -> code object
CODE_CACHE_SIZE = 4096
BLOCKABLE = {K_ALU, K_MUL, K_LOAD, K_STORE, K_BRANCH, K_JAL, K_JALR, K_VSET, K_VEC, K_VLOAD, K_VSTORE}
ENDS_BLOCK = {K_BRANCH, K_JAL, K_JALR}
_FMT = {
    "lb": ("b", 1),
    "lh": ("h", 2),
    "lw": ("I", 4),
    "lbu": ("B", 1),
    "lhu": ("H", 2),
    "sb": ("B", 1),
    "sh": ("H", 2),
    "sw": ("I", 4),
}
_TOKEN = re.compile(r"\b(A|B|I|PC)\b")


def _blockable(op) -> bool:
    if op.d is None:
        return False
    info = op.tinfo
    if info.kind not in BLOCKABLE:
        return False
    if info.kind in (K_LOAD, K_STORE) and op.d.key not in _FMT:  # float loads/stores
        return False
    if info.kind in (K_ALU, K_MUL) and op.d.key not in ALU_EXPR:
        return False
    if op.d.key == "mret":
        return False
    if info.kind in (K_BRANCH, K_JAL) and (op.pc + op.f.imm) & 3:  # faulting targets
        return False
    return True


class BlockEngine:
    """Compiles and caches blocks for one machine and its timing model."""

    def __init__(self, machine, timing):
        self.m = machine
        self.T = timing
        self.blocks: dict[int, object] = {}
        self.visits: dict[int, int] = {}
        c = timing.c
        self.consts = {
            "W": c.dispatch_width,
            "GAP": timing.fetch_gap,
            "RB": timing.rb_size,
            "RBON": timing.rb_on,
            "Q": c.lsu_queue,
            "AXI": c.axi_roundtrip,
            "EB": c.ext_base,
            "EE": c.ext_end,
            "DB": c.dtcm_base,
            "MUL": c.mul_latency,
            "REDIR": c.branch_redirect_fetch,
            "CQ": c.rvv_command_queue,
            "CAP": c.rvv_queue_capacity_cap,
            "DU": c.rvv_decode_uops,
            "DI": c.rvv_decode_insts,
            "UQ": c.rvv_uop_queue,
            "ROB": c.rvv_rob,
            "DPU": c.rvv_dispatch_uops,
            "PORTS": c.rvv_vrf_read_ports,
            "RET": c.rvv_retire_uops,
            "NALU": c.rvv_alu_units,
            "ALAT": c.rvv_alu_latency,
            "NMAC": c.rvv_mac_units,
            "MLAT": c.rvv_mac_latency,
            "PLAT": c.rvv_pmtrdt_latency,
            "TOX": c.rvv_to_scalar_extra,
            "VMO": c.vector_mem_instruction_overhead,
            "VLO": c.vector_load_overhead,
            "VSO": c.vector_store_overhead,
        }

    def block(self, pc: int):
        fn = self.blocks.get(pc)
        if fn is not None:
            return fn
        seen = self.visits.get(pc, 0) + 1
        self.visits[pc] = seen
        if seen < HOT:
            return self._interpret(pc)
        fn = self._compile(pc)
        self.blocks[pc] = fn
        return fn

    # ------------------------------------------------------------------ formation
    def _ops(self, pc: int) -> list:
        m = self.m
        ops = []
        while len(ops) < MAX_BLOCK:
            op = m.code.get(pc) or m.op_at(pc)  # Trap for a fetch fault: left to the caller
            if op.tinfo is None:
                op.tinfo = TInfo(op)
            if not _blockable(op):
                break
            ops.append(op)
            if op.tinfo.kind in ENDS_BLOCK:
                break
            pc += 4
            if pc - m.config.itcm_base >= m.config.itcm_size:
                break
        return ops

    def _compile(self, pc: int):
        ops = self._ops(pc)
        if not ops:
            return self._single(pc)
        key = (tuple(sorted(self.consts.items())), tuple((op.pc, op.word) for op in ops))
        cached = _CODE_CACHE.get(key)
        if cached is None:
            source, names = _generate(ops, self.consts)
            cached = (compile(source, f"<coral block {pc:#x}>", "exec"), names)
            _CODE_CACHE[key] = cached
            if len(_CODE_CACHE) > CODE_CACHE_SIZE:
                _CODE_CACHE.popitem(last=False)
        else:
            _CODE_CACHE.move_to_end(key)
        code, names = cached
        namespace = dict(NAMESPACE)
        namespace.update(names)
        exec(code, namespace)  # noqa: S102 - code generated by _generate
        return namespace["make"](self.m, self.T, [op.fn for op in ops], [op.tinfo for op in ops])

    def _interpret(self, pc: int):
        """Run one block through the per-instruction (reference) path."""
        ops = self._ops(pc)
        if not ops:
            return self._single(pc)
        m = self.m
        npc = pc
        for op in ops:
            m.fault_pc = op.pc
            npc = op.fn()
            op.time(npc)
            m.instret += 1
        return _Done(npc)

    def _single(self, pc: int):
        """The per-instruction path for an instruction blocks do not handle."""
        m = self.m
        op = m.code.get(pc) or m.op_at(pc)

        def one():
            m.fault_pc = pc
            npc = op.fn()
            op.time(npc)
            m.instret += 1
            return npc

        one.length = 1
        return one


class _Done:
    """A block already run by the interpreter: calling it returns its next pc."""

    __slots__ = ("npc",)

    def __init__(self, npc: int):
        self.npc = npc

    def __call__(self) -> int:
        return self.npc


def _sub(expr: str, a: str, b: str, imm: int, pc: int) -> str:
    values = {"A": a, "B": b, "I": f"({imm})", "PC": str(pc)}
    return _TOKEN.sub(lambda mt: values[mt.group(1)], expr)


def _reg(r: int) -> str:
    return "0" if r == 0 else f"x[{r}]"


# Timing state held in locals while a block runs: (local name, Timing attribute).
CORE_STATE = (
    ("cyc", "cyc"),
    ("slot", "slot"),
    ("closed", "closed"),
    ("n", "n"),
    ("lr", "last_retire"),
    ("line", "line"),
    ("vis", "visible"),
    ("nf", "next_fetch"),
    ("sf", "since_flush"),
    ("fwhy", "fetch_why"),
    ("vsg", "vset_in_group"),
)
LSU_STATE = (("sfr", "slot_free"), ("lsn", "lsu_n"), ("ex", "ext_tx"))
RVV_STATE = (
    ("rvc", "rvv_cycle"),
    ("rvn", "rvv_cnt"),
    ("rpc", "rvv_prev_cycle"),
    ("rpn", "rvv_prev_cnt"),
    ("dcy", "dec_cycle"),
    ("dci", "dec_insts"),
    ("dcu", "dec_uops"),
    ("un", "uop_n"),
    ("dpc", "dp_cycle"),
    ("dpu", "dp_uops"),
    ("dpr", "dp_reads"),
    ("rn", "rob_n"),
    ("ac", "alu_cycle"),
    ("an", "alu_cnt"),
    ("mc", "mac_cycle"),
    ("mn", "mac_cnt"),
    ("pf", "pmt_free"),
    ("vdf", "vdiv_free"),
    ("rc", "ret_cycle"),
    ("rcn", "ret_cnt"),
    ("ri", "rvv_idle"),
    ("vu", "vuops"),
)


def _generate(ops: list, consts: dict) -> tuple[str, dict]:
    """Python source of one block: `make(m, T, OPS, TIS)` returns the block function."""
    W, RB, Q = consts["W"], consts["RB"], consts["Q"]
    names: dict = {}
    out: list[str] = []

    def emit(line: str, depth: int = 3) -> None:
        out.append("    " * depth + line)

    categories: dict[str, int] = {}
    prefix_mix = []
    for op in ops:
        categories[op.tinfo.category] = categories.get(op.tinfo.category, 0) + 1
        prefix_mix.append(dict(categories))
    names["PREFIX_MIX"] = prefix_mix
    names["TARGETS"] = [op.pc for op in ops]
    has_lsu = any(op.tinfo.is_lsu for op in ops)
    has_rvv = any(op.tinfo.is_rvv for op in ops)
    state = CORE_STATE + (LSU_STATE if has_lsu else ()) + (RVV_STATE if has_rvv else ())
    load = "; ".join(f"{local} = T.{attr}" for local, attr in state)
    writeback = "; ".join(f"T.{attr} = {local}" for local, attr in state)
    last = ops[-1]
    header = [
        "def make(m, T, OPS, TIS):",
        "    x = m.x; xr = T.xready; xc = T.xcause; dh = T.dhist; rt = T.retire; lq = T.lsu_deq",
        "    ST = T.stalls; MX = T.mix; dtcm = m.mem.dtcm; load = m.load; store = m.store; V = m.v",
        "    vr = T.vready; rob = T.rob; uq = T.uq; cq = T.cq; popleft = cq.popleft; uops_of = T._uops",
        "    DL_MAX = m.config.dtcm_size; EL_MAX = m.config.ext_size; extb = m.mem.ext",
        *[f"    UC{i} = {{}}" for i, op in enumerate(ops) if op.tinfo.kind in (K_VEC, K_VLOAD, K_VSTORE)],
        "    def block():",
        f"        {load}",
        "        k = 0",
        "        try:",
    ]
    previous_line = None
    for i, op in enumerate(ops):
        ti = op.tinfo
        f = op.f
        key = op.d.key
        pc = op.pc
        kind = ti.kind
        emit(f"# {op.text}")
        if i:
            emit(f"k = {i}")
        # ---- functional part
        npc_expr = None
        if kind in (K_ALU, K_MUL):
            if f.rd:
                emit(f"x[{f.rd}] = {_sub(ALU_EXPR[key], _reg(f.rs1), _reg(f.rs2), f.imm, pc)}")
        elif kind == K_LOAD:
            fmt, size = _FMT[key]
            names[f"U{i}"] = struct.Struct("<" + fmt).unpack_from
            emit(f"a = ({_reg(f.rs1)} + {f.imm}) & 0xFFFFFFFF")
            emit(f"o = a - {consts['DB']}")
            emit(f"if 0 <= o <= DL_MAX - {size}: v = U{i}(dtcm, o)[0]")
            emit(f"elif 0 <= a - {consts['EB']} <= EL_MAX - {size}: v = U{i}(extb, a - {consts['EB']})[0]")
            emit(f"else: v = load(a, {size}, '{fmt}')")
            if f.rd:
                emit(f"x[{f.rd}] = v & 0xFFFFFFFF")
        elif kind == K_STORE:
            fmt, size = _FMT[key]
            names[f"P{i}"] = struct.Struct("<" + fmt).pack_into
            mask = (1 << (8 * size)) - 1
            emit(f"a = ({_reg(f.rs1)} + {f.imm}) & 0xFFFFFFFF")
            emit(f"o = a - {consts['DB']}")
            emit(f"if 0 <= o <= DL_MAX - {size}: P{i}(dtcm, o, {_reg(f.rs2)} & {mask})")
            emit(f"else: store(a, {size}, '{fmt}', {_reg(f.rs2)} & {mask})")
        elif kind == K_BRANCH:
            target = (pc + f.imm) & 0xFFFFFFFF
            cond = _sub(BRANCH_EXPR[key], _reg(f.rs1), _reg(f.rs2), 0, pc)
            emit(f"npc = {target} if {cond} else {pc + 4}")
            npc_expr = "npc"
        elif kind == K_JAL:
            if f.rd:
                emit(f"x[{f.rd}] = {(pc + 4) & 0xFFFFFFFF}")
            emit(f"npc = {(pc + f.imm) & 0xFFFFFFFF}")
            npc_expr = "npc"
        elif kind == K_JALR:
            emit(f"npc = OPS[{i}]()")
            npc_expr = "npc"
        else:  # vector instructions: their closures
            emit(f"OPS[{i}]()")
        # ---- fetch
        this_line = pc >> 4
        if i == 0:
            emit(f"if T.refetch or line != {this_line}:")
            emit("f = nf", 4)
            emit("if T.redirected:", 4)
            emit("ra = T.redirect_at", 5)
            emit("if ra > f: f = ra", 5)
            emit("fwhy = 'branch'", 5)
            emit("else:", 4)
            emit("if sf >= 5:", 5)
            emit("v = dh[(n - 5) & 7] + 1", 6)
            emit("if v > f: f = v", 6)
            emit("fwhy = 'fetch'", 5)
            emit(
                f"line = {this_line}; vis = f + 2; nf = f + {consts['GAP']}; T.refetch = False; T.redirected "
                "= False",
                4,
            )
            emit("cp = T.cf_pending")
            emit("if cp >= 0:")
            emit(f"idx = cp % {RB}; d = rt[idx]", 4)
            emit("if vis > d: d = vis", 4)
            emit("rt[idx] = d", 4)
            emit("if d > lr: lr = d", 4)
            emit("T.cf_pending = -1", 4)
        elif this_line != previous_line:
            emit("f = nf")
            emit("if sf >= 5:")
            emit("v = dh[(n - 5) & 7] + 1", 4)
            emit("if v > f: f = v", 4)
            emit(f"line = {this_line}; vis = f + 2; nf = f + {consts['GAP']}; fwhy = 'fetch'")
        previous_line = this_line
        # ---- dispatch constraints
        emit(f"j = (not closed) and slot < {W}")
        emit("t0 = cyc if j else cyc + 1")
        emit("t = t0; cz = None")
        emit("if vis > t: t = vis; cz = fwhy")
        for r in ti.comb:
            emit(f"v = xr[{r}]")
            emit(f"if v > t: t = v; cz = xc[{r}]")
        for r in ti.regd:
            emit(f"v = xr[{r}] + 1")
            emit(f"if v > t: t = v; cz = xc[{r}]")
        if ti.writes_x:
            emit(f"v = xr[{ti.rd}]")
            emit(f"if v > t: t = v; cz = xc[{ti.rd}]")
        if consts["RBON"]:
            emit(f"if n >= {RB}:")
            emit(f"v = rt[n % {RB}] + 1", 4)
            emit("if v > t: t = v; cz = 'retirement'", 4)
        if ti.is_lsu:
            emit(f"if lsn >= {Q}:")
            emit(f"v = lq[(lsn - {Q}) % {Q}] + 1", 4)
            emit("if v > t: t = v; cz = 'lsu'", 4)
        if kind == K_MUL:
            emit("if T.mul_cycle == t: t += 1; cz = 'unit'")
        if ti.is_rvv:
            _rvv_rules(emit, kind in (K_VLOAD, K_VSTORE), consts)
        # ---- commit
        emit("if t == cyc: slot += 1")
        emit("else:")
        emit("cyc = t; slot = 1; closed = False; vsg = False", 4)
        if ti.ends:
            emit("closed = True")
        emit("if t > t0: ST[cz or 'fetch'] += t - t0")
        emit("dh[n & 7] = t; sf += 1")
        # ---- effects
        complete = "t + 1"
        if kind == K_ALU:
            if ti.writes_x:
                emit(f"xr[{ti.rd}] = t + 1; xc[{ti.rd}] = 'scoreboard'")
        elif kind == K_MUL:
            emit("T.mul_cycle = t")
            if ti.writes_x:
                emit(f"xr[{ti.rd}] = t + {consts['MUL']}; xc[{ti.rd}] = 'scoreboard'")
            complete = f"t + {consts['MUL']}"
        elif kind in (K_LOAD, K_STORE):
            size = _FMT[key][1]
            emit(f"ext = {consts['EB']} <= a < {consts['EE']}")
            emit(f"lat = {consts['AXI']} if ext else 1")
            if size > 1:
                emit(f"lines = 2 if ((a + {size - 1}) >> 4) != (a >> 4) else 1")
            else:
                emit("lines = 1")
            emit("bus = lines * lat")
            emit("deq = t + 1 if t + 1 > sfr else sfr")
            emit(f"lq[lsn % {Q}] = deq; lsn += 1")
            emit("if ext: ex += lines")
            if kind == K_LOAD:
                emit("done = deq + 2 + bus")
                emit("sfr = deq + 3 + bus")
                if ti.writes_x:
                    emit(f"xr[{ti.rd}] = done; xc[{ti.rd}] = 'external_memory' if ext else 'lsu'")
            else:
                emit("sfr = deq + 1 + bus")
                emit("done = deq + 2 + bus")
            complete = "done"
        elif kind == K_BRANCH:
            backward = ti.backward
            emit(f"if (npc != {pc + 4}) != {backward}:")
            emit("T.mispredicts += 1", 4)
            emit(f"T.refetch = True; T.redirected = True; T.redirect_at = t + {consts['REDIR']}", 4)
            emit(f"nf = t + {consts['REDIR']}; sf = 0", 4)
            if backward:
                emit("else: T.refetch = True")
            else:
                emit(f"elif npc != {pc + 4}: T.refetch = True")
            emit("T.cf_pending = n")
        elif kind == K_JAL:
            emit("T.refetch = True")
            if ti.writes_x:
                emit(f"xr[{ti.rd}] = t + 1; xc[{ti.rd}] = 'scoreboard'")
            emit("T.cf_pending = n")
        elif kind == K_JALR:
            emit("T.mispredicts += 1")
            emit(f"T.refetch = True; T.redirected = True; T.redirect_at = t + {consts['REDIR']}")
            emit(f"nf = t + {consts['REDIR']}; sf = 0")
            if ti.writes_x:
                emit(f"xr[{ti.rd}] = t + 1; xc[{ti.rd}] = 'scoreboard'")
            emit("T.cf_pending = n")
        elif kind == K_VSET:
            emit("vsg = True")
            _rvv_note(emit)
            if ti.writes_x:
                emit(f"xr[{ti.rd}] = t + 1; xc[{ti.rd}] = 'scoreboard'")
        else:  # vector
            _rvv_note(emit)
            _vector_timing(emit, i, ti, consts)
            complete = "done"
        emit(f"r = {complete}")
        emit("if lr > r: r = lr")
        emit(f"rt[n % {RB}] = r; lr = r; n += 1")
    next_pc = npc_expr or str(last.pc + 4)
    emit(f"k = {len(ops)}")
    out.append("        except BaseException:")
    out.append("            " + writeback)
    out.append("            m.instret += k; m.fault_pc = TARGETS[k] if k < len(TARGETS) else None")
    out.append("            if k:")
    out.append("                for cat, cnt in PREFIX_MIX[k - 1].items(): MX[cat] += cnt")
    out.append("            raise")
    out.append("        " + writeback)
    out.append(f"        m.instret += {len(ops)}")
    for cat, cnt in prefix_mix[-1].items():
        out.append(f"        MX['{cat}'] += {cnt}")
    out.append(f"        return {next_pc}")
    out.append(f"    block.length = {len(ops)}")
    out.append("    return block")
    return "\n".join(header + out) + "\n", names


def _rvv_note(emit) -> None:
    emit("if t == rvc: rvn += 1")
    emit("else: rpc = rvc; rpn = rvn; rvc = t; rvn = 1")


def _rvv_rules(emit, vmem: bool, c: dict) -> None:
    """Timing.rvv_rules inline: config interlock (vector memory) and RVV queue capacity."""
    emit("while True:")
    if vmem:
        emit("if (rvn if rvc == t - 1 else (rpn if rpc == t - 1 else 0)):", 4)
        emit("t += 1; cz = 'vector_config'; continue", 5)
        emit("if t == cyc and j and vsg:", 4)
        emit("t += 1; cz = 'vector_config'; continue", 5)
    emit("while cq and cq[0] <= t: popleft()", 4)
    emit(f"free = {c['CQ']} - len(cq)", 4)
    emit(
        f"cap = (free if free < {c['CAP']} else {c['CAP']}) - (rvn if rvc == t - 1 else (rpn if rpc == t - 1 "
        "else 0))",
        4,
    )
    emit("if (rvn if rvc == t else (rpn if rpc == t else 0)) + 1 > cap:", 4)
    emit("t += 1; cz = 'rvv_queue'; continue", 5)
    emit("break", 4)


def _vector_timing(emit, i: int, ti, c: dict) -> None:
    """Timing._vector inline for instruction i: decode, uop dispatch, execution, retire."""
    mem = ti.kind in (K_VLOAD, K_VSTORE)
    load = ti.kind == K_VLOAD
    DU, UQ, ROB = c["DU"], c["UQ"], c["ROB"]
    emit("ukey = (V.sew, V.lmul_eff, V.vl)")
    emit(f"uops = UC{i}.get(ukey)")
    emit("if uops is None:")
    emit(f"uops = UC{i}[ukey] = uops_of(TIS[{i}], V)", 4)
    emit("U = len(uops); vu += U")
    emit("dec = t + 2 if t + 2 > dcy else dcy")
    emit(f"if dec == dcy and (dci >= {c['DI']} or dcu + (U if U < {DU} else {DU}) > {DU}): dec += 1")
    emit(f"if U and un + U > {UQ}:")
    emit(f"w_ = uq[(un + U - 1 - {UQ}) % {UQ}] + 1", 4)
    emit("if w_ > dec: dec = w_", 4)
    emit(f"dcyc = 1 if U <= {DU} else -(-U // {DU})")
    emit("if dec != dcy: dci = 0; dcu = 0")
    emit("dcy = dec + dcyc - 1; dci += 1")
    emit(f"dcu = (dcu + U) if dcyc == 1 else U % {DU}")
    emit("cq.append(dec)")
    emit("if U == 0: done = dec + 1")
    emit("else:")
    d = 4
    if mem:
        emit("access = m.vmem", d)
        emit("deq = t + 1 if t + 1 > sfr else sfr", d)
        emit(f"lq[lsn % {c['Q']}] = deq; lsn += 1", d)
        emit(f"cursor = deq + {c['VMO']}", d)
        emit(f"lat = {c['AXI']} if access.external else 1", d)
        emit("lines = access.lines; nl = len(lines)", d)
    emit("prev = dec + 1; lret = 0; shrob = -1; fi = None", d)
    emit("for j_, (unit, srcs, dst, reads, newrob) in enumerate(uops):", d)
    d = 5
    emit(f"dp = dec + 1 + j_ // {DU}", d)
    emit("if prev > dp: dp = prev", d)
    emit("for s_ in srcs:", d)
    emit("w_ = vr[s_]", d + 1)
    emit("if w_ > dp: dp = w_", d + 1)
    emit(f"if newrob and rn >= {ROB}:", d)
    emit(f"w_ = rob[(rn - {ROB}) % {ROB}] + 1", d + 1)
    emit("if w_ > dp: dp = w_", d + 1)
    emit(
        f"while dp == dpc and (dpu >= {c['DPU']} or (dpu == {c['DPU'] - 1} and dpr + reads > {c['PORTS']})): "
        "dp += 1",
        d,
    )
    emit("if dp != dpc: dpc = dp; dpu = 0; dpr = 0", d)
    emit("dpu += 1; dpr += reads", d)
    emit(f"uq[un % {UQ}] = dp; un += 1; prev = dp", d)
    unit = ti.unit
    if mem:
        emit("nl_ = lines[j_] if j_ < nl else 0", d)
        emit("if lat > 1: ex += nl_", d)
        emit("h = dp + 1 if dp + 1 > cursor else cursor", d)
        emit("bus = nl_ * lat", d)
        if load:
            emit("done_ = h + bus + 4", d)
            emit(f"cursor = h + bus + {c['VLO']}", d)
        else:
            emit(f"done_ = h + bus + {c['VSO']}", d)
            emit("cursor = done_", d)
    elif unit in ("valu", "vtoscalar"):
        extra = 1 if ti.key in ("vcpop", "viota") else 0
        emit("e = dp + 1", d)
        emit("if ac > e: e = ac", d)
        emit(f"if e == ac and an >= {c['NALU']}: e += 1", d)
        emit("if e != ac: ac = e; an = 0", d)
        emit("an += 1", d)
        emit(f"done_ = e + {c['ALAT'] - 1 + extra}", d)
    elif unit == "vmac":
        emit("e = dp + 1", d)
        emit("if mc > e: e = mc", d)
        emit(f"if e == mc and mn >= {c['NMAC']}: e += 1", d)
        emit("if e != mc: mc = e; mn = 0", d)
        emit("mn += 1", d)
        emit(f"done_ = e + {c['MLAT'] - 1}", d)
    elif unit == "vperm":
        emit("if fi is None:", d)
        emit("fi = dp + 1 if dp + 1 > pf else pf", d + 1)
        emit("if dp + U > fi: fi = dp + U", d + 1)
        emit("e = fi + j_; pf = e + 1; done_ = fi + U + 1", d)
    elif unit in ("vred", "vwred", "vcmp"):
        emit("e = dp + 1 if dp + 1 > pf else pf", d)
        emit(f"pf = e + {2 if unit == 'vwred' else 1}; done_ = e + {c['PLAT']}", d)
    else:  # vdiv
        emit("e = dp + 1 if dp + 1 > vdf else vdf", d)
        emit("ld_ = 2 + -(-(V.sew + 1) // 3)", d)
        emit("vdf = e + ld_; done_ = e + ld_", d)
    emit("if dst >= 0: vr[dst] = done_", d)
    emit("r_ = done_ if done_ > rc else rc", d)
    emit(f"if r_ == rc and rcn >= {c['RET']}: r_ += 1", d)
    emit("if r_ != rc: rc = r_; rcn = 0", d)
    emit("rcn += 1", d)
    emit(f"if newrob: rob[rn % {ROB}] = r_; rn += 1; shrob = rn - 1", d)
    emit(f"elif shrob >= 0: rob[shrob % {ROB}] = r_", d)
    emit("lret = r_", d)
    d = 4
    if mem:
        emit("sfr = cursor", d)
    emit("if lret > ri: ri = lret", d)
    if ti.writes_x:
        emit(f"xr[{ti.rd}] = lret + {c['TOX']}; xc[{ti.rd}] = 'scoreboard'", d)
        emit(f"done = lret + {c['TOX']}", d)
    else:
        emit("done = lret", d)
