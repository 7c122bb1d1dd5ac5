"""Level-2 attention-core and RoPE baselines, and the per-head attention cores the projected
attentions and decoder blocks reuse.

Attention core for one head (Q in VRAM, K and V in HBM):

- K and V are prefetched into MRAM as 64 x 64 tiles (keys x features). S = Q K^T uses M_TMM
  against K tiles, so each instruction gives 4 query rows x 4 key columns accumulated over one
  64-feature chunk; P V uses M_MM against V tiles (4 query rows x 4 output features per key
  tile). Scores sit in VRAM in the column-block layout (one 64-key chunk per key tile).
- Fewer than 64 keys (S = 32): the unused score columns are written as zeros (M_MM_WO of a
  cleared accumulator) and the softmax runs with V_MASK so they stay zero, and V's tile rows past
  the last key must be zeros too (M_MM always contracts over 64 rows), so V then comes from an
  HBM copy padded with zero rows.
- sdpa normalises the whole score matrix row by row; flash_attention walks the key tiles with an
  online softmax (running max, denominator and correction factor per row in FP SRAM) and
  rescales the output accumulator by the correction; the last tile folds in 1/denominator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import PlenaConfig
from ..layout import FP_SLOTS, HBM_ALIGN, OUTPUT_BASE, TensorPlacement
from ..mx import tensor_nbytes
from . import blocks
from .emit import FZERO, IMM_LIMIT, ZERO, Asm
from .level1 import Generator, task_hbm, task_params

# FP SRAM words past the preloaded constants used for the online-softmax statistics.
FP_STATS_BASE = 16


# ----------------------------------------------------------------------------- HBM helpers


def _bump(asm: Asm, reg: str, step: int) -> None:
    """reg += step, through a temporary register when step does not fit an immediate."""
    if step < IMM_LIMIT:
        asm.addi(reg, reg, step)
        return
    with asm.regs(1) as (tmp,):
        asm.imm(tmp, step)
        asm.emit("S_ADD_INT", reg, reg, tmp)


def hbm_scratch(after_bytes: int, name: str, shape: tuple[int, int]) -> TensorPlacement:
    """A scratch tensor in HBM at the first aligned address at or after `after_bytes`."""
    base = -(-after_bytes // HBM_ALIGN) * HBM_ALIGN
    return TensorPlacement(name, shape, base, shape[0] * shape[1])


def scratch_end(placement: TensorPlacement) -> int:
    return placement.base + tensor_nbytes(placement.numel)


def store_activation(
    asm: Asm,
    vram_base: int,
    rows: int,
    cols: int,
    placement: TensorPlacement,
    *,
    col_offset: int = 0,
    row_stride: int | None = None,
) -> None:
    """VRAM column-block [rows, cols] -> HBM row-major (rows `row_stride` elements apart), MXFP8.

    The inverse of blocks.load_activation: one H_STORE_V writes 4 rows of one 64-column chunk.
    """
    hw = asm.hw
    vlen, group = hw.vlen, hw.store_v_rows
    row_stride = placement.shape[-1] if row_stride is None else row_stride
    if rows % group or cols % vlen:
        raise ValueError(f"store_activation: [{rows}, {cols}] is not whole {group}-row, {vlen}-column blocks")
    areg = blocks.bind_tensor(asm, placement, row_stride)
    with asm.regs(3) as (src, off, chunk_off):
        asm.imm(src, vram_base)
        asm.imm(chunk_off, col_offset)
        with asm.loop(None, cols // vlen, comment=f"store {placement.name}: chunks"):
            asm.move(off, chunk_off)
            with asm.loop(None, rows // group):
                asm.emit("H_STORE_V", src, off, areg, 1, 0)
                asm.addi(src, src, group * vlen)
                _bump(asm, off, group * row_stride)
            asm.addi(chunk_off, chunk_off, vlen)


def store_zero_rows(
    asm: Asm, zero_vram: int, first_row: int, rows: int, cols: int, placement: TensorPlacement
) -> None:
    """Zero rows [first_row, first_row + rows) x [0, cols) of a row-major HBM tensor.

    The zeros come from a 4-row VRAM block written by M_MM_WO from the accumulator, which is
    clear at start and after every M_MM_WO (no block leaves a product pending).
    """
    hw = asm.hw
    vlen, group = hw.vlen, hw.store_v_rows
    row_stride = placement.shape[-1]
    with asm.regs(2) as (src, off):
        asm.imm(src, zero_vram)
        for c in range(0, vlen, hw.blen):
            asm.emit("M_MM_WO", src, ZERO, c, comment="zeros" if c == 0 else "")
        areg = blocks.bind_tensor(asm, placement, row_stride)
        asm.imm(off, first_row * row_stride)
        with asm.loop(None, rows // group, comment=f"zero rows of {placement.name}"):
            for j in range(cols // vlen):
                asm.emit("H_STORE_V", src, off, areg, 1, 0)
                if j < cols // vlen - 1:
                    asm.addi(off, off, vlen)
            _bump(asm, off, group * row_stride - (cols // vlen - 1) * vlen)


# ----------------------------------------------------------------------------- one head


@dataclass(frozen=True)
class HeadSource:
    """Where one head's K or V lives in HBM: columns col0.. of a row-major [rows, row_stride] tensor."""

    placement: TensorPlacement
    row_stride: int
    col0: int = 0


@dataclass(frozen=True)
class HeadPlan:
    """Addresses of one head's attention: Q and the output in VRAM, K/V tiles in MRAM.

    q_vram / out_vram are chunk 0 of the head; chunk j (features 64j..) is j*chunk_stride
    further (the column-block layout of a [seq, n*64] activation, chunk_stride = seq*64).
    K and V may each be a sum of parts (an MXFP8 value plus its MXFP8 residual): k_tiles and
    v_tiles give the first MRAM tile of every part, and the products accumulate over the parts.
    """

    seq: int
    dims: int
    q_vram: int
    q_stride: int
    out_vram: int
    out_stride: int
    scores_vram: int  # seq x key_tiles*64 scratch (flash: seq x 64, plus seq*dims for P V)
    k_tiles: tuple[int, ...]  # per part: first MRAM tile (key_tiles * dims/64 tiles)
    v_tiles: tuple[int, ...]

    def key_tiles(self, hw: PlenaConfig) -> int:
        return -(-self.seq // hw.mlen)

    def chunks(self, hw: PlenaConfig) -> int:
        return self.dims // hw.mlen


def load_head_tiles(asm: Asm, src: HeadSource, seq: int, dims: int, first_tile: int) -> None:
    """K or V of a head into MRAM: tile (kb, dj) (keys 64kb.., features 64dj..) at first_tile + kb*nd + dj."""
    hw = asm.hw
    mlen, tile = hw.mlen, hw.tile_elems
    areg = blocks.bind_tensor(asm, src.placement, src.row_stride)
    with asm.regs(2) as (dst, off):
        asm.imm(dst, first_tile * tile)
        for kb in range(-(-seq // mlen)):
            asm.imm(off, kb * mlen * src.row_stride + src.col0)
            with asm.loop(None, dims // mlen, comment=f"{src.placement.name} tiles"):
                asm.emit("H_PREFETCH_M", dst, off, areg, 1, 0)
                asm.addi(dst, dst, tile)
                asm.addi(off, off, mlen)


def _mask_for(asm: Asm, valid: int) -> int:
    hlen = asm.hw.hlen
    if valid % hlen:
        raise NotImplementedError(f"attention over {valid} keys: not a multiple of HLEN={hlen}")
    return (1 << (valid // hlen)) - 1


def emit_scores(asm: Asm, plan: HeadPlan, key_tiles: Sequence[int], s_vram: int, s_stride: int) -> None:
    """Raw scores Q K^T for the given key tiles; tile kb's 64 columns go to chunk i of s_vram.

    Columns past the last key are written as zeros so the masked softmax leaves them at zero.
    """
    hw = asm.hw
    mlen, blen, vlen, tile = hw.mlen, hw.blen, hw.vlen, hw.tile_elems
    nd = plan.chunks(hw)
    terms = [
        (dj * plan.q_stride, (part - plan.k_tiles[0] + dj) * tile)
        for part in plan.k_tiles
        for dj in range(nd)
    ]
    with asm.regs(4) as (q, srow, k, so):
        asm.imm(q, plan.q_vram)
        asm.imm(srow, s_vram)
        with asm.loop(None, plan.seq // blen, comment="scores: query row blocks"):
            for i, kb in enumerate(key_tiles):
                keys = min(mlen, plan.seq - kb * mlen)
                asm.imm(k, (plan.k_tiles[0] + kb * nd) * tile)
                asm.addi(so, srow, i * s_stride)
                with asm.loop(None, keys // blen, comment="4 keys at a time"):
                    _dot_terms(asm, "M_TMM", q, k, terms)
                    asm.emit("M_MM_WO", so, ZERO, 0)
                    asm.addi(k, k, blen * mlen)
                    asm.addi(so, so, blen)
                for c in range(0, mlen - keys, blen):
                    asm.emit("M_MM_WO", so, ZERO, c, comment="no key: zero" if c == 0 else "")
            asm.addi(q, q, blen * vlen)
            asm.addi(srow, srow, blen * vlen)


def _dot_terms(asm: Asm, op: str, vec: str, mat: str, terms: Sequence[tuple[int, int]]) -> None:
    """Accumulate over (VRAM offset, MRAM offset) terms from the vec (VRAM) and mat (MRAM) pointers."""
    with asm.regs(2) as (vt, mt):
        for voff, moff in terms:
            if voff:
                asm.addi(vt, vec, voff)
            if moff:
                asm.addi(mt, mat, moff)
            v, m = vt if voff else vec, mt if moff else mat
            asm.emit(op, 0, v, m) if op == "M_TMM" else asm.emit(op, 0, m, v)


def emit_pv(
    asm: Asm,
    plan: HeadPlan,
    key_tiles: Sequence[int],
    p_vram: int,
    p_stride: int,
    out_vram: int,
    out_stride: int,
) -> None:
    """out[seq, dims] = P @ V over the given key tiles (P chunk i holds tile key_tiles[i])."""
    hw = asm.hw
    mlen, blen, vlen, tile = hw.mlen, hw.blen, hw.vlen, hw.tile_elems
    nd = plan.chunks(hw)
    first = key_tiles[0]
    terms = [
        (i * p_stride, ((part - plan.v_tiles[0]) + (kb - first) * nd) * tile)
        for part in plan.v_tiles
        for i, kb in enumerate(key_tiles)
    ]
    with asm.regs(4) as (prow, orow, v, o):
        asm.imm(prow, p_vram)
        asm.imm(orow, out_vram)
        with asm.loop(None, plan.seq // blen, comment="P V: query row blocks"):
            for dj in range(nd):
                asm.imm(v, (plan.v_tiles[0] + first * nd + dj) * tile)
                asm.addi(o, orow, dj * out_stride)
                with asm.loop(None, mlen // blen, comment="4 output features at a time"):
                    _dot_terms(asm, "M_MM", prow, v, terms)
                    asm.emit("M_MM_WO", o, ZERO, 0)
                    asm.addi(v, v, blen * mlen)
                    asm.addi(o, o, blen)
            asm.addi(prow, prow, blen * vlen)
            asm.addi(orow, orow, blen * vlen)


def emit_softmax(asm: Asm, plan: HeadPlan, s_vram: int, s_stride: int, scale_slot: int) -> None:
    """Row softmax of scaled scores over all key tiles, masked to the valid keys of the last tile."""
    hw = asm.hw
    nkb = plan.key_tiles(hw)
    valid_last = plan.seq - (nkb - 1) * hw.mlen
    masked = valid_last < hw.mlen
    if masked:
        with asm.regs(1) as (tmp,):
            asm.imm(tmp, _mask_for(asm, valid_last))
            asm.emit("C_SET_V_MASK_REG", tmp)
    with asm.fregs(3) as (scale, mx, total):
        asm.emit("S_LD_FP", scale, ZERO, scale_slot, comment="1/sqrt(dhead)")
        rows = blocks.RowChunks(asm, s_vram, s_stride // hw.vlen, nkb * hw.vlen)

        def regs_mask(j: int) -> int:  # only the last chunk can have missing keys
            return 1 if masked and j == nkb - 1 else 0

        with asm.loop(None, plan.seq, comment="softmax rows"):
            blocks.load_fp_const(asm, mx, "neg_inf")
            for j, reg in enumerate(rows.each()):
                asm.emit("V_RED_MAX", mx, reg, regs_mask(j))
            asm.emit("S_MUL_FP", mx, mx, scale, comment="max of the scaled row")
            asm.emit("S_ADD_FP", total, FZERO, FZERO)
            for j, reg in enumerate(rows.each()):
                m = regs_mask(j)
                asm.emit("V_MUL_VF", reg, reg, scale, m)
                asm.emit("V_SUB_VF", reg, reg, mx, m)
                asm.emit("V_EXP_V", reg, reg, m)
                asm.emit("V_RED_SUM", total, reg, m)
            asm.emit("S_RECI_FP", total, total)
            for j, reg in enumerate(rows.each()):
                asm.emit("V_MUL_VF", reg, reg, total, regs_mask(j))
            rows.next_row()
        rows.release()


def sdpa_head(asm: Asm, plan: HeadPlan, scale_slot: int = FP_SLOTS["inv_sqrt_dhead"]) -> None:
    """One head, whole score matrix: scores, softmax, P V (K and V tiles already in MRAM)."""
    hw = asm.hw
    nkb = plan.key_tiles(hw)
    s_stride = plan.seq * hw.vlen
    tiles = list(range(nkb))
    emit_scores(asm, plan, tiles, plan.scores_vram, s_stride)
    emit_softmax(asm, plan, plan.scores_vram, s_stride, scale_slot)
    emit_pv(asm, plan, tiles, plan.scores_vram, s_stride, plan.out_vram, plan.out_stride)


def flash_head(
    asm: Asm,
    plan: HeadPlan,
    scale_slot: int = FP_SLOTS["inv_sqrt_dhead"],
    stats_base: int = FP_STATS_BASE,
) -> None:
    """One head as a walk over key tiles with an online softmax.

    Per row the running max m, the running denominator l and the factor for the output so far
    sit in FP SRAM (stats_base + row, + seq + row, + 2*seq + row). Tile 0's P V goes straight
    into the output; a later tile's P V goes to a buffer and out = out * factor + PV row by row,
    where factor = exp(m_old - m_new). On the last tile l is final, so its P is normalised before
    P V (as sdpa does) and the factor becomes exp(m_old - m_new) / l: no separate division pass,
    and two fewer BF16 roundings on the output. Scratch: scores_vram holds seq x 64 scores, then
    seq x dims for the P V buffer.
    """
    hw = asm.hw
    vlen = hw.vlen
    nkb = plan.key_tiles(hw)
    s_stride = plan.seq * vlen
    pv_vram = plan.scores_vram + s_stride
    m_slot, l_slot, c_slot = stats_base, stats_base + plan.seq, stats_base + 2 * plan.seq
    if c_slot + plan.seq > hw.fpsram_words:
        raise NotImplementedError(f"flash attention: {plan.seq} rows of statistics do not fit FP SRAM")
    for kb in range(nkb):
        last = kb == nkb - 1
        asm.comment(f"key tile {kb}: scores, online softmax, P V")
        valid = min(hw.mlen, plan.seq - kb * hw.mlen)
        mask = 1 if valid < hw.mlen else 0
        if mask:
            with asm.regs(1) as (tmp,):
                asm.imm(tmp, _mask_for(asm, valid))
                asm.emit("C_SET_V_MASK_REG", tmp)
        emit_scores(asm, plan, [kb], plan.scores_vram, s_stride)
        with asm.regs(2) as (row, idx), asm.fregs(4) as (scale, mx, total, corr):
            asm.emit("S_LD_FP", scale, ZERO, scale_slot, comment="1/sqrt(dhead)")
            asm.imm(row, plan.scores_vram)
            asm.imm(idx, 0)
            with asm.loop(None, plan.seq, comment="online softmax rows"):
                blocks.load_fp_const(asm, mx, "neg_inf")
                asm.emit("V_RED_MAX", mx, row, mask)
                asm.emit("S_MUL_FP", mx, mx, scale)
                if kb:
                    asm.emit("S_LD_FP", corr, idx, m_slot, comment="m_old")
                    asm.emit("S_MAX_FP", mx, mx, corr)
                    asm.emit("S_SUB_FP", corr, corr, mx)
                    asm.emit("S_EXP_FP", corr, corr, comment="corr = exp(m_old - m_new)")
                    asm.emit("S_LD_FP", total, idx, l_slot)
                    asm.emit("S_MUL_FP", total, total, corr, comment="l*corr, the row sum adds to it")
                else:
                    asm.emit("S_ADD_FP", total, FZERO, FZERO)
                if not last:
                    asm.emit("S_ST_FP", mx, idx, m_slot)
                asm.emit("V_MUL_VF", row, row, scale, mask)
                asm.emit("V_SUB_VF", row, row, mx, mask)
                asm.emit("V_EXP_V", row, row, mask)
                asm.emit("V_RED_SUM", total, row, mask)
                if last:
                    asm.emit("S_RECI_FP", total, total, comment="1/l")
                    asm.emit("V_MUL_VF", row, row, total, mask)
                    if kb:
                        asm.emit("S_MUL_FP", corr, corr, total, comment="factor = corr/l")
                else:
                    asm.emit("S_ST_FP", total, idx, l_slot)
                if kb:
                    asm.emit("S_ST_FP", corr, idx, c_slot)
                asm.addi(row, row, vlen)
                asm.addi(idx, idx, 1)
        if kb == 0:
            emit_pv(asm, plan, [kb], plan.scores_vram, s_stride, plan.out_vram, plan.out_stride)
            continue
        emit_pv(asm, plan, [kb], plan.scores_vram, s_stride, pv_vram, s_stride)
        with asm.regs(1) as (idx,), asm.fregs(1) as (factor,):
            out = blocks.RowChunks(asm, plan.out_vram, plan.out_stride // vlen, plan.dims)
            pv = blocks.RowChunks(asm, pv_vram, plan.seq, plan.dims)
            asm.imm(idx, 0)
            with asm.loop(None, plan.seq, comment="rescale: out = out*factor + PV"):
                asm.emit("S_LD_FP", factor, idx, c_slot)
                for o, p in zip(out.each(), pv.each(), strict=True):
                    asm.emit("V_MUL_VF", o, o, factor, 0)
                    asm.emit("V_ADD_VV", o, o, p, 0)
                out.next_row()
                pv.next_row()
                asm.addi(idx, idx, 1)
            pv.release()
            out.release()


# ----------------------------------------------------------------------------- generators


def _vram_after(elems: int, hw: PlenaConfig) -> int:
    return -(-elems // hw.vlen) * hw.vlen


def _attention_core(flash: bool) -> Generator:
    task_id = "flash_attention" if flash else "sdpa"

    def generate(config_name: str, hw: PlenaConfig) -> str:
        p = task_params(task_id, config_name)
        seq, dims = p["S"], p["D"]
        hbm = task_hbm(task_id, config_name)
        asm = Asm(hw)
        nkb = -(-seq // hw.mlen)
        nd = dims // hw.mlen
        q_vram = _vram_after(OUTPUT_BASE + seq * dims, hw)
        scores = q_vram + seq * dims
        after_scores = scores + seq * (hw.vlen if flash else nkb * hw.vlen)
        plan = HeadPlan(
            seq=seq,
            dims=dims,
            q_vram=q_vram,
            q_stride=seq * hw.vlen,
            out_vram=OUTPUT_BASE,
            out_stride=seq * hw.vlen,
            scores_vram=scores,
            k_tiles=(0,),
            v_tiles=(nkb * nd,),
        )
        kind = "tiled over 64-key tiles with an online softmax" if flash else "whole score matrix"
        asm.comment(f"{task_id} S={seq} D={dims}: {kind}")
        blocks.load_activation(asm, hbm["Q"], seq, dims, q_vram)
        load_head_tiles(asm, HeadSource(hbm["K"], dims), seq, dims, plan.k_tiles[0])
        v_src = HeadSource(hbm["V"], dims)
        if seq % hw.mlen:
            v_src = _padded_copy(asm, hbm["V"], seq, dims, hbm.total_bytes, after_scores + seq * dims)
        load_head_tiles(asm, v_src, seq, dims, plan.v_tiles[0])
        (flash_head if flash else sdpa_head)(asm, plan)
        return asm.text()

    return generate


def _padded_copy(
    asm: Asm, src: TensorPlacement, seq: int, dims: int, hbm_free: int, vram_scratch: int
) -> HeadSource:
    """V with fewer rows than a tile: copy it to HBM scratch followed by zero rows."""
    hw = asm.hw
    padded = -(-seq // hw.mlen) * hw.mlen
    copy = hbm_scratch(hbm_free, f"{src.name}_padded", (padded, dims))
    asm.comment(f"{src.name}: copy to HBM scratch with zero rows up to {padded} keys")
    blocks.load_activation(asm, src, seq, dims, vram_scratch)
    store_activation(asm, vram_scratch, seq, dims, copy)
    store_zero_rows(asm, vram_scratch, seq, padded - seq, dims, copy)
    return HeadSource(copy, dims)


def rope(config_name: str, hw: PlenaConfig) -> str:
    p = task_params("rope", config_name)
    seq, dims = p["S"], p["D"]
    hbm = task_hbm("rope", config_name)
    asm = Asm(hw)
    n = seq * dims
    x_vram = _vram_after(OUTPUT_BASE + n, hw)
    sin_vram = x_vram + n
    extra = sin_vram + n
    # cos is loaded straight into the output region and turned into the result in place.
    blocks.load_activation(asm, hbm["cos"], seq, dims, OUTPUT_BASE)
    blocks.load_activation(asm, hbm["x"], seq, dims, x_vram)
    blocks.load_activation(asm, hbm["sin"], seq, dims, sin_vram)
    if dims == hw.vlen:
        _rope_one_chunk(asm, hbm["x"], seq, x_vram, sin_vram, extra)
    elif dims % (2 * hw.vlen) == 0:
        _rope_chunk_halves(asm, seq, dims, x_vram, sin_vram, extra)
    else:
        raise NotImplementedError(f"rope: D={dims} is neither one VRAM row nor whole 64-column halves")
    return asm.text()


def _rope_chunk_halves(asm: Asm, seq: int, dims: int, x_vram: int, sin_vram: int, tmp_vram: int) -> None:
    """D = 2k*64: the halves are whole chunk groups, so rotate_half is a choice of pointers."""
    hw = asm.hw
    vlen = hw.vlen
    half = seq * dims // 2  # elements of one half in the column-block layout
    asm.comment(f"rope: halves are chunk groups {half // (seq * vlen)} chunks apart")
    with asm.regs(7) as (o1, o2, x1, x2, s1, s2, tmp):
        for reg, base in ((o1, OUTPUT_BASE), (o2, OUTPUT_BASE + half), (x1, x_vram), (x2, x_vram + half)):
            asm.imm(reg, base)
        asm.imm(s1, sin_vram)
        asm.imm(s2, sin_vram + half)
        asm.imm(tmp, tmp_vram)
        with asm.loop(None, half // vlen, comment="rope rows of the first half"):
            asm.emit("V_MUL_VV", tmp, x2, s1, 0, comment="x2*sin1")
            asm.emit("V_MUL_VV", o1, o1, x1, 0)
            asm.emit("V_SUB_VV", o1, o1, tmp, 0, comment="x1*cos1 - x2*sin1")
            asm.emit("V_MUL_VV", tmp, x1, s2, 0, comment="x1*sin2")
            asm.emit("V_MUL_VV", o2, o2, x2, 0)
            asm.emit("V_ADD_VV", o2, o2, tmp, 0, comment="x2*cos2 + x1*sin2")
            for reg in (o1, o2, x1, x2, s1, s2):
                asm.addi(reg, reg, vlen)


def _rope_one_chunk(asm: Asm, x: TensorPlacement, seq: int, x_vram: int, sin_vram: int, scratch: int) -> None:
    """D = 64: both halves share a VRAM row. rotate_half(x) = [-x[32:], x[:32]] is built from
    V_SHFT_V (x[:32] moved up to lanes 32..63, zeros below) minus, on lanes 0..31 only
    (V_MASK), a second copy of x loaded 32 elements further on (its lanes 0..31 are x[32:])."""
    hw = asm.hw
    vlen, half = hw.vlen, hw.vlen // 2
    shifted = scratch
    tmp = shifted + seq * vlen
    asm.comment("rope D=64: second load of x at +32 elements gives x[:, 32:] in lanes 0..31")
    blocks.load_activation(asm, x, seq, vlen, shifted, hbm_offset=half, row_stride=vlen)
    with asm.regs(6) as (o, xr, xs, s, t, k):
        asm.imm(o, OUTPUT_BASE)
        asm.imm(xr, x_vram)
        asm.imm(xs, shifted)
        asm.imm(s, sin_vram)
        asm.imm(t, tmp)
        asm.imm(k, _mask_for(asm, half))
        asm.emit("C_SET_V_MASK_REG", k, comment="lanes 0..31")
        asm.imm(k, half)
        with asm.loop(None, seq, comment="rope rows"):
            asm.emit("V_SHFT_V", t, xr, k, comment="[0, x[:32]]")
            asm.emit("V_SUB_VV", t, t, xs, 1, comment="[-x[32:], x[:32]]")
            asm.emit("V_MUL_VV", t, t, s, 0)
            asm.emit("V_MUL_VV", o, o, xr, 0)
            asm.emit("V_ADD_VV", o, o, t, 0)
            for reg in (o, xr, xs, s):
                asm.addi(reg, reg, vlen)


GENERATORS: dict[str, Generator] = {
    "rope": rope,
    "sdpa": _attention_core(flash=False),
    "flash_attention": _attention_core(flash=True),
}
