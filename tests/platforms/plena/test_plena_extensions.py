"""PLENA's extension sets: one table entry per instruction drives the assembler, the encoding,
the simulator, the poison tracker and the docs; a configuration names the sets it includes."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.api import PlatformError
from kernelcraft.platforms.behaviour import AddedInstruction, Behaviour, OperandRole
from kernelcraft.platforms.plena.assembler import assemble, decode_words
from kernelcraft.platforms.plena.config import EXTENSION_SETS, PlenaConfig
from kernelcraft.platforms.plena.extensions import SETS
from kernelcraft.platforms.plena.isa import INSTRUCTIONS, instruction_table
from kernelcraft.platforms.plena.machine import MemoryImage
from kernelcraft.platforms.registry import get_platform

BASE = get_platform("plena")
DLLM = get_platform("plena+dllm")
NAMES = ("V_RED_MAX_IDX", "V_TOPK_MASK", "S_SELECT_INT")


def test_the_sets_the_configuration_may_name_are_the_sets_defined():
    assert EXTENSION_SETS == tuple(SETS)
    table = instruction_table(("dllm",))
    assert [s.name for s in table.instructions[len(INSTRUCTIONS) :]] == list(NAMES)
    assert {s.opcode for s in INSTRUCTIONS}.isdisjoint(table.by_name[n].opcode for n in NAMES)
    with pytest.raises(ValueError, match="extension set names"):
        PlenaConfig(extensions=("turbo",))
    with pytest.raises(PlatformError, match="no extension set turbo"):
        get_platform("plena+turbo")


def test_only_a_configuration_with_the_set_assembles_its_instructions():
    line = "V_TOPK_MASK gp1, gp2, gp3, gp4\n"
    assert (
        not BASE.build(line).ok
        and "unknown instruction 'V_TOPK_MASK'" in BASE.build(line).diagnostics[0].format()
    )
    built = DLLM.build(line)
    assert built.ok and DLLM.enabled_extensions() == ("dllm",) and BASE.enabled_extensions() == ()
    words = built.program.words()
    assert decode_words(words, DLLM.config).program.instructions == built.program.instructions
    assert not decode_words(words, BASE.config).program


def test_withheld_instructions_appear_nowhere_in_the_base_docs():
    base_text = "\n".join(BASE.docs().values())
    assert not any(name in base_text for name in NAMES)
    isa = DLLM.docs()["isa"]
    assert all(f"### {name}" in isa for name in NAMES) and "## Extension set `dllm`" in isa
    assert "arXiv 2601.20706" in isa and "V_RED_MAX_IDX" in DLLM.docs()["hardware"]


def run_one(program: str, image: MemoryImage):
    built = DLLM.build(program)
    assert built.ok, [d.format() for d in built.diagnostics]
    execution = DLLM.execute(built.program, image)
    assert execution.fault is None, execution.fault.format()
    return execution.machine


def test_the_simulator_runs_each_instruction_as_its_reference_says():
    rng = np.random.default_rng(7)
    vlen = DLLM.config.vlen
    scores = np.round(rng.normal(size=vlen) * 4) / 4  # BF16-exact, with ties
    mask = (rng.random(vlen) < 0.5).astype(float)
    a, b = rng.integers(0, 1000, vlen), rng.integers(0, 1000, vlen)
    image = MemoryImage(vram={0: scores, vlen: mask}, intsram={0: a, vlen: b})
    machine = run_one(
        "S_ADDI_INT gp2, gp0, 64\nS_ADDI_INT gp3, gp0, 3\nS_ADDI_INT gp5, gp0, 128\n"
        "S_LD_FP f1, gp0, 0\n"  # FP SRAM word 0 is never written: 0.0 here, so a real max must beat it
        "V_RED_MAX_IDX gp1, gp0, gp3, f1\n"
        "S_ADDI_INT gp4, gp0, 5\nV_TOPK_MASK gp5, gp0, gp2, gp4\n"
        "S_ADDI_INT gp6, gp0, 200\nS_SELECT_INT gp6, gp0, gp2, gp2\n",
        image,
    )
    ref = {b.mnemonic: b.reference for b in DLLM.instruction_extensions()["dllm"].behaviours}
    assert (machine.g[1], machine.f[1]) == ref["V_RED_MAX_IDX"](0, scores, 3, 0.0)
    expected_mask = ref["V_TOPK_MASK"](scores, mask, 5)
    assert np.array_equal(np.asarray(machine.vram[128 : 128 + vlen], dtype=float), expected_mask)
    selected = ref["S_SELECT_INT"](a, b, mask)
    assert np.array_equal(machine.intsram[200 : 200 + vlen], selected)


def test_reading_memory_nothing_wrote_is_reported_for_extension_instructions_too():
    built = DLLM.build("S_ADDI_INT gp2, gp0, 512\nV_RED_MAX_IDX gp1, gp2, gp0, f1\n")
    execution = DLLM.execute(built.program, MemoryImage(poison=True))
    assert any("which nothing wrote" in w.format() for w in execution.warnings)


TASK = "get_transfer_index"


@pytest.mark.parametrize(
    ("seed", "profile", "poison"), [(0, "normal", False), (5, "large", True), (6, "mixed_signs", True)]
)
def test_the_baseline_with_the_extension_is_correct_and_faster(seed, profile, poison):
    source = DLLM.baseline(TASK, "C1")
    assert all(name in source for name in NAMES)
    fast = DLLM.evaluate(source, DLLM.prepare(TASK, "C1", seed, profile, poison))
    slow = BASE.evaluate(BASE.baseline(TASK, "C1"), BASE.prepare(TASK, "C1", seed, profile, poison))
    assert fast.correct and slow.correct, fast.format_summary()
    assert fast.cycles * 1.5 < slow.cycles


def test_an_added_instruction_is_assembled_documented_and_simulated():
    def top(row, base, best):
        return (int(base + np.argmax(row)), float(row.max())) if row.max() > best else (0, best)

    roles = (
        OperandRole("g", "int", "write"),
        OperandRole("v", "vector", "read"),
        OperandRole("b", "int", "read"),
        OperandRole("f", "fp", "readwrite"),
    )
    added = AddedInstruction(
        Behaviour("V_TOP_AT", roles, top, "top of a row"), "the top of a row", 7, "a test"
    )
    variant = BASE.with_instructions([added])
    assert "### V_TOP_AT (added)" in variant.docs()["isa"] and "V_TOP_AT" not in "\n".join(
        BASE.docs().values()
    )
    row = np.arange(64.0)[::-1]
    built = variant.build("S_LD_FP f2, gp0, 0\nS_ADDI_INT gp2, gp0, 10\nV_TOP_AT gp1, gp0, gp2, f2\n")
    machine = variant.execute(
        built.program, MemoryImage(vram={0: row}, fpsram={0: np.array([-np.inf])})
    ).machine
    assert (machine.g[1], machine.f[2]) == (10, 63.0)
    stats = variant.execute(built.program, MemoryImage(vram={0: row})).stats
    assert stats.opcode_counts["V_TOP_AT"] == 1 and stats.cycles >= 7
    with pytest.raises(ValueError, match="already a PLENA instruction"):
        BASE.with_instructions([AddedInstruction(Behaviour("V_RED_MAX", roles, top), "", 1, "x")])
    assert not assemble("V_TOP_AT gp1, gp0, gp2, f2\n", BASE.config).program
