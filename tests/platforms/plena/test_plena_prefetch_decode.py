"""A prefetch's decode (one BF16 table lookup per element) gives what decoding to FP32 and
rounding to BF16 gives, for every byte pair and for every way rows can lie in HBM."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.plena.config import DEFAULT_CONFIG
from kernelcraft.platforms.plena.machine import Machine
from kernelcraft.platforms.plena.mx import BF16, MX_BF16_BITS, dequantize_blocks
from kernelcraft.platforms.plena.semantics import _gather_bits

BLOCK = DEFAULT_CONFIG.mx_block


def test_table_holds_every_scale_and_element_byte_pair_decoded_and_rounded():
    codes = np.arange(1 << 16)
    elements, scales = (codes & 0xFF).astype(np.uint8), (codes >> 8).astype(np.uint8)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = dequantize_blocks(elements, scales, 1).astype(BF16).view(np.uint16)
    np.testing.assert_array_equal(MX_BF16_BITS, expected)


def _reference(hbm: np.ndarray, e0: int, s0: int, rows: int, width: int, stride: int) -> np.ndarray:
    elements = np.concatenate([hbm[e0 + i * stride : e0 + i * stride + width] for i in range(rows)])
    scales = np.concatenate(
        [hbm[s0 + i * stride // BLOCK : s0 + (i * stride + width) // BLOCK] for i in range(rows)]
    )
    with np.errstate(over="ignore", invalid="ignore"):
        return dequantize_blocks(elements, scales, BLOCK).astype(BF16).view(np.uint16)


@pytest.mark.parametrize(
    ("rows", "width", "stride", "where"),
    [
        (4, 64, 64, "low"),  # contiguous rows
        (1, 64, 0, "low"),
        (4, 64, 256, "low"),  # rows apart: a strided view
        (64, 64, 128, "low"),
        (4, 64, 0, "low"),  # every row the same bytes
        (4, 64, 8, "low"),  # overlapping rows
        (4, 64, 256, "end"),  # the last row's gap would run past the end of HBM
        (64, 64, 256, "end"),
    ],
)
def test_every_row_layout_decodes_as_the_reference(rows, width, stride, where):
    m = Machine(DEFAULT_CONFIG)
    rng = np.random.default_rng(rows * 1000 + stride)
    m.hbm[:] = np.resize(rng.integers(0, 256, 1_000_003, dtype=np.uint8), m.hbm.size)
    size = m.hbm.size
    if where == "low":
        e0, s0 = 4096, 1 << 20
    else:  # elements and scales both end exactly at the end of HBM
        e0 = size - (stride * (rows - 1) + width)
        s0 = size - (stride * (rows - 1) + width) // BLOCK
    codes = np.empty((rows * width // BLOCK, BLOCK, 2), dtype=np.uint8)
    out = np.empty(rows * width, dtype=np.uint16)
    _gather_bits(m, e0, s0, rows, width, stride, codes, out)
    np.testing.assert_array_equal(out, _reference(m.hbm, e0, s0, rows, width, stride))
