"""The PLENA task I/O contract: where inputs live, where constants are, where outputs go.

- Inputs: every input tensor sits in HBM as MXFP8, in the task's input order (activations
  first, then weights), each at a 64-byte-aligned base. A tensor is its logical shape in
  row-major order: all element bytes, then all scale bytes (one per 8 elements), so
  SCALE_REG for a tensor = its element count, and element (i, j) of a 2-D [R, C] tensor
  is at byte offset i*C + j from the tensor's base.
- Constants: FP SRAM slots preloaded with BF16 values (FP_SLOTS; task-specific values
  such as 1/hidden sit in their fixed slot).
- Integer inputs (token ids): u32 words in INT SRAM from address 0, in input order, each
  row-major. A task whose output updates such an input in place (Task.output_updates) leaves
  its output in those words.
- Output: in VRAM from OUTPUT_BASE, column-block-major: element (i, j) of an [R, C]
  output is at OUTPUT_BASE + (j // VLEN)*R*VLEN + i*VLEN + (j % VLEN). A 3-D [B, R, C]
  output stores each [R, C] matrix that way, one after another (matrix b at b*R*C).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import PlenaConfig
from .mx import quantize_blocks, tensor_nbytes

OUTPUT_BASE = 0
HBM_ALIGN = 64

# Fixed FP SRAM slots (the same numbers in every task; a task uses the ones it needs).
FP_SLOTS: dict[str, int] = {
    "neg_inf": 0,
    "eps": 1,
    "inv_hidden": 2,  # 1 / (length of the normalised row)
    "one": 3,
    "gelu_c1": 4,  # 2*sqrt(2/pi): GELU(x) ~= x * sigmoid(c1*x + c3*x^3)
    "inv_sqrt_dhead": 5,  # 1 / sqrt(head dimension)
    "gelu_c3": 6,  # 2*sqrt(2/pi)*0.044715
    "half": 7,
    "zero": 8,
}
FP_SLOT_MEANING: dict[str, str] = {
    "neg_inf": "-inf (start value for a running max)",
    "eps": "epsilon of the normalisation",
    "inv_hidden": "1 / hidden (length of the normalised row)",
    "one": "1.0",
    "gelu_c1": "2*sqrt(2/pi) = 1.5957691 (GELU: x * sigmoid(c1*x + c3*x^3))",
    "inv_sqrt_dhead": "1 / sqrt(head dimension)",
    "gelu_c3": "2*sqrt(2/pi)*0.044715 = 0.0713548",
    "half": "0.5",
    "zero": "0.0",
}


def fp_constants(scalars: dict[str, float]) -> dict[str, float]:
    """The FP SRAM slot values of one task instance, from the task's plain scalars
    (eps, hidden, dhead; see Task.scalars_for)."""
    return {
        "neg_inf": float("-inf"),
        "eps": float(scalars["eps"]),
        "inv_hidden": 1.0 / scalars["hidden"],
        "one": 1.0,
        "gelu_c1": 2.0 * np.sqrt(2.0 / np.pi),
        "inv_sqrt_dhead": 1.0 / np.sqrt(scalars["dhead"]),
        "gelu_c3": 2.0 * np.sqrt(2.0 / np.pi) * 0.044715,
        "half": 0.5,
        "zero": 0.0,
    }


@dataclass(frozen=True)
class TensorPlacement:
    name: str
    shape: tuple[int, ...]
    base: int  # HBM byte address of the first element byte
    numel: int  # element bytes; scales start at base + numel (SCALE_REG = numel)

    @property
    def scale_base(self) -> int:
        return self.base + self.numel

    @property
    def nbytes(self) -> int:
        return tensor_nbytes(self.numel)


@dataclass(frozen=True)
class HbmLayout:
    tensors: tuple[TensorPlacement, ...]
    total_bytes: int

    def __getitem__(self, name: str) -> TensorPlacement:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(name)


def plan_hbm(inputs: Sequence[tuple[str, tuple[int, ...]]], block: int = 8) -> HbmLayout:
    """Place tensors in order, each at a 64-byte-aligned base."""
    placements, cursor = [], 0
    for name, shape in inputs:
        numel = int(np.prod(shape))
        if numel % block:
            raise ValueError(f"tensor {name} has {numel} elements, not a multiple of the MX block {block}")
        placements.append(TensorPlacement(name, tuple(shape), cursor, numel))
        cursor += tensor_nbytes(numel, block)
        cursor = -(-cursor // HBM_ALIGN) * HBM_ALIGN
    return HbmLayout(tuple(placements), cursor)


@dataclass(frozen=True)
class IntSramPlacement:
    name: str
    shape: tuple[int, ...]
    base: int  # INT SRAM word address of element 0 (row-major, one u32 per element)

    @property
    def numel(self) -> int:
        return int(np.prod(self.shape))


def plan_intsram(inputs: Sequence[tuple[str, tuple[int, ...]]], words: int) -> tuple[IntSramPlacement, ...]:
    """Integer inputs one after another from INT SRAM word 0."""
    placements, cursor = [], 0
    for name, shape in inputs:
        placement = IntSramPlacement(name, tuple(shape), cursor)
        cursor += placement.numel
        if cursor > words:
            raise ValueError(f"integer input {name} does not fit the {words} INT SRAM words")
        placements.append(placement)
    return tuple(placements)


def build_hbm_image(
    layout: HbmLayout, values: dict[str, np.ndarray], block: int = 8, quantiser: str = "plena"
) -> np.ndarray:
    """HBM bytes for the given tensors (quantised to MXFP8) at their planned places."""
    image = np.zeros(layout.total_bytes, dtype=np.uint8)
    for t in layout.tensors:
        data = np.asarray(values[t.name], dtype=np.float32)
        if data.shape != t.shape:
            raise ValueError(f"tensor {t.name} has shape {data.shape}, layout expects {t.shape}")
        elements, scales = quantize_blocks(data.reshape(-1), block, quantiser)
        image[t.base : t.base + t.numel] = elements
        image[t.scale_base : t.scale_base + scales.size] = scales
    return image


def output_size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


def output_indices(shape: tuple[int, ...], config: PlenaConfig, base: int = OUTPUT_BASE) -> np.ndarray:
    """VRAM element address of every output element, in the output's logical (row-major) order."""
    vlen = config.vlen
    if len(shape) == 1:
        shape = (1, shape[0])
    *batch, rows, cols = shape
    if cols % vlen:
        raise ValueError(f"output width {cols} is not a multiple of VLEN={vlen}")
    i = np.arange(rows)[:, None]
    j = np.arange(cols)[None, :]
    one = (j // vlen) * rows * vlen + i * vlen + (j % vlen)
    n_batch = int(np.prod(batch)) if batch else 1
    offsets = (np.arange(n_batch) * rows * cols)[:, None, None] + one[None]
    return (base + offsets).reshape(*batch, rows, cols) if batch else (base + one)


def read_output(vram: np.ndarray, shape: tuple[int, ...], config: PlenaConfig) -> np.ndarray:
    idx = output_indices(shape, config)
    if idx.max() >= vram.size:
        raise ValueError("output region exceeds VRAM")
    return vram[idx].astype(np.float64).reshape(shape)


def to_output_layout(values: np.ndarray, config: PlenaConfig) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, values) to place a logical output into VRAM; used by tests and examples."""
    idx = output_indices(values.shape, config)
    return idx.reshape(-1), np.asarray(values, dtype=np.float32).reshape(-1)
