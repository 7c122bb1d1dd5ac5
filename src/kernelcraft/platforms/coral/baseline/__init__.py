"""The Coral compiler baseline: plain C with RVV intrinsics per task, clang -O2.

One C file per task (what an engineer writes first: strip-mined loops at LMUL 1 on the
external-memory buffers, widening multiply-accumulates, the integer algorithm of the task
spelled out with intrinsics). A cell's source is its shape, addresses and constants as
macros followed by the task's file; the baseline kernel is that source compiled to
assembly by zig's clang at -O2, so it goes through the same assembler as an agent's kernel.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from ....tasks import get_task
from ...api import PlatformError
from ..config import CoralConfig
from ..layout import plan
from ..shapes import shape_table
from ..toolchain import compile_to_assembly

TEMPLATES = {
    "relu": "relu.c",
    "silu": "lut.c",
    "gelu": "lut.c",
    "softmax": "softmax.c",
    "rmsnorm": "rmsnorm.c",
    "gemv": "gemv.c",
    "gemm": "gemm.c",
    "batch_matmul": "gemm.c",
    "linear": "linear.c",
    "conv2d": "conv2d.c",
    "conv_block": "conv2d.c",
    "depthwise_conv": "depthwise.c",
    "ffn": "ffn.c",
}
OPT = "-O2"
HEADER = "#include <riscv_vector.h>\n#include <stdint.h>\n#include <stddef.h>\n"


def template(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text()


def c_source(task_id: str, config_name: str, config: CoralConfig) -> str:
    """The cell's C baseline: macros for its shape, buffers and constants, then the task's file."""
    table = shape_table().get(task_id)
    if table is None:
        raise PlatformError(f"task {task_id} has no Coral baseline")
    if config_name not in table:
        raise PlatformError(f"unknown configuration {config_name!r} for task {task_id}")
    params = table[config_name]
    task = get_task(task_id)
    layout = plan(task, params, config)
    lines = [f"/* {task.name} {config_name}: {', '.join(f'{k}={v}' for k, v in params.items())} */", HEADER]
    lines += [f"#define P_{k} {v}" for k, v in params.items()]
    lines.append(f"#define P_BATCH {params.get('B', 1)}")
    for t in layout.tensors:
        lines.append(f"#define {t.name.upper()}_ADDR {t.address:#010x}u")
    for name, value in layout.scalars:
        lines.append(f"#define {name.upper()} ({value})")
    if task_id == "conv_block":
        lines.append("#define CONV_BLOCK 1")
    return "\n".join(lines) + "\n\n" + template(TEMPLATES[task_id])


@lru_cache(maxsize=256)
def assembly(task_id: str, config_name: str, config: CoralConfig) -> str:
    """The baseline kernel: the C baseline compiled to GNU assembly at -O2."""
    source = c_source(task_id, config_name, config)
    asm, diagnostics = compile_to_assembly(source, opt=OPT)
    if asm is None:
        details = "; ".join(d.format() for d in diagnostics)
        raise RuntimeError(f"the {task_id} {config_name} C baseline does not compile: {details}")
    head = (
        f"# Coral NPU compiler baseline for {task_id} {config_name}: the C + RVV-intrinsics source "
        f"(platforms/coral/baseline/{TEMPLATES[task_id]}) compiled by clang {OPT}.\n"
    )
    return head + asm
