"""The emitter and the lowering blocks the baseline generators share, run on the simulator."""

from __future__ import annotations

import numpy as np
import pytest

from kernelcraft.platforms.plena import layout
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.baseline import blocks
from kernelcraft.platforms.plena.baseline.emit import Asm, RegisterPoolExhausted
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG
from kernelcraft.platforms.plena.machine import MemoryImage, run
from kernelcraft.platforms.plena.mx import mx_roundtrip, to_bf16

CONSTS = {
    "neg_inf": -np.inf,
    "eps": 1e-6,
    "one": 1.0,
    "gelu_c1": 1.5957691,
    "gelu_c3": 0.0713548,
    "zero": 0.0,
}


def _run(asm: Asm, tensors: dict[str, np.ndarray] | None = None, inv_hidden: float = 1.0, vram=None):
    result = assemble(asm.text(), asm.hw)
    assert result.ok, [d.format() for d in result.errors]
    fp = {layout.FP_SLOTS[k]: [v] for k, v in {**CONSTS, "inv_hidden": inv_hidden}.items()}
    image = MemoryImage(fpsram=fp, vram=vram or {}, poison=True)
    if tensors:
        plan = layout.plan_hbm([(k, v.shape) for k, v in tensors.items()])
        image.hbm = layout.build_hbm_image(plan, tensors)
    execution = run(result.program, image)
    assert execution.fault is None, execution.fault.format()
    return execution


def _col_blocks(x: np.ndarray) -> np.ndarray:
    """[R, C] -> flat column-block layout [C/64, R, 64]."""
    r, c = x.shape
    return x.reshape(r, c // 64, 64).transpose(1, 0, 2).reshape(-1)


def _read(execution, base: int, rows: int, cols: int) -> np.ndarray:
    flat = execution.machine.vram[base : base + rows * cols].astype(np.float64)
    return flat.reshape(cols // 64, rows, 64).transpose(1, 0, 2).reshape(rows, cols)


def _close(got, want, atol=0.012, rtol=0.01):
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol)


# ----------------------------------------------------------------------------- emit


@pytest.mark.parametrize("value", [0, 5, (1 << 18) - 1, 1 << 18, 300_001, 0xFFFFF000, 0xFFFFFFFF])
def test_imm_loads_any_32_bit_constant(value):
    asm = Asm()
    asm.optimise = False  # nothing reads gp3 afterwards: the peephole pass would drop the load
    asm.imm("gp3", value)
    assert asm.instruction_count == (1 if value < 1 << 18 else 1 + bool(value & 0xFFF))
    assert _run(asm).machine.g[3] == value


def test_imm_rejects_values_beyond_32_bits():
    with pytest.raises(ValueError):
        Asm().imm("gp1", 1 << 32)


def test_loop_runs_the_body_count_times_and_single_pass_is_bare():
    asm = Asm()
    asm.optimise = False  # the result stays in a register, which the peephole pass treats as unread
    total = asm.alloc()
    asm.imm(total, 0)
    with asm.loop(None, 7) as counter:
        asm.addi(total, total, 3)
    assert counter not in (None, total)
    with asm.loop(None, 1) as counter:
        asm.addi(total, total, 100)
    assert counter is None
    assert asm.text().count("C_LOOP_START") == 1
    assert _run(asm).machine.g[int(total[2:])] == 7 * 3 + 100
    with pytest.raises(ValueError):
        with asm.loop(None, 0):
            pass


def test_register_pool_hands_out_distinct_registers_and_runs_out():
    asm = Asm()
    taken = [asm.alloc() for _ in range(DEFAULT_CONFIG.gp_regs - 1)]
    assert len(set(taken)) == len(taken) and "gp0" not in taken
    with pytest.raises(RegisterPoolExhausted):
        asm.alloc()
    asm.free(taken[0])
    assert asm.alloc() == taken[0]
    with pytest.raises(ValueError):
        asm.free("gp1", "gp1")


def test_transfer_setup_is_emitted_once_but_again_inside_a_loop():
    placement = layout.plan_hbm([("x", (4, 64))])["x"]
    asm = Asm()
    blocks.set_scale(asm, placement)
    blocks.set_scale(asm, placement)
    blocks.set_tensor_base(asm, None, placement)
    blocks.set_tensor_base(asm, None, placement)
    text = asm.text()
    assert text.count("C_SET_SCALE_REG") == 1 and text.count("C_SET_ADDR_REG") == 1
    with asm.loop(None, 2):
        blocks.set_scale(asm, placement)
    assert asm.text().count("C_SET_SCALE_REG") == 2


# ----------------------------------------------------------------------------- blocks


@pytest.mark.parametrize(("rows", "cols"), [(4, 64), (8, 192), (1, 320)])
def test_load_activation_produces_column_block_layout(rows, cols):
    x = np.random.default_rng(0).standard_normal((rows, cols))
    asm = Asm()
    placement = layout.plan_hbm([("x", x.shape)])["x"]
    blocks.load_activation(asm, placement, rows, cols, 128)
    _close(_read(_run(asm, {"x": x}), 128, rows, cols), mx_roundtrip(x), atol=0, rtol=0)


def test_load_activation_takes_a_column_slice_of_a_wider_tensor():
    x = np.random.default_rng(1).standard_normal((8, 256))
    asm = Asm()
    placement = layout.plan_hbm([("x", x.shape)])["x"]
    blocks.load_activation(asm, placement, 8, 128, 0, hbm_offset=64, row_stride=256)
    _close(_read(_run(asm, {"x": x}), 0, 8, 128), mx_roundtrip(x)[:, 64:192], atol=0, rtol=0)


def _linear_case(rows, k, n, seed=0):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((rows, k)), rng.standard_normal((k, n)) / np.sqrt(k)
    plan = layout.plan_hbm([("x", x.shape), ("w", w.shape)])
    return x, w, plan


@pytest.mark.parametrize(("rows", "k", "n"), [(4, 64, 64), (8, 128, 192), (4, 384, 64)])
def test_linear_matches_numpy(rows, k, n):
    x, w, plan = _linear_case(rows, k, n)
    asm = Asm()
    x_vram = rows * n
    blocks.load_activation(asm, plan["x"], rows, k, x_vram)
    blocks.linear(asm, x_vram, rows, k, plan["w"], n, 0)
    got = _read(_run(asm, {"x": x, "w": w}), 0, rows, n)
    _close(got, mx_roundtrip(x) @ mx_roundtrip(w))


def test_linear_accumulate_adds_into_the_existing_output():
    rows, k, n = 4, 128, 64
    x, w, plan = _linear_case(rows, k, n, seed=3)
    residual = np.random.default_rng(9).standard_normal((rows, n))
    asm = Asm()
    x_vram, scratch = 1024, 4096
    blocks.load_activation(asm, plan["x"], rows, k, x_vram)
    blocks.linear(asm, x_vram, rows, k, plan["w"], n, 0, accumulate=True, scratch_vram=scratch)
    got = _read(_run(asm, {"x": x, "w": w}, vram={0: _col_blocks(residual)}), 0, rows, n)
    _close(got, to_bf16(residual) + mx_roundtrip(x) @ mx_roundtrip(w))
    with pytest.raises(ValueError, match="scratch"):
        blocks.linear(Asm(), x_vram, rows, k, plan["w"], n, 0, accumulate=True)


def test_linear_uses_a_weight_column_slice_at_an_offset():
    rows, k, n_full = 4, 64, 256
    x, w, plan = _linear_case(rows, k, n_full, seed=4)
    asm = Asm()
    blocks.load_activation(asm, plan["x"], rows, k, 4096)
    blocks.linear(asm, 4096, rows, k, plan["w"], 64, 0, w_offset=128, w_stride=n_full, mram_base_tile=10)
    got = _read(_run(asm, {"x": x, "w": w}), 0, rows, 64)
    _close(got, mx_roundtrip(x) @ mx_roundtrip(w)[:, 128:192])


def test_gemv_block_matches_numpy():
    rng = np.random.default_rng(5)
    a, x = rng.standard_normal((128, 256)) / 16, rng.standard_normal((1, 256))
    plan = layout.plan_hbm([("A", a.shape), ("x", x.shape)])
    asm = Asm()
    blocks.load_activation(asm, plan["x"], 1, 256, 1024)
    blocks.gemv(asm, plan["A"], 128, 256, 1024, 0)
    got = _run(asm, {"A": a, "x": x}).machine.vram[:128].astype(np.float64)
    _close(got, (mx_roundtrip(a) @ mx_roundtrip(x)[0]))


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_add_rows_combines_regions(op):
    rng = np.random.default_rng(6)
    a, b = to_bf16(rng.standard_normal(3 * 64)), to_bf16(rng.standard_normal(3 * 64))
    asm = Asm()
    blocks.add_rows(asm, 0, 192, 192, 3, op=op)  # out aliases b
    got = _run(asm, vram={0: a, 192: b}).machine.vram[192:384].astype(np.float64)
    _close(got, {"add": a + b, "sub": a - b, "mul": a * b}[op])


def test_add_row_broadcast_adds_the_vector_to_every_row():
    rng = np.random.default_rng(7)
    y, bias = to_bf16(rng.standard_normal((8, 128))), to_bf16(rng.standard_normal((1, 128)))
    asm = Asm()
    blocks.add_row_broadcast(asm, 0, 8, 128, 2048)
    got = _read(_run(asm, vram={0: _col_blocks(y), 2048: bias.reshape(-1)}), 0, 8, 128)
    _close(got, y + bias)


def _gelu_tanh(x):
    return x / (1 + np.exp(-(1.5957691 * x + 0.0713548 * x**3)))


@pytest.mark.parametrize("kind", ["silu", "relu", "gelu"])
@pytest.mark.parametrize("out_of_place", [False, True])
def test_elementwise_in_place_and_out_of_place(kind, out_of_place):
    x = to_bf16(np.random.default_rng(8).standard_normal(5 * 64) * 3)
    asm = Asm()
    out = 1024 if out_of_place else None
    blocks.elementwise(asm, kind, 0, 5, out_vram=out)
    got = _run(asm, vram={0: x}).machine.vram[(out or 0) : (out or 0) + 5 * 64].astype(np.float64)
    want = {"silu": x / (1 + np.exp(-x)), "relu": np.maximum(x, 0), "gelu": _gelu_tanh(x)}[kind]
    _close(got, want)
    with pytest.raises(ValueError, match="unknown activation"):
        blocks.elementwise(Asm(), "tanh", 0, 1)


# 512 columns = 8 chunks: more than the per-chunk registers, so the walking pointer is used.
@pytest.mark.parametrize("cols", [128, 512])
@pytest.mark.parametrize("out_vram", [None, 8192])
def test_row_normalisations(cols, out_vram):
    rows = 4
    x = to_bf16(np.random.default_rng(10).standard_normal((rows, cols)) + 0.5)
    dst = 0 if out_vram is None else out_vram
    for name in ("rmsnorm", "layernorm"):
        asm = Asm()
        getattr(blocks, f"{name}_rows")(asm, 0, rows, cols, out_vram)
        got = _read(_run(asm, inv_hidden=1 / cols, vram={0: _col_blocks(x)}), dst, rows, cols)
        if name == "rmsnorm":
            want = x / np.sqrt((x**2).mean(axis=1, keepdims=True) + 1e-6)
        else:
            c = x - x.mean(axis=1, keepdims=True)
            want = c / np.sqrt((c**2).mean(axis=1, keepdims=True) + 1e-6)
        _close(got, want)


@pytest.mark.parametrize("cols", [64, 320])
@pytest.mark.parametrize("scaled", [False, True])
def test_softmax_rows_with_optional_prescale(cols, scaled):
    rows = 8
    x = to_bf16(np.random.default_rng(11).standard_normal((rows, cols)) * 4)
    asm = Asm()
    blocks.softmax_rows(asm, 0, rows, cols, "half" if scaled else None, out_vram=20480)
    fp_half = {layout.FP_SLOTS["half"]: [0.5]}
    result = assemble(asm.text())
    image = MemoryImage(
        fpsram={**{layout.FP_SLOTS[k]: [v] for k, v in CONSTS.items()}, **fp_half},
        vram={0: _col_blocks(x)},
        poison=True,
    )
    execution = run(result.program, image)
    assert execution.fault is None
    z = x * (0.5 if scaled else 1.0)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    _close(_read(execution, 20480, rows, cols), e / e.sum(axis=1, keepdims=True))


def test_blocks_return_every_register_they_take():
    plan = layout.plan_hbm([("x", (8, 128)), ("w", (128, 128))])
    asm = Asm()
    before = asm.free_gp_count
    blocks.load_activation(asm, plan["x"], 8, 128, 4096)
    blocks.linear(asm, 4096, 8, 128, plan["w"], 128, 0)
    blocks.softmax_rows(asm, 0, 8, 128)
    blocks.rmsnorm_rows(asm, 0, 8, 128)
    blocks.layernorm_rows(asm, 0, 8, 128)
    blocks.elementwise(asm, "gelu", 0, 16)
    blocks.add_rows(asm, 0, 0, 0, 16)
    assert asm.free_gp_count == before
    assert len(asm._free_fp) == DEFAULT_CONFIG.fp_regs - 1
