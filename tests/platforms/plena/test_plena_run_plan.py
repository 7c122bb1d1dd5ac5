"""A program's cached run plan (plan.py) gives exactly what a freshly built one gives."""

from __future__ import annotations

import numpy as np

from kernelcraft.platforms.base import RunLimits
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, EMULATOR_CONFIG, PlenaConfig
from kernelcraft.platforms.plena.layout import build_hbm_image, plan_hbm
from kernelcraft.platforms.plena.machine import MemoryImage, run
from kernelcraft.platforms.plena.plan import program_plan

from .plena_helpers import const

CFG = DEFAULT_CONFIG


def _loop_kernel(n: int = 4096) -> tuple[str, MemoryImage]:
    """SiLU-like: prefetches and vector ops in nested hardware loops (C_LOOP_START is pc-bound)."""
    vlen, rows = CFG.vlen, CFG.prefetch_v_rows
    src = const("gp5", n) + "C_SET_SCALE_REG gp5\nC_SET_ADDR_REG a0, gp0, gp0\nS_LD_FP f1, gp0, 3\n"
    src += const("gp6", n) + "S_ADDI_INT gp1, gp0, 0\nS_ADDI_INT gp2, gp0, 0\n"
    src += f"C_LOOP_START gp3, {n // (vlen * rows)}\nH_PREFETCH_V gp1, gp2, a0, 0, 0\n"
    src += f"C_LOOP_START gp4, {rows}\nV_SUB_VF gp6, gp1, f0, 0, 1\nV_EXP_V gp6, gp6, 0\n"
    src += "V_ADD_VF gp6, gp6, f1, 0\nV_RECI_V gp6, gp6, 0\nV_MUL_VV gp1, gp1, gp6, 0\n"
    src += (
        f"S_ADDI_INT gp1, gp1, {vlen}\nC_LOOP_END gp4\nS_ADDI_INT gp2, gp2, {vlen * rows}\nC_LOOP_END gp3\n"
    )
    x = np.random.default_rng(0).normal(size=n).astype(np.float32)
    layout = plan_hbm([("x", (n,))])
    return src, MemoryImage(hbm=build_hbm_image(layout, {"x": x}), fpsram={3: np.array([1.0])})


def _gemm_kernel(config: PlenaConfig = CFG) -> tuple[str, MemoryImage]:
    """Unrolled: one weight tile, repeated identical M_MM lines, write-outs and a store to HBM."""
    mlen, blen, vlen = config.mlen, config.blen, config.vlen
    layout = plan_hbm([("x", (blen, mlen)), ("w", (mlen, mlen))])
    x_vram = 4 * vlen * blen
    src = const("gp1", layout["w"].base) + "C_SET_ADDR_REG a1, gp0, gp1\n"
    src += (
        const("gp1", layout["w"].numel)
        + "C_SET_SCALE_REG gp1\n"
        + const("gp1", mlen)
        + "C_SET_STRIDE_REG gp1\n"
    )
    src += "H_PREFETCH_M gp0, gp0, a1, 1, 0\n"
    src += const("gp1", layout["x"].base) + "C_SET_ADDR_REG a0, gp0, gp1\n"
    src += const("gp1", layout["x"].numel) + "C_SET_SCALE_REG gp1\n"
    for r in range(0, blen, config.prefetch_v_rows):
        src += const("gp2", x_vram + r * vlen) + const("gp3", r * mlen) + "H_PREFETCH_V gp2, gp3, a0, 1, 0\n"
    src += const("gp5", x_vram)
    for cb in range(mlen // blen):
        src += const("gp4", cb * blen * mlen) + "M_MM 0, gp4, gp5\nM_MM 0, gp4, gp5\n"
        src += const("gp6", cb * blen) + "M_MM_WO gp6, gp0, 0\n"
    src += "H_STORE_V gp0, gp0, a0, 0, 0\n"
    rng = np.random.default_rng(1)
    data = {"x": rng.normal(size=(blen, mlen)).astype(np.float32), "w": rng.normal(size=(mlen, mlen))}
    return src, MemoryImage(hbm=build_hbm_image(layout, {k: v.astype(np.float32) for k, v in data.items()}))


def _outcome(execution) -> tuple:
    m = execution.machine
    fault = execution.fault
    return (
        execution.stats.to_dict(),
        None if fault is None else (fault.kind, fault.message, fault.pc),
        m.vram.tobytes(),
        m.mram.tobytes(),
        m.hbm.tobytes(),
        m.fpsram.tobytes(),
        m.registers(),
        execution.trace,
    )


def _assembled(source: str, config: PlenaConfig = CFG):
    result = assemble(source, config)
    assert result.ok, "\n".join(d.format() for d in result.errors)
    return result.program


def test_cached_plans_match_fresh_ones_on_two_programs_run_alternately():
    kernels = [_loop_kernel(), _gemm_kernel()]
    programs = [_assembled(src) for src, _ in kernels]
    for trace in (False, True):
        for _ in range(2):  # alternate: each run of one program sits between runs of the other
            for (src, image), program in zip(kernels, programs, strict=True):
                cached = run(program, image, trace=trace)
                fresh = run(_assembled(src), image, trace=trace)  # a new object builds its own plan
                assert cached.fault is None, cached.fault.format()
                assert _outcome(cached) == _outcome(fresh)
    loop_stats = run(programs[0], kernels[0][1]).stats
    assert loop_stats.opcode_counts["V_EXP_V"] == 4096 // CFG.vlen
    assert loop_stats.opcode_counts["C_LOOP_END"] == 4096 // CFG.vlen + 4096 // (
        CFG.vlen * CFG.prefetch_v_rows
    )


def test_cached_plan_matches_fresh_one_on_faults_limits_and_poison():
    src, image = _gemm_kernel()
    bad = src.replace(
        "M_MM_WO gp6, gp0, 0\nH_STORE_V", "S_ADDI_INT gp6, gp0, 3\nM_MM_WO gp6, gp0, 0\nH_STORE_V"
    )
    poisoned = MemoryImage(hbm=image.hbm, poison=True, poison_seed=7)
    program = _assembled(bad)
    for img, limits in ((image, None), (poisoned, None), (image, RunLimits(max_instructions=20))):
        first, again = run(program, img, limits), run(program, img, limits)
        fresh = run(_assembled(bad), img, limits)
        assert first.fault is not None
        assert _outcome(first) == _outcome(again) == _outcome(fresh)
        assert [w.message for w in first.warnings] == [w.message for w in fresh.warnings]


def test_a_plan_belongs_to_one_program_object_and_its_config():
    src, image = _gemm_kernel()
    program, same_text = _assembled(src), _assembled(src)
    emulator = _assembled(src, EMULATOR_CONFIG)
    assert program_plan(program) is program_plan(program)
    assert program_plan(same_text) is not program_plan(program)
    assert len(program_plan(program).slot_of_pc) == len(program.instructions)
    # The same text under another timing profile has other static costs; runs alternating
    # between the two configs each keep their own.
    assert program_plan(emulator).costs != program_plan(program).costs
    for _ in range(2):
        assert (
            run(emulator, image).stats.to_dict()
            == run(_assembled(src, EMULATOR_CONFIG), image).stats.to_dict()
        )
        assert run(program, image).stats.to_dict() == run(same_text, image).stats.to_dict()
    assert run(emulator, image).stats.cycles != run(program, image).stats.cycles
