"""get_transfer_index on PLENA: integer inputs and output in INT SRAM, and a base-ISA baseline
that is correct on every scoring profile with poisoned memory."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks.sampling import CONFIDENCE_RTOL, get_transfer_index, predictions

PLENA = get_platform("plena")
TASK = "get_transfer_index"
PROGRAM = PLENA.build(PLENA.baseline(TASK, "C1")).program


RUNS = [(0, "normal", False), (11, "large", True), (12, "mixed_signs", True)]


@pytest.mark.parametrize(("seed", "profile", "poison"), RUNS)
def test_the_base_isa_baseline_is_correct(seed, profile, poison):
    evaluation = PLENA.run(PROGRAM, PLENA.prepare(TASK, "C1", seed, profile, poison))
    assert evaluation.correct and evaluation.fault is None, evaluation.format_summary()


def test_the_baseline_uses_no_extension_and_writes_x_in_place():
    names = {ins.spec.name for ins in PROGRAM.instructions}
    assert "V_TOPK" in names and not names & {"V_RED_MAX_IDX", "V_TOPK_MASK", "S_SELECT_INT"}
    instance = PLENA.prepare(TASK, "C1", 0)
    assert [p.name for p in instance.layout.tensors] == ["logits", "mask"]
    assert [(p.name, p.base) for p in instance.int_layout] == [("x", 0)]
    assert "### Output (INT SRAM, in place)" in instance.contract_text()


def test_its_confidences_are_well_inside_the_tie_band():
    worst = 0.0
    for profile in ("normal", "large", "mixed_signs"):
        instance = PLENA.prepare(TASK, "C1", 3, profile, poison=True)
        machine = PLENA.execute(PROGRAM, instance.image).machine
        _, conf = predictions(instance.inputs["logits"])
        computed = np.asarray(machine.fpsram[64:128], dtype=np.float64)  # the last row's
        worst = max(worst, float(np.max(np.abs(computed - conf[-1]) / conf[-1])))
    assert worst < CONFIDENCE_RTOL / 3


def test_a_kernel_that_leaves_x_alone_is_wrong():
    evaluation = PLENA.evaluate("S_ADDI_INT gp1, gp0, 0\n", PLENA.prepare(TASK, "C1", 0))
    assert not evaluation.correct and 0.8 < evaluation.match_rate < 1.0


def test_near_ties_are_judged_the_kernels_way():
    instance = PLENA.prepare(TASK, "C1", 1, "mixed_signs", poison=True)
    machine = PLENA.execute(PROGRAM, instance.image).machine
    output = machine.intsram[:128].astype(np.float64).reshape(2, 64)
    inputs = instance.inputs
    canonical = get_transfer_index(inputs["logits"], inputs["mask"], inputs["x"], 8)
    evaluation = PLENA.run(PROGRAM, instance)
    assert evaluation.correct
    assert not np.array_equal(output, canonical)  # this seed breaks a near-tie the other way
