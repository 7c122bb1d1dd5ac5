"""What each instruction reads and writes, for the poison tracker (see poison.py).

One builder per instruction returns a function that runs just before the instruction: it
checks the locations the instruction will read (reporting never-written or tainted ones) and
marks the ones it will write as clean or tainted. Addresses that would fault are skipped: the
instruction itself reports the fault.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .machine import Machine, MachineFault
from .poison import CLEAN, TAINT, Footprint, PoisonTracker

FootprintBuilder = Callable[[Machine, tuple[int, ...]], Footprint]
FOOTPRINTS: dict[str, FootprintBuilder] = {}


def footprint(*names: str):
    def register(fn: FootprintBuilder) -> FootprintBuilder:
        for name in names:
            FOOTPRINTS[name] = fn
        return fn

    return register


def _nothing(m: Machine, ops) -> Footprint:
    return lambda: None


_nothing.reads_nothing = True  # no footprint runs before these (semantics._footprints)


for _name in (
    "S_ADD_INT",
    "S_ADDI_INT",
    "S_SUB_INT",
    "S_MUL_INT",
    "S_LUI_INT",
    "C_SET_ADDR_REG",
    "C_SET_SCALE_REG",
    "C_SET_STRIDE_REG",
    "C_SET_V_MASK_REG",
    "C_LOOP_START",
    "C_LOOP_END",
    "C_BREAK",
):
    FOOTPRINTS[_name] = _nothing


def _row(m: Machine, addr: int) -> int | None:
    vlen = m.config.vlen
    return addr if addr % vlen == 0 and 0 <= addr <= m.vram.size - vlen else None


def _mask(m: Machine) -> np.ndarray:
    cfg = m.config
    bits = [(m.vmask >> h) & 1 for h in range(cfg.vlen // cfg.hlen)]
    return np.repeat(np.array(bits, dtype=bool), cfg.hlen)


# ----------------------------------------------------------------------------- vector


# The row-wise vector footprints test the row states inline: a whole, in-range row whose
# state is CLEAN reads as nothing to report (read_vram would return False and record nothing).
# FAST_PATHS False builds the plain forms instead (tests compare the two).
FAST_PATHS = True


def _plain_vector(m: Machine, dest: int, sources: tuple[int, ...], fs: int | None, masked: int) -> Footprint:
    """Read each source row (the last one masked when `masked`), then write the dest row."""
    t: PoisonTracker = m.poison
    g, vlen = m.g, m.config.vlen

    def run() -> None:
        d, rows = _row(m, g[dest]), [_row(m, g[s]) for s in sources]
        if d is None or None in rows:
            return
        bad = False
        for i, a in enumerate(rows):
            bad |= t.read_vram(a, vlen, _mask(m) if masked and i == len(rows) - 1 else None)
        t.write_vram(d, vlen, bad | (t.f[fs] if fs is not None else False))

    return run


@footprint("V_ADD_VV", "V_SUB_VV", "V_MUL_VV")
def _vv(m: Machine, ops) -> Footprint:
    rd, rs1, rs2, rmask = ops
    if not FAST_PATHS:
        return _plain_vector(m, rd, (rs1, rs2), None, rmask)
    t: PoisonTracker = m.poison
    g, vlen, last = m.g, m.config.vlen, m.config.vram_elems - m.config.vlen
    rows = t.vram_row

    def run() -> None:
        d, a, b = g[rd], g[rs1], g[rs2]
        if d % vlen or a % vlen or b % vlen or not (0 <= d <= last and 0 <= a <= last and 0 <= b <= last):
            return
        if rows[a // vlen] == CLEAN and rows[b // vlen] == CLEAN:
            bad = False
        else:
            bad = t.read_vram(a, vlen)
            bad |= t.read_vram(b, vlen, _mask(m) if rmask else None)
        t.write_row(d // vlen, bad)

    return run


@footprint("V_ADD_VF", "V_SUB_VF", "V_MUL_VF", "V_MAX_VF", "V_MIN_VF")
def _vf(m: Machine, ops) -> Footprint:
    rd, rs1, fs = ops[:3]
    if not FAST_PATHS:
        return _plain_vector(m, rd, (rs1,), fs, 0)
    t: PoisonTracker = m.poison
    g, vlen, last = m.g, m.config.vlen, m.config.vram_elems - m.config.vlen
    rows, f = t.vram_row, t.f

    def run() -> None:
        d, a = g[rd], g[rs1]
        if d % vlen or a % vlen or not (0 <= d <= last and 0 <= a <= last):
            return
        bad = False if rows[a // vlen] == CLEAN else t.read_vram(a, vlen)
        t.write_row(d // vlen, bad | f[fs])

    return run


@footprint("V_EXP_V", "V_RECI_V")
def _unary(m: Machine, ops) -> Footprint:
    rd, rs1, _ = ops
    if not FAST_PATHS:
        return _plain_vector(m, rd, (rs1,), None, 0)
    t: PoisonTracker = m.poison
    g, vlen, last = m.g, m.config.vlen, m.config.vram_elems - m.config.vlen
    rows = t.vram_row

    def run() -> None:
        d, a = g[rd], g[rs1]
        if d % vlen or a % vlen or not (0 <= d <= last and 0 <= a <= last):
            return
        t.write_row(d // vlen, False if rows[a // vlen] == CLEAN else t.read_vram(a, vlen))

    return run


@footprint("V_RED_SUM", "V_RED_MAX")
def _reduce(m: Machine, ops) -> Footprint:
    fd, rs1, rmask = ops
    t: PoisonTracker = m.poison
    g, vlen = m.g, m.config.vlen

    def run() -> None:
        a = _row(m, g[rs1])
        if a is None:
            return
        bad = t.read_vram(a, vlen, _mask(m) if rmask else None)
        if fd:
            t.f[fd] = t.f[fd] or bad

    return run


@footprint("V_SHFT_V")
def _shift(m: Machine, ops) -> Footprint:
    rd, rs1, rs2 = ops
    t: PoisonTracker = m.poison
    g, vlen = m.g, m.config.vlen

    def run() -> None:
        d, a, k = _row(m, g[rd]), _row(m, g[rs1]), g[rs2]
        if d is None or a is None:
            return
        bad = t.read_vram(a, vlen - k) if k < vlen else False
        t.write_vram(d, vlen, bad)

    return run


@footprint("V_TOPK")
def _topk(m: Machine, ops) -> Footprint:
    rd, rs1, rs2, policy = ops
    n, k = (128, 8) if policy else (32, 4)
    t: PoisonTracker = m.poison
    g = m.g

    def run() -> None:
        a = _row(m, g[rs1])
        if a is None:
            return
        bad = t.read_vram(a, n)
        t.write_words(t.fpsram, g[rd], k, bad)
        t.write_words(t.intsram, g[rs2], k, bad)

    return run


# ----------------------------------------------------------------------------- scalar


@footprint("S_ADD_FP", "S_SUB_FP", "S_MAX_FP", "S_MUL_FP")
def _fp2(m: Machine, ops) -> Footprint:
    fd, fa, fb = ops
    f = m.poison.f

    def run() -> None:
        if fd:
            f[fd] = f[fa] or f[fb]

    return run


@footprint("S_EXP_FP", "S_RECI_FP", "S_SQRT_FP")
def _fp1(m: Machine, ops) -> Footprint:
    fd, fa = ops
    f = m.poison.f

    def run() -> None:
        if fd:
            f[fd] = f[fa]

    return run


@footprint("S_LD_FP")
def _ld_fp(m: Machine, ops) -> Footprint:
    fd, rs1, imm = ops
    t: PoisonTracker = m.poison
    g = m.g

    def run() -> None:
        bad = t.read_words(t.fpsram, "FP SRAM", g[rs1] + imm, 1)
        if fd:
            t.f[fd] = bad

    return run


@footprint("S_ST_FP")
def _st_fp(m: Machine, ops) -> Footprint:
    fs, rs1, imm = ops
    t: PoisonTracker = m.poison
    g = m.g
    return lambda: t.write_words(t.fpsram, g[rs1] + imm, 1, t.f[fs])


@footprint("S_MAP_V_FP")
def _map_v(m: Machine, ops) -> Footprint:
    rd, rs1, imm = ops
    t: PoisonTracker = m.poison
    g, vlen = m.g, m.config.vlen

    def run() -> None:
        d = _row(m, g[rd])
        if d is not None:
            t.write_vram(d, vlen, t.read_words(t.fpsram, "FP SRAM", g[rs1] + imm, vlen))

    return run


@footprint("S_LD_INT")
def _ld_int(m: Machine, ops) -> Footprint:
    _, rs1, imm = ops
    t: PoisonTracker = m.poison
    g = m.g
    return lambda: t.read_words(t.intsram, "INT SRAM", g[rs1] + imm, 1)


@footprint("S_ST_INT")
def _st_int(m: Machine, ops) -> Footprint:
    _, rs1, imm = ops
    t: PoisonTracker = m.poison
    g = m.g
    return lambda: t.write_words(t.intsram, g[rs1] + imm, 1, False)


# ----------------------------------------------------------------------------- matrix


def _matrix(
    acc: str,
    vram_op: int,
    mram_op: int,
    vram_rows: Callable[[Machine], int],
    tile_rows: str,
    count: Callable[[Machine], int] = lambda m: 0,
    plus_rd: bool = False,
) -> FootprintBuilder:
    """Footprint of a compute op reading `vram_rows` consecutive VRAM rows and part of one tile.

    tile_rows: "all" (a column slice of every tile row), "columns" (every tile row, each feeding
    its own output column: M_BTMM, M_BTMV), "row_block" (rows c..c+count with c = offset / MLEN,
    M_TMM) or "element" (rows c..c+count with c = the element offset).
    """

    def build(m: Machine, ops) -> Footprint:
        t: PoisonTracker = m.poison
        g, cfg = m.g, m.config
        n, k = vram_rows(m), count(m)
        rd = ops[0] if plus_rd else 0
        vlen, mlen, size = cfg.vlen, cfg.mlen, cfg.vram_elems
        tile_elems, tiles = cfg.tile_elems, cfg.mram_tiles
        vop, mop = ops[vram_op], ops[mram_op]

        def run() -> None:
            x = g[vop]
            tile, off = divmod((g[mop] + (g[rd] if rd else 0)) & 0xFFFFFFFF, tile_elems)
            if x % vlen or x < 0 or x + n * vlen > size or not 0 <= tile < tiles:
                return
            first = tile * mlen
            bad = t.read_vram(x, n * vlen)
            if tile_rows == "all":
                bad |= t.read_mram(first, mlen)
            elif tile_rows == "columns":
                t.key_columns(acc, first)
            else:
                c = off // mlen if tile_rows == "row_block" else off
                if c + k <= mlen:
                    bad |= t.read_mram(first + c, k)
            t.acc[acc] = t.acc[acc] or bad

        if tile_rows != "all" or not FAST_PATHS:
            return run
        vram_rows_state, mram_rows_state = t.vram_row, t.mram_row

        def run_all() -> None:  # run, with clean rows and a clean tile tested inline
            x = g[vop]
            tile = ((g[mop] + (g[rd] if rd else 0)) & 0xFFFFFFFF) // tile_elems
            if x % vlen or x < 0 or x + n * vlen > size or not 0 <= tile < tiles:
                return
            r, first = x // vlen, tile * mlen
            if (
                vram_rows_state.count(CLEAN, r, r + n) == n
                and mram_rows_state.count(CLEAN, first, first + mlen) == mlen
            ):
                return  # nothing to report, and the accumulator's state stays
            bad = t.read_vram(x, n * vlen)
            bad |= t.read_mram(first, mlen)
            t.acc[acc] = t.acc[acc] or bad

        return run_all

    return build


def _blen(m: Machine) -> int:
    return m.config.blen


def _mlen(m: Machine) -> int:
    return m.config.mlen


def _hlen(m: Machine) -> int:
    return m.config.hlen


def _one(m: Machine) -> int:
    return 1


FOOTPRINTS["M_MM"] = _matrix("m", 2, 1, _blen, "all")
FOOTPRINTS["M_TMM"] = _matrix("m", 1, 2, _blen, "row_block", _blen)
FOOTPRINTS["M_MV"] = _matrix("v", 2, 1, _one, "all")
FOOTPRINTS["M_TMV"] = _matrix("v", 2, 1, _one, "element", _blen)
FOOTPRINTS["M_BMM"] = _matrix("hm", 2, 1, _mlen, "element", _hlen)
FOOTPRINTS["M_BTMM"] = _matrix("hm", 2, 1, _mlen, "columns")
FOOTPRINTS["M_BMV"] = _matrix("hv", 2, 1, _one, "element", _hlen, plus_rd=True)
FOOTPRINTS["M_BTMV"] = _matrix("hv", 2, 1, _one, "columns", plus_rd=True)


@footprint("M_MM_WO")
def _mm_wo(m: Machine, ops) -> Footprint:
    rd, rstride, imm = ops
    t: PoisonTracker = m.poison
    g, cfg = m.g, m.config
    vlen, blen, size = cfg.vlen, cfg.blen, cfg.vram_elems
    origin = t.origin

    def run() -> None:
        addr = g[rd] + imm
        base, o = addr - addr % vlen, addr % vlen
        s = 1 if rstride == 0 else g[rstride]
        taint = t.acc["m"]
        if FAST_PATHS and 0 <= base <= base + (blen - 1) * vlen * s + vlen <= size and o + blen <= vlen:
            # Each block row lies inside one in-range VRAM row: write_vram's work, without its
            # bounds and row arithmetic per row.
            code = TAINT if taint else CLEAN
            first = base // vlen
            for i in range(blen):
                r = first + i * s
                if origin:
                    origin.pop(("VRAM", r), None)
                t.write_part(r, o, blen, code)
        else:
            for i in range(blen):
                t.write_vram(base + i * vlen * s + o, blen, taint)
        t.acc["m"] = False

    return run


def _write_out(acc: str, elems: Callable[[Machine], int]) -> FootprintBuilder:
    def build(m: Machine, ops) -> Footprint:
        rd, imm = ops
        t: PoisonTracker = m.poison
        g, n = m.g, elems(m)

        def run() -> None:
            t.write_vram(g[rd] + imm, n, t.acc[acc])
            t.acc[acc] = False

        return run

    return build


def _head_write_out(acc: str, rows: Callable[[Machine], int]) -> FootprintBuilder:
    def build(m: Machine, ops) -> Footprint:
        rd, imm = ops
        t: PoisonTracker = m.poison
        g, n = m.g, rows(m)
        return lambda: t.write_out(acc, g[rd] + imm, n)

    return build


FOOTPRINTS["M_MV_WO"] = _write_out("v", _blen)
FOOTPRINTS["M_BMM_WO"] = _head_write_out("hm", lambda m: m.config.heads_per_row * m.config.mlen)
FOOTPRINTS["M_BMV_WO"] = _head_write_out("hv", lambda m: m.config.heads_per_row)


# ----------------------------------------------------------------------------- DMA


def _locate(m: Machine, ops, rows: int, width: int, locate) -> tuple | None:
    """(locate's answer for the transfer these operands describe, its row stride), or None when
    the transfer will fault (the step reports that). `locate` is semantics' _transfer_plan or
    _transfer_start."""
    _, rs1, ab, rstride, _ = ops
    stride = m.stride_reg if rstride else width
    try:
        return locate(m, ab, m.g[rs1], rows, width, stride, ""), stride
    except MachineFault:
        return None


def _plan(m: Machine, ops, rows: int, width: int):
    """Element and scale byte indices (rows x bytes) of a transfer, or None if it will fault."""
    from .semantics import _transfer_plan

    located = _locate(m, ops, rows, width, _transfer_plan)
    if located is None:
        return None
    (e_list, s_list), _ = located
    e, s = np.array(e_list, dtype=np.int64), np.array(s_list, dtype=np.int64)
    block = m.config.mx_block
    elem_idx = e[:, None] + np.arange(width, dtype=np.int64)[None, :]
    scale_idx = s[:, None] + np.arange(width // block, dtype=np.int64)[None, :]
    return elem_idx, scale_idx


def _origin(m: Machine, states: np.ndarray, elem_idx: np.ndarray) -> tuple[int, int, int] | None:
    """(line, HBM range) of the never-written bytes a transfer picked up, if any."""
    never = states == 0
    if not never.any():
        return None
    where = elem_idx[never]
    return m.poison.line, int(where.min()), int(where.max()) + 1


def _source_clean(m: Machine, ops, rows: int, width: int) -> bool | None:
    """Whether every HBM byte in the spans a transfer reads from (its elements' and its scales',
    gaps between strided rows included) is CLEAN; None when the transfer will fault."""
    from .semantics import _transfer_start

    located = _locate(m, ops, rows, width, _transfer_start)
    if located is None:
        return None
    (e0, s0), stride = located
    if not FAST_PATHS:
        return False
    block = m.config.mx_block
    e1, s1 = e0 + (rows - 1) * stride + width, s0 + (rows - 1) * (stride // block) + width // block
    t = m.poison
    if max(e1, s1) <= t.hbm_clean_below:  # inside the image, not since overwritten
        return True
    return bool((t.hbm[e0:e1] == CLEAN).all() and (t.hbm[s0:s1] == CLEAN).all())


@footprint("H_PREFETCH_V")
def _prefetch_v(m: Machine, ops) -> Footprint:
    t: PoisonTracker = m.poison
    cfg = m.config
    rows, width = cfg.prefetch_v_rows, cfg.vlen

    def run() -> None:
        d = _row(m, m.g[ops[0]])
        if d is None or d + rows * width > cfg.vram_elems:
            return
        clean = _source_clean(m, ops, rows, width)
        if clean:  # what move_to_vram does with all-CLEAN states, without computing them
            t.clean_rows("VRAM", t.vram_row, d // width, rows)
            return
        plan = _plan(m, ops, rows, width) if clean is not None else None
        if plan is None:
            return
        states = t.hbm_states(*plan)
        if states is not None:
            t.move_to_vram(d, states.reshape(-1), _origin(m, states, plan[0]))

    return run


@footprint("H_PREFETCH_M")
def _prefetch_m(m: Machine, ops) -> Footprint:
    t: PoisonTracker = m.poison
    cfg = m.config
    rows, width = cfg.prefetch_m_rows, cfg.mlen

    def run() -> None:
        dest = m.g[ops[0]]
        if dest % cfg.tile_elems or dest + rows * width > cfg.mram_elems:
            return
        clean = _source_clean(m, ops, rows, width)
        if clean:  # what move_to_mram does with all-CLEAN row states
            t.clean_rows("MRAM", t.mram_row, dest // cfg.mlen, rows)
            return
        plan = _plan(m, ops, rows, width) if clean is not None else None
        if plan is None:
            return
        states = t.hbm_states(*plan)
        if states is None:
            return
        row_states = np.where(
            (states == 0).any(axis=1), 0, np.where((states == 2).any(axis=1), 2, 1)
        )  # never written, tainted, clean
        t.move_to_mram(dest // cfg.mlen, row_states, _origin(m, states, plan[0]))

    return run


@footprint("H_STORE_V")
def _store_v(m: Machine, ops) -> Footprint:
    t: PoisonTracker = m.poison
    cfg = m.config
    rows, width = cfg.store_v_rows, cfg.vlen

    def run() -> None:
        src = _row(m, m.g[ops[0]])
        plan = _plan(m, ops, rows, width)
        if src is None or plan is None or src + rows * width > cfg.vram_elems:
            return
        first = src // width
        if FAST_PATHS and t.vram_row.count(CLEAN, first, first + rows) == rows:
            t.clean_to_hbm(*plan)  # what move_to_hbm does with all-CLEAN states, without them
            return
        t.move_to_hbm(*plan, t.vram_states(src, rows * width).reshape(rows, width))

    return run


# ----------------------------------------------------------------------------- table-driven


def behaviour_footprint(spec) -> FootprintBuilder:
    """An extension or added instruction: it reads its vector, int_vector and fp operands and
    writes its written ones, tainted when anything it read was."""
    roles = spec.behaviour.operands

    def build(m: Machine, ops) -> Footprint:
        t: PoisonTracker = m.poison
        g, vlen = m.g, m.config.vlen

        def words(addr: int) -> bool:
            return 0 <= addr <= m.intsram.size - vlen

        def run() -> None:
            bad = False
            for role, value in zip(roles, ops, strict=True):
                if not role.reads:
                    continue
                if role.kind == "vector" and (a := _row(m, g[value])) is not None:
                    bad |= t.read_vram(a, vlen)
                elif role.kind == "int_vector" and words(g[value]):
                    bad |= t.read_words(t.intsram, "INT SRAM", g[value], vlen)
                elif role.kind == "fp":
                    bad |= t.f[value]
            for role, value in zip(roles, ops, strict=True):
                if not role.writes:
                    continue
                if role.kind == "vector" and (a := _row(m, g[value])) is not None:
                    t.write_vram(a, vlen, bad)
                elif role.kind == "int_vector" and words(g[value]):
                    t.write_words(t.intsram, g[value], vlen, bad)
                elif role.kind == "fp" and value:
                    t.f[value] = bad

        return run

    return build
