"""Bank conflicts, zero-overhead loops and branch delay slots, against hand-counted cycles.

Bank rule (AM020 ch.4 "a bank conflict on any port stalls the entire data path"; bank index
2*addr[15:14] + addr[4], xdna-emu banking.rs): k accesses to one physical bank in one memory
cycle stall the core k - 1 cycles; a 32-byte access occupies both banks of its 16 KB logical bank.
"""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.aie.assembler import assemble
from kernelcraft.platforms.aie.config import DEFAULT_CONFIG

from .aie_helpers import BASE, ret, run

PTRS = "    movxm p0, #{a}\n    movxm p1, #{b}\n    movxm p2, #{c}\n" + "    nop\n" * 2


def _loads(a: int, b: int, body: str) -> int:
    src = ret("kernel:\n" + PTRS.format(a=a, b=b, c=BASE + 0xC000) + body)
    m, out, _ = run(src)
    assert out.fault is None, out.fault
    return m.stats.stall_bank


@pytest.mark.parametrize(
    "a, b, stalls",
    [
        (BASE, BASE + 0x0040, 1),  # same 16 KB logical bank: +1
        (BASE, BASE + 0x4000, 0),  # different logical banks: free
        (BASE + 0x3FE0, BASE + 0x4000, 0),  # adjacent addresses, different logical banks
        (BASE + 0x8000, BASE + 0xBFE0, 1),  # far apart inside one logical bank
    ],
)
def test_two_vector_loads_in_one_bundle(a, b, stalls):
    assert _loads(a, b, "    vlda wl0, [p0, #0] ; vldb wl1, [p1, #0]\n") == stalls


def test_three_accesses_to_one_bank_stall_two_cycles():
    body = "    vlda wl0, [p0, #0] ; vldb wl1, [p1, #0] ; vst wl2, [p2, #0]\n"
    src = ret("kernel:\n" + PTRS.format(a=BASE, b=BASE + 0x20, c=BASE + 0x40) + body)
    m, out, _ = run(src)
    assert m.stats.stall_bank == 2


def test_scalar_access_occupies_one_physical_bank():
    # lda at addr[4] = 1 and vst covering both banks of the same logical bank: conflict.
    body = "    lda r1, [p0, #0] ; vst wl2, [p2, #0]\n"
    src = ret("kernel:\n" + PTRS.format(a=BASE + 0x10, b=BASE, c=BASE + 0x40) + body)
    m, out, _ = run(src)
    assert m.stats.stall_bank == 1


def test_conflict_across_bundles_at_the_same_memory_cycle():
    # vst.conv writes memory at issue + 6, a vlda two bundles later reads at issue + 4: same cycle.
    body = "    vst.conv.bf16.fp32 bml0, [p2, #0]\n    nop\n    vlda wl0, [p0, #0]\n"
    src = ret("kernel:\n" + PTRS.format(a=BASE, b=BASE, c=BASE + 0x40) + body)
    m, out, _ = run(src)
    assert m.stats.stall_bank == 1
    body = "    vst.conv.bf16.fp32 bml0, [p2, #0]\n    vlda wl0, [p0, #0]\n"
    src = ret("kernel:\n" + PTRS.format(a=BASE, b=BASE, c=BASE + 0x40) + body)
    m, out, _ = run(src)
    assert m.stats.stall_bank == 0


def test_bank_stall_adds_cycles_and_keeps_results():
    base = ret(
        "kernel:\n"
        + PTRS.format(a=BASE, b=BASE + 0x40, c=BASE + 0xC000)
        + "    vlda wl0, [p0, #0] ; vldb wl1, [p1, #0]\n"
        + "    nop\n" * 7
        + "    vst wl1, [p2, #0]\n"
    )

    def setup(m):
        m.memory[0, 0x40:0x60] = np.arange(32, dtype=np.uint8)

    m, out, _ = run(base, setup=setup)
    assert m.stats.stall_bank == 1
    assert out.cycles == m.stats.bundles + 1
    assert list(m.memory[0, 0xC000:0xC020]) == list(range(32))


# ---------------------------------------------------------------------------- zero-overhead loops

ZOL = """
kernel:
    movxm ls, #body
    movxm le, #last
    movxm lc, #{n}
    movx r1, #0
{pad}body:
    add r1, r1, #1
last:
    nop
    nop
    st r1, [p0, #0]
"""


@pytest.mark.parametrize("n, runs", [(1, 1), (3, 3), (10, 10), (0, 1)])
def test_zol_runs_the_body_lc_times(n, runs):
    src = ret(ZOL.format(n=n, pad="    nop\n" * 6))
    m, out, _ = run(src, {"p0": BASE})
    assert out.fault is None
    assert int(m.memory[0, 0:4].view(np.uint32)[0]) == runs
    # Zero overhead: each iteration is exactly the body's 2 bundles.
    assert out.cycles == 4 + 6 + 2 * runs + 2 + 6


def test_zol_setup_too_close_is_an_assembly_error():
    src = ret(ZOL.format(n=3, pad="    nop\n" * 2))
    result = assemble(src)
    assert result.program is None
    errors = [d for d in result.diagnostics if d.severity == "error"]
    # ls (line 3) is 7 bundles from the loop end; le and lc are 6 and 5.
    assert {d.line for d in errors if "at least 7" in d.message} == {4, 5}, errors
    assert all(d.hint for d in errors)


def test_zol_setup_too_close_at_run_time_is_a_fault():
    # le comes from a register, so only the run-time check can see the distance.
    src = ret("""
kernel:
    movxm r2, #last
    movxm ls, #body
    mov le, r2
    movxm lc, #2
body:
    nop
last:
    add r1, r1, #1
""")
    m, out, _ = run(src)
    assert out.fault is not None and out.fault.kind == "loop_setup"
    assert "at least 7" in out.fault.message


def test_branch_in_zol_tail_is_an_error():
    src = ret(ZOL.format(n=3, pad="    nop\n" * 6).replace("add r1, r1, #1", "j #last"))
    result = assemble(src)
    assert any("last 6 bundles" in d.message for d in result.diagnostics)


# ---------------------------------------------------------------------------- branches


def test_delay_slots_execute_then_the_jump_lands():
    src = (
        """
kernel:
    movx r1, #0
    j #target
    add r1, r1, #1
    add r1, r1, #2
    add r1, r1, #4
    add r1, r1, #8
    add r1, r1, #16
    add r1, r1, #32
target:
    st r1, [p0, #0]
"""
        + "    ret lr\n"
        + "    nop\n" * 5
    )
    m, out, _ = run(src, {"p0": BASE})
    assert out.fault is None
    assert int(m.memory[0, 0:4].view(np.uint32)[0]) == 31  # the five delay slots ran, +32 was skipped
    assert out.cycles == 2 + 5 + 1 + 6


def test_jnzd_counted_loop():
    src = (
        """
kernel:
    movx r2, #4
    movx r1, #0
loop:
    add r1, r1, #1
    jnzd r2, r2, #loop
    nop
    nop
    nop
    nop
    nop
    st r1, [p0, #0]
"""
        + "    ret lr\n"
        + "    nop\n" * 5
    )
    m, out, _ = run(src, {"p0": BASE})
    assert out.fault is None
    assert int(m.memory[0, 0:4].view(np.uint32)[0]) == 5  # rc = trips - 1


def test_branch_in_delay_slots_is_an_error():
    result = assemble("kernel:\n    j #kernel\n    nop\n    j #kernel\n" + "    nop\n" * 5)
    assert any("delay slots" in d.message and d.line == 4 for d in result.diagnostics)


def test_running_forever_hits_the_instruction_limit():
    from kernelcraft.platforms.base import RunLimits

    src = "kernel:\n    j #kernel\n" + "    nop\n" * 5
    m, out, _ = run(src, limits=RunLimits(max_instructions=5000, wall_time_s=10))
    assert out.fault is not None and out.fault.kind == "instruction_limit"


def test_config_defaults_are_the_documented_ones():
    assert DEFAULT_CONFIG.branch_delay_slots == 5 and DEFAULT_CONFIG.zol_setup_distance == 7
    assert DEFAULT_CONFIG.data_memory_bytes == 65536 and DEFAULT_CONFIG.physical_banks == 8
