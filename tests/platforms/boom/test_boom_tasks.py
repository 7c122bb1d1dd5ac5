"""The CPU tasks' math, checked against independent reasoning rather than the same code."""

from __future__ import annotations

import numpy as np

from kernelcraft.tasks import get_task
from kernelcraft.tasks.cpu import TASKS, dhrystone_reference, hanoi_moves, hanoi_pegs


def _play(moves: np.ndarray, discs: int, source: int) -> list[list[int]]:
    """Replay moves on three pegs, checking every one is legal."""
    pegs: list[list[int]] = [[], [], []]
    pegs[source] = list(range(discs, 0, -1))
    for move in moves.tolist():
        disc, frm, to = move >> 8, (move >> 4) & 15, move & 15
        assert pegs[frm] and pegs[frm][-1] == disc, move
        assert not pegs[to] or pegs[to][-1] > disc, move
        pegs[to].append(pegs[frm].pop())
    return pegs


def test_towers_is_a_legal_minimal_solution_to_the_asked_peg():
    for sel in ([0, 0], [0, 1], [4, 7], [1000, 1000], [2, 2]):
        source, target = hanoi_pegs(np.array(sel))
        assert source != target
        moves = hanoi_moves(6, source, target)
        assert len(moves) == 63
        assert _play(moves, 6, source)[target] == list(range(6, 0, -1))


def test_dhrystone_record_by_record():
    table = np.full((8, 16), ord("B"), dtype=np.uint8)
    table[1, 3] = ord("A")  # name 1 < name 0
    table[2, 0] = ord("C")  # name 2 > name 0
    recs = np.array(
        [
            [0, 5, 7, 0],  # add, equal names: 12 + i(0) = 12
            [1, -3, 4, 1],  # mul, smaller name: -(-12) = 12
            [2, 2, 1, 2],  # 8*2 - 1 = 15, larger name: 15
            [3, -7, 2, 2],  # -7 / 2 truncates to -3
            [3, 9, 0, 2],  # division by zero gives x = 9
            [-1, 1, 1, 10],  # kind -1 & 3 = 3: 1 / 1 = 1; name 10 & 7 = 2
        ],
        dtype=np.int32,
    )
    out = dhrystone_reference(recs, table)
    assert out[:6].tolist() == [12, 12, 15, -3, 9, 1]
    acc = 0
    for v in out[:6].tolist():
        acc = acc * 33 + v
    assert out[6] == acc and out[7:].tolist() == [1, 1, 1, 3]


def test_wrapping_semantics_of_the_level_one_tasks():
    a = np.array([2**31 - 1, -(2**31), 65536, -3], dtype=np.int32)
    b = np.array([1, -1, 65536, 7], dtype=np.int32)
    p = {"N": 4}
    assert get_task("vvadd").reference({"a": a, "b": b}, p, "integer").tolist() == [
        -(2**31),
        2**31 - 1,
        131072,
        4,
    ]
    assert get_task("multiply").reference({"a": a, "b": b}, p, "integer").tolist() == [
        2**31 - 1,
        -(2**31),
        0,
        -21,
    ]
    big = np.full(4, -(2**31), dtype=np.int32)
    dot = get_task("dotprod").reference({"a": big, "b": big}, p, "integer")
    assert int(dot[0]) == 0  # 4 * 2^62 = 2^64 wraps to 0
    median = get_task("median").reference(
        {"signal": np.array([5, 1, 9, 3, 3, 8], dtype=np.int32)}, {"N": 6}, "integer"
    )
    assert median.tolist() == [5, 5, 3, 3, 3, 8]


def test_every_cpu_task_has_one_configuration_caps_and_varying_hidden_data():
    assert [t.level for t in TASKS] == [1] * 5 + [2] * 3 + [3] * 2
    assert [t.iteration_cap for t in TASKS] == [10] * 8 + [15] * 2
    for task in TASKS:
        assert (
            task.forms == ("integer",) and task.category == "CPU" and tuple(task.default_configs) == ("C1",)
        )
        params = task.default_configs["C1"]
        one = task.make_inputs_for(params, 1, "large", "integer")
        two = task.make_inputs_for(params, 2, "large", "integer")
        assert any(not np.array_equal(one[k], two[k]) for k in one), task.id
