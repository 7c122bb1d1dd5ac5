"""Level-1 PLENA baselines: activations, normalisations and the matrix tasks.

Every generator loads its inputs from HBM, computes, and leaves the output at VRAM address 0
in the column-block output layout; inputs and scratch sit after the output region.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import PlenaConfig
from ..layout import OUTPUT_BASE, HbmLayout, plan_hbm
from ..shapes import shape_table
from . import blocks
from .emit import Asm

Generator = Callable[[str, PlenaConfig], str]


def task_params(task_id: str, config_name: str) -> dict[str, int]:
    """Shape parameters of a task configuration, from PLENA's shape table."""
    return dict(shape_table()[task_id][config_name])


def task_hbm(task_id: str, config_name: str) -> HbmLayout:
    """Where the task's inputs sit in HBM (the I/O contract's placement of its input list)."""
    from kernelcraft.tasks import get_task

    return plan_hbm(get_task(task_id).inputs_for(task_params(task_id, config_name)))


def _rows_cols(p: dict[str, int]) -> tuple[int, int]:
    return p["R"], p["H"]


def _activation(kind: str) -> Generator:
    def generate(config_name: str, hw: PlenaConfig) -> str:
        rows, cols = _rows_cols(task_params(kind, config_name))
        x = task_hbm(kind, config_name)["x"]
        asm = Asm(hw)
        asm.comment(f"{kind} [{rows}, {cols}]: load, then one hardware loop over the VRAM rows")
        blocks.load_activation(asm, x, rows, cols, OUTPUT_BASE)
        blocks.elementwise(asm, kind, OUTPUT_BASE, rows * cols // hw.vlen)
        return asm.text()

    return generate


def _row_op(task_id: str, block: Callable[..., None]) -> Generator:
    def generate(config_name: str, hw: PlenaConfig) -> str:
        rows, cols = _rows_cols(task_params(task_id, config_name))
        x = task_hbm(task_id, config_name)["x"]
        asm = Asm(hw)
        asm.comment(f"{task_id} [{rows}, {cols}]: load, then a hardware loop over rows, in place")
        blocks.load_activation(asm, x, rows, cols, OUTPUT_BASE)
        block(asm, OUTPUT_BASE, rows, cols)
        return asm.text()

    return generate


def gemv(config_name: str, hw: PlenaConfig) -> str:
    p = task_params("gemv", config_name)
    m, n = p["M"], p["N"]
    hbm = task_hbm("gemv", config_name)
    asm = Asm(hw)
    x_vram = _after(m, hw)  # y [1, m] occupies m elements at 0
    asm.comment(f"gemv A[{m}, {n}] x: A streamed through MRAM, M_TMV gives 4 outputs per instruction")
    blocks.load_activation(asm, hbm["x"], 1, n, x_vram)
    blocks.gemv(asm, hbm["A"], m, n, x_vram, OUTPUT_BASE)
    return asm.text()


def gemm(config_name: str, hw: PlenaConfig) -> str:
    p = task_params("gemm", config_name)
    m, k, n = p["M"], p["K"], p["N"]
    hbm = task_hbm("gemm", config_name)
    asm = Asm(hw)
    x_vram = _after(m * n, hw)
    asm.comment(f"gemm [{m}, {k}] @ [{k}, {n}]: per 64-column block prefetch its K tiles; M_MM per 4x4 block")
    blocks.load_activation(asm, hbm["X"], m, k, x_vram)
    blocks.linear(asm, x_vram, m, k, hbm["W"], n, OUTPUT_BASE, scratch_vram=x_vram + m * k)
    return asm.text()


def linear(config_name: str, hw: PlenaConfig) -> str:
    p = task_params("linear", config_name)
    m, k, n = p["M"], p["K"], p["N"]
    hbm = task_hbm("linear", config_name)
    asm = Asm(hw)
    x_vram = _after(m * n, hw)
    b_vram = x_vram + m * k
    asm.comment(f"linear [{m}, {k}] @ [{k}, {n}] + b: gemm, then the bias row added to every row")
    blocks.load_activation(asm, hbm["X"], m, k, x_vram)
    blocks.load_activation(asm, hbm["b"], 1, n, b_vram)
    blocks.linear(asm, x_vram, m, k, hbm["W"], n, OUTPUT_BASE, scratch_vram=b_vram + _vector_span(n, hw))
    blocks.add_row_broadcast(asm, OUTPUT_BASE, m, n, b_vram)
    return asm.text()


def batch_matmul(config_name: str, hw: PlenaConfig) -> str:
    p = task_params("batch_matmul", config_name)
    b, m, k, n = p["B"], p["M"], p["K"], p["N"]
    hbm = task_hbm("batch_matmul", config_name)
    out_elems = b * m * n
    if out_elems + m * k > hw.vram_elems:
        raise NotImplementedError(
            f"batch_matmul {config_name}: the [{b}, {m}, {n}] output fills {out_elems} of the "
            f"{hw.vram_elems} VRAM elements, leaving no room for the [{m}, {k}] activations M_MM reads"
        )
    asm = Asm(hw)
    x_vram = _after(out_elems, hw)
    asm.comment(f"batch_matmul {b} x [{m}, {k}] @ [{k}, {n}]: one gemm per batch, unrolled over batches")
    for i in range(b):
        asm.comment(f"batch {i}")
        blocks.load_activation(asm, hbm["X"], m, k, x_vram, hbm_offset=i * m * k)
        out = OUTPUT_BASE + i * m * n
        scratch = x_vram + m * k
        blocks.linear(asm, x_vram, m, k, hbm["W"], n, out, w_offset=i * k * n, scratch_vram=scratch)
    return asm.text()


def _after(elems: int, hw: PlenaConfig) -> int:
    """First VRAM row boundary at or after an output of `elems` elements."""
    return OUTPUT_BASE + -(-elems // hw.vlen) * hw.vlen


def _vector_span(n: int, hw: PlenaConfig) -> int:
    """VRAM elements a [1, n] vector load writes (whole 4-row transfers)."""
    group = hw.prefetch_v_rows * hw.vlen
    return -(-n // group) * group


GENERATORS: dict[str, Generator] = {
    "silu": _activation("silu"),
    "relu": _activation("relu"),
    "gelu": _activation("gelu"),
    "softmax": _row_op("softmax", blocks.softmax_rows),
    "layernorm": _row_op("layernorm", blocks.layernorm_rows),
    "rmsnorm": _row_op("rmsnorm", blocks.rmsnorm_rows),
    "gemv": gemv,
    "gemm": gemm,
    "batch_matmul": batch_matmul,
    "linear": linear,
}
