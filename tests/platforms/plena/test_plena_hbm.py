"""The HBM model's two implementations of one schedule agree, its memo replays exactly, and its
address mapping is Ramulator2's MOP4CLXOR."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.plena.config import DEFAULT_CONFIG
from kernelcraft.platforms.plena.hbm import HbmModel, row_blocks


def _schedules(blocks: list[int], seed: int):
    """Run one batch through the Python and the NumPy scheduler from the same start state."""
    out = []
    for path in ("python", "numpy"):
        model = HbmModel(DEFAULT_CONFIG)
        rng = np.random.default_rng(seed)
        model.open_row[:] = np.where(rng.random(model.n_banks) < 0.5, rng.integers(0, 4, model.n_banks), -1)
        starts = np.asarray(blocks, dtype=np.int64) * 64
        addrs = (starts[:, None] + 16 * np.arange(4)[None, :]).reshape(-1)
        pch, bank, row = model.map(addrs)
        key = bank * (1 << 40) + row
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        idx = first[order]
        args = pch[idx], bank[idx], row[idx], counts[order]
        if path == "python":
            lists = [a.tolist() for a in args]
            result = model._schedule_python(*lists, model._rounds(lists[1], lists[2]), 5, False)
        else:
            result = model._schedule_numpy(*args, 5, False)
        out.append((result, list(model.open_row), model.bank_col, model.counters))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_python_and_numpy_schedulers_agree(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(4, 80))
    # Blocks spread over a few DRAM rows so banks see hits, misses and conflicts (several rows).
    blocks = (rng.integers(0, 4, n) * 2048 + rng.integers(0, 256, n)).tolist()
    (py, py_open, py_col, py_c), (nu, nu_open, nu_col, nu_c) = _schedules(blocks, seed)
    assert py == nu and py_open == nu_open and py_c == nu_c
    assert list(py_col) == list(nu_col)


@pytest.mark.parametrize("seed", range(4))
def test_memo_replays_the_same_costs_and_state(seed):
    """Random reads and stores (row counts, strides, widths, unaligned rows, shared scale
    blocks, rows over several DRAM rows) through the memo and scheduled afresh each time."""
    memo, fresh = HbmModel(DEFAULT_CONFIG), HbmModel(DEFAULT_CONFIG)
    scheduled = []
    memo._read = lambda blocks: scheduled.append(blocks) or HbmModel._read(memo, blocks)
    rng = np.random.default_rng(seed)
    reads = 0
    for _ in range(120):
        rows = int(rng.choice([1, 4, 16, 64]))
        width = int(rng.choice([64, 128]))
        stride = width * int(rng.choice([1, 2, 5])) + 8 * int(rng.integers(0, 3))
        off = int(rng.integers(0, 8)) * 4096 + int(rng.integers(0, 4)) * (1 << 17)
        off += 8 * int(rng.integers(0, 4))
        e = off + stride * np.arange(rows)
        s = (1 << 20) + int(rng.integers(0, 3)) * (1 << 17) + e // 8
        store = bool(rng.random() < 0.3)
        reads += not store
        a = (memo.store if store else memo.read)(e, s, width, width // 8)
        blocks = row_blocks(e, s, width, width // 8, 64)
        b = fresh._core(fresh._store(blocks) if store else fresh._read(blocks))
        assert a == b
        np.testing.assert_array_equal(memo.open_row, fresh.open_row)
        c, f = memo.counters, fresh.counters
        assert (c.row_hits, c.row_misses, c.row_conflicts) == (f.row_hits, f.row_misses, f.row_conflicts)
    assert len(scheduled) < reads  # some reads replayed a stored schedule


def test_address_mapping_spreads_a_block_over_four_channels_and_rows_over_banks():
    model = HbmModel(DEFAULT_CONFIG)
    pch, bank, row = model.map(np.arange(4) * 16)  # the four 16-byte accesses of block 0
    assert len({int(p) // 2 for p in pch}) == 4 and set(row.tolist()) == {0}
    # Addresses 128 KiB apart differ only in the row: same bank, next row.
    p2, b2, r2 = model.map(np.arange(4) * 16 + (1 << 17))
    assert (b2 == bank).all() and (r2 == 1).all()


def test_requests_follow_the_emulators_expansion():
    # Row-major rows of 64 bytes, scales 8 bytes each: one element block and one scale block per row.
    blocks = row_blocks(np.array([0, 64]), np.array([1000, 1008]), 64, 8, 64)
    assert blocks == [0, 15, 1, 15]
    # An unaligned row touches two element blocks.
    assert row_blocks(np.array([32]), np.array([4096]), 64, 8, 64) == [0, 1, 64]
