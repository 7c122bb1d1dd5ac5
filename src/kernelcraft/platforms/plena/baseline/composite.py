"""Level-2 MLP and projected-attention baselines and the Level-3 decoder blocks, composed from
the shared blocks (loads, linear, norms, activations) and the per-head attention core.

Projected attention: Q = z Wq stays in VRAM (head h is column chunk h). K = e Wk and V = e Wv
are computed into VRAM and written to HBM scratch past the inputs, because MRAM is filled only
from HBM and the attention core reads K and V as MRAM tiles. One MXFP8 copy (3 mantissa bits,
what the public compiler's K/V cache does) fails the tolerance on heavy-tailed inputs, so by
default each is written as hi = mxfp8(K) plus lo = mxfp8(K - hi) and the core accumulates over
both parts (about BF16 accuracy, for twice the attention-core matrix work); exact_kv=False
gives the single copy. V gets zero rows up to a whole tile when there are fewer than 64 keys.
Each kv head's tiles are prefetched once and serve every query head of its group; head outputs
land in the column chunks of one [S, H] region, which then goes through Wo.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import PlenaConfig
from ..layout import OUTPUT_BASE, HbmLayout, TensorPlacement
from . import blocks
from .attention import (
    HeadPlan,
    HeadSource,
    hbm_scratch,
    load_head_tiles,
    scratch_end,
    sdpa_head,
    store_activation,
    store_zero_rows,
)
from .emit import Asm
from .level1 import Generator, task_hbm, task_params


class VramArena:
    """Bump allocator for VRAM regions (row aligned), checked against the VRAM size."""

    def __init__(self, hw: PlenaConfig, start: int):
        self.hw = hw
        self.top = start

    def take(self, elems: int, what: str) -> int:
        base = self.top
        self.top = base + -(-elems // self.hw.vlen) * self.hw.vlen
        if self.top > self.hw.vram_elems:
            raise NotImplementedError(f"VRAM is full: {what} needs {elems} elements past {base}")
        return base


def release_tensor(asm: Asm, placement: TensorPlacement) -> None:
    """Give a tensor's HBM address register back to the pool once it is no longer read
    (a T5 block reads 14 tensors and there are 8 address registers)."""
    areg = asm.tensor_areg.pop(placement.name, None)
    if areg is not None:
        asm.addr_tensor.pop(areg, None)
        asm.free(areg)


# ----------------------------------------------------------------------------- MLPs


@dataclass(frozen=True)
class MlpWeights:
    """act(z @ up) [* (z @ gate) for SwiGLU, where silu goes on the gate] @ down."""

    up: TensorPlacement
    down: TensorPlacement
    gate: TensorPlacement | None = None


def mlp(
    asm: Asm,
    arena: VramArena,
    z_vram: int,
    shape: tuple[int, int, int],
    weights: MlpWeights,
    kind: str,
    out_vram: int,
    *,
    accumulate: bool = False,
) -> None:
    """out (+)= MLP(z) for z [rows, hidden] and an [rows, inter] intermediate; kind: silu, relu, swiglu."""
    hw = asm.hw
    rows, hidden, inter = shape
    h_vram = arena.take(rows * inter, "MLP intermediate")
    scratch_row = arena.take(hw.vlen, "activation scratch row")
    n_rows = rows * inter // hw.vlen
    if kind == "swiglu":
        if weights.gate is None:
            raise ValueError("swiglu needs a gate weight")
        u_vram = arena.take(rows * inter, "MLP up projection")
        blocks.linear(asm, z_vram, rows, hidden, weights.gate, inter, h_vram)
        blocks.linear(asm, z_vram, rows, hidden, weights.up, inter, u_vram)
        blocks.elementwise(asm, "silu", h_vram, n_rows, scratch_vram=scratch_row)
        blocks.mul_rows(asm, h_vram, u_vram, h_vram, n_rows)
    else:
        blocks.linear(asm, z_vram, rows, hidden, weights.up, inter, h_vram)
        blocks.elementwise(asm, kind, h_vram, n_rows, scratch_vram=scratch_row)
    scratch = arena.take(rows * hidden, "MLP output scratch") if accumulate else None
    blocks.linear(
        asm, h_vram, rows, inter, weights.down, hidden, out_vram, accumulate=accumulate, scratch_vram=scratch
    )


def _mlp_task(task_id: str, kind: str, names: str) -> Generator:
    def generate(config_name: str, hw: PlenaConfig) -> str:
        p = task_params(task_id, config_name)
        rows, hidden, inter = p["N"], p["H"], p["I"]
        hbm = task_hbm(task_id, config_name)
        asm = Asm(hw)
        arena = VramArena(hw, OUTPUT_BASE + rows * hidden)
        x_vram = arena.take(rows * hidden, "x")
        asm.comment(f"{task_id} N={rows} H={hidden} I={inter}: projections with the linear block")
        blocks.load_activation(asm, hbm["x"], rows, hidden, x_vram)
        weights = MlpWeights(*(hbm[n] for n in names.split()))
        mlp(asm, arena, x_vram, (rows, hidden, inter), weights, kind, OUTPUT_BASE)
        return asm.text()

    return generate


# ----------------------------------------------------------------------------- attention


@dataclass(frozen=True)
class AttentionWeights:
    wq: TensorPlacement
    wk: TensorPlacement
    wv: TensorPlacement
    wo: TensorPlacement

    @classmethod
    def named(cls, hbm: HbmLayout, names: str) -> AttentionWeights:
        return cls(*(hbm[n] for n in names.split()))


@dataclass(frozen=True)
class AttentionShape:
    seq: int
    hidden: int
    heads: int
    kv_heads: int


def store_split(
    asm: Asm,
    src_vram: int,
    tmp_vram: int,
    rows: int,
    cols: int,
    hi: TensorPlacement,
    lo: TensorPlacement,
) -> None:
    """Write a VRAM activation to HBM as hi = mxfp8(x) and lo = mxfp8(x - hi), so that hi + lo is
    about as accurate as the BF16 value. hi is read back to form the exact residual on chip."""
    store_activation(asm, src_vram, rows, cols, hi)
    blocks.load_activation(asm, hi, rows, cols, tmp_vram)
    blocks.add_rows(asm, src_vram, tmp_vram, tmp_vram, rows * cols // asm.hw.vlen, op="sub")
    store_activation(asm, tmp_vram, rows, cols, lo)


def projected_attention(
    asm: Asm,
    arena: VramArena,
    shape: AttentionShape,
    weights: AttentionWeights,
    *,
    q_in: int,
    kv_in: int,
    hbm_free: int,
    out_vram: int,
    accumulate: bool = False,
    exact_kv: bool = True,
) -> None:
    """out (+)= concat_h softmax(Q_h K_g^T / sqrt(dh)) V_g @ Wo with Q = q_in Wq, K/V = kv_in Wk/Wv.

    hbm_free: first HBM byte past the inputs (scratch for K and V). exact_kv: K and V as an
    MXFP8 value plus its MXFP8 residual instead of one MXFP8 copy.
    """
    hw = asm.hw
    mlen, vlen = hw.mlen, hw.vlen
    seq, hidden = shape.seq, shape.hidden
    dh = hidden // shape.heads
    if dh % mlen:
        raise NotImplementedError(f"attention heads of {dh} columns are not whole {mlen}-column chunks")
    kv_width = shape.kv_heads * dh
    key_tiles = -(-seq // mlen)
    padded = key_tiles * mlen
    group = shape.heads // shape.kv_heads
    chunk = seq * vlen  # VRAM distance between column chunks of a [seq, *] activation
    dchunks = dh // mlen

    q_vram = arena.take(seq * hidden, "Q")
    kv_vram = arena.take(seq * kv_width, "K/V staging")
    residual_vram = arena.take(seq * kv_width, "K/V residual") if exact_kv else None
    att_vram = arena.take(seq * hidden, "head outputs")
    scores = arena.take(seq * key_tiles * vlen, "scores")
    parts: dict[str, list[TensorPlacement]] = {"K": [], "V": []}
    for name in ("K", "V"):
        for suffix in ("hi", "lo") if exact_kv else ("mx",):
            part = hbm_scratch(hbm_free, f"{name}_{suffix}", (padded, kv_width))
            parts[name].append(part)
            hbm_free = scratch_end(part)

    asm.comment("K and V to HBM scratch" + (" as MXFP8 value plus MXFP8 residual" if exact_kv else ""))
    for w, name in ((weights.wk, "K"), (weights.wv, "V")):
        blocks.linear(asm, kv_in, seq, hidden, w, kv_width, kv_vram)
        release_tensor(asm, w)
        if residual_vram is not None:
            store_split(asm, kv_vram, residual_vram, seq, kv_width, *parts[name])
        else:
            store_activation(asm, kv_vram, seq, kv_width, parts[name][0])
    if padded > seq:
        for part in parts["V"]:
            store_zero_rows(asm, kv_vram, seq, padded - seq, kv_width, part)
    blocks.linear(asm, q_in, seq, hidden, weights.wq, hidden, q_vram)
    release_tensor(asm, weights.wq)

    part_tiles = key_tiles * dchunks  # MRAM tiles of one part of one kv head
    n_parts = len(parts["K"])
    tiles = {
        "K": tuple(i * part_tiles for i in range(n_parts)),
        "V": tuple((n_parts + i) * part_tiles for i in range(n_parts)),
    }
    for g in range(shape.kv_heads):
        asm.comment(f"kv head {g}: tiles into MRAM, then query heads {g * group}..{(g + 1) * group - 1}")
        for name in ("K", "V"):
            for part, first in zip(parts[name], tiles[name], strict=True):
                load_head_tiles(asm, HeadSource(part, kv_width, g * dh), seq, dh, first)
        for h in range(g * group, (g + 1) * group):
            plan = HeadPlan(
                seq=seq,
                dims=dh,
                q_vram=q_vram + h * dchunks * chunk,
                q_stride=chunk,
                out_vram=att_vram + h * dchunks * chunk,
                out_stride=chunk,
                scores_vram=scores,
                k_tiles=tiles["K"],
                v_tiles=tiles["V"],
            )
            sdpa_head(asm, plan)
    for name in ("K", "V"):
        for part in parts[name]:
            release_tensor(asm, part)
    scratch = arena.take(seq * hidden, "projection scratch") if accumulate else None
    blocks.linear(
        asm, att_vram, seq, hidden, weights.wo, hidden, out_vram, accumulate=accumulate, scratch_vram=scratch
    )
    release_tensor(asm, weights.wo)


def attention_generator(task_id: str, *, exact_kv: bool = True) -> Generator:
    """Generator for mha / gqa / mqa; exact_kv as in projected_attention."""

    def generate(config_name: str, hw: PlenaConfig) -> str:
        p = task_params(task_id, config_name)
        shape = AttentionShape(p["S"], p["H"], p["nh"], p.get("nkv", p["nh"]))
        hbm = task_hbm(task_id, config_name)
        asm = Asm(hw)
        n = shape.seq * shape.hidden
        arena = VramArena(hw, OUTPUT_BASE + n)
        x_vram = arena.take(n, "x")
        asm.comment(f"{task_id} S={shape.seq} H={shape.hidden} nh={shape.heads} nkv={shape.kv_heads}")
        blocks.load_activation(asm, hbm["x"], shape.seq, shape.hidden, x_vram)
        weights = AttentionWeights.named(hbm, "Wq Wk Wv Wo")
        projected_attention(
            asm,
            arena,
            shape,
            weights,
            q_in=x_vram,
            kv_in=x_vram,
            hbm_free=hbm.total_bytes,
            out_vram=OUTPUT_BASE,
            exact_kv=exact_kv,
        )
        return asm.text()

    return generate


# ----------------------------------------------------------------------------- decoder blocks


def _decoder(task_id: str) -> Generator:
    """Pre-norm decoder block. The residual stream lives in the output region: x is loaded there
    and every sub-block adds its result in place (linear with accumulate)."""

    def generate(config_name: str, hw: PlenaConfig) -> str:
        p = task_params(task_id, config_name)
        seq, hidden, inter = p["S"], p["H"], p["I"]
        shape = AttentionShape(seq, hidden, p["nh"], p["nh"])
        hbm = task_hbm(task_id, config_name)
        asm = Asm(hw)
        n = seq * hidden
        arena = VramArena(hw, OUTPUT_BASE + n)
        normed = arena.take(n, "normalised stream")
        norm_scratch = arena.take(hw.vlen, "norm scratch row")
        asm.comment(f"{task_id} S={seq} H={hidden} nh={shape.heads} I={inter}")
        blocks.load_activation(asm, hbm["x"], seq, hidden, OUTPUT_BASE)
        sublayers: list[tuple[str, AttentionWeights | None, int | None]] = []
        sublayers.append(("h += SelfAttn(rmsnorm(h))", AttentionWeights.named(hbm, "Wq Wk Wv Wo"), normed))
        if task_id == "decoder_t5":
            enc_vram = arena.take(n, "enc")
            blocks.load_activation(asm, hbm["enc"], seq, hidden, enc_vram)
            sublayers.append(
                ("h += CrossAttn(rmsnorm(h), enc)", AttentionWeights.named(hbm, "Cq Ck Cv Co"), enc_vram)
            )
        sublayers.append(("h += MLP(rmsnorm(h))", None, None))
        mark = arena.top
        for what, weights, kv_in in sublayers:
            asm.comment(what)
            blocks.rmsnorm_rows(asm, OUTPUT_BASE, seq, hidden, out_vram=normed, scratch_vram=norm_scratch)
            if weights is not None:
                projected_attention(
                    asm,
                    arena,
                    shape,
                    weights,
                    q_in=normed,
                    kv_in=kv_in,
                    hbm_free=hbm.total_bytes,
                    out_vram=OUTPUT_BASE,
                    accumulate=True,
                )
            elif task_id == "decoder_llama":
                weights_mlp = MlpWeights(hbm["Wu"], hbm["Wd"], hbm["Wg"])
                mlp(
                    asm,
                    arena,
                    normed,
                    (seq, hidden, inter),
                    weights_mlp,
                    "swiglu",
                    OUTPUT_BASE,
                    accumulate=True,
                )
            else:
                weights_mlp = MlpWeights(hbm["W1"], hbm["W2"])
                mlp(
                    asm,
                    arena,
                    normed,
                    (seq, hidden, inter),
                    weights_mlp,
                    "relu",
                    OUTPUT_BASE,
                    accumulate=True,
                )
            arena.top = mark  # the next sub-block reuses the scratch regions
        return asm.text()

    return generate


GENERATORS: dict[str, Generator] = {
    "ffn": _mlp_task("ffn", "silu", "W1 W2"),
    "swiglu": _mlp_task("swiglu", "swiglu", "Wu Wd Wg"),
    "mha": attention_generator("mha"),
    "gqa": attention_generator("gqa"),
    "mqa": attention_generator("mqa"),
    "decoder_llama": _decoder("decoder_llama"),
    "decoder_t5": _decoder("decoder_t5"),
}
