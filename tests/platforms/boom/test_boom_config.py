"""The BOOM presets: the mixins' numbers, validation, and what rvsim is told."""

from __future__ import annotations

import dataclasses

import pytest

from kernelcraft.platforms.boom.config import DEFAULT_CONFIG, PRESETS, BoomConfigError, preset, sources
from kernelcraft.platforms.boom.docs import HARDWARE_ROWS
from kernelcraft.platforms.boom.machine import rvsim_config

# (fetchWidth, decodeWidth, numRobEntries, int IQ, mem IQ, fp IQ, int regs, fp regs, LDQ, STQ,
#  maxBrCount, L1 ways, MSHRs) as WithN{Small,Medium,Large,Mega}Booms set them.
MIXINS = {
    "small": (4, 1, 32, (8, 1), (8, 1), (8, 1), 52, 48, 8, 8, 8, 4, 2),
    "medium": (4, 2, 64, (20, 2), (12, 1), (16, 1), 80, 64, 16, 16, 12, 4, 2),
    "large": (8, 3, 96, (32, 3), (16, 1), (24, 1), 100, 96, 24, 24, 16, 8, 4),
    "mega": (8, 4, 128, (40, 4), (24, 2), (32, 2), 128, 128, 32, 32, 20, 8, 8),
}


@pytest.mark.parametrize("name", list(MIXINS))
def test_presets_carry_the_mixin_numbers(name):
    c = PRESETS[name]
    got = (
        c.fetch_width,
        c.decode_width,
        c.rob_entries,
        (c.int_iq.entries, c.int_iq.issue_width),
        (c.mem_iq.entries, c.mem_iq.issue_width),
        (c.fp_iq.entries, c.fp_iq.issue_width),
        c.int_phys_regs,
        c.fp_phys_regs,
        c.ldq_entries,
        c.stq_entries,
        c.max_br_count,
        c.l1d_ways,
        c.l1d_mshrs,
    )
    assert got == MIXINS[name]
    assert c.l1d_bytes == (16 if name in ("small", "medium") else 32) * 1024


def test_large_is_the_default_and_every_table_row_has_a_source():
    assert DEFAULT_CONFIG is PRESETS["large"] and preset("LargeBoom") is DEFAULT_CONFIG
    for name in PRESETS:
        src = sources(name)
        for _, key, _, _ in HARDWARE_ROWS:
            assert src.get(key), (name, key)
        assert f":{ {'small': 95, 'medium': 141, 'large': 187, 'mega': 233}[name] }" in src["fetch_bytes"]
    assert "mixin" not in sources("large")["l1d_prefetch"] and ":246" in sources("mega")["l1d_prefetch"]


def test_invalid_configurations_are_refused_up_front():
    with pytest.raises(BoomConfigError, match="decode_width"):
        dataclasses.replace(DEFAULT_CONFIG, decode_width=7)
    with pytest.raises(BoomConfigError, match="multiple of decode_width"):
        dataclasses.replace(DEFAULT_CONFIG, rob_entries=97)
    with pytest.raises(BoomConfigError, match="power of two"):
        dataclasses.replace(DEFAULT_CONFIG, l1_sets=48)
    with pytest.raises(BoomConfigError, match="unknown BOOM preset"):
        preset("giga")
    hash(DEFAULT_CONFIG)


@pytest.mark.parametrize("name", list(PRESETS))
def test_rvsim_is_told_the_preset(name):
    c = PRESETS[name]
    r = rvsim_config(c)
    assert (r.width, r.fetch_width, r.issue_width) == (c.decode_width, c.fetch_bytes // 4, c.issue_width)
    b = r.backend
    assert (b.rob_size, b.load_queue_size, b.store_buffer_size) == (
        c.rob_entries,
        c.ldq_entries,
        c.stq_entries,
    )
    assert (b.prf_gpr_size, b.issue_queue_size, b.checkpoint_count) == (
        c.int_phys_regs,
        c.issue_queue_entries,
        c.max_br_count,
    )
    assert (r.l1d.size_bytes, r.l1d.ways, r.l1d.mshr_count) == (c.l1d_bytes, c.l1d_ways, c.l1d_mshrs)
    assert r.l1d.latency + 1 == 3 and r.misaligned_access_trap
    units = {type(u).__name__: u for u in b.fu_config.units}
    assert units["IntAlu"].count == c.int_iq.issue_width and units["IntMul"].latency == 3
    assert r.branch_predictor.history_lengths == [2, 4, 8, 16, 32, 64]
    assert type(r.l1d.prefetcher).__name__ == ("NextLine" if name == "mega" else "Off")


def test_a_wider_core_runs_the_same_kernel_in_fewer_cycles():
    from kernelcraft.platforms.boom.platform import BoomPlatform

    cycles = {}
    for name in ("small", "large"):
        plat = BoomPlatform(PRESETS[name])
        source = plat.baseline("towers", "C1")
        ev = plat.evaluate(source, plat.prepare("towers", "C1", 0))
        assert ev.correct
        cycles[name] = ev.cycles
    assert cycles["large"] < cycles["small"]
