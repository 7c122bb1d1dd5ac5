"""Running a program again on the machine its last run left (runner.py `reuse`): the machine is
reset in place and keeps its decoded instructions and compiled blocks. The claims: a reset
machine is in every field a new one; a run on a kept machine gives the same cycles, statistics,
output and faults as a run on a new machine, whatever ran before it in the process; and a
placement that rewrites code makes the kept machine decode it again.
"""

from __future__ import annotations

import dataclasses
import gc

import numpy as np
import pytest

from kernelcraft.platforms.coral import evaluation as coral_evaluation
from kernelcraft.platforms.coral import fast, runner
from kernelcraft.platforms.coral import steady as replay
from kernelcraft.platforms.coral.config import CoralConfig
from kernelcraft.platforms.coral.machine import Machine
from kernelcraft.platforms.coral.platform import CoralPlatform
from kernelcraft.platforms.coral.timing import Timing

from .coral_helpers import FEB, built, kernel, needs_toolchain

pytestmark = needs_toolchain
PLATFORM = CoralPlatform()
OCT = CoralConfig.oct2025()


def _state(obj, seen=None) -> object:
    """Every field of an object graph as comparable values (arrays and buffers by content)."""
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.tobytes())
    if isinstance(obj, bytes | bytearray | memoryview) or type(obj).__name__ == "mmap":
        return ("bytes", bytes(obj))
    if isinstance(obj, list | tuple):
        return [_state(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _state(v) for k, v in obj.items()}
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    return obj


def _fields(obj, skip=()) -> dict:
    return {k: _state(v) for k, v in vars(obj).items() if k not in skip}


def _new_machine(config, poison):
    machine = Machine(config, poison=poison)
    machine.timing = Timing(config, machine)
    return machine


@pytest.mark.parametrize("before, poison", [(False, False), (True, True), (False, True), (True, False)])
def test_a_reset_machine_is_a_new_machine(before, poison):
    instance = PLATFORM.prepare("softmax", "C1", 1, poison=before)
    program = PLATFORM.build(PLATFORM.baseline("softmax", "C1")).program
    used = _new_machine(PLATFORM.config, before)
    used.load_program(program)
    for address, data in instance.placements():
        used.mem.write(address, data)
    assert used.run().kind == "mpause"
    used.reset(poison)
    new = _new_machine(PLATFORM.config, poison)
    skip = ("mem", "csr", "v", "timing", "engine", "code", "config")
    assert _fields(used, skip) == _fields(new, skip)
    assert _fields(used.csr) == _fields(new.csr)
    vector_skip = ("m", "views", "_vset_cache")
    assert _fields(used.v, vector_skip) == _fields(new.v, vector_skip)
    assert _fields(used.timing, ("m", "tinfos")) == _fields(new.timing, ("m", "tinfos"))
    for kept, fresh in zip(used.mem.bufs, new.mem.bufs, strict=True):
        assert bytes(kept) == bytes(fresh)
    assert bytes(used.mem.ext_written) == bytes(new.mem.ext_written)
    engine = used.engine
    per_run = (engine.blocks, engine.visits, engine.active, engine.replayed, engine.memo_hits)
    assert per_run == ({}, {}, None, 0, 0)  # as a new engine (the new machine makes one on its first run)
    assert engine.runs == 1
    assert engine.made and engine.fused_at  # what a later run reuses


def _signature(evaluation) -> tuple:
    stats = evaluation.stats.to_dict() if evaluation.stats is not None else None
    fault = evaluation.fault.format() if evaluation.fault is not None else None
    return evaluation.correct, stats, evaluation.output.tobytes(), fault


def _fresh(monkeypatch_context, program, instance):
    """The evaluation on a new machine (no reuse)."""
    original = runner.run_program

    def new_machine(*args, **kw):
        kw["reuse"] = False
        return original(*args, **kw)

    monkeypatch_context.setattr(coral_evaluation, "run_program", new_machine)
    try:
        return _signature(coral_evaluation.run(program, instance))
    finally:
        monkeypatch_context.setattr(coral_evaluation, "run_program", original)


CELLS = [("softmax", "C1"), ("depthwise_conv", "C1"), ("gemm", "C1")]


def test_kept_machines_give_the_runs_of_new_machines_in_any_order(monkeypatch):
    monkeypatch.setattr(replay, "VERIFY", True)
    platforms = {"feb": PLATFORM, "oct": CoralPlatform(OCT)}
    programs = {
        (name, cell): platform.build(platform.baseline(*cell)).program
        for name, platform in platforms.items()
        for cell in CELLS
    }
    seeds = ((0, False), (5, True))
    cases = [(name, cell, seed, poison) for name in platforms for cell in CELLS for seed, poison in seeds]
    expected = {}
    for name, cell, seed, poison in cases:
        instance = platforms[name].prepare(*cell, seed, poison=poison)
        expected[name, cell, seed, poison] = _fresh(monkeypatch, programs[name, cell], instance)
    # A, B, A... across programs, configurations, seeds and poison, each on its kept machine.
    order = [case for pair in zip(cases, reversed(cases), strict=True) for case in pair] + cases
    for name, cell, seed, poison in order:
        instance = platforms[name].prepare(*cell, seed, poison=poison)
        got = _signature(coral_evaluation.run(programs[name, cell], instance))
        assert got == expected[name, cell, seed, poison], (name, cell, seed, poison)


def test_first_visits_run_the_kept_fused_blocks(monkeypatch):
    monkeypatch.setattr(fast, "MEMO_HOT", fast.HOT)  # every block compiled from the first run
    instance = PLATFORM.prepare("softmax", "C1", 0)
    # A Program object of its own: no earlier test has left a machine for it.
    program = dataclasses.replace(PLATFORM.build(PLATFORM.baseline("softmax", "C1")).program)
    interpreted = []
    original = fast.BlockEngine._interpret

    def counting(self, pc):
        interpreted.append(pc)
        return original(self, pc)

    monkeypatch.setattr(fast.BlockEngine, "_interpret", counting)
    counts, signatures = [], []
    for _ in range(3):
        interpreted.clear()
        signatures.append(_signature(coral_evaluation.run(program, instance)))
        counts.append(len(interpreted))
    assert signatures[0] == signatures[1] == signatures[2]
    # Blocks the first run compiled start compiled; blocks visited once stay interpreted.
    assert counts[0] > 10 and counts[1] == counts[2] < counts[0]


def test_a_block_timed_through_its_memo_never_compiles_a_fused_form(monkeypatch):
    monkeypatch.setattr(fast, "MEMO_HOT", fast.HOT)  # its big blocks compiled in the first run
    instance = PLATFORM.prepare("conv2d", "C1", 0)
    program = dataclasses.replace(PLATFORM.build(PLATFORM.baseline("conv2d", "C1")).program)
    signatures, made = [], []
    for run in range(3):
        result = runner.run_program(program, PLATFORM.config, placements=instance.placements(), reuse=True)
        engine = result.machine.engine
        signatures.append((result.stop.kind, result.stats.to_dict(), bytes(result.machine.mem.dtcm)))
        unfused = {
            b.head for b in engine.blocks.values() if isinstance(b, replay.BlockRunner) and not b.has_fused
        }
        if run == 0:
            first = unfused
            assert first and not {pc for pc, _ in engine.fused_at} & first
        assert unfused == first  # later runs give the first visit to the runner, not a fused form
        made.append(len(engine.made))
        runner.release(program, result)
    assert made[0] == made[1] == made[2]  # nothing compiled after the first run
    fresh = runner.run_program(program, PLATFORM.config, placements=instance.placements())
    assert signatures == [(fresh.stop.kind, fresh.stats.to_dict(), bytes(fresh.machine.mem.dtcm))] * 3


def test_big_blocks_entered_a_few_times_are_compiled_from_the_second_run_on():
    # Depthwise C1: four big blocks entered 16 times a run (MEMO_HOT 32) and one entered 32 times.
    instance = PLATFORM.prepare("depthwise_conv", "C1", 0)
    program = dataclasses.replace(PLATFORM.build(PLATFORM.baseline("depthwise_conv", "C1")).program)
    runners, signatures = [], []
    for _ in range(3):
        result = runner.run_program(program, PLATFORM.config, placements=instance.placements(), reuse=True)
        blocks = result.machine.engine.blocks.values()
        runners.append({b.head for b in blocks if isinstance(b, replay.BlockRunner) and b.memo is not None})
        signatures.append((result.stop.kind, result.stats.to_dict(), bytes(result.machine.mem.dtcm)))
        runner.release(program, result)
    assert len(runners[0]) == 1 and runners[0] < runners[1] == runners[2] and len(runners[1]) == 5
    fresh = runner.run_program(program, PLATFORM.config, placements=instance.placements())
    assert signatures == [(fresh.stop.kind, fresh.stats.to_dict(), bytes(fresh.machine.mem.dtcm))] * 3


def test_a_faulting_run_leaves_a_machine_the_next_run_can_use():
    # Loads from an address the first seed's data makes out of range: a fault, then a clean run.
    body = """
    li t0, 0x20000000
    lw t1, 0(t0)
    lw t2, 0(t1)
"""
    program = built(kernel(body))
    results = []
    for pointer in (0x7FFFFFF0, FEB.dtcm_base, 0x7FFFFFF0):
        placements = [(FEB.ext_base, pointer.to_bytes(4, "little"))]
        reused = runner.run_program(program, FEB, placements=placements, reuse=True)
        signature = (reused.stop.kind, reused.stats.to_dict(), reused.machine.x[:])
        runner.release(program, reused)
        fresh = runner.run_program(program, FEB, placements=placements)
        assert signature == (fresh.stop.kind, fresh.stats.to_dict(), fresh.machine.x)
        results.append(signature[0])
    assert results == ["load_access", "mpause", "load_access"]


def test_a_placement_that_rewrites_code_is_decoded_again():
    program = built(kernel("    li t3, 0\n    nop\n"))
    addi_t3_7 = (7 << 20) | (28 << 7) | 0x13  # addi t3, zero, 7, over the nop
    values = []
    for placements in ((), [(program.symbols["main"] + 4, addi_t3_7.to_bytes(4, "little"))], ()):
        reused = runner.run_program(program, FEB, placements=list(placements), reuse=True)
        values.append((reused.machine.x[28], reused.stats.to_dict()))
        runner.release(program, reused)
        fresh = runner.run_program(program, FEB, placements=list(placements))
        assert values[-1] == (fresh.machine.x[28], fresh.stats.to_dict())
    assert [v[0] for v in values] == [0, 7, 0]


def test_the_pool_keeps_a_few_machines_and_drops_those_of_programs_that_died():
    program = built(kernel("    nop\n"))
    copies = [dataclasses.replace(program) for _ in range(runner.POOL_SIZE + 3)]
    for copy in copies:
        runner.release(copy, runner.run_program(copy, FEB, reuse=True))
    assert len(runner._POOL) == runner.POOL_SIZE
    assert {key[0] for key in runner._POOL} == {id(copy) for copy in copies[-runner.POOL_SIZE :]}
    gone = {id(copy) for copy in copies}
    del copy, copies
    gc.collect()
    runner.release(program, runner.run_program(program, FEB, reuse=True))  # purges on the way
    assert not {key[0] for key in runner._POOL} & gone
