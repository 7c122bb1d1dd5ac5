"""Reusable lowering blocks of the PLENA template compiler.

Layout conventions (MLEN = VLEN = 64, BLEN = 4 by default; every size below follows `asm.hw`):

- Column-block layout. An [R, C] activation in VRAM at `base` is stored as C/VLEN chunks of
  R rows each: element (i, j) at base + (j // VLEN)*R*VLEN + i*VLEN + j % VLEN. This is the
  output layout of the I/O contract and the layout every block here reads and writes, because
  M_MM reads BLEN consecutive VRAM rows of one K chunk and M_MM_WO writes BLEN rows of one
  column chunk.
- A [1, C] vector is the same layout with R = 1: its C/VLEN chunks are consecutive rows.
- Weights W [K, N] stay in HBM row-major; tile (kk, j) = W[kk*MLEN:, j*MLEN:] (MLEN x MLEN)
  starts at element offset kk*MLEN*N + j*MLEN with STRIDE_REG = N (the row length).
- MRAM: a block that streams weights uses tiles from `mram_base_tile` upwards; it documents
  how many.
- Register use: every block takes its registers from the `Asm` pool and returns them, so
  callers may hold registers across calls. FP registers: f0 is 0.0; blocks load the FP SRAM
  constants they need into pool registers.
- FP SRAM slots are layout.FP_SLOTS (preloaded in every task).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

from ..layout import FP_SLOTS, TensorPlacement
from .emit import FZERO, IMM_LIMIT, ZERO, Asm

ACTIVATIONS = ("silu", "relu", "gelu")


# ----------------------------------------------------------------------------- HBM set-up


def set_tensor_base(asm: Asm, areg: str | None, placement: TensorPlacement) -> str:
    """Point an HBM address register at a tensor (once) and return the register.

    areg None gives the tensor its own address register from the pool (kept for the rest of
    the program), so later calls for the same tensor emit nothing.
    """
    if areg is None:
        areg = asm.tensor_areg.get(placement.name) or asm.aalloc()
    asm.tensor_areg[placement.name] = areg
    if asm.addr_tensor.get(areg) == placement.name:
        return areg
    with asm.regs(1) as (tmp,):
        asm.imm(tmp, placement.base)
        asm.emit("C_SET_ADDR_REG", areg, ZERO, tmp, comment=f"{areg} -> {placement.name}")
    asm.addr_tensor[areg] = placement.name
    return areg


def set_scale(asm: Asm, placement: TensorPlacement) -> None:
    """SCALE_REG = the tensor's element count (its scales follow its elements)."""
    if asm.scale_value == placement.numel:
        return
    with asm.regs(1) as (tmp,):
        asm.imm(tmp, placement.numel)
        asm.emit("C_SET_SCALE_REG", tmp, comment=f"scales of {placement.name}")
    asm.scale_value = placement.numel


def set_stride(asm: Asm, elements: int) -> None:
    """STRIDE_REG = HBM distance between consecutive rows of a strided transfer, in elements."""
    if asm.stride_value == elements:
        return
    with asm.regs(1) as (tmp,):
        asm.imm(tmp, elements)
        asm.emit("C_SET_STRIDE_REG", tmp)
    asm.stride_value = elements


def bind_tensor(asm: Asm, placement: TensorPlacement, stride: int | None = None) -> str:
    """Address register, SCALE_REG (and STRIDE_REG when given) ready for a transfer of a tensor."""
    areg = set_tensor_base(asm, None, placement)
    set_scale(asm, placement)
    if stride is not None:
        set_stride(asm, stride)
    return areg


def load_fp_const(asm: Asm, freg: str, slot_name: str) -> None:
    asm.emit("S_LD_FP", freg, ZERO, FP_SLOTS[slot_name], comment=slot_name)


# ----------------------------------------------------------------------------- loads


def load_activation(
    asm: Asm,
    placement: TensorPlacement,
    rows: int,
    cols: int,
    vram_base: int,
    *,
    hbm_offset: int = 0,
    row_stride: int | None = None,
) -> None:
    """HBM [rows, cols] (row-major, rows `row_stride` elements apart) -> VRAM column-block layout.

    One H_PREFETCH_V moves prefetch_v_rows (4) rows of one VLEN chunk; the transfers run as
    a hardware loop over row groups nested in a loop over chunks. hbm_offset selects a
    sub-matrix (a batch, or a column slice with row_stride = the full row length).

    rows == 1 (a vector): the C/VLEN chunks are consecutive in HBM and in VRAM, so each
    transfer moves 4 chunks; when C/VLEN is not a multiple of 4 the last transfer reads past
    the vector in HBM and writes up to 3 rows past its end in VRAM (leave them unused).
    """
    hw = asm.hw
    vlen, group = hw.vlen, hw.prefetch_v_rows
    row_stride = cols if row_stride is None else row_stride
    if cols % vlen:
        raise ValueError(f"load_activation: {cols} columns is not a multiple of VLEN={vlen}")
    chunks = cols // vlen
    if rows == 1:
        areg = bind_tensor(asm, placement)
        with asm.regs(2) as (dst, off):
            asm.imm(dst, vram_base)
            asm.imm(off, hbm_offset)
            with asm.loop(None, -(-chunks // group), comment=f"load vector {placement.name}"):
                asm.emit("H_PREFETCH_V", dst, off, areg, 0, 0)
                asm.addi(dst, dst, group * vlen)
                asm.addi(off, off, group * vlen)
        return
    if rows % group:
        raise ValueError(f"load_activation: {rows} rows is not a multiple of the {group}-row transfer")
    areg = bind_tensor(asm, placement, row_stride)
    with asm.regs(3) as (dst, off, chunk_off):
        asm.imm(dst, vram_base)
        asm.imm(chunk_off, hbm_offset)
        with asm.loop(None, chunks, comment=f"load {placement.name}: chunks"):
            asm.move(off, chunk_off)
            with asm.loop(None, rows // group):
                asm.emit("H_PREFETCH_V", dst, off, areg, 1, 0)
                asm.addi(dst, dst, group * vlen)  # chunk j+1 starts where chunk j's rows end
                asm.addi(off, off, group * row_stride)
            asm.addi(chunk_off, chunk_off, vlen)


# ----------------------------------------------------------------------------- matrix


def linear(
    asm: Asm,
    x_vram: int,
    rows: int,
    k: int,
    w_placement: TensorPlacement,
    n: int,
    out_vram: int,
    *,
    mram_base_tile: int = 0,
    accumulate: bool = False,
    w_offset: int = 0,
    w_stride: int | None = None,
    scratch_vram: int | None = None,
) -> None:
    """Y[rows, n] = X[rows, k] @ W[k, n]; X and Y in column-block layout in VRAM.

    W is read from HBM at element offset w_offset with rows w_stride elements apart (default n;
    pass the full row length to use a column slice, or w_offset = b*k*n for batch b). For each
    MLEN-wide output column block the k/MLEN weight tiles of that block are prefetched into
    MRAM tiles mram_base_tile.. (so at most k/MLEN tiles are in use), then every BLEN x BLEN
    output block accumulates over the K tiles with M_MM and is written with M_MM_WO. When the
    K tiles do not fit the free MRAM, K is split and the parts are summed (needs scratch).

    accumulate=True adds the product into the existing out region instead of overwriting it;
    the product then goes through scratch_vram (rows*n elements) first.
    """
    hw = asm.hw
    mlen, blen = hw.mlen, hw.blen
    if rows % blen or k % mlen or n % mlen:
        raise ValueError(f"linear: rows {rows} must be a multiple of {blen}, k {k} and n {n} of {mlen}")
    w_stride = n if w_stride is None else w_stride
    k_tiles = k // mlen
    room = hw.mram_tiles - mram_base_tile
    if room < 1:
        raise ValueError(f"linear: no MRAM tile free from tile {mram_base_tile}")
    if k_tiles > room:
        for start in range(0, k_tiles, room):
            part = min(room, k_tiles - start)
            linear(
                asm,
                x_vram + start * rows * mlen,
                rows,
                part * mlen,
                w_placement,
                n,
                out_vram,
                mram_base_tile=mram_base_tile,
                accumulate=accumulate or start > 0,
                w_offset=w_offset + start * mlen * w_stride,
                w_stride=w_stride,
                scratch_vram=scratch_vram,
            )
        return
    if accumulate:
        if scratch_vram is None:
            raise ValueError("linear: accumulate=True needs scratch_vram (rows*n elements)")
        _linear_tiles(asm, x_vram, rows, k, w_placement, n, scratch_vram, mram_base_tile, w_offset, w_stride)
        add_rows(asm, out_vram, scratch_vram, out_vram, rows * n // hw.vlen)
        return
    _linear_tiles(asm, x_vram, rows, k, w_placement, n, out_vram, mram_base_tile, w_offset, w_stride)


def _linear_tiles(asm, x_vram, rows, k, w_placement, n, out_vram, mram_base_tile, w_offset, w_stride):
    hw = asm.hw
    mlen, vlen = hw.mlen, hw.vlen
    k_tiles = k // mlen
    chunk = rows * vlen  # VRAM distance between K chunks of X
    areg = bind_tensor(asm, w_placement, w_stride)
    with ExitStack() as stack:
        col_off, out = stack.enter_context(asm.regs(2))
        asm.imm(col_off, w_offset)
        asm.imm(out, out_vram)
        with asm.loop(None, n // mlen, comment=f"linear {w_placement.name}: output column blocks"):
            _prefetch_tiles(asm, areg, col_off, k_tiles, mram_base_tile, mlen * w_stride)
            asm.addi(col_off, col_off, mlen)
            # Register mode keeps one X and one W pointer per K tile (no per-M_MM copies);
            # loop mode walks single pointers through a K loop when K has many tiles.
            if 2 * k_tiles + 3 <= asm.free_gp_count and k_tiles <= 4:
                _mm_register_mode(asm, x_vram, rows, k_tiles, mram_base_tile, out, chunk)
            else:
                _mm_loop_mode(asm, x_vram, rows, k_tiles, mram_base_tile, out, chunk)


def _prefetch_tiles(asm: Asm, areg: str, hbm_off: str, count: int, first_tile: int, step: int) -> None:
    """count weight tiles from HBM offset G[hbm_off] (tiles `step` elements apart) into MRAM."""
    tile = asm.hw.tile_elems
    with asm.regs(2) as (dst, off):
        asm.move(off, hbm_off)
        asm.imm(dst, first_tile * tile)
        with asm.loop(None, count):
            asm.emit("H_PREFETCH_M", dst, off, areg, 1, 0)
            asm.addi(dst, dst, tile)
            _bump(asm, off, step)


def _bump(asm: Asm, reg: str, step: int) -> None:
    if step < IMM_LIMIT:
        asm.addi(reg, reg, step)
    else:
        with asm.regs(1) as (tmp,):
            asm.imm(tmp, step)
            asm.emit("S_ADD_INT", reg, reg, tmp)


def _mm_register_mode(asm, x_vram, rows, k_tiles, mram_base_tile, out, chunk):
    hw = asm.hw
    tile, vlen, blen = hw.tile_elems, hw.vlen, hw.blen
    xs = [asm.alloc() for _ in range(k_tiles)]
    ws = [asm.alloc() for _ in range(k_tiles)]
    for kk, x in enumerate(xs):
        asm.imm(x, x_vram + kk * chunk)
    with asm.loop(None, rows // blen, comment="row blocks"):
        for kk, w in enumerate(ws):
            asm.imm(w, (mram_base_tile + kk) * tile)
        with asm.loop(None, hw.mlen // blen, comment="column blocks of the tile"):
            for x, w in zip(xs, ws, strict=True):
                asm.emit("M_MM", 0, w, x)
            for w in ws:
                asm.addi(w, w, blen * hw.mlen)
            asm.emit("M_MM_WO", out, ZERO, 0)
            asm.addi(out, out, blen)
        for x in xs:
            asm.addi(x, x, blen * vlen)
        asm.addi(out, out, blen * vlen - hw.mlen)  # next row block (the column walk moved one row)
    asm.free(*xs, *ws)


def _mm_loop_mode(asm, x_vram, rows, k_tiles, mram_base_tile, out, chunk):
    hw = asm.hw
    tile, vlen, blen = hw.tile_elems, hw.vlen, hw.blen
    with asm.regs(4) as (x_row, w_col, x, w):
        asm.imm(x_row, x_vram)
        with asm.loop(None, rows // blen, comment="row blocks"):
            asm.imm(w_col, mram_base_tile * tile)
            with asm.loop(None, hw.mlen // blen, comment="column blocks of the tile"):
                asm.move(w, w_col)
                asm.move(x, x_row)
                with asm.loop(None, k_tiles, comment="K tiles"):
                    asm.emit("M_MM", 0, w, x)
                    asm.addi(w, w, tile)
                    _bump(asm, x, chunk)
                asm.emit("M_MM_WO", out, ZERO, 0)
                asm.addi(out, out, blen)
                asm.addi(w_col, w_col, blen * hw.mlen)
            asm.addi(x_row, x_row, blen * vlen)
            asm.addi(out, out, blen * vlen - hw.mlen)


def gemv(
    asm: Asm,
    a_placement: TensorPlacement,
    m: int,
    n: int,
    x_vram: int,
    out_vram: int,
    *,
    mram_base_tile: int = 0,
) -> None:
    """y[1, m] = (A[m, n] @ x)^T with A in HBM (row-major) and x a [1, n] vector in VRAM.

    Why M_TMV: A's rows are the output index, so an MRAM tile of A holds 64 outputs x 64
    inputs and M_TMV (x @ T[c:c+4, :]^T) produces 4 outputs per instruction straight from the
    row-major tiles, with no transpose. With a single vector the matrix unit can only fill 4
    of its 16 accumulator lanes whichever instruction is used (M_MM on a replicated x would
    cost the same 64 cycles per 4 outputs), and streaming A through MRAM moves 64 rows per
    transfer instead of 4 through VRAM, which is what dominates. Per 64-row block of A its
    n/64 tiles are prefetched (MRAM tiles mram_base_tile..), then each group of 4 outputs
    accumulates over the tiles and is written with M_MV_WO: y is contiguous (R = 1 layout).
    """
    hw = asm.hw
    mlen, blen, tile = hw.mlen, hw.blen, hw.tile_elems
    if m % mlen or n % mlen:
        raise ValueError(f"gemv: m {m} and n {n} must be multiples of {mlen}")
    k_tiles = n // mlen
    if k_tiles > hw.mram_tiles - mram_base_tile:
        raise ValueError(f"gemv: {k_tiles} tiles per row block do not fit MRAM from tile {mram_base_tile}")
    areg = bind_tensor(asm, a_placement, n)
    with asm.regs(5) as (row_off, out, w_grp, w, x):
        asm.imm(row_off, 0)
        asm.imm(out, out_vram)
        with asm.loop(None, m // mlen, comment=f"gemv {a_placement.name}: 64-row blocks"):
            _prefetch_tiles(asm, areg, row_off, k_tiles, mram_base_tile, mlen)
            _bump(asm, row_off, mlen * n)
            asm.imm(w_grp, mram_base_tile * tile)
            with asm.loop(None, mlen // blen, comment="groups of 4 outputs"):
                asm.move(w, w_grp)
                asm.imm(x, x_vram)
                with asm.loop(None, k_tiles, comment="input tiles"):
                    asm.emit("M_TMV", 0, w, x)
                    asm.addi(w, w, tile)
                    asm.addi(x, x, hw.vlen)
                asm.emit("M_MV_WO", out, 0)
                asm.addi(out, out, blen)
                asm.addi(w_grp, w_grp, blen)  # M_TMV selects tile rows c..c+3 by element offset c


# ----------------------------------------------------------------------------- vector


def add_rows(asm: Asm, a_vram: int, b_vram: int, out_vram: int, n_rows: int, *, op: str = "add") -> None:
    """out = a + b (op "add"), a - b ("sub") or a * b ("mul") over n_rows consecutive VRAM rows.

    Any of the regions may coincide (in place). A region in column-block layout is n_rows =
    R*C/VLEN consecutive rows, so whole activations combine with one call.
    """
    opcode = {"add": "V_ADD_VV", "sub": "V_SUB_VV", "mul": "V_MUL_VV"}[op]
    vlen = asm.hw.vlen
    with asm.regs(3) as (a, b, o):
        ptrs = _distinct_pointers(asm, {"a": a_vram, "b": b_vram, "o": out_vram}, (a, b, o))
        with asm.loop(None, n_rows, comment=f"{op} rows"):
            asm.emit(opcode, ptrs["o"], ptrs["a"], ptrs["b"], 0)
            for reg in set(ptrs.values()):
                asm.addi(reg, reg, vlen)


def mul_rows(asm: Asm, a_vram: int, b_vram: int, out_vram: int, n_rows: int) -> None:
    add_rows(asm, a_vram, b_vram, out_vram, n_rows, op="mul")


def _distinct_pointers(asm: Asm, addrs: dict[str, int], regs: tuple[str, ...]) -> dict[str, str]:
    """One register per distinct address (in-place operands share a pointer)."""
    by_addr: dict[int, str] = {}
    out = {}
    free = list(regs)
    for key, addr in addrs.items():
        if addr not in by_addr:
            by_addr[addr] = free.pop(0)
            asm.imm(by_addr[addr], addr)
        out[key] = by_addr[addr]
    return out


def add_row_broadcast(asm: Asm, region_vram: int, rows: int, cols: int, vec_vram: int) -> None:
    """region[i, :] += vec for every row of an [rows, cols] column-block region (vec is [1, cols])."""
    vlen = asm.hw.vlen
    with asm.regs(2) as (dst, vec):
        asm.imm(dst, region_vram)
        asm.imm(vec, vec_vram)
        with asm.loop(None, cols // vlen, comment="bias: chunks"):
            with asm.loop(None, rows, comment="rows"):
                asm.emit("V_ADD_VV", dst, dst, vec, 0)
                asm.addi(dst, dst, vlen)  # the chunks follow each other, so dst runs straight on
            asm.addi(vec, vec, vlen)


def elementwise(
    asm: Asm,
    kind: str,
    vram_base: int,
    n_rows: int,
    *,
    out_vram: int | None = None,
    scratch_vram: int | None = None,
) -> None:
    """silu / relu / gelu over n_rows consecutive VRAM rows, in place or into out_vram.

    silu(x) = x / (1 + exp(-x)); gelu uses the tanh form x * sigmoid(c1*x + c3*x^3) with the
    FP SRAM constants gelu_c1, gelu_c3 (within 1e-3 of the exact erf form). In place, silu and
    gelu need one scratch row (default: the row just after the region); writing to a separate
    out region uses that region as scratch.
    """
    if kind not in ACTIVATIONS:
        raise ValueError(f"elementwise: unknown activation {kind!r}; choose one of {', '.join(ACTIVATIONS)}")
    vlen = asm.hw.vlen
    with ExitStack() as stack:
        src, dst = stack.enter_context(asm.regs(2))
        asm.imm(src, vram_base)
        if out_vram is None or out_vram == vram_base:
            dst = src
        else:
            asm.imm(dst, out_vram)
        if kind == "relu":
            with asm.loop(None, n_rows, comment="relu rows"):
                asm.emit("V_MAX_VF", dst, src, FZERO, 0)
                _advance(asm, src, dst, vlen)
            return
        if dst != src:
            tmp = dst
        else:
            (tmp,) = stack.enter_context(asm.regs(1))
            asm.imm(tmp, vram_base + n_rows * vlen if scratch_vram is None else scratch_vram)
        (one,) = stack.enter_context(asm.fregs(1))
        load_fp_const(asm, one, "one")
        if kind == "gelu":
            neg_c1, neg_c3 = stack.enter_context(asm.fregs(2))
            load_fp_const(asm, neg_c1, "gelu_c1")
            load_fp_const(asm, neg_c3, "gelu_c3")
            asm.emit("S_SUB_FP", neg_c1, FZERO, neg_c1)
            asm.emit("S_SUB_FP", neg_c3, FZERO, neg_c3)
        with asm.loop(None, n_rows, comment=f"{kind} rows"):
            if kind == "silu":
                asm.emit("V_SUB_VF", tmp, src, FZERO, 0, 1, comment="-x")
            else:
                asm.emit("V_MUL_VV", tmp, src, src, 0, comment="x^2")
                asm.emit("V_MUL_VF", tmp, tmp, neg_c3, 0)
                asm.emit("V_ADD_VF", tmp, tmp, neg_c1, 0)
                asm.emit("V_MUL_VV", tmp, tmp, src, 0, comment="-(c1 x + c3 x^3)")
            asm.emit("V_EXP_V", tmp, tmp, 0)
            asm.emit("V_ADD_VF", tmp, tmp, one, 0)
            asm.emit("V_RECI_V", tmp, tmp, 0, comment="sigmoid")
            asm.emit("V_MUL_VV", dst, tmp, src, 0)
            _advance(asm, src, dst, vlen)


def _advance(asm: Asm, a: str, b: str, step: int) -> None:
    asm.addi(a, a, step)
    if b != a:
        asm.addi(b, b, step)


class RowChunks:
    """Registers addressing the column-block chunks of the current row of an [R, C] region.

    With few chunks each has its own register (one bump per row); with many, one pointer
    walks the chunks of a row and is reset from the row pointer at every pass.
    """

    def __init__(self, asm: Asm, base: int, rows: int, cols: int, max_regs: int = 4):
        vlen = asm.hw.vlen
        self.asm, self.n, self.step, self.vlen = asm, cols // vlen, rows * vlen, vlen
        if cols % vlen:
            raise ValueError(f"{cols} columns is not a multiple of VLEN={vlen}")
        if self.step >= IMM_LIMIT:
            raise ValueError(f"{rows} rows is too many for immediate chunk steps")
        self.per_chunk = self.n <= max_regs and asm.free_gp_count >= self.n + 4
        if self.per_chunk:
            self.regs = [asm.alloc() for _ in range(self.n)]
            for j, reg in enumerate(self.regs):
                asm.imm(reg, base + j * self.step)
        else:
            self.row, self.walk = asm.alloc(), asm.alloc()
            asm.imm(self.row, base)

    def each(self) -> Iterator[str]:
        """Yield a register per chunk, in order (emitting pointer moves as needed)."""
        if self.per_chunk:
            yield from self.regs
            return
        self.asm.move(self.walk, self.row)
        for j in range(self.n):
            yield self.walk
            if j < self.n - 1:
                self.asm.addi(self.walk, self.walk, self.step)

    def next_row(self) -> None:
        for reg in self.regs if self.per_chunk else [self.row]:
            self.asm.addi(reg, reg, self.vlen)

    def release(self) -> None:
        self.asm.free(*(self.regs if self.per_chunk else [self.row, self.walk]))


def _row_regions(asm: Asm, vram_base: int, out_vram: int | None, rows: int, cols: int):
    src = RowChunks(asm, vram_base, rows, cols)
    dst = src if out_vram is None or out_vram == vram_base else RowChunks(asm, out_vram, rows, cols)
    return src, dst


def _pairs(src: RowChunks, dst: RowChunks) -> Iterator[tuple[str, str]]:
    if dst is src:
        for reg in src.each():
            yield reg, reg
    else:
        yield from zip(src.each(), dst.each(), strict=True)


def _finish(src: RowChunks, dst: RowChunks) -> None:
    src.next_row()
    if dst is not src:
        dst.next_row()


def _release(src: RowChunks, dst: RowChunks) -> None:
    src.release()
    if dst is not src:
        dst.release()


def rmsnorm_rows(
    asm: Asm,
    vram_base: int,
    rows: int,
    hidden: int,
    out_vram: int | None = None,
    *,
    scratch_vram: int | None = None,
) -> None:
    """x / sqrt(mean(x^2) + eps) for each row of an [rows, hidden] column-block region.

    Uses FP SRAM slots eps and inv_hidden (= 1/hidden). The squares go to one scratch row
    (default: the row after the input region). out_vram None normalises in place.
    """
    scratch = vram_base + rows * hidden if scratch_vram is None else scratch_vram
    with asm.regs(1) as (tmp,), asm.fregs(3) as (acc, inv_h, eps):
        asm.imm(tmp, scratch)
        load_fp_const(asm, inv_h, "inv_hidden")
        load_fp_const(asm, eps, "eps")
        src, dst = _row_regions(asm, vram_base, out_vram, rows, hidden)
        with asm.loop(None, rows, comment="rmsnorm rows"):
            asm.emit("S_ADD_FP", acc, FZERO, FZERO)
            for reg in src.each():
                asm.emit("V_MUL_VV", tmp, reg, reg, 0)
                asm.emit("V_RED_SUM", acc, tmp, 0)
            asm.emit("S_MUL_FP", acc, acc, inv_h)
            asm.emit("S_ADD_FP", acc, acc, eps)
            asm.emit("S_SQRT_FP", acc, acc)
            asm.emit("S_RECI_FP", acc, acc)
            for s, d in _pairs(src, dst):
                asm.emit("V_MUL_VF", d, s, acc, 0)
            _finish(src, dst)
        _release(src, dst)


def layernorm_rows(
    asm: Asm,
    vram_base: int,
    rows: int,
    hidden: int,
    out_vram: int | None = None,
    *,
    scratch_vram: int | None = None,
) -> None:
    """(x - mean) / sqrt(var + eps) per row (no affine), var = mean((x - mean)^2).

    The centred form keeps the variance accurate in BF16 (E[x^2] - mean^2 cancels badly
    when the mean is large). Slots eps and inv_hidden; one scratch row as in rmsnorm_rows.
    """
    scratch = vram_base + rows * hidden if scratch_vram is None else scratch_vram
    with asm.regs(1) as (tmp,), asm.fregs(4) as (mean, var, inv_h, eps):
        asm.imm(tmp, scratch)
        load_fp_const(asm, inv_h, "inv_hidden")
        load_fp_const(asm, eps, "eps")
        src, dst = _row_regions(asm, vram_base, out_vram, rows, hidden)
        with asm.loop(None, rows, comment="layernorm rows"):
            asm.emit("S_ADD_FP", mean, FZERO, FZERO)
            for reg in src.each():
                asm.emit("V_RED_SUM", mean, reg, 0)
            asm.emit("S_MUL_FP", mean, mean, inv_h)
            asm.emit("S_ADD_FP", var, FZERO, FZERO)
            for s, d in _pairs(src, dst):
                asm.emit("V_SUB_VF", d, s, mean, 0)
                asm.emit("V_MUL_VV", tmp, d, d, 0)
                asm.emit("V_RED_SUM", var, tmp, 0)
            asm.emit("S_MUL_FP", var, var, inv_h)
            asm.emit("S_ADD_FP", var, var, eps)
            asm.emit("S_SQRT_FP", var, var)
            asm.emit("S_RECI_FP", var, var)
            for reg in dst.each():
                asm.emit("V_MUL_VF", reg, reg, var, 0)
            _finish(src, dst)
        _release(src, dst)


def softmax_rows(
    asm: Asm,
    vram_base: int,
    rows: int,
    cols: int,
    scale_slot: str | int | None = None,
    *,
    out_vram: int | None = None,
) -> None:
    """Row-wise softmax of an [rows, cols] column-block region, in place or into out_vram.

    scale_slot (an FP_SLOTS name or slot number, e.g. "inv_sqrt_dhead") multiplies the row
    first, as attention scores need. The row max is subtracted before exp.
    """
    with asm.fregs(3) as (mx, total, scale):
        if scale_slot is not None:
            slot = FP_SLOTS[scale_slot] if isinstance(scale_slot, str) else scale_slot
            asm.emit("S_LD_FP", scale, ZERO, slot, comment="score scale")
        src, dst = _row_regions(asm, vram_base, out_vram, rows, cols)
        with asm.loop(None, rows, comment="softmax rows"):
            load_fp_const(asm, mx, "neg_inf")
            for s, d in _pairs(src, dst):
                if scale_slot is not None:
                    asm.emit("V_MUL_VF", d, s, scale, 0)
                    asm.emit("V_RED_MAX", mx, d, 0)
                else:
                    asm.emit("V_RED_MAX", mx, s, 0)
            asm.emit("S_ADD_FP", total, FZERO, FZERO)
            for s, d in _pairs(src, dst):
                asm.emit("V_SUB_VF", d, d if scale_slot is not None else s, mx, 0)
                asm.emit("V_EXP_V", d, d, 0)
                asm.emit("V_RED_SUM", total, d, 0)
            asm.emit("S_RECI_FP", total, total)
            for reg in dst.each():
                asm.emit("V_MUL_VF", reg, reg, total, 0)
            _finish(src, dst)
        _release(src, dst)
