"""Shared helpers for the PLENA tests: assemble-and-run with a clear failure message."""

from __future__ import annotations

import numpy as np

from kernelcraft.platforms.base import RunLimits
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, PlenaConfig
from kernelcraft.platforms.plena.machine import Execution, MemoryImage, run
from kernelcraft.platforms.plena.mx import BF16


def execute(
    source: str,
    image: MemoryImage | None = None,
    config: PlenaConfig = DEFAULT_CONFIG,
    limits: RunLimits | None = None,
    expect_fault: bool = False,
    trace: bool = False,
) -> Execution:
    result = assemble(source, config)
    assert result.ok, "\n".join(d.format() for d in result.errors)
    execution = run(result.program, image, limits, trace=trace)
    if not expect_fault:
        assert execution.fault is None, execution.fault.format()
    return execution


def bf16(values) -> np.ndarray:
    """Values rounded to BF16, as float32 (the on-chip representation)."""
    return np.asarray(values, dtype=np.float32).astype(BF16).astype(np.float32)


def const(reg: str, value: int) -> str:
    if value < 1 << 18:
        return f"S_ADDI_INT {reg}, gp0, {value}\n"
    return f"S_LUI_INT {reg}, {value >> 12}\nS_ADDI_INT {reg}, {reg}, {value & 0xFFF}\n"
