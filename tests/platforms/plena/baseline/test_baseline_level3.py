"""The PLENA compiler baseline is correct on every Level-3 decoder-block cell, and its largest
configurations fit the on-chip memories."""

from __future__ import annotations

import pytest

from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.baseline import composite, generate
from kernelcraft.platforms.plena.config import PlenaConfig

from .baseline_cells import cells, check_cell

LEVEL3 = ("decoder_llama", "decoder_t5")
CELLS = cells(LEVEL3)


@pytest.mark.parametrize(("task", "config"), CELLS)
def test_cell_is_correct_on_two_seeds_with_poisoned_memory(task, config):
    check_cell(task, config, seed=0, profile="normal")
    check_cell(task, config, seed=1, profile="mixed_signs")


def test_every_level3_task_has_a_generator():
    assert set(LEVEL3) <= set(composite.GENERATORS)


@pytest.mark.parametrize("task", LEVEL3)
def test_largest_configuration_fits_vram_mram_and_registers(task):
    # Generation checks every VRAM region against the VRAM size and takes registers from a
    # bounded pool, so producing valid assembly for C5 shows the plan fits.
    source = generate(task, "C5")
    assert assemble(source).ok


def test_a_smaller_vram_is_reported_not_overrun():
    tiny = PlenaConfig(vram_rows=2048)
    with pytest.raises(NotImplementedError, match="VRAM"):
        generate("decoder_t5", "C5", tiny)
