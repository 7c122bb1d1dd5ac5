"""What a task is: the math of an operator, its seeded inputs and an exact reference.

A task is data plus three small functions (input shapes, output shape, the computation), so
adding a task never touches the harness. Tasks know no platform: which shapes a platform
runs a task at, and how inputs are laid out in its memories, live in the platform's folder.
A task carries neutral default shapes (the suite's C1..C5), plain scalars (eps, the hidden
size, the head size) and its MAC count for roofline bounds.

The float form's computation is written once against a rounding hook: identity gives the
float64 reference, rounding after every stage emulates what a correct on-chip kernel
computes, which is how tolerances are checked against evidence rather than guessed. A task
may also have an integer form (integer inputs such as int8, an exact integer reference with
a documented algorithm) for integer-only targets; a platform says which form it runs.
"""

from __future__ import annotations

import difflib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from kernelcraft.blas import one_blas_thread

Params = Mapping[str, int]
Rounder = Callable[[np.ndarray], np.ndarray]

CONFIG_NAMES = ("C1", "C2", "C3", "C4", "C5")
ITERATION_CAPS = {1: 15, 2: 20, 3: 25}
FORMS = ("float", "integer")

# Value profiles: how activations are drawn. Weights keep ~1/sqrt(fan_in) in every profile.
PROFILES = ("normal", "large", "small", "near_zero", "mixed_signs")
# The profiles final scoring draws its hidden inputs from (one hidden seed per profile). The
# compiler baseline must pass every one of them on every cell, or a perfect kernel would fail.
SCORING_PROFILES = ("large", "mixed_signs")
PROFILE_GAIN = {"normal": 1.0, "large": 8.0, "small": 0.125, "near_zero": 1.0, "mixed_signs": 1.0}
# Typical magnitude of an activation per profile (Student-t with 3 degrees of freedom has
# standard deviation sqrt(3)); weights marked counter_gain are divided by it when above 1.
PROFILE_RMS = {"normal": 1.0, "large": 8.0, "small": 0.125, "near_zero": 0.03, "mixed_signs": 3**0.5}
NEAR_ZERO_LIMIT = 0.05
HEAVY_TAIL_CLIP = 12.0  # |value| cap for mixed_signs (Student-t tails); keeps exp/squares finite
# Under mixed_signs, inputs that set attention scores (Q and K of the core attentions, the
# activations the projected attentions project to Q and K) have their tails capped at 3
# standard deviations. Uncapped Student-t tails put single scores near 7, where a BF16 score
# is off by up to 0.016 and exp of it by 1.6% (and an MXFP8 round trip of K and V by far
# more), failing a correct kernel on rounding alone; the cap keeps the score range that of
# the normal profile while V and the other inputs keep the heavy tails the profile tests.
LOGIT_CLIP = 3.0  # in standard deviations

DEFAULT_EPS = 1e-6  # the norms' epsilon unless a task sets its own


def exact(x: np.ndarray) -> np.ndarray:
    return x


class TaskError(ValueError):
    """A task asked for something it does not have (unknown task, form or profile)."""


@dataclass(frozen=True)
class InputSpec:
    """One input tensor: its name, shape rule and how its values are drawn.

    kind: "activation" (follows the value profile), "weight" (normal with std 1/sqrt(fan_in)),
    "bias" (small normal), "cos"/"sin" (rotary tables), "bn_scale"/"bn_shift", "mask" (0/1,
    more than params["k"] ones per row, at random positions).
    counter_gain: the weight is divided by the profile's activation magnitude when that is
    above 1, so attention logits stay O(1) under "large" and "mixed_signs" (exp of large
    BF16 logits would fail a correct kernel, which is not what those profiles test).
    logits: the activation feeds attention scores directly (Q, K): it is never scaled up,
    and under "mixed_signs" it gets random signs at unit variance with tails capped at
    LOGIT_CLIP, since alternating signs in both Q and K would line every product up into
    huge logits, and uncapped tails give scores BF16 cannot resolve finely enough.
    feeds_scores: the activation is projected to Q and K (x of MHA, GQA, MQA; the encoder
    states of a cross-attention): under "mixed_signs" its tails are capped at LOGIT_CLIP
    standard deviations for the same reason.
    dtype: "float32" for the float form; an integer dtype ("int8", "uint8", "int16",
    "int32", "int64", "uint32", ...) for integer forms, drawn by draw_integers over
    int_range (inclusive; the dtype's whole range by default).
    """

    name: str
    shape: Callable[[Params], tuple[int, ...]]
    kind: str = "activation"
    fan_in: Callable[[Params], int] | None = None
    counter_gain: bool = False
    logits: bool = False
    feeds_scores: bool = False
    dtype: str = "float32"
    int_range: tuple[int, int] | None = None

    @property
    def is_integer(self) -> bool:
        return np.issubdtype(np.dtype(self.dtype), np.integer)


@dataclass(frozen=True)
class IntegerForm:
    """A task in integer arithmetic: integer inputs and an exact integer reference.

    compute(inputs, params) must be exact (integer NumPy arithmetic); `algorithm` states
    how the result is defined (accumulator width, requantisation with multiplier and shift,
    rounding, saturation, lookup tables) in words the task prompt shows; `constants(params)`
    gives the integer parameters (multipliers, shifts, zero points) the contract states.
    """

    input_specs: tuple[InputSpec, ...]
    output_rule: Callable[[Params], tuple[int, ...]]
    compute: Callable[[Mapping[str, np.ndarray], Params], np.ndarray]
    output_dtype: str = "int32"
    algorithm: str = ""
    constants: Callable[[Params], dict[str, int]] | None = None


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    level: int
    category: str
    description: str
    # The float form: float inputs, a float64 reference (None for integer-only tasks).
    input_specs: tuple[InputSpec, ...] = ()
    output_rule: Callable[[Params], tuple[int, ...]] | None = None
    compute: Callable[[Mapping[str, np.ndarray], Params, Rounder], np.ndarray] | None = None
    integer: IntegerForm | None = None
    # Neutral default shapes, C1..C5: what a platform runs unless its own table says otherwise.
    default_configs: Mapping[str, Params] = field(default_factory=dict)
    eps: float = DEFAULT_EPS
    hidden_param: str | None = None  # the parameter that is the normalised (hidden) size
    dhead: Callable[[Params], int] | None = None  # attention head size (default: the hidden size)
    macs: Callable[[Params], int] | None = None  # multiply-accumulates the operator needs
    iteration_cap_override: int | None = None  # None: the level's default (15 / 20 / 25)
    config_names: tuple[str, ...] = CONFIG_NAMES
    # Whether the output grows with the activations (so the absolute tolerance scales with the
    # "large" profile's gain); False for normalisations whose output is O(1) whatever the input.
    scales_with_input: bool = True
    # The output is this input, updated in place (a platform reads the result where it placed
    # the input); None: the output is a tensor of its own.
    output_updates: str | None = None
    # (output, inputs, params) -> the reference closest to `output` among the results a correct
    # kernel may produce (e.g. near-ties in a ranking broken either way); None: the reference.
    admissible: Callable[[np.ndarray, Mapping[str, np.ndarray], Params], np.ndarray] | None = None

    # ------------------------------------------------------------------ forms
    @property
    def iteration_cap(self) -> int:
        return self.iteration_cap_override or ITERATION_CAPS[self.level]

    @property
    def forms(self) -> tuple[str, ...]:
        return tuple(
            name
            for name, present in (("float", self.compute is not None), ("integer", self.integer))
            if present
        )

    def has_form(self, form: str) -> bool:
        return form in self.forms

    def _specs(self, form: str) -> tuple[InputSpec, ...]:
        self._check_form(form)
        return self.input_specs if form == "float" else self.integer.input_specs

    def _check_form(self, form: str) -> None:
        if form not in FORMS:
            raise TaskError(f"unknown task form {form!r}; choose one of {', '.join(FORMS)}")
        if not self.has_form(form):
            raise TaskError(f"task {self.id} has no {form} form")

    # ------------------------------------------------------------------ shapes
    def inputs_for(self, params: Params, form: str = "float") -> list[tuple[str, tuple[int, ...]]]:
        return [(spec.name, tuple(spec.shape(params))) for spec in self._specs(form)]

    def input_dtypes(self, form: str = "float") -> dict[str, str]:
        return {spec.name: spec.dtype for spec in self._specs(form)}

    def output_shape_for(self, params: Params, form: str = "float") -> tuple[int, ...]:
        self._check_form(form)
        rule = self.output_rule if form == "float" else self.integer.output_rule
        return tuple(rule(params))

    def macs_for(self, params: Params) -> int:
        """The operator's mathematical MACs (0 when it has no matrix products or none are counted)."""
        if self.macs is None:
            return 0
        try:
            return int(self.macs(params))
        except KeyError:  # parameters renamed: no compute bound rather than a wrong one
            return 0

    def scalars_for(self, params: Params) -> dict[str, float]:
        """Plain scalars of the math: eps, the normalised (hidden) size and the head size."""
        hidden = params[self.hidden_param] if self.hidden_param else self.output_shape_for(params)[-1]
        dhead = self.dhead(params) if self.dhead else hidden
        return {"eps": self.eps, "hidden": hidden, "dhead": dhead}

    # ------------------------------------------------------------------ values
    def make_inputs_for(
        self, params: Params, seed: int, profile: str = "normal", form: str = "float"
    ) -> dict[str, np.ndarray]:
        if profile not in PROFILES:
            raise TaskError(f"unknown value profile {profile!r}; choose one of {', '.join(PROFILES)}")
        out = {}
        for spec in self._specs(form):
            # One stream per (seed, task, input): adding an input never shifts the others.
            rng = np.random.default_rng([seed & 0xFFFFFFFF, _stable(self.id), _stable(spec.name)])
            shape = tuple(spec.shape(params))
            if spec.is_integer:
                out[spec.name] = draw_integers(shape, spec.dtype, spec.int_range, rng, profile)
            else:
                out[spec.name] = _draw(spec, shape, params, rng, profile).astype(np.float32)
        return out

    def reference(self, inputs: Mapping[str, np.ndarray], params: Params, form: str = "float") -> np.ndarray:
        """The exact result on the inputs as given: float64 for the float form (callers pass the
        values the hardware sees, e.g. after quantisation), exact integers for the integer form."""
        self._check_form(form)
        one_blas_thread()
        if form == "integer":
            result = np.asarray(self.integer.compute(inputs, params))
            return result.astype(self.integer.output_dtype)
        as64 = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
        return np.asarray(self.compute(as64, params, exact), dtype=np.float64)

    def emulate(self, inputs: Mapping[str, np.ndarray], params: Params, rounder: Rounder) -> np.ndarray:
        """The float computation with `rounder` applied after every stage (e.g. BF16 on-chip values)."""
        self._check_form("float")
        as64 = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
        return np.asarray(self.compute(as64, params, rounder), dtype=np.float64)


def draw_integers(
    shape: tuple[int, ...], dtype: str, int_range: tuple[int, int] | None, rng, profile: str
) -> np.ndarray:
    """Integer inputs per value profile: "normal" uniform over the range, "large" mostly at its
    extremes (saturation and overflow paths), "small" within +-8, "near_zero" in {-1, 0, 1},
    "mixed_signs" alternating signs with uniform magnitudes (uniform on a one-signed range). A
    range that does not reach zero gets the "small" and "near_zero" values from its end nearest
    to zero."""
    info = np.iinfo(np.dtype(dtype))
    lo, hi = int_range if int_range is not None else (int(info.min), int(info.max))
    # Drawn as int64: a uint64 range is capped at 2^63 - 1.
    lo, hi = max(lo, int(info.min)), min(hi, int(info.max), 2**63 - 1)
    n = int(np.prod(shape)) if shape else 1

    def uniform(a: int, b: int, size: int) -> np.ndarray:
        return rng.integers(a, b, size=size, endpoint=True, dtype=np.int64) if size else np.zeros(0, np.int64)

    if profile == "large":
        values = uniform(lo, hi, n)
        edge = rng.random(n) < 0.5
        values[edge] = np.where(rng.random(int(edge.sum())) < 0.5, lo, hi)
    elif profile in ("small", "near_zero"):
        width = 8 if profile == "small" else 1
        values = uniform(*_near_zero(lo, hi, width), n)
    elif profile == "mixed_signs" and lo < 0 < hi:
        magnitude = uniform(0, min(hi, -lo), n)
        values = magnitude * np.where(np.arange(n) % 2 == 0, 1, -1)
    else:
        values = uniform(lo, hi, n)
    return values.astype(dtype).reshape(shape)


def _near_zero(lo: int, hi: int, width: int) -> tuple[int, int]:
    """[-width, width] within [lo, hi], or the 2*width+1 values of [lo, hi] nearest to zero."""
    if lo <= width and hi >= -width:
        return max(lo, -width), min(hi, width)
    if lo > width:
        return lo, min(hi, lo + 2 * width)
    return max(lo, hi - 2 * width), hi


def _stable(text: str) -> int:
    return zlib.crc32(text.encode())


def _activation(
    shape: tuple[int, ...], rng: np.random.Generator, profile: str, logits: bool, feeds_scores: bool = False
) -> np.ndarray:
    if profile == "near_zero":
        values = rng.uniform(-NEAR_ZERO_LIMIT, NEAR_ZERO_LIMIT, shape)
        values[rng.random(shape) < 0.1] = 0.0
        return values
    if profile == "mixed_signs":
        rms = PROFILE_RMS[profile]
        clip = LOGIT_CLIP * rms if logits or feeds_scores else HEAVY_TAIL_CLIP
        magnitude = np.minimum(np.abs(rng.standard_t(3, shape)), clip)
        if logits:
            return magnitude / rms * rng.choice([-1.0, 1.0], shape)
        signs = np.where(np.arange(int(np.prod(shape))) % 2 == 0, 1.0, -1.0).reshape(shape)
        return magnitude * signs
    gain = PROFILE_GAIN[profile]
    return rng.standard_normal(shape) * (min(gain, 1.0) if logits else gain)


def _draw(spec: InputSpec, shape: tuple[int, ...], params: Params, rng, profile: str) -> np.ndarray:
    kind = spec.kind
    if kind == "activation":
        return _activation(shape, rng, profile, spec.logits, spec.feeds_scores)
    if kind == "weight":
        fan_in = spec.fan_in(params) if spec.fan_in else shape[0]
        values = rng.standard_normal(shape) / np.sqrt(fan_in)
        magnitude = PROFILE_RMS[profile]
        return values / magnitude if spec.counter_gain and magnitude > 1 else values
    if kind == "bias":
        return rng.standard_normal(shape) * 0.5
    if kind in ("cos", "sin"):
        return rotary_table(shape, kind)
    if kind == "bn_scale":
        return rng.uniform(0.5, 1.5, shape)
    if kind == "bn_shift":
        return rng.standard_normal(shape) * 0.25
    if kind == "mask":  # 1.0 at the still-masked positions of each row: at least k of them
        return _mask_rows(shape, int(params.get("k", 1)), rng)
    raise TaskError(f"input {spec.name} has unknown kind {kind!r}")


def _mask_rows(shape: tuple[int, ...], at_least: int, rng: np.random.Generator) -> np.ndarray:
    rows, width = int(np.prod(shape[:-1])), shape[-1]
    mask = np.zeros((rows, width))
    for row in range(rows):
        count = int(rng.integers(min(at_least + 1, width), width + 1))
        mask[row, rng.choice(width, size=count, replace=False)] = 1.0
    return mask.reshape(shape)


def rotary_table(shape: tuple[int, ...], which: str, base: float = 10000.0) -> np.ndarray:
    """cos or sin of the standard rotary angles (position s, frequency base^(-2j/D)), halves repeated."""
    seq, dim = shape
    inv_freq = base ** (-np.arange(0, dim, 2) / dim)
    angles = np.arange(seq)[:, None] * inv_freq[None, :]
    angles = np.concatenate([angles, angles], axis=1)
    return np.cos(angles) if which == "cos" else np.sin(angles)


def close_matches(word: str, choices: list[str]) -> list[str]:
    return difflib.get_close_matches(word, choices, n=3, cutoff=0.5)


def table(rows: list[tuple[int, ...]], keys: str) -> dict[str, dict[str, int]]:
    """Config table from the spec's tuples: table([(4, 64), ...], "R H")."""
    names = keys.split()
    return {f"C{i + 1}": dict(zip(names, row, strict=True)) for i, row in enumerate(rows)}
