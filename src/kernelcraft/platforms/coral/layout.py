"""Where a task instance lives in Coral memory, and the I/O contract the task prompt states.

As the paper's Coral harness does: the first input at the start of external memory
(0x2000_0000), each next input right after the previous one (16-byte aligned), then the
configuration's constant tables, and the output 4 KB-aligned after them. Everything is
row-major and little-endian in external memory; the kernel may stage data in the DTCM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...tasks import Task
from .config import CoralConfig
from .toolchain import extdata_base

OUTPUT_ALIGN = 4096
INPUT_ALIGN = 16


@dataclass(frozen=True)
class Tensor:
    name: str
    address: int
    dtype: str
    shape: tuple[int, ...]
    role: str  # "input", "table", "output"

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    @property
    def end(self) -> int:
        return self.address + self.nbytes


@dataclass(frozen=True)
class Layout:
    inputs: tuple[Tensor, ...]
    tables: tuple[Tensor, ...]
    output: Tensor
    scalars: tuple[tuple[str, int], ...]

    @property
    def tensors(self) -> tuple[Tensor, ...]:
        return self.inputs + self.tables + (self.output,)

    def by_name(self, name: str) -> Tensor:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)


def _align(value: int, to: int) -> int:
    return -(-value // to) * to


def output_name(task: Task) -> str:
    names = {spec.name for spec in task.integer.input_specs}
    return "Y" if "X" in names else "y" if "y" not in names else "out"


def plan(task: Task, params: dict[str, int], config: CoralConfig) -> Layout:
    """Addresses of the inputs, constant tables and output of one cell."""
    form = task.integer
    cursor = config.ext_base
    inputs = []
    for spec in form.input_specs:
        t = Tensor(spec.name, cursor, spec.dtype, tuple(spec.shape(params)), "input")
        inputs.append(t)
        cursor = _align(t.end, INPUT_ALIGN)
    constants = form.constants(params) if form.constants else {}
    tables, scalars = [], []
    for name, value in constants.items():
        if isinstance(value, np.ndarray):
            t = Tensor(name, cursor, str(value.dtype), tuple(value.shape), "table")
            tables.append(t)
            cursor = _align(t.end, INPUT_ALIGN)
        else:
            scalars.append((name, int(value)))
    out_shape = tuple(task.output_shape_for(params, "integer"))
    output = Tensor(output_name(task), _align(cursor, OUTPUT_ALIGN), form.output_dtype, out_shape, "output")
    if output.end > extdata_base(config):
        raise ValueError(
            f"{task.id} does not fit below {extdata_base(config):#x}, where kernels' .extdata begins"
        )
    return Layout(tuple(inputs), tuple(tables), output, tuple(scalars))


def placements(layout: Layout, inputs: dict[str, np.ndarray], constants: dict) -> list[tuple[int, bytes]]:
    """(address, bytes) of every input and table, as the harness writes them before the run."""
    out = []
    for t in layout.inputs:
        out.append((t.address, np.ascontiguousarray(inputs[t.name], dtype=t.dtype).tobytes()))
    for t in layout.tables:
        out.append((t.address, np.ascontiguousarray(constants[t.name], dtype=t.dtype).tobytes()))
    return out


def contract_text(
    task: Task, config_name: str, params: dict[str, int], layout: Layout, config: CoralConfig
) -> str:
    form = task.integer
    shape = ", ".join(f"{k}={v}" for k, v in params.items())
    lines = [
        f"## I/O contract: {task.name} {config_name} ({shape})",
        "",
        f"Everything is in external memory at {config.ext_base:#010x} (4 MB over AXI): row-major, "
        "little-endian.",
        "",
        "Inputs (written by the harness before `main` runs):",
        "",
    ]
    for t in layout.inputs:
        lines.append(f"- `{t.name}`: {t.dtype} {list(t.shape)}, {t.nbytes} bytes at {t.address:#010x}")
    if layout.tables:
        lines += ["", "Constant tables of this configuration (written by the harness too):", ""]
        for t in layout.tables:
            lines.append(f"- `{t.name}`: {t.dtype} {list(t.shape)}, {t.nbytes} bytes at {t.address:#010x}")
    o = layout.output
    lines += [
        "",
        f"Output: `{o.name}`: {o.dtype} {list(o.shape)}, {o.nbytes} bytes at {o.address:#010x}. Write every "
        "element "
        "there; the harness reads it after `main` returns.",
    ]
    if layout.scalars:
        lines += ["", "Constants: " + ", ".join(f"{name} = {value}" for name, value in layout.scalars) + "."]
    lines += ["", f"Integer algorithm (exact, results must match bit for bit): {form.algorithm}", ""]
    lines += [
        "`main` is a normal function (ilp32 ABI): it is called with no arguments and must return 0 in a0 "
        "(any other value, an ebreak or a trap is a failure) with sp and s0-s11 as it found them (checked): "
        "save and restore the s-registers (and ra) you use. "
        f"Code and read-only data live in the {config.itcm_size // 1024} KB ITCM, `.data`/`.bss` and the "
        "stack in "
        f"the {config.dtcm_size // 1024} KB DTCM ({config.dtcm_base:#x}..{config.dtcm_end:#x}; free for "
        "scratch). "
        "`.data` and `.bss` start as declared. Memory the contract does not initialise (the output buffer, "
        "DTCM you did not declare, the rest of external memory) holds garbage in every evaluation (yours "
        "and final scoring, which also runs other input values): never read it before writing it.",
        "",
        "The same addresses as assembler constants:",
        "",
        "```asm",
    ]
    for t in layout.tensors:
        lines.append(f"    .equ {t.name.upper()}_ADDR, {t.address:#010x}")
    for name, value in layout.scalars:
        lines.append(f"    .equ {name.upper()}, {value}")
    lines.append("```")
    return "\n".join(lines) + "\n"


def c_defines(task: Task, params: dict[str, int], layout: Layout) -> str:
    """The cell's shape, addresses and constants as C macros (for the C baselines)."""
    lines = [f"#define {k} {v}" for k, v in params.items()]
    for t in layout.tensors:
        lines.append(f"#define {t.name.upper()}_ADDR {t.address:#010x}u")
        lines.append(f"#define {t.name.upper()}_PTR(type) ((type *){t.name.upper()}_ADDR)")
    for name, value in layout.scalars:
        lines.append(f"#define {name.upper()} ({value})")
    return "\n".join(lines) + "\n"
