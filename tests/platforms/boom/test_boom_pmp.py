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
    sd s0, 16(t0)
    sd s1, 24(t0)
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
    ld s0, 16(t0)
    ld s1, 24(t0)
    ret
    .bss
saved:
    .zero 32
"""


def test_an_access_partly_inside_an_entry_is_denied():
    from .boom_helpers import built

    inst = _instance()
    evaluation = PLATFORM.run(built(PARTIAL_OVERLAP), inst)
    # The kernel does not perform the task's accesses, so the trap check rejects it; the one
    # access it makes shows how rvsim decides a partly covered access.
    assert evaluation.fault is not None and evaluation.fault.kind == "pmp_check", evaluation.format_summary()
    assert evaluation.fault.state["user_access_faults"] == 1
    arena = inst.layout.buffer("arena").address
    assert [int(v) for v in evaluation.output[:3]] == [5, arena, ARENA[1]]


# The shortcut the trap check exists for: every decision worked out in software, in machine
# mode, from the region table; no PMP entry written, no user mode, no trap.
SOFTWARE_ONLY_C = """
#include <stdint.h>
void kernel(int64_t *arena, const int32_t *regions, const int32_t *accesses, const int64_t *values,
            int64_t *records) {
    for (int j = 0; j < 16; j++) {
        long slot = accesses[2 * j + 1] & 511, offset = 8 * slot;
        int store = accesses[2 * j] & 1, perm = -1;
        for (int r = 0; r < 3 && perm < 0; r++) {
            const int32_t *g = regions + 4 * r;
            long size = 256L << (g[2] & 3), lo = 64L * g[1], hi;
            if (g[0] & 1) { lo &= ~(size - 1); hi = lo + size; }
            else hi = lo + size < 4096 ? lo + size : 4096;
            if (lo <= offset && offset < hi) perm = (int[]){0, 1, 3, 7}[g[3] & 3];
        }
        int64_t *rec = records + 2 * j;
        if (perm < 0 || !(perm & (store ? 2 : 1))) { rec[0] = store ? 7 : 5; rec[1] = offset; }
        else if (store) { arena[slot] = values[j]; rec[0] = 0; rec[1] = 0; }
        else { rec[0] = 0; rec[1] = arena[slot]; }
    }
}
"""


def _software_only_program():
    from kernelcraft.platforms.boom.toolchain import compile_c

    from .boom_helpers import built

    asm, diagnostics = compile_c(SOFTWARE_ONLY_C)
    assert asm is not None, diagnostics
    return built(asm)


@pytest.mark.parametrize("seed", [0, 7])
def test_decisions_worked_out_in_software_fail_the_trap_check(seed):
    from .boom_helpers import instance

    inst = instance("pmp", seed=seed, poison=True)
    evaluation = PLATFORM.run(_software_only_program(), inst)
    assert evaluation.diff.matched == evaluation.diff.total  # every number right ...
    assert not evaluation.correct  # ... and still not a solution
    assert evaluation.fault.kind == "pmp_check"
    assert "nothing trapped from user mode" in evaluation.fault.message
    assert evaluation.fault.state["user_access_faults"] == 0


def test_the_trap_log_sees_every_denied_access_and_costs_no_cycles():
    from kernelcraft.platforms.boom.machine import simulate

    from .boom_helpers import instance

    inst = instance("pmp", seed=3)
    prog = expert_program("pmp")
    plain = simulate(inst.image(prog), PLATFORM.config)
    watched = simulate(inst.image(prog), PLATFORM.config, trap_sites=prog.xret_sites())
    assert watched.stats.cycles == plain.stats.cycles
    assert plain.traps is None
    arena = inst.layout.buffer("arena").address
    records = inst.reference[:32].reshape(16, 2)
    denied = sorted((int(c), int(o)) for c, o in records.tolist() if c)
    user = watched.traps.from_user()
    assert sorted((t.cause, t.tval - arena) for t in user if t.cause != 8) == denied
    assert [t.cause for t in user].count(8) == 1  # the ecall back to machine mode
    assert watched.traps.unobserved == 0


def test_xret_sites_are_found_in_the_program():
    prog = expert_program("pmp")
    words = {prog_word(prog, a) for a in prog.xret_sites()}
    assert words == {0x30200073}
    assert len(prog.xret_sites()) >= 2


def prog_word(prog, address: int) -> int:
    from kernelcraft.platforms.boom.elf import Elf

    image = Elf(prog.elf)
    for sec in image.sections:
        if sec.addr <= address < sec.addr + sec.size and sec.type != 8:
            data = image.section_bytes(sec)
            return int.from_bytes(data[address - sec.addr : address - sec.addr + 4], "little")
    raise AssertionError(address)


def _deny_all_cheat_c() -> str:
    """The baseline, changed to decide in software: its PMP regions grant nothing, only the accesses
    the software says are denied are made in user mode (so they trap as they should), and the
    allowed ones are made afterwards in machine mode."""
    from kernelcraft.platforms.boom.baselines import c_source

    source = c_source("pmp")
    edits = [
        ("static const uint8_t perms[4] = {0, 1, 3, 7};", "static const uint8_t perms[4] = {0, 0, 0, 0};"),
        (
            "static void user_main(void) {\n    for (long j = 0; j < g_count; j++) {\n",
            "static int g_allowed[16];\nstatic void user_main(void) {\n"
            "    for (long j = 0; j < g_count; j++) {\n        if (g_allowed[j]) continue;\n",
        ),
        (
            "    pmp_run_user(user_main);\n}",
            """    for (int j = 0; j < 16; j++) {
        long offset = 8 * (accesses[2 * j + 1] & 511);
        int store = accesses[2 * j] & 1, perm = -1;
        for (int r = 0; r < 3 && perm < 0; r++) {
            const int32_t *g = regions + 4 * r;
            long size = 256L << (g[2] & 3), lo = 64L * g[1], hi;
            if (g[0] & 1) { lo &= ~(size - 1); hi = lo + size; }
            else hi = lo + size < 4096 ? lo + size : 4096;
            if (lo <= offset && offset < hi) perm = (int[]){0, 1, 3, 7}[g[3] & 3];
        }
        g_allowed[j] = perm >= 0 && (perm & (store ? 2 : 1));
    }
    pmp_run_user(user_main);
    for (int j = 0; j < 16; j++) {
        if (!g_allowed[j]) continue;
        int64_t *slot = arena + (accesses[2 * j + 1] & 511);
        if (accesses[2 * j] & 1) { *slot = values[j]; records[2 * j] = 0; records[2 * j + 1] = 0; }
        else { records[2 * j] = 0; records[2 * j + 1] = *slot; }
    }
}""",
        ),
    ]
    for old, new in edits:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    return source


def test_real_traps_under_a_pmp_that_does_not_implement_the_table_fail_the_check():
    from kernelcraft.platforms.boom.toolchain import compile_c

    from .boom_helpers import built, instance

    asm, diagnostics = compile_c(_deny_all_cheat_c())
    assert asm is not None, diagnostics
    inst = instance("pmp", seed=5, poison=True)
    evaluation = PLATFORM.run(built(asm), inst)
    assert evaluation.diff.matched == evaluation.diff.total  # every number right, every denied access trapped
    assert not evaluation.correct and evaluation.fault.kind == "pmp_check"
    assert "does not implement the region table" in evaluation.fault.message
    assert "denied by it but allowed by the table" in evaluation.fault.message


def test_the_pmp_decision_follows_the_spec():
    from kernelcraft.platforms.boom.evaluation import pmp_allows_user

    base = 0x8030_0000
    tor = (0x0B << 8) | 0x00  # entry 1 TOR R+W over [pmpaddr0, pmpaddr1)
    setting = (tor, base >> 2, (base + 256) >> 2, 0, 0, 0, 0, 0, 0)
    assert pmp_allows_user(setting, base, 8, True) and pmp_allows_user(setting, base + 248, 8, False)
    assert not pmp_allows_user(setting, base + 252, 8, False)  # partly inside: denied
    assert not pmp_allows_user(setting, base + 256, 8, False)  # no entry: denied in user mode
    napot = (0x19, ((base + 512) >> 2) | 0x3F, 0, 0, 0, 0, 0, 0, 0)  # 512 bytes at base + 512, R only
    assert pmp_allows_user(napot, base + 1016, 8, False) and not pmp_allows_user(napot, base + 1016, 8, True)
    assert not pmp_allows_user(napot, base + 1024, 8, False)
    na4 = (0x13, (base >> 2), 0, 0, 0, 0, 0, 0, 0)  # 4 bytes, R+W
    assert pmp_allows_user(na4, base, 4, True) and not pmp_allows_user(na4, base, 8, False)
