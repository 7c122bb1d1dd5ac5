"""The get_transfer_index baseline (ISA co-design case study) in PLENA's base ISA.

The base ISA has no compare, no select and no way to turn a float into an integer, which is
what makes this kernel hard (the paper's agent concluded instructions were missing). This
lowering finds a way with the MoE router instruction V_TOPK, the one base instruction that
writes integer indices:

1. Confidence, per position (a hardware loop over the L positions of a row): load the V
   logits into VRAM, m = max (V_RED_MAX), s = sum exp(logits - m) (V_SUB_VF, V_EXP_V,
   V_RED_SUM), conf = 1/s into FP SRAM; S_MAP_V_FP turns the L confidences into one VRAM row.
2. Top-k of the masked positions: c = conf*mask + (mask - 1)*2 (masked: conf in (0, 1];
   unmasked: -2), padded to 128 entries, and V_TOPK (policy 1: top 8 of 128, ties to the lower
   index) writes the k positions to INT SRAM.
3. For each chosen position only: its logits again, V_TOPK on each 128-logit half gives the
   first argmax of that half; the halves' maxima m0, m1 give the float s = [m1 > m0] as
   1 - exp(-max(m1 - m0, 0) * 2^32); V_TOPK (policy 0) on [0.5, s, 0, ...] turns s into the
   integer 0 or 1; argmax = i0 + s*(128 + i1 - i0) in u32 arithmetic, stored over x[b, pos].

Slow (three V_TOPK of 128 or 32 entries per chosen position) but exact; it needs L = VLEN,
V = 2 x 128 = 4 VLEN rows (one H_PREFETCH_V) and k <= 8, the paper's configuration.

When the hardware configuration includes the "dllm" extension set (extensions.py), the
lowering is the one those instructions were designed for: V_RED_MAX_IDX gives each
position's argmax while its confidence is computed, the argmaxes go to an INT SRAM row,
V_TOPK_MASK marks the k most confident masked positions, and one S_SELECT_INT per row writes
the predictions over x where the mask is set.
"""

from __future__ import annotations

from ..config import PlenaConfig
from ..layout import FP_SLOTS
from .emit import FZERO, ZERO, Asm
from .level1 import Generator, task_hbm, task_params

TOPK_WINDOW, TOPK_KEEP = 128, 8  # V_TOPK policy 1
# FP SRAM words past the preloaded constants.
FP_CONF = 64  # the L confidences of the current row
FP_WEIGHTS = 200  # V_TOPK's softmax weights (not used)
FP_BUILD = 300  # one VLEN row of constants being built
# INT SRAM words past x (which holds B*L words from 0).
INT_CHOSEN = 512  # V_TOPK's k positions of the current row
INT_HALF = (528, 544)  # first argmax of each half of a logits row (V_TOPK writes 8)
INT_BIT = 560  # [m1 > m0] as an integer (V_TOPK policy 0 writes 4)
SELECTOR_SCALE_DOUBLINGS = 5  # 2 -> 2^32 by squaring: any positive gap times this exceeds 88


def _constant_rows(asm: Asm, half_row: int, e1_row: int, pad_row: int, f_two: str) -> None:
    """half_row = [0.5, 0, ...], e1_row = [0, 1, 0, ...], pad_row = [-2, ...] (VLEN each)."""
    vlen = asm.hw.vlen
    with asm.regs(2) as (ptr, row), asm.fregs(1) as (value,):
        asm.imm(ptr, FP_BUILD)
        with asm.loop(None, vlen, comment="zero one FP SRAM row"):
            asm.emit("S_ST_FP", FZERO, ptr, 0)
            asm.addi(ptr, ptr, 1)
        asm.emit("S_LD_FP", value, ZERO, FP_SLOTS["half"])
        asm.emit("S_ST_FP", value, ZERO, FP_BUILD)
        asm.imm(row, half_row)
        asm.emit("S_MAP_V_FP", row, ZERO, FP_BUILD, comment="[0.5, 0, 0, ...]")
        asm.emit("S_ST_FP", FZERO, ZERO, FP_BUILD)
        asm.emit("S_LD_FP", value, ZERO, FP_SLOTS["one"])
        asm.emit("S_ST_FP", value, ZERO, FP_BUILD + 1)
        asm.imm(row, e1_row)
        asm.emit("S_MAP_V_FP", row, ZERO, FP_BUILD, comment="[0, 1, 0, ...]")
        with asm.regs(1) as (pad,):
            asm.imm(pad, pad_row)
            asm.emit("V_MUL_VF", pad, row, FZERO, 0)
            asm.emit("V_SUB_VF", pad, pad, f_two, 0, 0, comment="[-2, -2, ...]: below every candidate")


def generate_base(config_name: str, hw: PlenaConfig) -> str:
    p = task_params("get_transfer_index", config_name)
    batch, length, vocab, k = p["B"], p["L"], p["V"], p["k"]
    vlen = hw.vlen
    row_span = hw.prefetch_v_rows * vlen  # elements one H_PREFETCH_V moves
    if length != vlen or vocab != 2 * TOPK_WINDOW or vocab != row_span or k > TOPK_KEEP:
        raise NotImplementedError(
            f"get_transfer_index baseline needs L = VLEN, V = {2 * TOPK_WINDOW} = one H_PREFETCH_V and "
            f"k <= {TOPK_KEEP}; got L={length}, V={vocab}, k={k}"
        )
    hbm = task_hbm("get_transfer_index", config_name)
    logits, mask = hbm["logits"], hbm["mask"]
    # VRAM rows (element addresses).
    logits_v, exps_v = 0, row_span
    mask_v = 2 * row_span  # both mask rows (and two rows the transfer reads past the tensor)
    conf_v, cand_v, pad_v = mask_v + row_span, mask_v + row_span + vlen, mask_v + row_span + 2 * vlen
    tmp_v, half_v, e1_v, bit_v = pad_v + vlen, pad_v + 2 * vlen, pad_v + 3 * vlen, pad_v + 4 * vlen

    asm = Asm(hw)
    asm.comment(f"get_transfer_index B={batch} L={length} V={vocab} k={k}: base ISA (V_TOPK as the argmax)")
    a_logits, a_mask = asm.aalloc(), asm.aalloc()
    f_one, f_two = asm.falloc(), asm.falloc()
    asm.emit("S_LD_FP", f_one, ZERO, FP_SLOTS["one"])
    asm.emit("S_ADD_FP", f_two, f_one, f_one)
    _constant_rows(asm, half_v, e1_v, pad_v, f_two)
    with asm.regs(1) as (tmp,):
        asm.imm(tmp, mask.base)
        asm.emit("C_SET_ADDR_REG", a_mask, ZERO, tmp, comment="mask")
        asm.imm(tmp, mask.numel)
        asm.emit("C_SET_SCALE_REG", tmp)
        asm.imm(tmp, mask_v)
        asm.emit("H_PREFETCH_V", tmp, ZERO, a_mask, 0, 0, comment="both mask rows")
        asm.imm(tmp, logits.base)
        asm.emit("C_SET_ADDR_REG", a_logits, ZERO, tmp, comment="logits")
        asm.imm(tmp, logits.numel)
        asm.emit("C_SET_SCALE_REG", tmp)
    for b in range(batch):
        asm.comment(f"row {b}: confidences of the {length} positions")
        _confidences(asm, a_logits, b * length * vocab, length, vocab, logits_v, exps_v, conf_v)
        asm.comment(f"row {b}: top {k} masked positions (V_TOPK over [c, pad])")
        _choose(asm, conf_v, mask_v + b * vlen, tmp_v, cand_v, f_one, f_two)
        asm.comment(f"row {b}: argmax of each chosen position, written over x")
        _argmax_chosen(asm, a_logits, b, length, vocab, k, logits_v, half_v, e1_v, bit_v, f_one)
    return asm.text()


def _confidences(
    asm: Asm, areg: str, first: int, length: int, vocab: int, logits_v: int, exps_v: int, conf_v: int
) -> None:
    vlen = asm.hw.vlen
    chunks = vocab // vlen
    with asm.regs(4) as (off, row, exps, conf_ptr), asm.fregs(2) as (peak, total):
        asm.imm(off, first)
        asm.imm(conf_ptr, FP_CONF)
        with asm.loop(None, length, comment="positions"):
            asm.imm(row, logits_v)
            asm.emit("H_PREFETCH_V", row, off, areg, 0, 0, comment="the position's logits")
            asm.addi(off, off, vocab)
            asm.emit("S_LD_FP", peak, ZERO, FP_SLOTS["neg_inf"])
            with asm.loop(None, chunks, comment="max"):
                asm.emit("V_RED_MAX", peak, row, 0)
                asm.addi(row, row, vlen)
            _store_confidence(asm, row, exps, conf_ptr, peak, total, logits_v, exps_v, chunks)
        asm.imm(row, conf_v)
        asm.emit("S_MAP_V_FP", row, ZERO, FP_CONF, comment="confidences as one VRAM row")


def _store_confidence(
    asm: Asm,
    row: str,
    exps: str,
    conf_ptr: str,
    peak: str,
    total: str,
    logits_v: int,
    exps_v: int,
    chunks: int,
) -> None:
    """One position's confidence, 1 / sum(exp(x - max)) with `peak` holding its max, stored at
    conf_ptr (which then moves on); `row` restarts at the logits."""
    vlen = asm.hw.vlen
    asm.imm(row, logits_v)
    asm.imm(exps, exps_v)
    asm.emit("S_ADD_FP", total, FZERO, FZERO)
    with asm.loop(None, chunks, comment="sum of exp(x - max)"):
        asm.emit("V_SUB_VF", exps, row, peak, 0, 0)
        asm.emit("V_EXP_V", exps, exps, 0)
        asm.emit("V_RED_SUM", total, exps, 0)
        asm.addi(row, row, vlen)
        asm.addi(exps, exps, vlen)
    asm.emit("S_RECI_FP", total, total, comment="confidence")
    asm.emit("S_ST_FP", total, conf_ptr, 0)
    asm.addi(conf_ptr, conf_ptr, 1)


def _choose(asm: Asm, conf_v: int, mask_row: int, tmp_v: int, cand_v: int, f_one: str, f_two: str) -> None:
    with asm.regs(4) as (conf, mask, tmp, cand):
        asm.imm(conf, conf_v)
        asm.imm(mask, mask_row)
        asm.imm(tmp, tmp_v)
        asm.imm(cand, cand_v)
        asm.emit("V_MUL_VV", cand, conf, mask, 0, comment="conf where masked")
        asm.emit("V_SUB_VF", tmp, mask, f_one, 0, 0)
        asm.emit("V_MUL_VF", tmp, tmp, f_two, 0, comment="-2 where not masked")
        asm.emit("V_ADD_VV", cand, cand, tmp, 0)
        with asm.regs(2) as (weights, chosen):
            asm.imm(weights, FP_WEIGHTS)
            asm.imm(chosen, INT_CHOSEN)
            asm.emit("V_TOPK", weights, cand, chosen, 1, comment="the 8 largest of [c, pad]")


def _argmax_chosen(asm, areg, b, length, vocab, k, logits_v, half_v, e1_v, bit_v, f_one) -> None:
    with asm.regs(6) as (chosen, pos, off, row, addr, scale), asm.fregs(3) as (m0, m1, s):
        asm.imm(chosen, INT_CHOSEN)
        asm.imm(scale, vocab)
        with asm.loop(None, k, comment="chosen positions"):
            asm.emit("S_LD_INT", pos, chosen, 0)
            asm.addi(chosen, chosen, 1)
            asm.emit("S_MUL_INT", off, pos, scale)
            asm.addi(off, off, b * length * vocab)
            asm.imm(row, logits_v)
            asm.emit("H_PREFETCH_V", row, off, areg, 0, 0)
            for half, (target, peak) in enumerate(zip(INT_HALF, (m0, m1), strict=True)):
                asm.imm(addr, FP_WEIGHTS)
                with asm.regs(1) as (index,):
                    asm.imm(index, target)
                    asm.emit("V_TOPK", addr, row, index, 1, comment=f"first argmax of half {half}")
                asm.emit("S_LD_FP", peak, ZERO, FP_SLOTS["neg_inf"])
                for _ in range(TOPK_WINDOW // asm.hw.vlen):
                    asm.emit("V_RED_MAX", peak, row, 0)
                    asm.addi(row, row, asm.hw.vlen)
            _greater_as_float(asm, m0, m1, s, f_one)
            with asm.regs(2) as (u, e1):
                asm.imm(u, bit_v)
                asm.imm(e1, e1_v)
                asm.emit("V_MUL_VF", u, e1, s, 0)
                asm.imm(e1, half_v)
                asm.emit("V_ADD_VV", u, u, e1, 0, comment="[0.5, s, 0, ...]")
                asm.imm(addr, FP_WEIGHTS)
                asm.imm(e1, INT_BIT)
                asm.emit("V_TOPK", addr, u, e1, 0, comment="index 1 if s else 0: s as an integer")
            with asm.regs(3) as (i0, i1, bit):
                asm.emit("S_LD_INT", i0, ZERO, INT_HALF[0])
                asm.emit("S_LD_INT", i1, ZERO, INT_HALF[1])
                asm.emit("S_LD_INT", bit, ZERO, INT_BIT)
                asm.addi(i1, i1, TOPK_WINDOW)
                asm.emit("S_SUB_INT", i1, i1, i0)
                asm.emit("S_MUL_INT", i1, i1, bit)
                asm.emit("S_ADD_INT", i0, i0, i1, comment="argmax = i0 + s*(128 + i1 - i0)")
                asm.emit("S_ST_INT", i0, pos, b * length, comment="x[b, pos] = argmax")


def _greater_as_float(asm: Asm, m0: str, m1: str, s: str, f_one: str) -> None:
    """s = 1.0 if m1 > m0 else 0.0: 1 - exp(-max(m1 - m0, 0) * 2^32)."""
    with asm.fregs(1) as (scale,):
        asm.emit("S_ADD_FP", scale, f_one, f_one)
        for _ in range(SELECTOR_SCALE_DOUBLINGS):
            asm.emit("S_MUL_FP", scale, scale, scale)
        asm.emit("S_SUB_FP", s, m1, m0)
        asm.emit("S_MAX_FP", s, s, FZERO)
        asm.emit("S_MUL_FP", s, s, scale)
        asm.emit("S_SUB_FP", s, FZERO, s)
        asm.emit("S_EXP_FP", s, s)
        asm.emit("S_SUB_FP", s, f_one, s, comment="[m1 > m0]")


INT_PREDICTIONS = 512  # the argmax of every position of the current row (VLEN words)


def generate_extended(config_name: str, hw: PlenaConfig) -> str:
    p = task_params("get_transfer_index", config_name)
    batch, length, vocab, k = p["B"], p["L"], p["V"], p["k"]
    vlen = hw.vlen
    row_span = hw.prefetch_v_rows * vlen
    if length != vlen or vocab != row_span:
        raise NotImplementedError(
            f"get_transfer_index with the dllm extension needs L = VLEN and V = one H_PREFETCH_V "
            f"({row_span}); got L={length}, V={vocab}"
        )
    hbm = task_hbm("get_transfer_index", config_name)
    logits, mask = hbm["logits"], hbm["mask"]
    logits_v, exps_v = 0, row_span
    mask_v = 2 * row_span
    conf_v, chosen_v = mask_v + row_span, mask_v + row_span + vlen
    chunks = vocab // vlen

    asm = Asm(hw)
    asm.comment(f"get_transfer_index B={batch} L={length} V={vocab} k={k}: dllm extension set")
    a_logits, a_mask = asm.aalloc(), asm.aalloc()
    with asm.regs(1) as (tmp,):
        asm.imm(tmp, mask.base)
        asm.emit("C_SET_ADDR_REG", a_mask, ZERO, tmp, comment="mask")
        asm.imm(tmp, mask.numel)
        asm.emit("C_SET_SCALE_REG", tmp)
        asm.imm(tmp, mask_v)
        asm.emit("H_PREFETCH_V", tmp, ZERO, a_mask, 0, 0, comment="both mask rows")
        asm.imm(tmp, logits.base)
        asm.emit("C_SET_ADDR_REG", a_logits, ZERO, tmp, comment="logits")
        asm.imm(tmp, logits.numel)
        asm.emit("C_SET_SCALE_REG", tmp)
    with asm.regs(4) as (off, row, exps, conf_ptr), asm.regs(3) as (index, base, pred_ptr):
        with asm.fregs(2) as (peak, total):
            asm.imm(off, 0)  # element offset of row 0, position 0 in the logits
            for b in range(batch):
                asm.comment(f"row {b}: argmax (V_RED_MAX_IDX) and confidence of every position")
                asm.imm(conf_ptr, FP_CONF)
                asm.imm(pred_ptr, INT_PREDICTIONS)
                with asm.loop(None, length, comment="positions"):
                    asm.imm(row, logits_v)
                    asm.emit("H_PREFETCH_V", row, off, a_logits, 0, 0)
                    asm.addi(off, off, vocab)
                    asm.emit("S_LD_FP", peak, ZERO, FP_SLOTS["neg_inf"])
                    asm.emit("S_ADDI_INT", index, ZERO, 0)
                    asm.emit("S_ADDI_INT", base, ZERO, 0)
                    with asm.loop(None, chunks, comment="running argmax over the rows"):
                        asm.emit("V_RED_MAX_IDX", index, row, base, peak)
                        asm.addi(row, row, vlen)
                        asm.addi(base, base, vlen)
                    _store_confidence(asm, row, exps, conf_ptr, peak, total, logits_v, exps_v, chunks)
                    asm.emit("S_ST_INT", index, pred_ptr, 0, comment="prediction")
                    asm.addi(pred_ptr, pred_ptr, 1)
                asm.comment(f"row {b}: top {k} masked positions take their prediction")
                with asm.regs(4) as (conf, cand, chosen, count):
                    asm.imm(conf, conf_v)
                    asm.emit("S_MAP_V_FP", conf, ZERO, FP_CONF)
                    asm.imm(cand, mask_v + b * vlen)
                    asm.imm(chosen, chosen_v)
                    asm.imm(count, k)
                    asm.emit("V_TOPK_MASK", chosen, conf, cand, count)
                    asm.imm(conf, b * length)  # x's row b in INT SRAM
                    asm.imm(cand, INT_PREDICTIONS)
                    asm.emit("S_SELECT_INT", conf, conf, cand, chosen, comment="x = chosen ? prediction : x")
    return asm.text()


def generate(config_name: str, hw: PlenaConfig) -> str:
    """The dllm-extension lowering when the configuration includes the set, else the base ISA's."""
    if "dllm" in getattr(hw, "extensions", ()):
        return generate_extended(config_name, hw)
    return generate_base(config_name, hw)


GENERATORS: dict[str, Generator] = {"get_transfer_index": generate}
