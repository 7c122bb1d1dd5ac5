"""Loop replay and memoised block timing (steady.py) against the reference engine.

The claims: a state restored from its key at a shifted cycle times the rest of a program
exactly as the original does, shifted; replayed loops and memoised blocks give the same
cycles, statistics, registers and memory as timing every instruction; and with VERIFY on,
every replayed period and every memo hit is checked against the model itself.
"""

from __future__ import annotations

import numpy as np
import pytest

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
