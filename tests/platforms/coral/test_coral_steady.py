"""Loop replay and memoised block timing (steady.py) against the reference engine.

The claims: a state restored from its key at a shifted cycle times the rest of a program
exactly as the original does, shifted; replayed loops and memoised blocks give the same
cycles, statistics, registers and memory as timing every instruction; and with VERIFY on,
every replayed period and every memo hit is checked against the model itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.coral import fast as fast_engine
from kernelcraft.platforms.coral import steady as replay
from kernelcraft.platforms.coral.config import CoralConfig
from kernelcraft.platforms.coral.machine import Machine
from kernelcraft.platforms.coral.platform import CoralPlatform
from kernelcraft.platforms.coral.runner import build
from kernelcraft.platforms.coral.timing import Timing

from . import randprog as rp
from .coral_helpers import kernel, needs_toolchain

pytestmark = needs_toolchain
PLATFORM = CoralPlatform()
FEB, OCT, SLOW_AXI = CoralConfig(), CoralConfig.oct2025(), CoralConfig(axi_roundtrip=7)


@pytest.fixture
def verify(monkeypatch):
    monkeypatch.setattr(replay, "VERIFY", True)


@pytest.fixture(autouse=True)
def memo_blocks_compiled_on_their_second_entry(monkeypatch):
    """As any block, so that these short runs exercise the memo (test_coral_reuse covers the
    engine's MEMO_HOT, which leaves big blocks entered a few times interpreted)."""
    monkeypatch.setattr(fast_engine, "MEMO_HOT", fast_engine.HOT)


def _machine(program, config, blocks: bool, placements=()):
    machine = Machine(config)
    machine.timing = Timing(config, machine)
    machine.use_blocks = blocks
    machine.load_program(program)
    for address, data in placements:
        machine.mem.write(address, data)
    return machine


def _both(program, config=FEB, placements=(), memory=None, **limits):
    """Run on the reference engine and the fast one; require identical results."""
    ref = _machine(program, config, False, placements)
    ref_stop = ref.run(**limits)
    fast = _machine(program, config, True, placements)
    fast_stop = fast.run(**limits)
    assert (fast_stop.kind, fast_stop.pc) == (ref_stop.kind, ref_stop.pc)
    assert fast.timing.stats(fast.instret).to_dict() == ref.timing.stats(ref.instret).to_dict()
    assert fast.x == ref.x
    if memory is not None:
        assert fast.mem.read(*memory) == ref.mem.read(*memory)
    return ref, fast


def _program(body: str, data: str = "", config=FEB):
    result = build(kernel(body, data), "asm", config)
    assert result.program is not None, [d.format() for d in result.diagnostics]
    return result.program


def _step(machine, count: int) -> None:
    """The reference engine's loop for exactly `count` instructions."""
    pc = machine.pc
    for _ in range(count):
        op = machine.code.get(pc) or machine.op_at(pc)
        npc = op.fn()
        op.time(npc)
        pc = npc
    machine.pc = pc


# ---------------------------------------------------------------------------- the codec


def test_the_codec_covers_every_field_of_the_timing_state():
    names = set(vars(Timing(FEB, None)))
    covered = set().union(*replay.COVERED.values())
    assert names == covered


@pytest.mark.parametrize("task_id", ["relu", "softmax", "depthwise_conv"])
@pytest.mark.parametrize("fraction", [0.1, 0.45, 0.8])
def test_a_state_restored_from_its_key_times_the_rest_of_the_run_shifted(task_id, fraction):
    instance = PLATFORM.prepare(task_id, "C1", 0)
    program = PLATFORM.build(PLATFORM.baseline(task_id, "C1")).program
    whole = _machine(program, FEB, True, instance.placements())
    whole.run()
    cut = int(fraction * whole.instret)
    runs = []
    for shift in (0, 1000):
        machine = _machine(program, FEB, False, instance.placements())
        _step(machine, cut)
        T = machine.timing
        codec = replay.codec_for(T)
        key = codec.key(T)
        codec.restore(T, key, T.cyc + shift)
        assert codec.key(T) == key  # restore inverts key
        stop = machine.run()
        assert stop.kind == "mpause"
        runs.append((T.cycles() - shift, dict(T.stalls), dict(T.mix), T.vuops, T.ext_tx, machine.x[:]))
    assert runs[0] == runs[1]


def _canonical_run(program, config, placements, shift: int):
    """The reference engine, but after every instruction the timing state is replaced by the
    one restored from its key at `shift` cycles later: stale entries at their floors, every
    timestamp moved. If the key keeps everything that matters, nothing changes but the shift."""
    machine = _machine(program, config, False, placements)
    T = machine.timing
    codec = replay.codec_for(T)
    restores = [0]
    make = machine.op_at

    def op_at(pc):
        op = make(pc)
        time = op.time

        def canonical(npc):
            time(npc)
            if T.halt_cycle is None:
                codec.restore(T, codec.key(T), T.cyc + shift)
                restores[0] += 1

        op.time = canonical
        return op

    machine.op_at = op_at
    stop = machine.run()
    return machine, stop, restores[0]


def _random_program(seed: int, config=FEB):
    c = rp.Chooser.seeded(seed)
    source, blobs, _ = rp.program([rp.BlockGen(c, i, 30).build() for i in range(6)])
    built = build(source, "asm", config)
    assert built.program is not None, [d.format() for d in built.diagnostics]
    return built.program, blobs


CANONICAL = [
    *[("baseline", t, FEB) for t in ("relu", "softmax", "depthwise_conv", "rmsnorm")],
    *[("random", seed, FEB) for seed in range(4)],
    ("random", 4, OCT),
    ("random", 5, SLOW_AXI),
]


@pytest.mark.parametrize(
    "kind, which, config", CANONICAL, ids=[f"{k}-{w}-{c.profile}" for k, w, c in CANONICAL]
)
def test_every_state_restored_from_its_key_times_the_same(kind, which, config):
    if kind == "baseline":
        instance = PLATFORM.prepare(which, "C1", 0)
        program = PLATFORM.build(PLATFORM.baseline(which, "C1")).program
        placements = instance.placements()
    else:
        program, placements = _random_program(which, config)
    plain = _machine(program, config, False, placements)
    plain_stop = plain.run()
    canonical, stop, restores = _canonical_run(program, config, placements, 3)
    assert (stop.kind, stop.pc) == (plain_stop.kind, plain_stop.pc)
    a, b = plain.timing.stats(plain.instret).to_dict(), canonical.timing.stats(canonical.instret).to_dict()
    assert b.pop("cycles") == a.pop("cycles") + 3 * restores
    b.pop("ipc"), a.pop("ipc")
    assert b == a
    assert canonical.x == plain.x


# ---------------------------------------------------------------------------- whole kernels


@pytest.mark.parametrize(
    "task_id, config",
    [("gemm", "C1"), ("softmax", "C3"), ("conv2d", "C1"), ("depthwise_conv", "C1"), ("linear", "C1")],
)
def test_baselines_replay_and_memoise_exactly(task_id, config, verify):
    instance = PLATFORM.prepare(task_id, config, 0)
    program = PLATFORM.build(PLATFORM.baseline(task_id, config)).program
    out = instance.layout.output
    _, fast = _both(program, PLATFORM.config, instance.placements(), (out.address, out.nbytes))
    assert fast.engine.replayed + fast.engine.memo_hits > 0  # the fast paths were exercised


def test_replay_and_memo_engage_on_the_kernels_they_are_for():
    for task_id, config, what in (("gemm", "C1", "replayed"), ("conv2d", "C2", "memo_hits")):
        instance = PLATFORM.prepare(task_id, config, 0)
        program = PLATFORM.build(PLATFORM.baseline(task_id, config)).program
        machine = _machine(program, PLATFORM.config, True, instance.placements())
        assert machine.run().kind == "mpause"
        assert getattr(machine.engine, what) > machine.instret / 100


# ---------------------------------------------------------------------------- loops that change


LOOP_DATA = "buf: .space 1024\ntable: .space 512"


@pytest.mark.parametrize("config", [FEB, OCT, SLOW_AXI], ids=["feb2026", "oct2025", "slow_axi"])
def test_a_vector_loop_with_a_short_last_iteration(config, verify):
    # 100 elements at e8/m1: six full iterations of 16, then 4; the tail changes vl.
    body = """
    li a0, 0x20000000
    la a1, buf
    li a2, 100
1:  vsetvli t0, a2, e8, m1, ta, ma
    vle8.v v1, (a0)
    vadd.vi v1, v1, 3
    vse8.v v1, (a1)
    add a0, a0, t0
    add a1, a1, t0
    sub a2, a2, t0
    bnez a2, 1b
"""
    program = _program(body, LOOP_DATA, config)
    data = np.arange(100, dtype=np.int8).tobytes()
    _both(program, config, [(config.ext_base, data)], (config.dtcm_base, 128))


def test_a_loop_whose_loads_alternate_between_memories(verify):
    # Odd iterations load from DTCM, even ones from external memory: records of period 2.
    body = """
    la a0, buf
    li a1, 0x20000000
    li a2, 200
1:  lw t1, 0(a0)
    add a3, a3, t1
    mv t2, a0
    mv a0, a1
    mv a1, t2
    addi a2, a2, -1
    bnez a2, 1b
"""
    _, fast = _both(_program(body, LOOP_DATA))
    assert fast.engine.replayed > 100


def test_a_loop_with_misaligned_accesses_that_cross_lines_every_fourth_time(verify):
    body = """
    la a0, buf
    addi a0, a0, 2
    li a2, 300
1:  lw t1, 0(a0)
    sw t1, 512(a0)
    add a3, a3, t1
    addi a0, a0, 1
    addi a2, a2, -1
    bnez a2, 1b
"""
    _both(_program(body, LOOP_DATA), memory=(FEB.dtcm_base, 1024))


def test_a_fault_in_a_replayed_loop_stops_where_the_reference_stops(verify):
    # The loop walks a0 up by 16 bytes per iteration from near the end of the DTCM; the load
    # faults once it passes the end, long after the loop reached its steady state.
    body = f"""
    li a0, {FEB.dtcm_base + FEB.dtcm_size - 16 * 300}
1:  lw t1, 0(a0)
    vsetivli zero, 4, e32, m1, ta, ma
    vle32.v v1, (a0)
    vadd.vv v2, v2, v1
    addi a0, a0, 16
    j 1b
"""
    ref, fast = _both(_program(body))
    assert fast.engine.replayed > 100
    assert fast.instret == ref.instret


def test_a_trap_handled_by_the_program_inside_a_replayed_loop(verify):
    # The program's own handler skips the faulting load and returns; the loop goes on.
    body = f"""
    la t0, handler
    csrw mtvec, t0
    li a0, {FEB.dtcm_base + FEB.dtcm_size - 4 * 150}
    li a2, 300
1:  lw t1, 0(a0)
    add a3, a3, t1
    addi a0, a0, 4
    addi a2, a2, -1
    bnez a2, 1b
    j 2f
    .balign 4
handler:
    csrr t2, mepc
    addi t2, t2, 4
    csrw mepc, t2
    addi a4, a4, 1
    mret
2:
"""
    ref, fast = _both(_program(body))
    assert ref.x[14] == 150  # a4: the loads past the end of the DTCM trapped


def test_mcycle_read_after_a_replayed_loop(verify):
    body = """
    li a2, 500
1:  addi a3, a3, 3
    mul a4, a3, a3
    addi a2, a2, -1
    bnez a2, 1b
    csrr a5, mcycle
"""
    ref, fast = _both(_program(body))
    assert fast.engine.replayed > 400
    assert fast.x[15] == ref.x[15] > 1000


def test_an_instruction_limit_while_replaying_leaves_the_exact_timing():
    body = """
    li a2, 1000000
1:  addi a3, a3, 3
    mul a4, a3, a3
    addi a2, a2, -1
    bnez a2, 1b
"""
    program = _program(body)
    fast = _machine(program, FEB, True)
    stop = fast.run(max_instructions=50_000)
    assert stop.kind == "instruction_limit"
    assert fast.engine.replayed > 10_000
    ref = _machine(program, FEB, False)
    _step(ref, fast.instret)
    assert fast.timing.stats(fast.instret).to_dict() == ref.timing.stats(fast.instret).to_dict()
    assert fast.timing.n == fast.instret


def test_a_memoised_block_meets_new_states_and_records(verify):
    # A long straight-line vector block (not a loop by itself: it jumps to the loop control)
    # whose vector length shrinks at the end: its memo sees repeated and new (state, records).
    body = (
        """
    li a0, 0x20000000
    la a1, buf
    li a2, 64
1:  vsetvli t0, a2, e16, m2, ta, ma
"""
        + "    vle16.v v2, (a0)\n    vadd.vv v4, v4, v2\n    vmul.vv v6, v4, v2\n    vse16.v v6, (a1)\n" * 12
        + """
    j 2f
2:  addi a2, a2, -3
    bgtz a2, 1b
"""
    )
    program = _program(body, LOOP_DATA)
    data = np.arange(256, dtype=np.int16).tobytes()
    _, fast = _both(program, FEB, [(FEB.ext_base, data)], (FEB.dtcm_base, 1024))
    assert fast.engine.memo_hits > 0


def test_later_entries_of_a_loop_replay_the_steady_state_an_earlier_entry_found(verify, monkeypatch):
    # An inner vector loop entered 20 times: later entries start replaying from the steady state
    # the first ones found, without probing for it again. Every fifth entry loads 8 bytes off
    # the line (two lines per load instead of one): the known steady state's records do not
    # come back, and the iteration is timed from its own records.
    body = """
    li s1, 20
    li a4, 0x20000000
2:  mv a0, a4
    andi t1, s1, 3
    bnez t1, 3f
    addi a0, a0, 8
3:  li a2, 12
    vsetivli zero, 16, e8, m1, ta, ma
1:  vle8.v v1, (a0)
    vadd.vv v2, v2, v1
    vmul.vv v3, v2, v1
    addi a0, a0, 16
    addi a2, a2, -1
    bnez a2, 1b
    addi s1, s1, -1
    bnez s1, 2b
    vmv.x.s a5, v3
"""
    calls = {"_start": 0, "_begin": 0}
    for name in calls:
        method = getattr(replay.BlockRunner, name)

        def spy(self, *args, _method=method, _name=name):
            calls[_name] += 1
            return _method(self, *args)

        monkeypatch.setattr(replay.BlockRunner, name, spy)
    program = _program(body, LOOP_DATA)
    data = np.arange(512, dtype=np.uint8).tobytes()
    _, fast = _both(program, FEB, [(FEB.ext_base, data)])
    assert fast.engine.replayed > 100
    assert calls["_begin"] > calls["_start"] + 10  # most replays began from a known steady state


# ---------------------------------------------------------------------------- memos across runs

# A gather loop: bytes at a0 index 16-bit words of a table at t2; how many lines each gather
# touches depends on the indices, so no steady state replays it and it gets a memo that later
# runs of the program (reset in place, new data) reuse.
GATHER_BODY = """
    li a0, {indices:#x}
    li t2, {table:#x}
    li a1, {out:#x}
    li a2, {count}
1:  vsetvli t0, a2, e16, m2, ta, ma
    vle8.v v1, (a0)
    vzext.vf2 v2, v1
    vadd.vv v2, v2, v2
    vluxei16.v v4, (t2), v2
    vadd.vv v8, v8, v4
    vse16.v v4, (a1)
    add a0, a0, t0
    slli t1, t0, 1
    add a1, a1, t1
    sub a2, a2, t0
    bnez a2, 1b
"""


def _gather_program(table: int, count: int = 640, out: int = FEB.dtcm_base + 0x2000):
    indices = FEB.ext_base
    body = GATHER_BODY.format(indices=indices, table=table, out=out, count=count)
    return _program(body), indices


def _runs_on_one_machine(program, datas, **limits):
    """Run the program once per placement list on one fast machine (reset in place between
    runs, as runner.run_program(reuse=True) does) and each time on a new reference machine;
    require identical stops, statistics, registers and output. Returns the fast machine and,
    per run, its stop and memo hits."""
    fast = _machine(program, FEB, True)
    runs = []
    for i, placements in enumerate(datas):
        if i:
            fast.reset()
            fast.load_program(program, keep_code=True)
            for address, data in placements:
                fast.mem.write(address, data)
        else:
            for address, data in placements:
                fast.mem.write(address, data)
        fast_stop = fast.run(**limits)
        ref = _machine(program, FEB, False, placements)
        ref_stop = ref.run(**limits)
        assert (fast_stop.kind, fast_stop.pc) == (ref_stop.kind, ref_stop.pc), i
        assert fast.instret == ref.instret, i
        assert fast.timing.stats(fast.instret).to_dict() == ref.timing.stats(ref.instret).to_dict(), i
        assert fast.x == ref.x, i
        runs.append((fast_stop.kind, fast.engine.memo_hits))
        assert fast.mem.read(FEB.dtcm_base + 0x2000, 1280) == ref.mem.read(FEB.dtcm_base + 0x2000, 1280), i
    return fast, runs


def _indices(seed: int, count: int = 640, high: int = 256) -> bytes:
    return np.random.default_rng(seed).integers(0, high, count, dtype=np.uint8).tobytes()


TABLE_DATA = np.arange(256, dtype=np.uint16) * 3 + 1


@pytest.mark.parametrize(
    "table",
    [FEB.ext_base + 0x4000, FEB.ext_base + 0x4001, FEB.dtcm_base + 0x1000, FEB.dtcm_base + 0x1007],
    ids=["external", "external_misaligned", "dtcm", "dtcm_misaligned"],
)
def test_a_gather_loop_memoised_across_runs_with_new_data_times_as_the_reference(table):
    # Run 1 probes the loop in vain; later runs use and extend its memo, most iterations as
    # memo hits in a row whose state settles only on a miss or the loop's exit. Misaligned
    # tables make elements cross lines (the general gather); the same indices come back in
    # the last runs, so their states and records repeat.
    program, at = _gather_program(table)
    table_bytes = TABLE_DATA.tobytes()
    seeds = [0, 1, 2, 0, 1, 0, 0]
    datas = [[(at, _indices(s)), (table, table_bytes)] for s in seeds]
    _, runs = _runs_on_one_machine(program, datas)
    assert runs[-1][1] > 20  # the last run (indices seen before) hits the memo


def test_a_gather_loop_whose_memo_hits_run_into_constant_indices():
    # Indices all equal (one line per register, the same every iteration) after random ones:
    # the loop keeps its memo and its hits; the state settles exactly at the exit.
    program, at = _gather_program(FEB.ext_base + 0x4000)
    table = (FEB.ext_base + 0x4000, TABLE_DATA.tobytes())
    random, constant = [(at, _indices(0)), table], [(at, bytes(640)), table]
    _, runs = _runs_on_one_machine(program, [random, random, constant, random, constant])
    assert runs[3][1] > 20


def test_a_gather_loop_memoised_with_verify(verify):
    # VERIFY times every memo hit too (and checks the key a call reuses from the one before).
    program, at = _gather_program(FEB.dtcm_base + 0x1000)
    table = (FEB.dtcm_base + 0x1000, TABLE_DATA.tobytes())
    _, runs = _runs_on_one_machine(program, [[(at, _indices(s % 2)), table] for s in range(5)])
    assert runs[-1][1] > 20


def test_a_fault_inside_a_run_of_memo_hits_stops_where_the_reference_stops():
    # The table sits near the end of the DTCM: indices below 128 stay inside, and a run whose
    # indices reach 255 in its last iterations faults in the gather, after memo hits (learnt
    # from the earlier runs' same first iterations) left the timing state pending.
    table = FEB.dtcm_base + FEB.dtcm_size - 256
    program, at = _gather_program(table)
    safe = _indices(3, high=128)
    faulting = safe[:560] + bytes([255]) * 80
    datas = [[(at, safe)], [(at, safe)], [(at, faulting)], [(at, safe)]]
    fast, runs = _runs_on_one_machine(program, datas)
    assert runs[2][0] == "load_access" and runs[2][1] > 20
    assert fast.timing.n == fast.instret


def test_an_instruction_limit_inside_a_run_of_memo_hits_leaves_the_exact_timing():
    # 4000 iterations of 12 instructions, the same indices each run: the third run's loop is
    # memo hits in a row when the limit (checked every 32768 instructions) stops it.
    table = FEB.ext_base + 0x10000
    program, at = _gather_program(table, count=16 * 4000, out=FEB.ext_base + 0x20000)
    data = [(at, _indices(5, count=16 * 4000)), (table, TABLE_DATA.tobytes())]
    fast = _machine(program, FEB, True, data)
    for run in range(3):
        if run:
            fast.reset()
            fast.load_program(program, keep_code=True)
            for address, blob in data:
                fast.mem.write(address, blob)
        stop = fast.run(max_instructions=20_000)
        assert stop.kind == "instruction_limit"
        ref = _machine(program, FEB, False, data)
        _step(ref, fast.instret)
        assert fast.timing.stats(fast.instret).to_dict() == ref.timing.stats(fast.instret).to_dict()
        assert fast.timing.n == fast.instret and fast.x == ref.x
    assert fast.engine.memo_hits > 1000
