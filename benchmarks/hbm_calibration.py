"""The HBM model's transfer costs next to the public emulator's measurements.

Runs short programs on the simulator (default hardware configuration) and prints, per kind of
transfer, the cost of the first one (every DRAM row closed) and the median of the following
ones, against what PLENA_Simulator f0703b2 with Ramulator2 measured on the compiler baselines:
H_PREFETCH_V of 4 rows 22-32 cycles (about 26 back to back), a 64 x 64 H_PREFETCH_M 122 alone
and 77-100 per tile in runs, H_STORE_V of 4 rows about 158. Usage:

    python benchmarks/hbm_calibration.py [--controller-cycles N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace

from kernelcraft.platforms.base import RunLimits
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, PlenaConfig
from kernelcraft.platforms.plena.machine import MemoryImage, run

MEASURED = {
    "H_PREFETCH_V, 4 rows": ("22-32", "about 26"),
    "H_PREFETCH_M, 64 x 64 tile": ("122", "77-100"),
    "H_STORE_V, 4 rows": ("about 158", "about 158"),
}


def _const(reg: str, value: int) -> str:
    return f"S_LUI_INT {reg}, {value >> 12}\nS_ADDI_INT {reg}, {reg}, {value & 0xFFF}\n"


def costs(cfg: PlenaConfig, cols: int, body: list[str]) -> list[int]:
    src = _const("gp1", 1 << 16) + "C_SET_SCALE_REG gp1\n" + _const("gp1", cols) + "C_SET_STRIDE_REG gp1\n"
    src += "".join(body)
    program = assemble(src, cfg).program
    ex = run(program, MemoryImage(), RunLimits(max_instructions=10_000, wall_time_s=60), trace=True)
    return [dur for _, _, dur, unit in ex.trace if unit == "memory"]


def table(cfg: PlenaConfig) -> str:
    m = cfg.mlen
    lines = [
        "| transfer | layout | alone | median in a run | emulator alone | emulator in a run |",
        "|---|---|---:|---:|---|---|",
    ]
    for cols in (m, 4 * m):
        layout = f"rows {cols} elements apart"
        cases = {
            "H_PREFETCH_V, 4 rows": [
                _const("gp3", r * cols) + "H_PREFETCH_V gp0, gp3, a0, 1, 0\n" for r in range(0, 64, 4)
            ],
            "H_PREFETCH_M, 64 x 64 tile": [
                _const("gp3", k * m * cols + j * m) + "H_PREFETCH_M gp0, gp3, a0, 1, 0\n"
                for k in range(4)
                for j in range(max(1, cols // m))
            ],
            "H_STORE_V, 4 rows": [
                _const("gp3", r * cols) + "H_STORE_V gp0, gp3, a0, 1, 0\n" for r in range(0, 64, 4)
            ],
        }
        for name, body in cases.items():
            c = costs(cfg, cols, body)
            alone, measured_run = MEASURED[name]
            lines.append(
                f"| {name} | {layout} | {c[0]} | {statistics.median(c[1:]):g} | {alone} | {measured_run} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controller-cycles", type=int, default=DEFAULT_CONFIG.hbm.controller_cycles)
    args = parser.parse_args(argv)
    cfg = replace(DEFAULT_CONFIG, hbm=replace(DEFAULT_CONFIG.hbm, controller_cycles=args.controller_cycles))
    print(table(cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
