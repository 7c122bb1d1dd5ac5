"""Shared helpers for the AIE tile tests: assemble, place data, run one call."""

from __future__ import annotations

import numpy as np

from kernelcraft.platforms.aie import numerics as nx
from kernelcraft.platforms.aie.assembler import assemble
from kernelcraft.platforms.aie.config import DEFAULT_CONFIG, AieConfig
from kernelcraft.platforms.aie.machine import Machine, new_machine
from kernelcraft.platforms.base import RunLimits

BASE = 0x70000


def build(source: str, config: AieConfig = DEFAULT_CONFIG):
    result = assemble(source, config)
    assert result.program is not None, "\n".join(d.format() for d in result.diagnostics)
    return result.program


def put(m: Machine, addr: int, array: np.ndarray) -> None:
    raw = np.ascontiguousarray(array).tobytes()
    off = addr - BASE
    m.memory[0, off : off + len(raw)] = np.frombuffer(raw, dtype=np.uint8)


def get(m: Machine, addr: int, nbytes: int, dtype) -> np.ndarray:
    off = addr - BASE
    return m.memory[0, off : off + nbytes].copy().view(dtype)


def put_bf16(m: Machine, addr: int, values: np.ndarray) -> None:
    put(m, addr, nx.f32_to_bf16(np.asarray(values, dtype=np.float32)))


def get_bf16(m: Machine, addr: int, count: int) -> np.ndarray:
    return nx.bf16_to_f32(get(m, addr, 2 * count, np.uint16)).astype(np.float64)


def run(
    source: str,
    args: dict[str, int] | None = None,
    config: AieConfig = DEFAULT_CONFIG,
    setup=None,
    limits: RunLimits | None = None,
):
    program = build(source, config)
    m = new_machine(config)
    if setup is not None:
        setup(m)
    outcome = m.call(
        program, program.labels.get("kernel", 0), args or {}, limits or RunLimits(wall_time_s=20)
    )
    return m, outcome, program


def ret(source: str) -> str:
    """Append the return and its five delay slots."""
    return source.rstrip() + "\n    ret lr\n" + "    nop\n" * 5


def tiled(x: np.ndarray, r: int, c: int) -> np.ndarray:
    """Row-major [R, C] -> blocks of r x c, blocks row-major, each block row-major."""
    R, C = x.shape
    return x.reshape(R // r, r, C // c, c).transpose(0, 2, 1, 3).copy()


def untiled(x: np.ndarray, R: int, C: int, r: int, c: int) -> np.ndarray:
    return x.reshape(R // r, C // c, r, c).transpose(0, 2, 1, 3).reshape(R, C)
