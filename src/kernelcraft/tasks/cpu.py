"""The ten CPU tasks of the case study (the paper's Table 10), integer form only.

Classic small CPU kernels, each defined here in our own words: what the inputs are and what
the exact result is. Level 1 is arithmetic and memory (multiply, vvadd, copy, median,
dotprod), level 2 sorting and recursion (qsort, rsort, towers), level 3 a synthetic mixed
integer workload (dhrystone) and a system task (pmp). The iteration caps are the paper's
10 / 10 / 15. Each task has one configuration, C1, as the paper ran one per task; hidden
seeds vary the data. A platform decides where the arrays live and how a kernel is called.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .base import InputSpec, IntegerForm, Task

Params = Mapping[str, int]
CPU_CATEGORY = "CPU"
ONE_CONFIG = ("C1",)
INT32 = (-(2**31), 2**31 - 1)


def _one(params: dict[str, int]) -> dict[str, dict[str, int]]:
    return {"C1": params}


def _cpu_task(
    *,
    id: str,
    name: str,
    level: int,
    description: str,
    params: dict[str, int],
    inputs: tuple[InputSpec, ...],
    output,
    compute,
    output_dtype: str,
    algorithm: str,
) -> Task:
    return Task(
        id=id,
        name=name,
        level=level,
        category=CPU_CATEGORY,
        description=description,
        integer=IntegerForm(
            input_specs=inputs,
            output_rule=output,
            compute=compute,
            output_dtype=output_dtype,
            algorithm=algorithm,
        ),
        default_configs=_one(params),
        config_names=ONE_CONFIG,
        iteration_cap_override=15 if level == 3 else 10,
    )


def _vec(name: str, length: str, dtype: str, lo: int, hi: int) -> InputSpec:
    return InputSpec(name, lambda p: (p[length],), dtype=dtype, int_range=(lo, hi))


# ---------------------------------------------------------------------------- level 1


def _wrap32(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype(np.int32)


MULTIPLY = _cpu_task(
    id="multiply",
    name="multiply",
    level=1,
    description=(
        "Multiply two int32 arrays element by element: out[i] = a[i] * b[i], keeping the low 32 "
        "bits (two's complement wrap-around, as mulw does). The reference C program computes each "
        "product by shift-and-add: while the multiplier has bits left, add the multiplicand when "
        "its lowest bit is 1, then shift the multiplicand left and the multiplier right."
    ),
    params={"N": 400},
    inputs=(_vec("a", "N", "int32", *INT32), _vec("b", "N", "int32", *INT32)),
    output=lambda p: (p["N"],),
    compute=lambda v, p: _wrap32(v["a"].astype(np.int64) * v["b"].astype(np.int64)),
    output_dtype="int32",
    algorithm="out[i] = low 32 bits of a[i]*b[i] as a signed int32; any method giving it is correct",
)

VVADD = _cpu_task(
    id="vvadd",
    name="vvadd",
    level=1,
    description="Add two int32 vectors: c[i] = a[i] + b[i], wrapping modulo 2^32 (as addw does).",
    params={"N": 1000},
    inputs=(_vec("a", "N", "int32", *INT32), _vec("b", "N", "int32", *INT32)),
    output=lambda p: (p["N"],),
    compute=lambda v, p: _wrap32(v["a"].astype(np.int64) + v["b"].astype(np.int64)),
    output_dtype="int32",
    algorithm="c[i] = (a[i] + b[i]) mod 2^32, as a signed int32",
)

COPY = _cpu_task(
    id="copy",
    name="copy",
    level=1,
    description=(
        "Copy a block of N bytes from src to dst (the two do not overlap). Neither address is "
        "8-byte aligned: src sits src_align bytes and dst dst_align bytes past an 8-byte boundary."
    ),
    params={"N": 4093, "src_align": 3, "dst_align": 5},
    inputs=(_vec("src", "N", "uint8", 0, 255),),
    output=lambda p: (p["N"],),
    compute=lambda v, p: np.array(v["src"], dtype=np.uint8),
    output_dtype="uint8",
    algorithm="dst[i] = src[i] for 0 <= i < N; no byte outside dst[0..N-1] may be written",
)


def _median3(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=np.int64)
    out = x.copy()
    if x.size >= 3:
        out[1:-1] = np.sort(np.stack([x[:-2], x[1:-1], x[2:]]), axis=0)[1]
    return out.astype(np.int32)


MEDIAN = _cpu_task(
    id="median",
    name="median",
    level=1,
    description=(
        "Three-point median filter over an int32 signal: out[i] = median(in[i-1], in[i], in[i+1]) "
        "for 1 <= i <= N-2; the two end points are copied (out[0] = in[0], out[N-1] = in[N-1])."
    ),
    params={"N": 1000},
    inputs=(_vec("signal", "N", "int32", *INT32),),
    output=lambda p: (p["N"],),
    compute=lambda v, p: _median3(v["signal"]),
    output_dtype="int32",
    algorithm="median of three = the middle value after sorting the three (ties included)",
)


def _dot(v, p) -> np.ndarray:
    products = v["a"].astype(np.int64) * v["b"].astype(np.int64)  # exact: |product| < 2^62
    with np.errstate(over="ignore"):
        total = np.add.reduce(products, dtype=np.int64)  # wraps modulo 2^64, like add
    return np.array([total], dtype=np.int64)


DOTPROD = _cpu_task(
    id="dotprod",
    name="dotprod",
    level=1,
    description=(
        "Dot product of two int32 vectors: the sum over i of a[i] * b[i], each product taken "
        "exactly as a 64-bit value and the sum wrapping modulo 2^64. The result is the kernel's "
        "return value."
    ),
    params={"N": 1000},
    inputs=(_vec("a", "N", "int32", *INT32), _vec("b", "N", "int32", *INT32)),
    output=lambda p: (1,),
    compute=_dot,
    output_dtype="int64",
    algorithm="result = sum(int64(a[i]) * int64(b[i])) mod 2^64, as a signed int64",
)

# ---------------------------------------------------------------------------- level 2

QSORT = _cpu_task(
    id="qsort",
    name="qsort",
    level=2,
    description="Sort an array of int32 in place, ascending (signed order). The reference C is a quicksort.",
    params={"N": 1024},
    inputs=(_vec("data", "N", "int32", *INT32),),
    output=lambda p: (p["N"],),
    compute=lambda v, p: np.sort(v["data"].astype(np.int32)),
    output_dtype="int32",
    algorithm="the same values in ascending signed order; any correct sort is accepted",
)

RSORT = _cpu_task(
    id="rsort",
    name="rsort",
    level=2,
    description=(
        "Sort an array of uint32 keys in place, ascending (unsigned order), using a scratch buffer "
        "of the same size if needed. The reference C program is an LSD radix sort (8-bit digits)."
    ),
    params={"N": 1024},
    inputs=(_vec("keys", "N", "uint32", 0, 2**32 - 1),),
    output=lambda p: (p["N"],),
    compute=lambda v, p: np.sort(v["keys"].astype(np.uint32)),
    output_dtype="uint32",
    algorithm="the same keys in ascending unsigned order; any correct sort is accepted",
)


def hanoi_pegs(sel: np.ndarray) -> tuple[int, int]:
    """The source and target pegs a towers instance asks for (always different)."""
    source = int(sel[0]) % 3
    target = (source + 1 + int(sel[1]) % 2) % 3
    return source, target


def hanoi_moves(discs: int, source: int, target: int) -> np.ndarray:
    """The unique shortest move sequence, each move encoded as (disc << 8) | (from << 4) | to."""
    moves: list[int] = []
    spare = 3 - source - target
    stack = [(discs, source, target, spare, False)]
    while stack:  # recursion unrolled: move n-1 away, move disc n, move n-1 back on top
        n, src, dst, via, expanded = stack.pop()
        if n == 0:
            continue
        if expanded:
            moves.append((n << 8) | (src << 4) | dst)
            continue
        stack.append((n - 1, via, dst, src, False))
        stack.append((n, src, dst, via, True))
        stack.append((n - 1, src, via, dst, False))
    return np.array(moves, dtype=np.int32)


def _towers(v, p) -> np.ndarray:
    source, target = hanoi_pegs(v["sel"])
    return hanoi_moves(p["D"], source, target)


TOWERS = _cpu_task(
    id="towers",
    name="towers",
    level=2,
    description=(
        "Towers of Hanoi: D discs (1 = smallest, D = largest) start on peg `source`; move them all "
        "to peg `target` (pegs are 0, 1, 2), one disc at a time, never a larger disc on a smaller "
        "one, in the fewest moves (2^D - 1). Record every move in order as the int32 "
        "(disc << 8) | (from << 4) | to. The pegs come from the input sel: source = sel[0] mod 3, "
        "target = (source + 1 + sel[1] mod 2) mod 3."
    ),
    params={"D": 10},
    inputs=(InputSpec("sel", lambda p: (2,), dtype="int32", int_range=(0, 1000)),),
    output=lambda p: (2 ** p["D"] - 1,),
    compute=_towers,
    output_dtype="int32",
    algorithm=(
        "the minimal move sequence is unique: move discs 1..D-1 from source to the spare peg, disc "
        "D from source to target, then discs 1..D-1 from the spare peg to target (recursively)"
    ),
)

# ---------------------------------------------------------------------------- level 3

DHRYSTONE_MULT = 33


def dhrystone_reference(recs: np.ndarray, table: np.ndarray) -> np.ndarray:
    """The mixed-integer workload, record by record (see the task's description)."""
    mask = (1 << 64) - 1
    acc = 0
    counts = [0, 0, 0, 0]
    values = []
    for i, (kind_raw, x, y, name_raw) in enumerate(np.asarray(recs, dtype=np.int64).tolist()):
        kind = kind_raw & 3
        name = table[name_raw & 7]
        order = _compare(name, table[0])
        if kind == 0:
            value = x + y
        elif kind == 1:
            value = x * y
        elif kind == 2:
            value = (x << 3) - y
        else:
            value = x if y == 0 else _trunc_div(x, y)
        if order < 0:
            value = -value
        elif order == 0:
            value += i
        acc = (acc * DHRYSTONE_MULT + value) & mask
        counts[kind] += 1
        values.append(value)
    acc = acc - (1 << 64) if acc >= 1 << 63 else acc
    return np.array(values + [acc] + counts, dtype=np.int64)


def _trunc_div(x: int, y: int) -> int:
    q = abs(x) // abs(y)
    return q if (x < 0) == (y < 0) else -q


def _compare(a: np.ndarray, b: np.ndarray) -> int:
    for ca, cb in zip(np.asarray(a).tolist(), np.asarray(b).tolist(), strict=True):
        if ca != cb:
            return -1 if ca < cb else 1
    return 0


DHRYSTONE = _cpu_task(
    id="dhrystone",
    name="dhrystone",
    level=3,
    description=(
        "A Dhrystone-like mix of integer work over R records and a table of 8 names. Record i is "
        "four int32 (k, x, y, t); the name table is 8 strings of 16 bytes (uppercase letters, no "
        "terminator). For each record in order: kind = k & 3, name = table[t & 7]; order = the "
        "sign of comparing name with table[0] byte by byte (unsigned, first differing byte decides; "
        "0 when all 16 equal). value = x + y (kind 0), x * y (kind 1), 8x - y (kind 2), or x / y "
        "truncated toward zero (kind 3; x itself when y = 0). Then negate value if order < 0, or "
        "add i if order == 0. acc = acc * 33 + value (64-bit, wrapping; acc starts at 0) and "
        "count[kind] += 1. Output (int64): value of every record, then acc, then count[0..3]."
    ),
    params={"R": 256},
    inputs=(
        InputSpec("recs", lambda p: (p["R"], 4), dtype="int32", int_range=(-1000, 1000)),
        InputSpec("table", lambda p: (8, 16), dtype="uint8", int_range=(65, 68)),
    ),
    output=lambda p: (p["R"] + 5,),
    compute=lambda v, p: dhrystone_reference(v["recs"], v["table"]),
    output_dtype="int64",
    algorithm="as the description; all arithmetic in 64 bits (values stay far from overflow except acc)",
)

PMP_ARENA_SLOTS = 512  # 8-byte slots: a 4 KiB arena
PMP_GRANULE = 64  # region starts are multiples of 64 bytes
PMP_REGION_MIN = 256  # region sizes are 256 << (o & 3) bytes
PMP_PERMS = (0, 1, 3, 7)  # none, R, RW, RWX (bit 0 R, bit 1 W, bit 2 X), chosen by p & 3
LOAD_ACCESS_FAULT = 5
STORE_ACCESS_FAULT = 7


def pmp_regions(regions: np.ndarray) -> list[tuple[int, int, int]]:
    """(lo, hi, perm) byte ranges within the arena, in priority order, from the raw table."""
    out = []
    for mode_raw, start, order_raw, perm_raw in np.asarray(regions, dtype=np.int64).tolist():
        size = PMP_REGION_MIN << (order_raw & 3)
        if mode_raw & 1:  # NAPOT: aligned to its own size
            lo = (start * PMP_GRANULE) & ~(size - 1)
            hi = lo + size
        else:  # TOR
            lo = start * PMP_GRANULE
            hi = min(lo + size, PMP_ARENA_SLOTS * 8)
        out.append((lo, hi, PMP_PERMS[perm_raw & 3]))
    return out


def pmp_reference(regions, accesses, values, arena) -> np.ndarray:
    table = pmp_regions(regions)
    memory = np.array(arena, dtype=np.int64).copy()
    records = []
    for (kind_raw, slot_raw), value in zip(
        np.asarray(accesses, dtype=np.int64).tolist(),
        np.asarray(values, dtype=np.int64).tolist(),
        strict=True,
    ):
        store = bool(kind_raw & 1)
        slot = slot_raw & (PMP_ARENA_SLOTS - 1)
        offset = slot * 8
        perm = next((p for lo, hi, p in table if lo <= offset < hi), None)
        needed = 2 if store else 1
        if perm is None or not perm & needed:
            records += [STORE_ACCESS_FAULT if store else LOAD_ACCESS_FAULT, offset]
        elif store:
            memory[slot] = value
            records += [0, 0]
        else:
            records += [0, int(memory[slot])]
    return np.concatenate([np.array(records, dtype=np.int64), memory])


PMP = _cpu_task(
    id="pmp",
    name="pmp",
    level=3,
    description=(
        "Physical memory protection. In machine mode, program the PMP so that user-mode accesses "
        "to a 4 KiB arena obey a table of 3 regions, then drop to user mode and perform 16 "
        "accesses, recording what each did. Region r is four int32 (m, s, o, p): size = 256 << (o & "
        "3) bytes; if m & 1 it is NAPOT: it starts at arena + ((64*s) rounded down to a multiple "
        "of size); otherwise it is TOR: [arena + 64*s, arena + min(64*s + size, 4096)). Its "
        "permissions are, by p & 3: 0 none, 1 read, 2 read+write, 3 read+write+execute (write "
        "without read is reserved in PMP, so it never occurs). The first region (lowest "
        "r) containing an access decides it; an arena access no region contains is denied. Access "
        "j is two int32 (k, s): a 64-bit load (k & 1 = 0) or store (k & 1 = 1) of slot s & 511, "
        "i.e. arena + 8*(s & 511), storing values[j]. Record j is two int64: (0, the loaded "
        "value) for a permitted load, (0, 0) for a permitted store, and (mcause, mtval - arena) "
        "for a denied one (mcause 5 = load access fault, 7 = store access fault). Output (int64): "
        "the 16 records, then the arena's 512 doublewords as left afterwards."
    ),
    params={"REGIONS": 3, "ACCESSES": 16},
    inputs=(
        InputSpec("regions", lambda p: (p["REGIONS"], 4), dtype="int32", int_range=(0, 63)),
        InputSpec("accesses", lambda p: (p["ACCESSES"], 2), dtype="int32", int_range=(0, 1023)),
        InputSpec("values", lambda p: (p["ACCESSES"],), dtype="int64"),
        InputSpec("arena", lambda p: (PMP_ARENA_SLOTS,), dtype="int64"),
    ),
    output=lambda p: (2 * p["ACCESSES"] + PMP_ARENA_SLOTS,),
    compute=lambda v, p: pmp_reference(v["regions"], v["accesses"], v["values"], v["arena"]),
    output_dtype="int64",
    algorithm="the privileged spec's PMP rules for user mode, applied to the region table in order",
)

LEVEL1 = (MULTIPLY, VVADD, COPY, MEDIAN, DOTPROD)
LEVEL2 = (QSORT, RSORT, TOWERS)
LEVEL3 = (DHRYSTONE, PMP)
TASKS = LEVEL1 + LEVEL2 + LEVEL3
