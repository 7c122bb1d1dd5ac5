"""rvsim implements PMP as the privileged spec says: forbidden user-mode accesses trap.

A hand-made region table and access list, with the outcome of every access worked out by
hand from the spec (TOR and NAPOT ranges, R/W permissions, lowest entry wins, no match in
user mode is denied, mtval holds the address), run through both pmp kernels.
"""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.boom.evaluation import prepare_with_inputs
from kernelcraft.tasks import get_task

from .boom_helpers import PLATFORM, baseline_program, expert_program, needs_spike

TOR, NAPOT = 0, 1
NONE, R, RW = 0, 1, 2
REGIONS = [
    (TOR, 0, 0, R),  # [0, 256) read-only
    (NAPOT, 4, 1, RW),  # 512 bytes at 256 rounded down to 512: [0, 512), but [0, 256) is region 0's
    (TOR, 63, 3, NONE),  # [4032, 4096): no access
]
LOAD, STORE = 0, 1
ACCESSES = [
    (LOAD, 0),
    (STORE, 0),
    (STORE, 31),
    (STORE, 32),
    (LOAD, 32),
    (LOAD, 63),
    (LOAD, 64),
    (STORE, 64),
    (LOAD, 504),
    (LOAD, 511),
    (LOAD, 503),
    (STORE, 1),
    (LOAD, 1),
    (STORE, 63),
    (LOAD, 63),
    (LOAD, 300),
]
ARENA = np.arange(512, dtype=np.int64) * 1_000_003 - 7
VALUES = np.arange(16, dtype=np.int64) * -11 + 2**40


def expected_records() -> list[tuple[int, int]]:
    return [
        (0, ARENA[0]),  # region 0 allows reads
        (7, 0),
        (7, 248),  # ... but not writes
        (0, 0),
        (0, VALUES[3]),  # region 1: the store lands and is read back
        (0, ARENA[63]),
        (5, 512),
        (7, 512),  # above region 1, below region 2: no region, denied
        (5, 4032),
        (5, 4088),  # region 2 exists but grants nothing
        (5, 4024),  # just below region 2
        (7, 8),
        (0, ARENA[1]),
        (0, 0),
        (0, VALUES[13]),
        (5, 2400),
    ]


def _instance(poison: bool = False):
    task = get_task("pmp")
    params = dict(task.default_configs["C1"])
    inputs = {"regions": np.array(REGIONS), "accesses": np.array(ACCESSES), "values": VALUES, "arena": ARENA}
    return prepare_with_inputs(task, "C1", inputs, params, seed=1, poison=poison)


def test_the_task_reference_matches_the_hand_worked_outcomes():
    inst = _instance()
    records = inst.reference[:32].reshape(16, 2)
    assert [tuple(int(v) for v in r) for r in records] == [(int(a), int(b)) for a, b in expected_records()]
    arena = inst.reference[32:]
    assert arena[32] == VALUES[3] and arena[63] == VALUES[13] and arena[0] == ARENA[0]


@pytest.mark.parametrize("which", ["baseline", "expert"])
def test_rvsim_traps_forbidden_user_accesses(which):
    prog = baseline_program("pmp") if which == "baseline" else expert_program("pmp")
    inst = _instance(poison=True)
    evaluation = PLATFORM.run(prog, inst)
    assert evaluation.correct, evaluation.format_summary()
    records = evaluation.output[:32].reshape(16, 2)
    causes = [int(c) for c, _ in records]
    assert causes.count(5) == 5 and causes.count(7) == 4  # every denied access trapped, with its cause


@needs_spike()
def test_spike_agrees_on_the_hand_worked_case():
    from kernelcraft.platforms.boom import spike
    from kernelcraft.platforms.boom.machine import simulate

    inst = _instance(poison=True)
    image = inst.image(expert_program("pmp"))
    execution = simulate(image, PLATFORM.config)
    result = spike.differential(
        image, PLATFORM.config, *inst.signature_bounds(), execution.memory.read, execution.exit_code
    )
    assert result.agree, result


PARTIAL_OVERLAP = """
    .text
    .globl kernel
kernel:                         # a0 = arena, a4 = records
    la t0, saved
    sd ra, 0(t0)
    sd sp, 8(t0)
    srli t0, a0, 2              # entry 0: NA4 on the arena's first word, no permissions
    csrw pmpaddr0, t0
    li t0, (0x80000000 >> 2) | ((0x4000000 >> 3) - 1)
    csrw pmpaddr1, t0           # entry 1: NAPOT over all of RAM, RWX
    li t0, 0x10 | (0x1f << 8)
    csrw pmpcfg0, t0
    la t0, trap
    csrw mtvec, t0
    li t0, 0x1800
    csrc mstatus, t0
    la t0, user
    csrw mepc, t0
    mv s0, a0
    mv s1, a4
    mret
    .option push
    .option norvc
user:
    ld t1, 0(s0)                # 8 bytes, only the first 4 in entry 0: the spec denies it
    ld t2, 8(s0)                # wholly in entry 1: allowed
    sd t2, 16(s1)
    ecall
    .option pop
trap:
    csrr t3, mcause
    li t4, 8
    beq t3, t4, 1f
    sd t3, 0(s1)
    csrr t3, mtval
    sd t3, 8(s1)
    csrr t3, mepc
    addi t3, t3, 4
    csrw mepc, t3
    mret
1:  la t0, saved
    ld ra, 0(t0)
    ld sp, 8(t0)
    ret
    .bss
saved:
    .zero 16
"""


def test_an_access_partly_inside_an_entry_is_denied():
    from .boom_helpers import built

    inst = _instance()
    evaluation = PLATFORM.run(built(PARTIAL_OVERLAP), inst)
    assert evaluation.ok, evaluation.format_summary()
    arena = inst.layout.buffer("arena").address
    assert [int(v) for v in evaluation.output[:3]] == [5, arena, ARENA[1]]
