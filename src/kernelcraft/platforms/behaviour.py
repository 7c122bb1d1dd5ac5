"""Instruction behaviour as data: typed operands and a NumPy reference, compared by what they do.

An instruction's behaviour is the function from the operands it reads to the operands it
writes. Operand kinds are platform-neutral:

    vector      a row of VLEN floats in vector memory (the operand is a register holding its address)
    int_vector  a row of VLEN integers in integer scratch memory (likewise, by address)
    fp          a float register
    int         an integer register
    imm         an immediate

and each operand is read, written or both (readwrite). A reference function receives the values
of the read operands in operand order (vector: float64 array [VLEN]; int_vector: int64 array;
fp: float; int, imm: int) and returns the values of the written operands in operand order (one
value, or a tuple when several).

Two instructions are equivalent when some pairing of their inputs (same kinds) and of their
outputs (same kinds) makes them agree on random inputs, whatever their names or operand order:
that is how proposals are compared with the instructions an ISA withholds. A proposal's
reference is model-written, so it only ever runs in the sandbox (`probe` is its runner there).
"""

from __future__ import annotations

import errno
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("vector", "int_vector", "fp", "int", "imm")
ACCESS = ("read", "write", "readwrite")
MAX_OPERANDS = 6
TRIALS = 64
FLOAT_RTOL, FLOAT_ATOL = 1e-3, 1e-6
INT_BITS = 32
OPERAND_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")  # an assembly operand placeholder
MAX_OPERAND_DOC = 500


@dataclass(frozen=True)
class OperandRole:
    name: str
    kind: str
    access: str
    doc: str = ""

    @property
    def reads(self) -> bool:
        return self.access in ("read", "readwrite")

    @property
    def writes(self) -> bool:
        return self.access in ("write", "readwrite")

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "access": self.access}


@dataclass(frozen=True)
class Behaviour:
    """What an instruction does, independent of its encoding and cost."""

    mnemonic: str
    operands: tuple[OperandRole, ...]
    reference: Callable[..., Any] | None = None  # trusted code; None for a sandboxed proposal
    summary: str = ""

    @property
    def inputs(self) -> tuple[OperandRole, ...]:
        return tuple(o for o in self.operands if o.reads)

    @property
    def outputs(self) -> tuple[OperandRole, ...]:
        return tuple(o for o in self.operands if o.writes)

    def signature(self) -> str:
        ins = ", ".join(o.kind for o in self.inputs)
        outs = ", ".join(o.kind for o in self.outputs)
        return f"({ins}) -> ({outs})"


class BehaviourError(ValueError):
    """A malformed operand list or reference result; the message is for the model."""


def parse_operands(raw: Any) -> tuple[OperandRole, ...]:
    """Operands from a tool call: [{"name": ..., "kind": ..., "access": ...}, ...]."""
    if not isinstance(raw, list) or not raw:
        raise BehaviourError("operands must be a non-empty array of {name, kind, access} objects")
    if len(raw) > MAX_OPERANDS:
        raise BehaviourError(f"at most {MAX_OPERANDS} operands")
    roles, names = [], set()
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise BehaviourError(f"operand {i} must be an object with name, kind and access")
        name, kind, access = (str(item.get(key, "")).strip() for key in ("name", "kind", "access"))
        doc = str(item.get("doc", "")).strip()
        if not OPERAND_NAME.fullmatch(name):
            raise BehaviourError(
                f"operand {i}: the name must be a letter or underscore followed by at most 31 letters, "
                "digits or underscores"
            )
        if name in names:
            raise BehaviourError(f"operand {i} needs a unique name")
        if len(doc) > MAX_OPERAND_DOC:
            raise BehaviourError(f"operand {name}: the doc is at most {MAX_OPERAND_DOC} characters")
        if kind not in KINDS:
            raise BehaviourError(f"operand {name}: kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if access not in ACCESS:
            raise BehaviourError(f"operand {name}: access must be one of {', '.join(ACCESS)}, not {access!r}")
        if kind == "imm" and access != "read":
            raise BehaviourError(f"operand {name}: an immediate can only be read")
        names.add(name)
        roles.append(OperandRole(name, kind, access, doc))
    if not any(r.writes for r in roles):
        raise BehaviourError("an instruction must write at least one operand")
    return tuple(roles)


# ---------------------------------------------------------------------------- inputs


def trial_inputs(
    roles: Sequence[OperandRole], vlen: int, trials: int = TRIALS, seed: int = 0
) -> list[list[Any]]:
    """Random values for the read operands (JSON-able), seeded. Vectors mix distinct floats,
    small integers (ties), 0/1 masks and masks with few ones; integers mix small counts and
    offsets; float registers are sometimes -inf (the start of a running maximum) and sometimes
    small integers (ties with vector values)."""
    rng = np.random.default_rng([seed, vlen, trials])
    out = []
    for _ in range(trials):
        values: list[Any] = []
        for role in roles:
            if not role.reads:
                continue
            values.append(_draw(role.kind, vlen, rng))
        out.append(values)
    return out


def _draw(kind: str, vlen: int, rng: np.random.Generator) -> Any:
    if kind == "vector":
        family = rng.integers(4)
        if family == 0:
            return (rng.standard_normal(vlen) * 3).round(4).tolist()
        if family == 1:
            return rng.integers(-4, 5, vlen).astype(float).tolist()
        if family == 2:
            return (rng.random(vlen) < 0.5).astype(float).tolist()
        return (rng.random(vlen) < 0.2).astype(float).tolist()
    if kind == "int_vector":
        return rng.integers(0, 256, vlen).tolist()
    if kind == "fp":
        draw = rng.random()
        if draw < 0.25:
            return -math.inf
        if draw < 0.5:  # small integers tie with the integer vectors' values
            return float(rng.integers(-4, 5))
        return float(np.round(rng.standard_normal() * 3, 4))
    if kind == "int":
        return int(rng.integers(0, vlen + 1)) if rng.random() < 0.6 else int(rng.integers(0, 4096))
    return int(rng.integers(0, 64))  # imm


def as_value(kind: str, raw: Any) -> Any:
    """A JSON value as the reference function receives it."""
    if kind == "vector":
        return np.asarray(raw, dtype=np.float64)
    if kind == "int_vector":
        return np.asarray(raw, dtype=np.int64)
    if kind == "fp":
        return float(raw)
    return int(raw)


def normalise_outputs(result: Any, roles: Sequence[OperandRole], vlen: int) -> list[Any]:
    """A reference's return value as JSON-able outputs of the declared kinds; BehaviourError else."""
    outputs = [r for r in roles if r.writes]
    values = list(result) if isinstance(result, tuple) else [result]
    if len(values) != len(outputs):
        raise BehaviourError(
            f"the reference returned {len(values)} value(s); the operands written are {len(outputs)}"
        )
    normal = []
    for role, value in zip(outputs, values, strict=True):
        try:
            if role.kind in ("vector", "int_vector"):
                array = np.asarray(value, dtype=np.float64).reshape(-1)
                if array.size != vlen:
                    raise BehaviourError(f"{role.name} must be {vlen} values, got {array.size}")
                if role.kind == "int_vector":
                    _check_whole(role.name, array)
                    normal.append([int(v) % (1 << INT_BITS) for v in array])
                else:
                    normal.append([float(v) for v in array])
            elif role.kind == "fp":
                normal.append(float(value))
            else:
                if not isinstance(value, (int, np.integer)):
                    _check_whole(role.name, np.asarray(value, dtype=np.float64).reshape(-1))
                normal.append(int(value) % (1 << INT_BITS))
        except BehaviourError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise BehaviourError(
                f"{role.name} ({role.kind}) cannot be read from {type(value).__name__}: {exc}"
            ) from None
    return normal


def _check_whole(name: str, values: np.ndarray) -> None:
    """An integer operand's values must be whole numbers: a fraction or NaN there is a bug in
    the reference, not something to truncate silently."""
    bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
    if bad.size:
        where = f" at element {bad[0]}" if values.size > 1 else ""
        raise BehaviourError(
            f"{name} is an integer operand, but the reference returned {float(values[bad[0]])!r}{where}; "
            "return whole numbers (e.g. with astype(int) or round())"
        )


def run_reference(behaviour: Behaviour, inputs: list[list[Any]], vlen: int) -> list[list[Any] | str]:
    """A trusted reference on trial inputs: outputs per trial (or the error text)."""
    kinds = [r.kind for r in behaviour.inputs]
    results: list[list[Any] | str] = []
    for trial in inputs:
        try:
            args = [as_value(kind, raw) for kind, raw in zip(kinds, trial, strict=True)]
            results.append(normalise_outputs(behaviour.reference(*args), behaviour.operands, vlen))
        except Exception as exc:  # a reference that fails a trial disagrees there
            results.append(_failure_text(exc))
    return results


def _failure_text(exc: Exception) -> str:
    if isinstance(exc, BehaviourError):  # already says what is wrong, in the proposal's terms
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:  # RLIMIT_FSIZE: a print or a file
        return "it wrote more output or file data than the sandbox allows (print less; write no files)"
    return f"{type(exc).__name__}: {exc}"


def probe(
    module: Any, function: str, operands: list[dict[str, str]], inputs: list[list[Any]], vlen: int
) -> Any:
    """Sandbox runner: the model's reference function on the trial inputs (see run_reference)."""
    roles = parse_operands(operands)
    fn = getattr(module, function, None)
    if not callable(fn):
        raise BehaviourError(f"the reference source defines no function {function}()")
    return run_reference(Behaviour("proposal", roles, fn), inputs, vlen)


def call_reference(
    module: Any, function: str, operands: list[dict[str, str]], inputs: list[Any], vlen: int
) -> Any:
    """Sandbox server runner: one call of the model's reference (outputs, or BehaviourError)."""
    roles = parse_operands(operands)
    fn = getattr(module, function, None)
    if not callable(fn):
        raise BehaviourError(f"the reference source defines no function {function}()")
    kinds = [r.kind for r in roles if r.reads]
    values = [as_value(kind, raw) for kind, raw in zip(kinds, inputs, strict=True)]
    return normalise_outputs(fn(*values), roles, vlen)


@dataclass(frozen=True)
class AddedInstruction:
    """An instruction added to a platform's ISA at run time (an accepted proposal).

    behaviour.reference is called with the read operands' values (as for any reference) and
    returns the written operands' values; for a proposal it forwards to the sandbox."""

    behaviour: Behaviour
    semantics: str
    cost: int
    origin: str  # e.g. "proposal 2 of this session"


# ---------------------------------------------------------------------------- comparison


@dataclass
class Match:
    """How well one proposal's behaviour matches one reference behaviour."""

    target: str
    agreement: float  # share of trials with equal outputs under the best operand pairing
    pairing: dict[str, str] = field(default_factory=dict)  # proposal operand -> target operand

    @property
    def equivalent(self) -> bool:
        return self.agreement >= 1.0


def _same(kind: str, a: Any, b: Any) -> bool:
    if kind in ("vector",):
        return bool(
            np.allclose(
                np.asarray(a, float), np.asarray(b, float), rtol=FLOAT_RTOL, atol=FLOAT_ATOL, equal_nan=True
            )
        )
    if kind == "fp":
        return bool(
            math.isclose(a, b, rel_tol=FLOAT_RTOL, abs_tol=FLOAT_ATOL) or (a == b) or (a != a and b != b)
        )
    return a == b


def _pairings(mine: Sequence[OperandRole], theirs: Sequence[OperandRole]):
    """Every bijection between two operand lists that pairs equal kinds (index lists)."""
    if sorted(r.kind for r in mine) != sorted(r.kind for r in theirs):
        return
    for perm in itertools.permutations(range(len(theirs))):
        if all(mine[i].kind == theirs[j].kind for i, j in enumerate(perm)):
            yield perm


def compare(
    proposal: Behaviour,
    run_proposal: Callable[[list[list[Any]]], list[list[Any] | str]],
    target: Behaviour,
    vlen: int,
    trials: int = TRIALS,
    seed: int = 0,
) -> Match | None:
    """The best agreement over operand pairings; None when the operand kinds cannot pair up.

    Inputs are drawn for the target's operands and permuted into the proposal's order, so
    each pairing costs one run of the proposal."""
    best: Match | None = None
    target_inputs = trial_inputs(target.operands, vlen, trials, seed)
    expected = run_reference(target, target_inputs, vlen)
    for in_perm in _pairings(proposal.inputs, target.inputs):
        permuted = [[trial[j] for j in in_perm] for trial in target_inputs]
        got = run_proposal(permuted)
        for out_perm in _pairings(proposal.outputs, target.outputs):
            agree = 0
            for mine, theirs in zip(got, expected, strict=True):
                if isinstance(mine, str) or isinstance(theirs, str):
                    continue
                kinds = [r.kind for r in proposal.outputs]
                if all(_same(kinds[i], mine[i], theirs[j]) for i, j in enumerate(out_perm)):
                    agree += 1
            pairing = {proposal.inputs[i].name: target.inputs[j].name for i, j in enumerate(in_perm)}
            pairing.update({proposal.outputs[i].name: target.outputs[j].name for i, j in enumerate(out_perm)})
            match = Match(target.mnemonic, agree / max(1, len(expected)), pairing)
            if best is None or match.agreement > best.agreement:
                best = match
    return best
