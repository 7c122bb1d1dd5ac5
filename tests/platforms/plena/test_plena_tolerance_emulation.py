"""PLENA's tolerances admit what a correct on-chip kernel computes (BF16 after every stage)."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.plena.mx import to_bf16
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import all_tasks

PLENA = get_platform("plena")


@pytest.mark.parametrize("task", [t for t in all_tasks() if PLENA.supports(t)], ids=lambda t: t.id)
def test_bf16_emulation_passes_the_tolerance(task):
    """A kernel rounding every intermediate to BF16 must pass: the tolerance is not too tight."""
    from kernelcraft.platforms.plena.evaluation import prepare

    inst = prepare(task, "C1", 4)
    got = task.emulate(inst.inputs, inst.params, to_bf16)
    tol = inst.tolerance
    assert (np.abs(got - inst.reference) <= tol.atol + tol.rtol * np.abs(inst.reference)).all()
    assert not np.array_equal(got, inst.reference) or task.id == "relu"  # the emulation does round
