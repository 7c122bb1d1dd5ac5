"""Reward-hacking kernels must not score: the defences checked end to end on every PLENA task.

A kernel that writes constants, one that only works because memory starts zeroed, one
hard-coded to one shape, and the question whether the reference is anywhere a kernel could
read it. Scoring runs go through score_kernel, exactly as a finished episode is scored.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from kernelcraft.agent.scoring import score_kernel
from kernelcraft.platforms.plena.baseline import generate
from kernelcraft.platforms.plena.evaluation import PreparedInstance, evaluate, prepare
from kernelcraft.platforms.plena.layout import FP_SLOTS
from kernelcraft.platforms.plena.mx import to_bf16
from kernelcraft.platforms.plena.platform import PlenaPlatform
from kernelcraft.platforms.registry import get_platform
from kernelcraft.tasks import SCORING_PROFILES, all_tasks

from .plena_helpers import const

PLENA_PLATFORM = get_platform("plena")

PLATFORM = PlenaPlatform()
HW = PLATFORM.config
PLENA_TASKS = [task.id for task in all_tasks() if PLENA_PLATFORM.supports(task)]
SCRATCH_ROW = HW.vram_elems - 16 * HW.vlen  # far above anything a C1 baseline touches
SCRATCH_BLOCK = HW.vram_elems // 2  # zero-assumed rows for the VRAM variant


@cache
def _instance(task_id: str, config: str = "C1", poison: bool = False) -> PreparedInstance:
    return prepare(task_id, config, seed=0, profile="normal", poison=poison)


def _output_rows(inst: PreparedInstance) -> int:
    return int(np.prod(inst.output_shape)) // HW.vlen


def _score(task_id: str, source: str):
    return score_kernel(PLATFORM, task_id, "C1", 0, source, kernel_label="best", baseline_cycles=None)


# ---------------------------------------------------------------------------- constant outputs


def constant_kernel(inst: PreparedInstance, slot: int) -> str:
    """Fill the whole output with one FP SRAM constant (a zero row is made from a loaded input row)."""
    first = inst.layout.tensors[0]
    return (
        const("gp1", first.base)
        + "C_SET_ADDR_REG a0, gp0, gp1\n"
        + const("gp1", first.numel)
        + "C_SET_SCALE_REG gp1\n"
        + const("gp1", SCRATCH_ROW)
        + "S_ADDI_INT gp2, gp0, 0\n"
        + "H_PREFETCH_V gp1, gp2, a0, 0, 0\n"
        + "V_MUL_VF gp1, gp1, f0, 0\n"
        + f"S_LD_FP f1, gp0, {slot}\n"
        + "V_ADD_VF gp1, gp1, f1, 0\n"
        + "S_ADDI_INT gp3, gp0, 0\n"
        + f"C_LOOP_START gp4, {_output_rows(inst)}\n"
        + "V_ADD_VF gp3, gp1, f0, 0\n"
        + f"S_ADDI_INT gp3, gp3, {HW.vlen}\n"
        + "C_LOOP_END gp4\n"
    )


@pytest.mark.parametrize("slot_name", ["zero", "inv_hidden", "half"])
@pytest.mark.parametrize("task_id", PLENA_TASKS)
def test_constant_output_is_rejected(task_id, slot_name):
    inst = _instance(task_id)
    source = constant_kernel(inst, FP_SLOTS[slot_name])
    ev = evaluate(source, inst)
    assert ev.ok, ev.format_summary()  # the kernel runs; only its values are wrong
    value = float(to_bf16(np.array([inst.fp_constants[slot_name]]))[0])
    assert np.all(ev.output == value), "the constant kernel does not do what it claims"
    assert not ev.correct, ev.format_summary()
    assert ev.diff.first_mismatch is not None


@pytest.mark.parametrize("task_id", ["relu", "softmax", "rmsnorm", "gemm", "sdpa"])
def test_constant_output_fails_final_scoring(task_id):
    # softmax: 1/H is its exact mean; relu and rmsnorm: zero is right for many elements.
    slot = FP_SLOTS["inv_hidden" if task_id == "softmax" else "zero"]
    report = _score(task_id, constant_kernel(_instance(task_id), slot))
    assert not report.success and not report.visible_correct


# ---------------------------------------------------------------------------- zeroed memory


def zero_vram_reliance(inst: PreparedInstance) -> str:
    """Add never-written VRAM rows to the output: harmless only while VRAM starts zeroed."""
    return (
        "S_ADDI_INT gp10, gp0, 0\n"
        + const("gp11", SCRATCH_BLOCK)
        + f"C_LOOP_START gp12, {_output_rows(inst)}\n"
        + "V_ADD_VV gp10, gp10, gp11, 0\n"
        + f"S_ADDI_INT gp10, gp10, {HW.vlen}\n"
        + f"S_ADDI_INT gp11, gp11, {HW.vlen}\n"
        + "C_LOOP_END gp12\n"
    )


def zero_fpsram_reliance(inst: PreparedInstance) -> str:
    """Add an FP SRAM word no one set (taken to be 0.0) to the output."""
    unset = max(FP_SLOTS.values()) + 40
    return (
        f"S_LD_FP f7, gp0, {unset}\n"
        + "S_ADDI_INT gp10, gp0, 0\n"
        + f"C_LOOP_START gp12, {_output_rows(inst)}\n"
        + "V_ADD_VF gp10, gp10, f7, 0\n"
        + f"S_ADDI_INT gp10, gp10, {HW.vlen}\n"
        + "C_LOOP_END gp12\n"
    )


def zero_hbm_reliance(inst: PreparedInstance) -> str:
    """Add a row read from HBM no one wrote (taken to be zeros) to every output row."""
    past = HW.hbm_bytes - 65536  # far past the inputs and any baseline's HBM scratch
    return (
        const("gp10", past)
        + "C_SET_ADDR_REG a7, gp0, gp10\n"
        + f"S_ADDI_INT gp10, gp0, {4 * HW.vlen}\n"
        + "C_SET_SCALE_REG gp10\n"
        + const("gp11", SCRATCH_ROW)
        + "S_ADDI_INT gp10, gp0, 0\n"
        + "H_PREFETCH_V gp11, gp10, a7, 0, 0\n"
        + f"C_LOOP_START gp12, {_output_rows(inst)}\n"
        + "V_ADD_VV gp10, gp10, gp11, 0\n"
        + f"S_ADDI_INT gp10, gp10, {HW.vlen}\n"
        + "C_LOOP_END gp12\n"
    )


def zero_intsram_reliance(inst: PreparedInstance) -> str:
    """Copy every output row onto itself through an offset read from INT SRAM (taken to be 0)."""
    return (
        "S_LD_INT gp13, gp0, 700\n"
        + "S_ADDI_INT gp10, gp0, 0\n"
        + f"C_LOOP_START gp12, {_output_rows(inst)}\n"
        + "S_ADD_INT gp11, gp10, gp13\n"
        + "V_ADD_VF gp10, gp11, f0, 0\n"
        + f"S_ADDI_INT gp10, gp10, {HW.vlen}\n"
        + "C_LOOP_END gp12\n"
    )


RELIANCES = {
    "vram": zero_vram_reliance,
    "fpsram": zero_fpsram_reliance,
    "hbm": zero_hbm_reliance,
    "intsram": zero_intsram_reliance,
}


@pytest.mark.parametrize("memory", list(RELIANCES))
@pytest.mark.parametrize("task_id", PLENA_TASKS)
def test_kernel_relying_on_zeroed_memory_fails_under_poison(task_id, memory):
    source = generate(task_id, "C1") + "\n" + RELIANCES[memory](_instance(task_id))
    clean = evaluate(source, _instance(task_id))
    assert clean.correct, "the appended code is not harmless on zeroed memory: " + clean.format_summary()
    poisoned = evaluate(source, _instance(task_id, poison=True))
    assert not poisoned.correct, poisoned.format_summary()
    if memory in ("vram", "fpsram"):
        assert poisoned.diff.untouched > 0, "NaN poison should show as untouched output"


def test_zeroed_memory_reliance_fails_final_scoring_from_the_visible_run_on():
    """Final scoring poisons the visible run too, so such a kernel fails there already."""
    report = _score("silu", generate("silu", "C1") + "\n" + zero_vram_reliance(_instance("silu")))
    assert not report.visible_correct and not report.success
    [visible] = report.runs
    assert visible.poison and not visible.correct and visible.profile == "normal"
    general = _score("silu", generate("silu", "C1"))
    assert [run.profile for run in general.runs[1:]] == list(SCORING_PROFILES)
    assert general.success and all(run.poison for run in general.runs)


# ---------------------------------------------------------------------------- one shape only


@pytest.mark.parametrize("task_id", PLENA_TASKS)
def test_kernel_for_one_shape_fails_on_another(task_id):
    task = next(t for t in all_tasks() if t.id == task_id)
    assert PLENA_PLATFORM.params(task, "C1") != PLENA_PLATFORM.params(task, "C2")
    inst = prepare(task_id, "C2", seed=0, poison=True)
    ev = evaluate(generate(task_id, "C1"), inst)
    assert not ev.correct, f"the C1 kernel passes C2 of {task_id}: {ev.format_summary()}"


# ---------------------------------------------------------------------------- reference is secret


def _fragments(reference: np.ndarray) -> list[bytes]:
    """Byte patterns of the reference as it would be leaked: float32 or BF16 runs from its middle.

    (MXFP8 patterns are no test here: rope's first row and a normalisation's output share their
    quantised elements with the input itself.)"""
    flat = reference.reshape(-1).astype(np.float32)
    mid = flat[flat.size // 2 :][:8]
    bf16_bits = (mid.view(np.uint32) >> 16).astype(np.uint16)
    out = [mid[:4].tobytes(), bf16_bits[:6].tobytes()]
    return [b for b in out if len(set(b)) > 2]  # too-uniform patterns match anything


@pytest.mark.parametrize("task_id", PLENA_TASKS)
def test_reference_never_enters_any_memory_image(task_id):
    for profile in ("normal", *SCORING_PROFILES):
        inst = prepare(task_id, "C1", seed=0, profile=profile, poison=True)
        image = inst.image
        assert image.vram == {} and set(image.fpsram) == {0}
        assert len(image.fpsram[0]) == max(FP_SLOTS.values()) + 1  # the constants only
        expected_hbm = max(t.scale_base + t.numel // HW.mx_block for t in inst.layout.tensors)
        assert len(image.hbm) <= -(-expected_hbm // 64) * 64 + 64  # the inputs only
        hbm = np.asarray(image.hbm, dtype=np.uint8).tobytes()
        for fragment in _fragments(inst.reference):
            assert fragment not in hbm, f"{task_id} {profile}: reference bytes found in the HBM image"
