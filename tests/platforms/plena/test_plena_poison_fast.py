"""Poisoned runs take fast paths (lazily poisoned HBM, batched loops under read tracking,
inline footprints); each must end exactly as the plain path does: memory, registers,
statistics, faults, the tracker's states and every warning in order. Programs here are
built to trip a wrong fast path: reads of never-written rows inside loops, taint carried
through loops and F registers, partly initialised rows, transfers from poisoned HBM, stores
into pages nothing touched yet, faults and instruction limits part-way through a loop."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.base import RunLimits
from kernelcraft.platforms.plena import footprints, loops, poison_fill
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG
from kernelcraft.platforms.plena.layout import build_hbm_image, plan_hbm
from kernelcraft.platforms.plena.machine import Machine, MemoryImage, run
from kernelcraft.platforms.plena.poison import MIXED

from .plena_helpers import const
from .same_runs import assert_same_stats_and_fault

VLEN = DEFAULT_CONFIG.vlen
ROWS = 700  # VRAM rows the image initialises (the 701st in part)


def _image(seed: int = 0, hbm_elems: int = 3000) -> MemoryImage:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=ROWS * VLEN + 10)  # row ROWS holds 10 written elements
    layout = plan_hbm([("x", (hbm_elems,))])
    hbm = build_hbm_image(layout, {"x": rng.normal(size=hbm_elems).astype(np.float32)})
    fp = np.array([0.0, 1.5, -2.25, 3e4])  # FP SRAM slots 0..3 written, slot 4 not
    return MemoryImage(hbm=hbm, vram={0: values}, fpsram={0: fp}, poison=True, poison_seed=seed)


class _Plain:
    """Context: every fast path off (loops step, footprints take their plain forms, HBM is
    poisoned in full up front)."""

    def __enter__(self):
        self.init = poison_fill.LazyPoison.__init__
        init = self.init

        def eager(lazy, memory, pattern):
            init(lazy, memory, pattern)
            lazy.ensure_all()

        poison_fill.LazyPoison.__init__ = eager
        loops.ENABLED = footprints.FAST_PATHS = False

    def __exit__(self, *exc):
        poison_fill.LazyPoison.__init__ = self.init
        loops.ENABLED = footprints.FAST_PATHS = True


def _both(
    source: str, seed: int = 0, limits: RunLimits | None = None, hbm: bool = True, hbm_elems: int = 3000
):
    program = assemble(source, DEFAULT_CONFIG)
    assert program.ok, [d.format() for d in program.errors]
    fast = run(program.program, _image(seed, hbm_elems), limits)
    with _Plain():
        plain = run(program.program, _image(seed, hbm_elems), limits)
    assert plain.machine.loop_batches == 0
    _assert_same(fast, plain, hbm)
    return fast, plain


def _assert_same(fast, plain, hbm: bool) -> None:
    assert_same_stats_and_fault(fast, plain)
    a, b = fast.machine, plain.machine
    for name in ("vram", "mram", "fpsram"):
        np.testing.assert_array_equal(getattr(a, name).view(np.uint16), getattr(b, name).view(np.uint16))
    np.testing.assert_array_equal(a.intsram, b.intsram)
    assert (a.g, repr(a.f), a.a, a.jumps, a.next_wall_check) == (
        b.g,
        repr(b.f),
        b.a,
        b.jumps,
        b.next_wall_check,
    )
    assert [(w.line, w.message, w.text, w.hint) for w in fast.warnings] == [
        (w.line, w.message, w.text, w.hint) for w in plain.warnings
    ]
    s, t = a.poison, b.poison
    assert s.vram_row == t.vram_row and s.mram_row == t.mram_row
    mixed = [r for r, code in enumerate(s.vram_row) if code == MIXED]
    assert [s.vram_elems[r] for r in mixed] == [t.vram_elems[r] for r in mixed]
    assert (s.fpsram, s.intsram, s.f, s.acc, s.origin) == (t.fpsram, t.intsram, t.f, t.acc, t.origin)
    assert s.hbm_clean_below == t.hbm_clean_below
    if hbm:  # 64 MiB each: only where the program moves data
        assert np.array_equal(s.hbm, t.hbm)
        assert np.array_equal(a.hbm, b.hbm)  # fills the lazy pages: all bytes as eager ones


def _loop(body: str, count: int, setup: str = "") -> str:
    prologue = "".join(f"S_LD_FP f{i}, gp0, {i}\n" for i in range(1, 4))
    return prologue + setup + f"C_LOOP_START gp7, {count}\n{body}C_LOOP_END gp7\nS_ADDI_INT gp8, gp0, 1\n"


SILU = (
    "V_SUB_VF gp6, gp1, f0, 0, 1\nV_EXP_V gp6, gp6, 0\nV_ADD_VF gp6, gp6, f1, 0\n"
    f"V_RECI_V gp6, gp6, 0\nV_MUL_VV gp1, gp1, gp6, 0\nS_ADDI_INT gp1, gp1, {VLEN}\n"
)


def test_a_clean_loop_is_batched_under_tracking_and_ends_as_the_plain_run():
    fast, _ = _both(_loop(SILU, 300, const("gp6", 690 * VLEN)))
    assert fast.machine.loop_batches == 1 and fast.warnings == []


@pytest.mark.parametrize(
    ("setup", "count"),
    [
        (const("gp1", 650 * VLEN) + const("gp6", 900 * VLEN), 80),  # walks past the written rows
        (const("gp1", ROWS * VLEN) + const("gp6", 900 * VLEN), 4),  # starts on the part-written row
        (const("gp1", 690 * VLEN) + const("gp6", 2000 * VLEN), 40),  # crosses the part-written row
    ],
)
def test_loops_reading_never_written_rows_step_and_report_the_same(setup, count):
    fast, _ = _both(_loop(SILU, count, setup))
    assert fast.warnings and fast.machine.loop_batches == 0


def test_taint_carried_into_a_loop_through_memory_and_f_registers():
    far = const("gp9", 3000 * VLEN)
    taint_row = f"{far}S_ADDI_INT gp10, gp0, {5 * VLEN}\nV_ADD_VV gp10, gp10, gp9, 0\n"  # row 5 tainted
    body = f"V_ADD_VV gp2, gp1, gp1, 0\nS_ADDI_INT gp1, gp1, {VLEN}\nS_ADDI_INT gp2, gp2, {VLEN}\n"
    fast, _ = _both(_loop(body, 20, taint_row + const("gp2", 100 * VLEN)))
    assert any("computed from memory nothing wrote" in w.message for w in fast.warnings)
    # f4 comes from an FP SRAM slot nothing wrote: a V_*_VF reading it taints every row it writes.
    body = f"V_MUL_VF gp2, gp1, f4, 0\nS_ADDI_INT gp1, gp1, {VLEN}\nS_ADDI_INT gp2, gp2, {VLEN}\n"
    after = f"S_ADDI_INT gp3, gp0, {100 * VLEN}\nV_EXP_V gp3, gp3, 0\n"
    fast, _ = _both(_loop(body, 20, "S_LD_FP f4, gp0, 4\n" + const("gp2", 100 * VLEN)) + after)
    assert fast.machine.loop_batches == 0
    assert any("computed from memory nothing wrote" in w.message for w in fast.warnings)
    # A clean loop then writes over rows a transfer filled from never-written HBM: no warning
    # for them afterwards, and the one left unwritten still names its transfer.
    fetch = f"{const('gp11', 800 * VLEN)}{const('gp12', 1 << 20)}H_PREFETCH_V gp11, gp12, a0, 0, 0\n"
    body = f"V_ADD_VF gp11, gp1, f1, 0\nS_ADDI_INT gp1, gp1, {VLEN}\nS_ADDI_INT gp11, gp11, {VLEN}\n"
    rows = DEFAULT_CONFIG.prefetch_v_rows
    read_rest = f"{const('gp13', (800 + rows - 1) * VLEN)}V_EXP_V gp13, gp13, 0\n"
    fast, _ = _both(fetch + _loop(body, rows - 1, const("gp1", 0)) + read_rest)
    assert fast.machine.loop_batches == 1
    assert [w.line for w in fast.warnings] == [fast.machine.poison.instructions[-1].line]
    assert "loaded from HBM" in fast.warnings[0].message


@pytest.mark.parametrize("limit", [9, 40, 77, 200])
def test_instruction_limits_part_way_through_tracked_loops(limit):
    body = f"C_LOOP_START gp4, 5\n{SILU}C_LOOP_END gp4\n"
    src = const("gp6", 690 * VLEN) + f"C_LOOP_START gp3, 6\n{body}C_LOOP_END gp3\n"
    fast, _ = _both(_loop("S_ADDI_INT gp5, gp5, 1\n", 2, src), limits=RunLimits(max_instructions=limit))
    assert fast.fault is not None and fast.fault.kind == "instruction_limit"


@pytest.mark.parametrize("start", [DEFAULT_CONFIG.vram_elems - 3 * VLEN, 7])
def test_tracked_loops_that_fault_part_way(start):
    fast, _ = _both(_loop(SILU, 8, const("gp1", start) + const("gp6", 690 * VLEN)))
    assert fast.fault is not None and fast.fault.kind in ("address", "alignment")


def test_transfers_from_poisoned_and_from_written_hbm_and_stores_into_untouched_pages():
    lines = ["C_SET_ADDR_REG a0, gp0, gp0", const("gp9", 1 << 22), "C_SET_SCALE_REG gp9"]
    # Rows from the image's tensor, from far poisoned pages (scales in other pages), and a
    # store into a page nothing read or wrote, read back.
    for i, (row, offset) in enumerate([(0, 0), (40, 5 << 20), (80, (60 << 20) + 64), (120, 3 << 20)]):
        lines += [const(f"gp{i + 1}", row * VLEN), const("gp10", offset)]
        lines.append(f"H_PREFETCH_V gp{i + 1}, gp10, a0, 0, 0")
    lines += [const("gp10", 7 << 20), "H_STORE_V gp0, gp10, a0, 0, 0", const("gp11", 200 * VLEN)]
    lines += ["H_PREFETCH_V gp11, gp10, a0, 0, 0", "S_ADDI_INT gp12, gp0, 0"]
    lines += [f"V_ADD_VV gp12, gp{i}, gp12, 0" for i in (1, 2, 3, 4, 11)]
    # Never-written rows stored over the image's own bytes (scales too), then read back.
    lines += [
        const("gp5", 1024),
        "C_SET_SCALE_REG gp5",
        const("gp5", 2000 * VLEN),
        "H_STORE_V gp5, gp0, a0, 0, 0",
        const("gp6", 220 * VLEN),
    ]
    lines += ["H_PREFETCH_V gp6, gp0, a0, 0, 0", "V_EXP_V gp6, gp6, 0", "C_SET_SCALE_REG gp9"]
    lines += [const("gp13", 1 << 16), "C_SET_STRIDE_REG gp13", const("gp14", 9 << 20)]
    lines += [
        const("gp15", 300 * VLEN),
        "H_PREFETCH_M gp0, gp14, a0, 1, 0",
        "H_PREFETCH_V gp15, gp14, a0, 1, 0",
    ]
    lines += [
        const("gp14", 0),
        "H_PREFETCH_M gp0, gp14, a0, 0, 0",
        "M_MM 0, gp0, gp15",
        "M_MM_WO gp15, gp0, 0",
    ]
    fast, plain = _both("\n".join(lines) + "\n")
    assert len(fast.warnings) >= 3
    assert fast.machine.hbm_pages.left == 0  # reading `hbm` above filled every page


def test_lazy_hbm_holds_the_eager_bytes_for_any_image_size():
    cfg = DEFAULT_CONFIG
    for size in (0, 1, poison_fill.PAGE_BYTES - 1, poison_fill.PAGE_BYTES + 1, (3 << 20) + 5):
        data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8)
        m = Machine(cfg, MemoryImage(hbm=data, poison=True, poison_seed=size + 11))
        rng = np.random.default_rng(size + 11)  # the draws as the full fill made them
        words = rng.integers(0, 1 << 32, cfg.intsram_words, dtype=np.uint64).astype(np.uint32)
        expected = np.resize(rng.integers(0, 256, 1 << 20, dtype=np.uint8), cfg.hbm_bytes)
        expected[:size] = data
        np.testing.assert_array_equal(m.intsram, words)
        lo = 17 << 20
        m.hbm_pages.ensure(lo + 5, lo + 3 * poison_fill.PAGE_BYTES)
        np.testing.assert_array_equal(
            m.hbm_array[lo : lo + 3 * poison_fill.PAGE_BYTES], expected[lo : lo + 3 * poison_fill.PAGE_BYTES]
        )
        assert np.array_equal(m.hbm, expected)


def test_no_state_leaks_between_runs_of_different_instances():
    a = _loop(SILU, 300, const("gp6", 690 * VLEN))
    b = "C_SET_ADDR_REG a0, gp0, gp0\n" + const("gp1", 5 << 20) + "H_PREFETCH_V gp0, gp1, a0, 0, 0\n"
    b += "H_STORE_V gp0, gp1, a0, 0, 0\n" + _loop(SILU, 20, const("gp6", 900 * VLEN))
    programs = {name: assemble(src, DEFAULT_CONFIG).program for name, src in (("a", a), ("b", b))}

    def result(name: str, seed: int):
        ex = run(programs[name], _image(seed))
        return (
            repr(ex.stats.to_dict()),
            ex.machine.vram.tobytes(),
            ex.machine.intsram.tobytes(),
            ex.machine.hbm[: 8 << 20].tobytes(),
            [w.message for w in ex.warnings],
        )

    order = [("a", 0), ("b", 1), ("a", 0), ("b", 2), ("a", 1), ("b", 1), ("a", 0)]
    seen = [result(name, seed) for name, seed in order]
    poison_fill._draws.clear()  # fresh: no kept draws, newly assembled programs
    programs = {name: assemble(src, DEFAULT_CONFIG).program for name, src in (("a", a), ("b", b))}
    for (name, seed), got in zip(order, seen, strict=True):
        assert got == result(name, seed), (name, seed)


_OPS = ("V_ADD_VV", "V_SUB_VV", "V_MUL_VV", "V_ADD_VF", "V_MUL_VF", "V_MAX_VF", "V_SUB_VF", "V_EXP_V")


def _random_loop(rng: np.random.Generator) -> str:
    regs = [1, 2, 3, 5]
    # Around the end of the written rows, so some loops read never-written or tainted rows.
    setup = "".join(
        const(f"gp{r}", (int(rng.integers(560, 760)) + 60 * i) * VLEN) for i, r in enumerate(regs)
    )
    if rng.random() < 0.3:  # taint a row some loop may read
        setup += const("gp9", 3000 * VLEN) + const("gp10", int(rng.integers(560, 760)) * VLEN)
        setup += "V_ADD_VV gp10, gp10, gp9, 0\n"
    body = []
    for _ in range(int(rng.integers(1, 6))):
        d, a, b = (int(x) for x in rng.choice(regs, 3))
        op = str(rng.choice(_OPS))
        if op.endswith("_VV"):
            body.append(f"{op} gp{d}, gp{a}, gp{b}, 0")
        elif op.endswith("_V"):
            body.append(f"{op} gp{d}, gp{a}, 0")
        else:
            extra = ", 1" if op == "V_SUB_VF" else ""
            body.append(f"{op} gp{d}, gp{a}, f{int(rng.integers(0, 5))}, 0{extra}")
    for r in rng.choice(regs, int(rng.integers(1, 3)), replace=False):
        body.insert(
            int(rng.integers(0, len(body) + 1)), f"S_ADDI_INT gp{r}, gp{r}, {int(rng.choice([1, 2])) * VLEN}"
        )
    after = f"{const('gp11', int(rng.integers(560, 900)) * VLEN)}V_EXP_V gp11, gp11, 0\n"
    return _loop("\n".join(body) + "\n", int(rng.integers(2, 50)), setup) + after


@pytest.mark.parametrize("seed", range(4))
def test_random_tracked_loops_match_the_plain_run(seed):
    rng = np.random.default_rng(seed)
    batched = stepped = 0
    for case in range(20):
        fast, _ = _both(_random_loop(rng), seed=case % 3, hbm=False)
        batched += fast.machine.loop_batches
        stepped += fast.machine.loop_batches == 0
    assert batched > 0 and stepped > 0  # both the batch and the fallback were exercised


def test_matrix_write_outs_into_never_written_and_part_written_rows():
    blen = DEFAULT_CONFIG.blen
    lines = ["C_SET_ADDR_REG a0, gp0, gp0", const("gp9", 8192), "C_SET_SCALE_REG gp9"]  # the image's scales
    lines += [const("gp1", 0), "H_PREFETCH_M gp0, gp1, a0, 0, 0"]  # tile 0 from the image's data
    lines += [
        const("gp2", 9 << 20),
        const("gp3", DEFAULT_CONFIG.tile_elems),
        "H_PREFETCH_M gp3, gp2, a0, 0, 0",
    ]
    lines += [const("gp10", 3)]  # a row stride of 3 rows for some write-outs
    # (tile, first VRAM row read, write-out address, strided): clean and poisoned products into
    # never-written rows, the part-written row and rows other write-outs already touched.
    for tile, x_row, out, strided in [
        (0, 0, 900 * VLEN, 0),
        (1, 8, 900 * VLEN + blen, 0),
        (0, 16, ROWS * VLEN, 1),
        (0, 1200, 950 * VLEN + 2 * blen, 1),
        (0, 24, 900 * VLEN + 2 * blen, 0),
        (0, ROWS - 2, 960 * VLEN, 0),  # reads clean rows, then the part-written and a never-written one
    ]:
        lines += [
            const("gp4", tile * DEFAULT_CONFIG.tile_elems),
            const("gp5", x_row * VLEN),
            const("gp6", out),
        ]
        lines += ["M_MM 0, gp4, gp5", f"M_MM_WO gp6, {'gp10' if strided else 'gp0'}, 0"]
    # Whole rows covered block by block: clean products over never-written rows (they become
    # clean), then poisoned ones over the same rows (they become tainted).
    for tile, x_row in ((0, 32), (1, 40)):
        lines += [
            const("gp4", tile * DEFAULT_CONFIG.tile_elems),
            const("gp5", x_row * VLEN),
            const("gp6", 1000 * VLEN),
        ]
        lines += [f"C_LOOP_START gp12, {VLEN // blen}", "M_MM 0, gp4, gp5", "M_MM_WO gp6, gp0, 0"]
        lines += [f"S_ADDI_INT gp6, gp6, {blen}", "C_LOOP_END gp12"]
        lines += [const("gp11", 1000 * VLEN) + "V_RED_SUM f1, gp11, 0"]
    lines += [
        const("gp11", r * VLEN) + "V_RED_SUM f1, gp11, 0" for r in (900, 901, 903, ROWS, ROWS + 3, 950, 960)
    ]
    fast, _ = _both("\n".join(lines) + "\n", hbm_elems=8192)
    assert fast.fault is None
    assert any("computed from memory nothing wrote" in w.message for w in fast.warnings)
    assert any("which nothing wrote" in w.message for w in fast.warnings)


def test_stores_of_clean_tainted_and_part_written_rows_over_poisoned_and_image_bytes():
    """H_STORE_V of rows all CLEAN takes a shortcut (every byte it writes becomes CLEAN); rows
    with a tainted, a never-written or a part-written row among them do not. Stored over
    never-written HBM and over the image's bytes, contiguous and strided (scales apart), each
    read back so the states the stores left are used."""
    lines = ["C_SET_ADDR_REG a0, gp0, gp0", const("gp9", 1 << 22), "C_SET_SCALE_REG gp9"]
    lines += [const("gp1", 3000 * VLEN), const("gp2", 10 * VLEN), "V_ADD_VV gp2, gp2, gp1, 0"]  # taint row 10
    lines += [const("gp13", 4 * VLEN), "C_SET_STRIDE_REG gp13"]
    # clean, one tainted row, the part-written row, never written, clean
    sources = (0, 8, ROWS - 2, 2000, 100)
    for i, row in enumerate(sources):
        offset = (5 << 20) + i * 4096 if i % 2 else 64 * i  # poisoned pages, or over the image
        strided = i >= 3
        lines += [const("gp3", row * VLEN), const("gp4", offset)]
        lines.append(f"H_STORE_V gp3, gp4, a0, {int(strided)}, 0")
        lines += [const("gp5", (400 + 8 * i) * VLEN), f"H_PREFETCH_V gp5, gp4, a0, {int(strided)}, 0"]
        lines += ["V_EXP_V gp5, gp5, 0", f"S_ADDI_INT gp5, gp5, {2 * VLEN}", "V_EXP_V gp5, gp5, 0"]
    fast, _ = _both("\n".join(lines) + "\n")
    assert any("nothing wrote" in w.message for w in fast.warnings)
    assert any("computed from memory" in w.message for w in fast.warnings)
