"""get_transfer_index: the reference is LLaDA's sampling step, and near-ties at the top-k
boundary may be broken either way (but exactly k positions are transferred)."""

from __future__ import annotations

import numpy as np

from kernelcraft.tasks import all_tasks, case_study_tasks, get_task
from kernelcraft.tasks.sampling import CONFIDENCE_RTOL, admissible_reference, get_transfer_index, predictions

TASK = get_task("get_transfer_index")
PARAMS = TASK.default_configs["C1"]


def loop_reference(logits, mask, x, k):
    """The sampling step written out position by position."""
    batch, length, vocab = logits.shape
    out = x.astype(float).copy()
    for b in range(batch):
        scored = []
        for pos in range(length):
            row = logits[b, pos]
            best = 0
            for v in range(vocab):
                if row[v] > row[best]:
                    best = v
            conf = 1.0 / sum(np.exp(row[v] - row[best]) for v in range(vocab))
            if mask[b, pos]:
                scored.append((-conf, pos, best))
        for _, pos, best in sorted(scored)[:k]:
            out[b, pos] = best
    return out


def test_the_reference_is_the_sampling_step_with_first_index_ties():
    rng = np.random.default_rng(3)
    logits = np.round(rng.normal(size=(2, 16, 32)) * 2) / 2  # coarse values: many exact ties
    mask = (rng.random((2, 16)) < 0.7).astype(float)
    x = rng.integers(0, 32, size=(2, 16))
    assert np.array_equal(get_transfer_index(logits, mask, x, 4), loop_reference(logits, mask, x, 4))
    x0, _ = predictions(np.array([[[1.0, 3.0, 3.0]]]))
    assert x0[0, 0] == 1


def test_the_task_is_a_case_study_that_all_does_not_select():
    assert TASK in case_study_tasks() and TASK not in all_tasks()
    assert PARAMS == {"B": 2, "L": 64, "V": 256, "k": 8}


def test_inputs_mask_more_than_k_positions_and_tokens_are_in_the_vocabulary():
    for profile in ("normal", "large", "mixed_signs"):
        inputs = TASK.make_inputs_for(PARAMS, 5, profile)
        assert set(np.unique(inputs["mask"])) <= {0.0, 1.0}
        assert (inputs["mask"].sum(axis=1) > PARAMS["k"]).all()
        assert inputs["x"].dtype == np.int32 and 0 <= inputs["x"].min() and inputs["x"].max() < 256


def boundary_case():
    """One row, two masked positions tied within the band at the k = 1 boundary, one far below."""
    logits = np.full((1, 4, 8), -4.0)
    logits[0, 0, 3] = 3.0  # conf c
    logits[0, 1, 5] = 3.0 - 0.5 * CONFIDENCE_RTOL  # conf within the band of c
    logits[0, 2, 6] = 1.0  # far below
    logits[0, 3, 2] = 9.0  # the most confident, but not masked
    inputs = {"logits": logits, "mask": np.array([[1.0, 1.0, 1.0, 0.0]]), "x": np.array([[7, 7, 7, 7]])}
    return inputs, {"B": 1, "L": 4, "V": 8, "k": 1}


def test_a_near_tie_may_go_either_way_but_only_k_are_transferred():
    inputs, params = boundary_case()
    canonical = get_transfer_index(inputs["logits"], inputs["mask"], inputs["x"], 1)
    assert canonical.tolist() == [[3, 7, 7, 7]]
    swapped = np.array([[7, 5, 7, 7]])
    assert admissible_reference(swapped, inputs, params).tolist() == swapped.tolist()
    for wrong in ([[7, 7, 6, 7]], [[3, 5, 7, 7]], [[7, 7, 7, 7]], [[1, 7, 7, 7]]):
        assert admissible_reference(np.array(wrong), inputs, params).tolist() == canonical.tolist()
