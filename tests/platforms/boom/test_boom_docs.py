"""What the agent reads: generated docs true to the tables, contracts true to the layout."""

from __future__ import annotations

import re

import pytest

from kernelcraft.platforms.boom import isa, runtime
from kernelcraft.platforms.boom.config import PRESETS

from .boom_helpers import CPU_TASKS, PLATFORM, built, instance, kernel


def test_every_listed_instruction_assembles_and_is_documented():
    docs = PLATFORM.docs()["isa"]
    samples = {
        "add": "add a0, a0, a1",
        "mulhsu": "mulhsu a0, a0, a1",
        "lwu": "lwu a0, 0(a1)",
        "amoadd.d": "amoadd.d a0, a1, (a2)",
        "fmadd.d": "fmadd.d fa0, fa1, fa2, fa3",
        "csrrs": "csrrs a0, mstatus, zero",
        "mret": "mret",
        "fence.i": "fence.i",
        "sc.d": "sc.d a0, a1, (a2)",
    }
    for ins in isa.INSTRUCTIONS:
        assert f"`{ins.mnemonic}`" in docs
    built(kernel("\n".join(f"    {s}" for s in samples.values()) + "\n    ret"))


def test_the_isa_doc_does_not_promise_what_boom_lacks():
    bad = PLATFORM.build(kernel("    min a0, a0, a1\n    ret"))  # Zbb: not in RV64GC
    assert not bad.ok and bad.errors[0].line == 4
    assert "no vector" in PLATFORM.docs()["isa"] and "Zbb" in PLATFORM.docs()["isa"]


@pytest.mark.parametrize("name", list(PRESETS))
def test_hardware_doc_shows_the_presets_numbers_with_sources(name):
    from kernelcraft.platforms.boom.platform import BoomPlatform

    doc = BoomPlatform(PRESETS[name]).docs()["hardware"]
    c = PRESETS[name]
    assert f"| reorder buffer | {c.rob_entries} entries |" in doc
    assert f"{c.l1d_bytes // 1024} KiB" in doc and "config-mixins.scala:" in doc
    rows = [line for line in doc.splitlines() if line.startswith("| ") and line.count("|") == 5]
    assert all(line.split("|")[4].strip() for line in rows)  # every row names a source


def test_memory_map_doc_matches_the_runtime():
    doc = PLATFORM.docs()["memory_layout"]
    for region in runtime.MEMORY_MAP:
        assert f"{region.start:#x}" in doc and f"{region.end:#x}" in doc


@pytest.mark.parametrize("task_id", CPU_TASKS)
def test_contract_states_the_registers_and_addresses_the_run_uses(task_id):
    inst = instance(task_id)
    text = inst.contract_text()
    assert inst.layout.contract.signature in text
    for i, value in enumerate(inst.layout.registers):
        row = next(line for line in text.splitlines() if line.startswith(f"| a{i} |"))
        assert (f"{value:#x}" if value >= runtime.BUFFERS_BASE else str(value)) in row
    for buf in inst.layout.buffers:
        assert f"{buf.address:#x} .. {buf.end:#x}" in text
    assert re.search(r"exact equality", text)


def test_the_documented_mispredict_penalty_holds():
    loop = kernel(
        "    li t2, 0\n1:  lw t0, 0(a1)\n    andi t0, t0, MASK\n    beqz t0, 2f\n    addi t2, t2, 1\n"
        "2:  addi a1, a1, 4\n    addi a0, a0, -1\n    bnez a0, 1b\n    ret"
    )
    inst = instance("median")  # n = 1000 random int32 in a1
    random_bit = PLATFORM.run(built(loop.replace("MASK", "1")), inst).stats
    never = PLATFORM.run(built(loop.replace("MASK", "0")), inst).stats
    penalty = (random_bit.cycles - never.cycles) / (random_bit.mispredicts - never.mispredicts)
    assert random_bit.mispredicts > 300 and 10 <= penalty <= 15
    assert "about 12 cycles" in PLATFORM.docs()["hardware"]


OPERAND_SAMPLES = {
    "rd": "a0",
    "rs1": "a1",
    "rs2": "a2",
    "fd": "fa0",
    "fs1": "fa1",
    "fs2": "fa2",
    "fs3": "fa3",
    "imm12": "5",
    "shamt6": "3",
    "off(rs1)": "8(a1)",
    "(rs1)": "(a1)",
    "csr": "mscratch",
    "uimm5": "3",
    "imm20": "1",
}


def test_every_row_assembles_with_exactly_the_operands_it_lists():
    rows = [
        ins
        for ins in isa.INSTRUCTIONS
        if ins.operands and all(part in OPERAND_SAMPLES for part in ins.operands.split(", "))
    ]
    assert {"fsqrt.d", "fclass.d", "fadd.d", "feq.d"} <= {ins.mnemonic for ins in rows}
    lines = {
        ins.mnemonic: f"    {ins.mnemonic} " + ", ".join(OPERAND_SAMPLES[p] for p in ins.operands.split(", "))
        for ins in rows
    }
    built(kernel("\n".join(lines.values()) + "\n    ret"))
    for name in ("fsqrt.d", "fclass.d"):  # one operand more than listed is rejected
        assert not PLATFORM.build(kernel(lines[name] + ", fa2\n    ret")).ok


def test_the_startup_cost_the_docs_state_holds():
    from kernelcraft.platforms.boom.docs import STARTUP_CYCLES

    ev = PLATFORM.evaluate(kernel("    ret"), instance("vvadd"))
    assert ev.ok and ev.stats.cycles == STARTUP_CYCLES
    docs = PLATFORM.docs()
    assert f"about {STARTUP_CYCLES:,} cycles" in docs["memory_layout"]
    assert "in every evaluation" in docs["memory_layout"] and "out_of_bounds" in docs["memory_layout"]
