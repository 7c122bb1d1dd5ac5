"""Case-study tasks outside the paper's 23: the diffusion-LLM sampling step (ISA co-design).

get_transfer_index is one denoising step of masked diffusion LLM sampling as LLaDA writes it
(low-confidence remasking, temperature 0): for every position the predicted token is the
argmax of its logits and its confidence is that token's softmax probability; among the
positions still masked, the k most confident are "transferred": their token is replaced by
the prediction. The paper's co-design case study (its Appendix G) runs it on PLENA at batch
2, generation length 64, vocabulary 256, k 8 (bf16), the shape of its one configuration.

    x0[b, l]   = argmax_v logits[b, l, v]                (the first index of the maximum)
    conf[b, l] = 1 / sum_v exp(logits[b, l, v] - max_v logits[b, l, v])
    c[b, l]    = conf[b, l] if mask[b, l] else -inf
    T[b]       = the k positions with the largest c[b, :] (ties: the lower position first)
    out[b, l]  = x0[b, l] if l in T[b] and mask[b, l] else x[b, l]

At least k positions of every row are masked (the sampler never asks for more tokens than are
masked). Argmax is exact on the values the hardware sees, but a confidence is computed in
finite precision, so positions whose confidence lies within CONFIDENCE_RTOL of the k-th largest
may rank either way: `admissible_reference` accepts either choice (exactly k transferred).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import InputSpec, Params, Rounder, Task

# Relative band around the k-th largest confidence inside which either ranking is correct.
# Evidence: the PLENA baseline's BF16 confidences (exp and sums rounded to BF16, a BF16
# reciprocal) differ from float64 by at most 1.0% over five value profiles and six seeds each
# (tests/platforms/plena/test_plena_sampling.py checks the bound); 2^-5 = 3.1% is three times that.
CONFIDENCE_RTOL = 2.0**-5
TOKEN_RANGE = (0, 255)  # token ids of the current sequence x (the vocabulary is 256)


def predictions(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x0, conf): the first argmax of each position's logits and its softmax probability."""
    logits = np.asarray(logits, dtype=np.float64)
    x0 = np.argmax(logits, axis=-1)
    peak = logits.max(axis=-1, keepdims=True)
    conf = 1.0 / np.exp(logits - peak).sum(axis=-1)
    return x0, conf


def transfer_mask(conf: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """The k most confident masked positions of each row (ties: the lower position first)."""
    masked = np.where(mask != 0, conf, -np.inf)
    chosen = np.zeros(masked.shape, dtype=bool)
    for b in range(masked.shape[0]):
        chosen[b, np.argsort(-masked[b], kind="stable")[:k]] = True
    return chosen & (mask != 0)


def get_transfer_index(logits: np.ndarray, mask: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    x0, conf = predictions(logits)
    chosen = transfer_mask(conf, mask, k)
    return np.where(chosen, x0, np.asarray(x, dtype=np.float64)).astype(np.float64)


def admissible_reference(output: np.ndarray, inputs: Mapping[str, np.ndarray], params: Params) -> np.ndarray:
    """The reference closest to `output` among the correct results: where the kernel's choice at
    the top-k boundary differs from the canonical one only among confidences within
    CONFIDENCE_RTOL of the k-th largest (and it still transfers exactly k), its choice is
    the reference; otherwise the canonical reference."""
    logits, mask, x = inputs["logits"], np.asarray(inputs["mask"]), np.asarray(inputs["x"], dtype=np.float64)
    k = int(params["k"])
    x0, conf = predictions(logits)
    reference = get_transfer_index(logits, mask, x, k)
    out = np.asarray(output, dtype=np.float64).reshape(reference.shape)
    for b in range(mask.shape[0]):
        masked = np.flatnonzero(mask[b] != 0)
        if masked.size <= k:
            continue
        kth = np.sort(conf[b, masked])[::-1][k - 1]
        must = masked[conf[b, masked] > kth * (1 + CONFIDENCE_RTOL)]
        band = masked[np.abs(conf[b, masked] - kth) <= kth * CONFIDENCE_RTOL]
        changes = x0[b, band] != x[b, band]
        took = band[changes & (out[b, band] == x0[b, band])]
        kept = band[changes & (out[b, band] == x[b, band])]
        undecided = int(np.count_nonzero(~changes))  # prediction equals the token: either way
        if took.size + kept.size < int(changes.sum()):
            continue  # some band position holds neither token: plainly wrong, keep canonical
        if must.size + took.size <= k <= must.size + took.size + undecided:
            row = x[b].copy()
            row[must] = x0[b, must]
            row[took] = x0[b, took]
            row[band[~changes]] = x[b, band[~changes]]
            reference[b] = row
    return reference


def _compute(values: Mapping[str, np.ndarray], params: Params, rounder: Rounder) -> np.ndarray:
    # Exact whatever the rounding hook: argmax of exact values, and a ranking judged with a band.
    return get_transfer_index(values["logits"], values["mask"], values["x"], int(params["k"]))


GET_TRANSFER_INDEX = Task(
    id="get_transfer_index",
    name="dLLM transfer index",
    level=2,
    category="Sampling",
    description=(
        "One denoising step of diffusion-LLM sampling (LLaDA's get_transfer_index, low-confidence "
        "remasking, temperature 0). Inputs: logits [B, L, V], mask [B, L] (1.0 where position l of "
        "sequence b is still masked, else 0.0; at least k per row) and the current tokens x [B, L] "
        "(integers 0..V-1). For each position: x0 = argmax over V of the logits (the first index of "
        "the maximum) and conf = softmax probability of x0 = 1 / sum_v exp(logits[v] - max). Among "
        "the masked positions of each row, the k with the largest conf (ties: lower position first) "
        "take their prediction: out[b, l] = x0[b, l] for those, x[b, l] everywhere else. Positions "
        f"whose conf is within {100 * CONFIDENCE_RTOL:.1f}% of the k-th largest may rank either way, "
        "as long as exactly k are transferred."
    ),
    input_specs=(
        InputSpec("logits", lambda p: (p["B"], p["L"], p["V"])),
        InputSpec("mask", lambda p: (p["B"], p["L"]), kind="mask"),
        InputSpec("x", lambda p: (p["B"], p["L"]), dtype="int32", int_range=TOKEN_RANGE),
    ),
    output_rule=lambda p: (p["B"], p["L"]),
    compute=_compute,
    default_configs={"C1": {"B": 2, "L": 64, "V": 256, "k": 8}},
    config_names=("C1",),
    hidden_param="V",
    scales_with_input=False,
    output_updates="x",
    admissible=admissible_reference,
)

TASKS = (GET_TRANSFER_INDEX,)
