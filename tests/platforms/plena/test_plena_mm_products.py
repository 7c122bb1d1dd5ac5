"""M_MM keeps each activation block's product with a whole tile and uses it again while the
block's bits are unchanged: a write to the rows between two M_MMs must be seen, as must a new
tile. Checked against the instruction's definition, one M_MM at a time in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.plena import semantics
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG as CFG
from kernelcraft.platforms.plena.layout import build_hbm_image, plan_hbm
from kernelcraft.platforms.plena.machine import MemoryImage
from kernelcraft.platforms.plena.mx import BF16, mx_roundtrip
from kernelcraft.platforms.registry import get_platform

from .plena_helpers import bf16, const, execute

M, B, V = CFG.mlen, CFG.blen, CFG.vlen
X, Y = 4096, 8192  # activation block and the rows added to it


def _mm(acc: np.ndarray, x: np.ndarray, w: np.ndarray, block: int) -> np.ndarray:
    """One M_MM by definition: float64 products of the block's columns, rounded to FP32, added in FP32."""
    return acc + (x @ w[:, block * B : (block + 1) * B]).astype(np.float32)


def _out(ex, row: int) -> np.ndarray:
    """B x B written by M_MM_WO at VRAM row `row` (column offset 0), as BF16 bits."""
    rows = ex.machine.vram.reshape(-1, V)[row : row + B, :B]
    return rows.view(np.uint16)


def test_mm_sees_rows_rewritten_between_products_and_a_new_tile():
    rng = np.random.default_rng(2)
    w = rng.normal(size=(M, M)).astype(np.float32)
    w2 = rng.normal(size=(M, M)).astype(np.float32)
    layout = plan_hbm([("w", (M, M)), ("w2", (M, M))])
    hbm = build_hbm_image(layout, {"w": w, "w2": w2})
    x = bf16(rng.normal(size=(B, V)))
    y = bf16(rng.normal(size=(B, V)))
    src = const("gp1", layout["w2"].base) + "C_SET_ADDR_REG a1, gp0, gp1\n"
    src += const("gp1", M * M) + "C_SET_SCALE_REG gp1\nH_PREFETCH_M gp0, gp0, a0, 0, 0\n"
    src += const("gp5", X) + const("gp7", (B - 1) * V + X) + const("gp8", (B - 1) * V + Y)
    src += const("gp4", 3 * B * M)  # column block 3
    src += const("gp6", 256 * V) + "M_MM 0, gp0, gp5\nM_MM 0, gp4, gp5\nM_MM_WO gp6, gp0, 0\n"
    src += "V_ADD_VV gp7, gp7, gp8, 0\n"  # the block's last row changes
    src += const("gp6", 320 * V) + "M_MM 0, gp0, gp5\nM_MM_WO gp6, gp0, 0\n"
    src += const("gp6", 384 * V) + "M_MM 0, gp4, gp5\nM_MM_WO gp6, gp0, 0\n"
    src += "H_PREFETCH_M gp0, gp0, a1, 0, 0\n"  # a new tile over the one multiplied
    src += const("gp6", 448 * V) + "M_MM 0, gp4, gp5\nM_MM_WO gp6, gp0, 0\n"
    ex = execute(src, MemoryImage(hbm=hbm, vram={X: x.reshape(-1), Y: y.reshape(-1)}))

    wq, wq2 = mx_roundtrip(w).astype(np.float64), mx_roundtrip(w2).astype(np.float64)
    x64 = x.astype(np.float64)
    x2 = x64.copy()
    x2[B - 1] = bf16(x[B - 1] + y[B - 1])
    zero = np.zeros((B, B), np.float32)
    expected = {
        256: _mm(_mm(zero, x64, wq, 0), x64, wq, 3),
        320: _mm(zero, x2, wq, 0),
        384: _mm(zero, x2, wq, 3),
        448: _mm(zero, x2, wq2, 3),
    }
    for row, acc in expected.items():
        np.testing.assert_array_equal(_out(ex, row), acc.astype(BF16).view(np.uint16), err_msg=f"row {row}")
    # each change is visible in the products: a stale cache could not pass
    assert not np.array_equal(expected[256], expected[384])
    assert not np.array_equal(expected[384], expected[448])


@pytest.mark.parametrize(("task_id", "config"), [("gemm", "C2"), ("linear", "C1"), ("mha", "C1")])
def test_kept_products_give_the_per_instruction_products_results(task_id, config, monkeypatch):
    """Whole baselines (M_MM over several tiles and activation blocks, rows rewritten between
    GEMMs) with the kept products and with each M_MM's own product: same output bits and stats."""
    platform = get_platform("plena")
    program = platform.build(platform.baseline(task_id, config)).program
    instance = platform.prepare(task_id, config, 3)
    kept = platform.run(program, instance)
    monkeypatch.setattr(semantics, "MM_PRODUCTS", False)
    plain = platform.run(program, instance)
    assert kept.correct and plain.correct
    assert kept.stats.to_dict() == plain.stats.to_dict()
    assert kept.output.tobytes() == plain.output.tobytes()
