"""Matrix instructions, their write-outs and the HBM DMA instructions against NumPy / mx.py."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.plena.config import DEFAULT_CONFIG as CFG
from kernelcraft.platforms.plena.config import EMULATOR_CONFIG, PlenaConfig
from kernelcraft.platforms.plena.layout import build_hbm_image, plan_hbm
from kernelcraft.platforms.plena.machine import MemoryImage
from kernelcraft.platforms.plena.mx import mx_roundtrip, quantize_blocks

from .plena_helpers import bf16, const, execute

M, B, H, V = CFG.mlen, CFG.blen, CFG.hlen, CFG.vlen
LANES = M // H
RNG = np.random.default_rng(11)
TILE = M * M


def _weights(rows: int, cols: int, seed: int = 0):
    """A weight matrix in HBM (MXFP8) and the values the hardware sees after dequantising."""
    w = np.random.default_rng(seed).normal(size=(rows, cols)).astype(np.float32)
    layout = plan_hbm([("w", (rows, cols))])
    return layout["w"], build_hbm_image(layout, {"w": w}), mx_roundtrip(w)


def _load_tiles(placement, cols: int, tiles: list[tuple[int, int, int]]) -> str:
    """Prefetch W tiles (k, j) into MRAM tile slots: offset k*MLEN*N + j*MLEN, STRIDE_REG = N."""
    src = const("gp1", placement.base) + "C_SET_ADDR_REG a0, gp0, gp1\n"
    src += (
        const("gp1", placement.numel)
        + "C_SET_SCALE_REG gp1\n"
        + const("gp1", cols)
        + "C_SET_STRIDE_REG gp1\n"
    )
    for slot, k, j in tiles:
        src += (
            const("gp2", slot * TILE)
            + const("gp3", k * M * cols + j * M)
            + "H_PREFETCH_M gp2, gp3, a0, 1, 0\n"
        )
    return src


def test_prefetch_m_strided_tiles_match_mx_roundtrip():
    place, hbm, wq = _weights(2 * M, 3 * M)
    ex = execute(_load_tiles(place, 3 * M, [(0, 1, 2), (5, 0, 1)]), MemoryImage(hbm=hbm))
    mram = ex.machine.mram.astype(np.float64)
    np.testing.assert_array_equal(mram[:TILE].reshape(M, M), wq[M:, 2 * M :])
    np.testing.assert_array_equal(mram[5 * TILE : 6 * TILE].reshape(M, M), wq[:M, M : 2 * M])


def _mm_setup(cols_slot0: int = 0):
    place, hbm, wq = _weights(M, M, seed=3)
    x = bf16(RNG.normal(size=(2 * B, V)))
    image = MemoryImage(hbm=hbm, vram={4096: x.reshape(-1)})
    return place, image, wq, x.astype(np.float64)


def test_mm_accumulates_and_writes_with_row_stride():
    place, image, wq, x = _mm_setup()
    j = 3  # column block: tile_base + j*BLEN*MLEN
    src = _load_tiles(place, M, [(0, 0, 0)])
    src += const("gp4", j * B * M) + "S_ADDI_INT gp5, gp0, 4096\n" + const("gp6", 4096 + B * V)
    src += "M_MM 0, gp4, gp5\nM_MM 0, gp4, gp6\n"  # two K slices accumulate
    src += "S_ADDI_INT gp7, gp0, 2\nS_ADDI_INT gp8, gp0, 64\nM_MM_WO gp8, gp7, 8\n"  # o = 8, stride 2 rows
    src += "M_MM_WO gp0, gp0, 0\n"  # accumulator was cleared: writes zeros
    ex = execute(src, image)
    acc = (x[:B] @ wq[:, j * B : j * B + B]).astype(np.float32) + (x[B:] @ wq[:, j * B : j * B + B]).astype(
        np.float32
    )
    vram = ex.machine.vram.astype(np.float32)
    for i in range(B):
        row = 64 + i * 2 * V
        np.testing.assert_array_equal(vram[row + 8 : row + 8 + B], bf16(acc[i]))
        assert np.all(vram[row : row + 8] == 0) and np.all(vram[row + 8 + B : row + V] == 0)
    assert np.all(vram[64 + V : 64 + 2 * V] == 0)  # skipped row untouched
    np.testing.assert_array_equal(vram[[i * V + c for i in range(B) for c in range(B)]], 0)
    assert ex.stats.opcode_counts["M_MM"] == 2 and ex.stats.macs == 2 * B * M * B
    # Consistent profile: each M_MM streams BLEN rows through the BLEN x MLEN array; each
    # write-out pays the array's fill/drain (9 + BLEN) and writes BLEN rows.
    assert ex.stats.unit_busy_cycles["matrix"] == 2 * B + 2 * (9 + B + B)
    emulated = execute(src, image, config=EMULATOR_CONFIG)
    assert emulated.stats.unit_busy_cycles["matrix"] == 2 * M + 2  # the emulator's table


@pytest.mark.parametrize("stride", [0, 1, 3])
@pytest.mark.parametrize("at_end", [False, True])
def test_mm_write_out_rows_land_at_every_stride_and_at_the_end_of_vram(stride, at_end):
    """One strided slice write in the middle of VRAM, row by row at its end or at stride 0."""
    place, image, wq, x = _mm_setup()
    span = (B - 1) * max(stride, 1) * V + V
    base = CFG.vram_elems - span if at_end else 8 * V
    o = 2 * B
    src = _load_tiles(place, M, [(0, 0, 0)]) + "S_ADDI_INT gp5, gp0, 4096\nM_MM 0, gp0, gp5\n"
    src += const("gp7", stride) + const("gp8", base) + f"M_MM_WO gp8, gp7, {o}\n"
    ex = execute(src, image)
    acc = bf16((x[:B] @ wq[:, :B]).astype(np.float32))
    expected = np.zeros(CFG.vram_elems, dtype=np.float32)
    expected[4096 : 4096 + 2 * B * V] = x.reshape(-1)
    for i in range(B):  # at stride 0 every row lands on the first: the last one wins
        r = base + o + i * (V * stride if stride else 0)
        expected[r : r + B] = acc[i]
    np.testing.assert_array_equal(ex.machine.vram.astype(np.float32), expected)


def test_tmm_uses_transposed_row_block_and_swapped_operands():
    place, image, wq, x = _mm_setup()
    c = 2
    src = _load_tiles(place, M, [(1, 0, 0)]) + const("gp4", TILE + c * B * M) + "S_ADDI_INT gp5, gp0, 4096\n"
    src += "M_TMM 0, gp5, gp4\nS_ADDI_INT gp8, gp0, 128\nM_MM_WO gp8, gp0, 4\n"
    ex = execute(src, image)
    expected = (x[:B] @ wq[c * B : c * B + B, :].T).astype(np.float32)
    vram = ex.machine.vram.astype(np.float32)
    for i in range(B):
        np.testing.assert_array_equal(vram[128 + i * V + 4 : 128 + i * V + 4 + B], bf16(expected[i]))


def test_mv_and_tmv_with_writeback():
    place, image, wq, x = _mm_setup()
    src = _load_tiles(place, M, [(0, 0, 0)]) + "S_ADDI_INT gp5, gp0, 4096\n"
    src += (
        "S_ADDI_INT gp4, gp0, 12\nM_MV 0, gp4, gp5\nM_MV 0, gp4, gp5\n"
        "S_ADDI_INT gp8, gp0, 64\nM_MV_WO gp8, 4\n"
    )
    src += f"S_ADDI_INT gp4, gp0, {2 * B}\nM_TMV 0, gp4, gp5\nM_MV_WO gp8, 20\n"  # element offset c = 2*BLEN
    ex = execute(src, image)
    once = (x[0] @ wq[:, 12 : 12 + B]).astype(np.float32)
    vram = ex.machine.vram.astype(np.float32)
    np.testing.assert_array_equal(vram[68 : 68 + B], bf16(once + once))
    np.testing.assert_array_equal(vram[84 : 84 + B], bf16((wq[2 * B : 3 * B, :] @ x[0]).astype(np.float32)))


def _head_setup():
    place, hbm, wq = _weights(M, M, seed=5)
    q = bf16(RNG.normal(size=(M, V)))
    return place, MemoryImage(hbm=hbm, vram={8192: q.reshape(-1)}), wq, q.astype(np.float64)


@pytest.mark.parametrize("transposed", [False, True])
def test_batched_head_matmul(transposed):
    place, image, wq, q = _head_setup()
    c = H  # head 1: an element offset inside the tile row
    name = "M_BTMM" if transposed else "M_BMM"  # both: MRAM address first, then the VRAM rows
    src = _load_tiles(place, M, [(0, 0, 0)]) + const("gp4", c) + const("gp5", 8192) + f"{name} 0, gp4, gp5\n"
    src += "M_BMM_WO gp0, 0\n"
    ex = execute(src, image)
    vram = ex.machine.vram.astype(np.float32)
    for h in range(LANES):
        # M_BTMM: head h is columns h*HLEN..; M_BMM: element j of head h is column j*lanes + h.
        qh = q[:, h * H : (h + 1) * H] if transposed else q[:, h::LANES]
        w = wq[:, c : c + H].T if transposed else wq[c : c + H, :]
        expected = (CFG.bmm_scale * (qh @ w)).astype(np.float32)
        got = vram[h * TILE : (h + 1) * TILE].reshape(M, M)  # M_BMM_WO: head-major blocks
        np.testing.assert_array_equal(got, bf16(expected))


@pytest.mark.parametrize("transposed", [False, True])
def test_batched_head_vector_uses_rd_offset(transposed):
    place, image, wq, q = _head_setup()
    name = "M_BTMV" if transposed else "M_BMV"
    src = _load_tiles(place, M, [(0, 0, 0)]) + const("gp4", H) + const("gp6", H) + const("gp5", 8192)
    src += f"{name} gp6, gp4, gp5\n" + "S_ADDI_INT gp7, gp0, 256\nM_BMV_WO gp7, 64\n"
    ex = execute(src, image)
    c = 2 * H  # G[rs1] + G[rd] = 2*HLEN: head 2
    vram = ex.machine.vram.astype(np.float32)
    for h in range(LANES):
        qh = q[0, h * H : (h + 1) * H] if transposed else q[0, h::LANES]
        w = wq[:, c : c + H].T if transposed else wq[c : c + H, :]
        np.testing.assert_array_equal(vram[320 + h * V : 320 + (h + 1) * V], bf16(CFG.bmm_scale * (qh @ w)))


def test_bmm_reads_heads_interleaved_like_the_emulator():
    """The emulator's bmm views a VRAM row as [HLEN, lanes] (matrix_machine.rs:179-183): lane h
    reads columns h, h + lanes, ... With one-hot rows the lane each column feeds shows directly."""
    place, hbm, wq = _weights(M, M, seed=9)
    col = 5  # column 5 belongs to head 5 % lanes (interleaved), not head 5 // HLEN (contiguous)
    x = np.zeros((M, V), np.float32)
    x[:, col] = 1.0
    src = _load_tiles(place, M, [(0, 0, 0)]) + const("gp5", 8192) + "M_BMM 0, gp0, gp5\nM_BMM_WO gp0, 0\n"
    ex = execute(src, MemoryImage(hbm=hbm, vram={8192: x.reshape(-1)}))
    out = ex.machine.vram[: LANES * TILE].astype(np.float32).reshape(LANES, M, M)
    lane, j = col % LANES, col // LANES
    np.testing.assert_array_equal(out[lane], bf16(np.tile(CFG.bmm_scale * wq[j], (M, 1))))
    assert not np.any(np.delete(out, lane, axis=0))


def test_bmm_scale_is_the_emulators_constant_not_one_over_sqrt_hlen():
    """registers.rs:28 initialises bmm_scale to 0.25 whatever HLEN is."""
    cfg = PlenaConfig(hlen=8)
    assert cfg.bmm_scale == 0.25
    place, hbm, wq = _weights(M, M, seed=2)
    x = np.zeros((M, V), np.float32)
    x[0, 0] = 1.0  # head 0 of the contiguous packing, element 0
    src = _load_tiles(place, M, [(0, 0, 0)]) + const("gp5", 8192) + "M_BTMM 0, gp0, gp5\nM_BMM_WO gp0, 0\n"
    ex = execute(src, MemoryImage(hbm=hbm, vram={8192: x.reshape(-1)}), config=cfg)
    np.testing.assert_array_equal(ex.machine.vram[:M].astype(np.float32), bf16(0.25 * wq[:, 0]))


def test_per_head_products_round_once_to_fp32_then_accumulate():
    """Each product is rounded to FP32 once before it joins the accumulator (the emulator's FP32
    matmul then an exact x0.25), and the accumulator rounds to BF16 only at M_BMM_WO."""
    place, hbm, wq = _weights(M, M, seed=4)
    q = bf16(RNG.normal(size=(M, V)))
    src = _load_tiles(place, M, [(0, 0, 0)]) + const("gp5", 8192) + "M_BTMM 0, gp0, gp5\n" * 3
    src += "M_BMM_WO gp0, 0\n"
    ex = execute(src, MemoryImage(hbm=hbm, vram={8192: q.reshape(-1)}))
    once = (0.25 * (q.astype(np.float64)[:, :H] @ wq[:, :H].T)).astype(np.float32)
    acc = np.zeros_like(once)
    for _ in range(3):
        acc = acc + once  # FP32 additions
    np.testing.assert_array_equal(ex.machine.vram[:TILE].astype(np.float32).reshape(M, M), bf16(acc))


def test_prefetch_v_strided_rows_and_scale_reg():
    x = RNG.normal(size=(8, 3 * V)).astype(np.float32)
    layout = plan_hbm([("pad", (64,)), ("x", (8, 3 * V))])
    t = layout["x"]
    hbm = build_hbm_image(layout, {"pad": np.zeros(64, np.float32), "x": x})
    src = (
        const("gp1", t.base)
        + "C_SET_ADDR_REG a3, gp0, gp1\n"
        + const("gp1", t.numel)
        + "C_SET_SCALE_REG gp1\n"
    )
    src += const("gp1", 2 * 3 * V) + "C_SET_STRIDE_REG gp1\n"  # every second row
    src += const("gp2", 512) + const("gp3", 3 * V + V) + "H_PREFETCH_V gp2, gp3, a3, 1, 1\n"
    ex = execute(src, MemoryImage(hbm=hbm))
    xq = mx_roundtrip(x)
    got = ex.machine.vram[512 : 512 + 4 * V].astype(np.float64).reshape(4, V)
    np.testing.assert_array_equal(got, xq[1::2, V : 2 * V])


def test_store_v_writes_elements_and_scales_with_stride():
    rows = bf16(RNG.normal(size=(4, V)) * 10)
    rows[2, :8] = 0.0  # an all-zero block
    scale_reg, stride, base, off = 4096, 2 * V, 128, 64
    src = (
        const("gp1", base)
        + "C_SET_ADDR_REG a1, gp0, gp1\n"
        + const("gp1", scale_reg)
        + "C_SET_SCALE_REG gp1\n"
    )
    src += const("gp1", stride) + "C_SET_STRIDE_REG gp1\n" + "S_ADDI_INT gp2, gp0, 0\n" + const("gp3", off)
    src += "H_STORE_V gp2, gp3, a1, 1, 0\n"
    ex = execute(src, MemoryImage(vram={0: rows.reshape(-1)}))
    hbm = ex.machine.hbm
    for r in range(4):
        o = off + r * stride
        elements, scales = quantize_blocks(rows[r])
        np.testing.assert_array_equal(hbm[base + o : base + o + V], elements)
        np.testing.assert_array_equal(
            hbm[base + scale_reg + o // 8 : base + scale_reg + o // 8 + V // 8], scales
        )
    assert hbm[base + off + V : base + off + stride].sum() == 0  # gap rows untouched


def test_dma_traffic_counts_every_64_byte_request_and_the_useful_bytes():
    setup = const("gp1", 4 * V) + "C_SET_SCALE_REG gp1\n"
    ex = execute(setup + "H_PREFETCH_V gp0, gp0, a0, 0, 0\n")
    # 4 rows: one element block each, and each row requests the (shared) scale block again.
    assert ex.stats.hbm_read_bytes == 8 * 64 and ex.stats.hbm_useful_read_bytes == 4 * V + 4 * V // 8
    ex = execute(setup + "H_STORE_V gp0, gp0, a0, 0, 0\n")
    # Read-modify-write of every block: 4 element blocks and the scale block once per row.
    assert ex.stats.hbm_read_bytes == 8 * 64 and ex.stats.hbm_write_bytes == 8 * 64
    assert ex.stats.hbm_useful_write_bytes == 4 * V + 4 * V // 8


@pytest.mark.parametrize("stride", [8, 56, 64, 72, 200, 1024])
@pytest.mark.parametrize("scale_reg", [0, 40, 8192])
def test_dma_requests_match_a_byte_level_count(stride, scale_reg):
    """Per row, one request for every 64-byte block its elements touch and for every block its
    scales touch (a brute-force count over the bytes)."""
    off = 24
    src = const("gp1", scale_reg) + "C_SET_SCALE_REG gp1\n" + const("gp1", stride) + "C_SET_STRIDE_REG gp1\n"
    src += const("gp2", off) + "H_PREFETCH_M gp0, gp2, a0, 1, 0\n"
    ex = execute(src)
    requests = 0
    for r in range(CFG.prefetch_m_rows):
        o = off + r * stride
        requests += len({b // 64 for b in range(o, o + M)})
        requests += len({b // 64 for b in range(scale_reg + o // 8, scale_reg + o // 8 + M // 8)})
    assert ex.stats.hbm_read_bytes == 64 * requests


def _memory_cycles(src: str, config: PlenaConfig = CFG) -> list[int]:
    ex = execute(src, config=config, trace=True)
    return [dur for _, _, dur, unit in ex.trace if unit == "memory"]


def test_open_rows_make_a_repeated_transfer_cheaper():
    setup = const("gp1", 1 << 16) + "C_SET_SCALE_REG gp1\n"
    first, again = _memory_cycles(setup + "H_PREFETCH_M gp0, gp0, a0, 0, 0\n" * 2)
    assert again < first  # every bank's row is open the second time


def test_a_store_costs_more_than_a_load_of_the_same_rows():
    setup = const("gp1", 1 << 16) + "C_SET_SCALE_REG gp1\n"
    (load,) = _memory_cycles(setup + "H_PREFETCH_V gp0, gp0, a0, 0, 0\n")
    (store,) = _memory_cycles(setup + "H_STORE_V gp0, gp0, a0, 0, 0\n")
    assert store > 3 * load  # eight read round trips one after another against one batch


def test_transfers_never_beat_the_peak_bandwidth_or_the_latency():
    cfg = CFG
    setup = const("gp1", 1 << 16) + "C_SET_SCALE_REG gp1\n" + const("gp1", 640) + "C_SET_STRIDE_REG gp1\n"
    for ins in (
        "H_PREFETCH_V gp0, gp3, a0, 1, 0",
        "H_PREFETCH_M gp0, gp3, a0, 1, 0",
        "H_STORE_V gp0, gp3, a0, 1, 0",
    ):
        src = setup + "".join(const("gp3", k * 72) + ins + "\n" for k in range(4))
        ex = execute(src, trace=True)
        cycles = [dur for _, _, dur, unit in ex.trace if unit == "memory"]
        moved = (ex.stats.hbm_read_bytes + ex.stats.hbm_write_bytes) / len(cycles)
        for c in cycles:
            assert c >= cfg.hbm_latency_cycles + moved / cfg.hbm_bytes_per_cycle - 1e-9, ins


def test_calibration_lands_on_the_public_emulators_measurements():
    """Measured on PLENA_Simulator f0703b2 with Ramulator2: H_PREFETCH_V of 4 rows 22-32 cycles
    (about 26 back to back), a 64 x 64 H_PREFETCH_M 122 alone and 77-100 per tile in runs,
    H_STORE_V of 4 rows about 158."""
    cols = 4 * M
    setup = const("gp1", 1 << 16) + "C_SET_SCALE_REG gp1\n" + const("gp1", cols) + "C_SET_STRIDE_REG gp1\n"
    v = _memory_cycles(
        setup + "".join(const("gp3", r * cols) + "H_PREFETCH_V gp0, gp3, a0, 1, 0\n" for r in range(0, 32, 4))
    )
    assert 22 <= v[0] <= 36 and 22 <= np.median(v[1:]) <= 30
    tiles = "".join(
        const("gp3", k * M * cols + j * M) + "H_PREFETCH_M gp0, gp3, a0, 1, 0\n"
        for k in range(2)
        for j in range(4)
    )
    m = _memory_cycles(setup + tiles)
    assert 100 <= m[0] <= 160 and 70 <= np.median(m[1:]) <= 110
    s = _memory_cycles(
        setup + "".join(const("gp3", r * cols) + "H_STORE_V gp0, gp3, a0, 1, 0\n" for r in range(0, 32, 4))
    )
    assert 120 <= np.median(s) <= 200


def test_mram_cache_sees_new_prefetch():
    """A tile read by M_MM, then overwritten by H_PREFETCH_M, is read fresh by the next M_MM."""
    w1 = np.ones((M, M), np.float32)
    w2 = np.full((M, M), 2.0, np.float32)
    layout = plan_hbm([("a", (M, M)), ("b", (M, M))])
    hbm = build_hbm_image(layout, {"a": w1, "b": w2})
    x = np.ones(B * V, np.float32)
    src = (
        const("gp1", layout["b"].base)
        + "C_SET_ADDR_REG a1, gp0, gp1\n"
        + const("gp1", M * M)
        + "C_SET_SCALE_REG gp1\n"
    )
    src += (
        "H_PREFETCH_M gp0, gp0, a0, 0, 0\nS_ADDI_INT gp5, gp0, 4096\nM_MM 0, gp0, gp5\nM_MM_WO gp0, gp0, 0\n"
    )
    src += (
        "H_PREFETCH_M gp0, gp0, a1, 0, 0\nM_MM 0, gp0, gp5\nS_ADDI_INT gp6, gp0, 1024\nM_MM_WO gp6, gp0, 0\n"
    )
    ex = execute(src, MemoryImage(hbm=hbm, vram={4096: x}))
    assert float(ex.machine.vram[0]) == M and float(ex.machine.vram[1024]) == 2 * M


def test_kv_written_with_h_store_v_and_read_back_matches_plenas_quantiser():
    """The projected-attention baselines store K and V with H_STORE_V and prefetch them as tiles;
    on the public emulator that round trip uses PLENA's hardware quantiser and E4M3 decoding,
    which is where our mha C3 / decoder_llama C3 outputs used to differ from it."""
    k = bf16(RNG.standard_t(3, size=(4, V)))
    src = const("gp1", 1 << 16) + "C_SET_SCALE_REG gp1\nS_ADDI_INT gp2, gp0, 4096\n"
    src += "H_STORE_V gp2, gp0, a0, 0, 0\nH_PREFETCH_V gp0, gp0, a0, 0, 0\n"
    ex = execute(src, MemoryImage(vram={4096: k.reshape(-1)}))
    back = ex.machine.vram[: 4 * V].astype(np.float64).reshape(4, V)
    np.testing.assert_array_equal(back, mx_roundtrip(k, quantiser="plena"))
    assert not np.array_equal(back, mx_roundtrip(k, quantiser="ocp"))  # the rules differ on such data


def test_mm_whole_tile_product_columns_equal_each_column_blocks_product_bit_for_bit():
    """M_MM keeps an activation block's product with the whole tile (ndarray.dot, rounded to
    FP32) and adds one column block of it; each must be bit for bit `@` on that block's
    strided columns, also where the order of the sums matters (magnitudes 1e-38..1e38,
    infinities, NaN)."""
    rng = np.random.default_rng(5)
    for trial in range(400):
        values = rng.normal(size=(M + B, M)) * 10.0 ** rng.integers(-38, 38, size=(M + B, M))
        if trial % 3 == 0:
            values.flat[rng.integers(0, values.size, 3)] = rng.choice([np.inf, -np.inf, np.nan], 3)
        values = bf16(values).astype(np.float64)
        x, tile = values[:B], values[B:]
        with np.errstate(all="ignore"):
            whole = x.dot(tile).astype(np.float32)
            for c in range(0, M, B):
                alone = (x @ tile[:, c : c + B]).astype(np.float32)
                np.testing.assert_array_equal(whole[:, c : c + B].view(np.uint32), alone.view(np.uint32))
