"""Harness-driven data movement (object FIFOs): tiling a task, the kernel calls, the results.

As NPUEval and IRON designs do it, the harness (not the kernel) moves data: for each call it
places the input tiles in local memory (double-buffered: ping and pong alternate, so the DMA
could fill one while the kernel reads the other), sets the argument registers (pointers
p0..p5, sizes r0..r7, AIE2 calling convention), calls the kernel at its entry label, and
after the return reads the output tile back. A task is a sequence of stages; each stage is
one kind of kernel call (a matmul tile, an elementwise tile, a block of rows) over a grid
of tiles. Stage outputs live outside the tile (in the memory tile / host) as bf16.

Scored cycles = kernel cycles summed over calls + a fixed per-call overhead. The DMA side is
reported next to them: bytes each way and the cycles the FIFOs would need at the tile DMA's
bandwidth (flagged when it, not the kernel, would bound the run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ..base import Fault, RunLimits
from . import layout as L
from . import numerics as nx
from .assembler import Program
from .config import AieConfig
from .machine import Machine
from .stats import AieStats

Tensors = dict[str, np.ndarray]


FILL = "__fill__"  # tensors[FILL]: what output tensors start as (NaN when memory is poisoned)


def _fill(t: Tensors) -> float:
    return float(t[FILL]) if FILL in t else 0.0


def bf16_bytes(values: np.ndarray) -> np.ndarray:
    return nx.f32_to_bf16(np.ascontiguousarray(values, dtype=np.float32)).reshape(-1).view(np.uint8)


def blocks(x: np.ndarray, r: int, c: int) -> np.ndarray:
    """[R, C] row-major -> r x c blocks, blocks in row-major order, each block row-major."""
    R, C = x.shape
    return x.reshape(R // r, r, C // c, c).transpose(0, 2, 1, 3)


def unblocks(flat: np.ndarray, R: int, C: int, r: int, c: int) -> np.ndarray:
    return flat.reshape(R // r, C // c, r, c).transpose(0, 2, 1, 3).reshape(R, C)


@dataclass
class Call:
    entry: str
    args: dict[str, int]
    loads: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (address, bytes) before the call
    after: Callable[[Machine, int], None] | None = None  # reads results back from one lane
    out_bytes: int = 0


# ---------------------------------------------------------------------------- stages


@dataclass
class MatmulStage:
    """out[b] (+)= epilogue(A[b] @ B[b]) in tiles of tm x tk x tn.

    A tile: tm x tk in 4x8 blocks; B tile: tk x tn in 8x4 blocks; the fp32 accumulator tile
    (tm x tn in 4x4 blocks) stays in local memory across the K steps and is zeroed by the
    harness before the first; on the last K step (r3 = 1) the kernel writes the bf16 output
    tile (4x4 blocks) and applies the epilogue.
    """

    entry: str
    a: str
    b: str
    out: str
    M: int
    K: int
    N: int
    batch: int = 1
    epilogue: str = "none"  # none | bias | silu | mul | add | scale
    epi: str | None = None  # tensor of the epilogue operand (bias row, gate or residual matrix)
    tm: int = 32
    tk: int = 128
    tn: int = 32
    b_transposed: bool = False  # B is stored [N, K] (e.g. K of attention) and delivered as its transpose
    pre: Callable[[Tensors], None] | None = field(default=None, repr=False)  # gathers (strided DMA) before
    post: Callable[[Tensors], None] | None = field(default=None, repr=False)  # scatters the output after

    def __post_init__(self) -> None:
        self.tm, self.tk, self.tn = min(self.tm, self.M), min(self.tk, self.K), min(self.tn, self.N)
        assert self.M % self.tm == 0 and self.K % self.tk == 0 and self.N % self.tn == 0
        assert self.tm % 4 == 0 and self.tk % 8 == 0 and self.tn % 4 == 0

    def streams(self, t: Tensors) -> Iterator[list[Call]]:
        """One stream per output tile: its K steps, in order. Ping/pong inputs alternate with
        the K step; output and epilogue buffers with the output tile."""
        if self.pre is not None:
            self.pre(t)
        A, B = t[self.a], t[self.b]
        if self.batch == 1:
            A, B = A.reshape(1, self.M, self.K), B.reshape(1, B.shape[-2], B.shape[-1])
        out = t.get(self.out)
        if out is None or out.shape != (self.batch, self.M, self.N):
            out = t[self.out] = np.full((self.batch, self.M, self.N), _fill(t), dtype=np.float32)
        epi = t[self.epi] if self.epi else None
        tm, tk, tn = self.tm, self.tk, self.tn
        n_k = self.K // tk
        tile_parity = 0
        for b in range(self.batch):
            Bb = B[b].T if self.b_transposed else B[b]
            for i in range(0, self.M, tm):
                for j in range(0, self.N, tn):
                    out_addr = L.OUT[tile_parity]
                    epi_addr = L.EPI[tile_parity]
                    stream = []
                    for kk in range(n_k):
                        k_parity = kk % 2
                        a_tile = A[b, i : i + tm, kk * tk : (kk + 1) * tk]
                        b_tile = Bb[kk * tk : (kk + 1) * tk, j : j + tn]
                        a_addr, b_addr = L.IN0[k_parity], L.IN1[k_parity]
                        loads = [
                            (a_addr, bf16_bytes(blocks(a_tile, 4, 8))),
                            (b_addr, bf16_bytes(blocks(b_tile, 8, 4))),
                        ]
                        if kk == 0:
                            loads.append((L.ACC, np.zeros(tm * tn * 4, dtype=np.uint8)))
                        last = kk == n_k - 1
                        if last and epi is not None:
                            loads.append((epi_addr, bf16_bytes(self._epi_tile(epi, b, i, j))))
                        after = None
                        if last:
                            after = self._reader(out, b, i, j, out_addr)
                        stream.append(
                            Call(
                                self.entry,
                                {
                                    "p0": a_addr,
                                    "p1": b_addr,
                                    "p2": L.ACC,
                                    "p3": out_addr,
                                    "p4": epi_addr,
                                    "p5": L.CONSTS,
                                    "r0": tm,
                                    "r1": tk,
                                    "r2": tn,
                                    "r3": int(last),
                                },
                                loads,
                                after,
                                tm * tn * 2 if last else 0,
                            )
                        )
                    yield stream
                    tile_parity ^= 1

    def _epi_tile(self, epi: np.ndarray, b: int, i: int, j: int) -> np.ndarray:
        tm, tn = self.tm, self.tn
        if self.epilogue == "bias":  # one 4x4 block per 4 columns, every row the bias
            row = epi.reshape(-1)[j : j + tn]
            return np.broadcast_to(row.reshape(tn // 4, 1, 4), (tn // 4, 4, 4)).copy()
        mat = epi.reshape(self.batch, self.M, self.N)[b, i : i + tm, j : j + tn]
        return blocks(mat, 4, 4)

    def _reader(self, out: np.ndarray, b: int, i: int, j: int, addr: int) -> Callable[[Machine, int], None]:
        tm, tn = self.tm, self.tn

        def read(m: Machine, lane: int) -> None:
            off = addr - L.BASE
            raw = m.memory[lane, off : off + tm * tn * 2].copy().view(np.uint16)
            out[b, i : i + tm, j : j + tn] = unblocks(nx.bf16_to_f32(raw), tm, tn, 4, 4)

        return read

    def contract(self) -> list[str]:
        ep = {
            "none": "out = bf16(acc)",
            "bias": "out = bf16(acc + bias); p4 holds the bias as tn/4 blocks of 4x4 bf16 (every row of a "
            "block is bias[j..j+3])",
            "silu": "out = bf16(silu(bf16(acc))), silu(z) = z * sigmoid(z)",
            "mul": "out = bf16(bf16(acc) * G), G the gate tile at p4 (bf16, 4x4 blocks like the output)",
            "add": "out = bf16(bf16(acc) + R), R the residual tile at p4 (bf16, 4x4 blocks like the output)",
            "scale": "out = bf16(bf16(acc) * inv_sqrt_dhead) (the constant table's inv_sqrt_dhead)",
            "relu": "out = max(bf16(acc), 0)",
        }[self.epilogue]
        b_text = f"{self.b}^T" if self.b_transposed else self.b
        return [
            f"- `{self.entry}`: {self.out} = {self.a} @ {b_text} with M={self.M}, K={self.K}, N={self.N}"
            + (f", batch {self.batch}" if self.batch > 1 else "")
            + f"; tiles tm={self.tm}, tk={self.tk}, tn={self.tn}: "
            f"{self.batch * (self.M // self.tm) * (self.N // self.tn)}"
            f" output tile(s), {self.K // self.tk} K step(s) each.",
            "  - p0 = A tile (tm x tk bf16 in 4x8 blocks, blocks row-major: block (bi, bk) at "
            "p0 + (bi*(tk/8) + bk)*64); p1 = B tile (tk x tn bf16 in 8x4 blocks: block (bk, bj) at "
            "p1 + (bk*(tn/4) + bj)*64); p2 = acc tile (tm x tn fp32 in 4x4 blocks: block (bi, bj) at "
            "p2 + (bi*(tn/4) + bj)*64), zeroed by the harness before the first K step; p3 = output tile "
            "(tm x tn bf16 in 4x4 blocks: block (bi, bj) at p3 + (bi*(tn/4) + bj)*32); p4 = epilogue "
            "operand; p5 = constant table; r0 = tm, r1 = tk, r2 = tn, r3 = 1 on the last K step else 0.",
            f"  - every call: acc += A @ B; on the last K step also: {ep}.",
        ]

    def n_calls(self) -> int:
        return self.batch * (self.M // self.tm) * (self.N // self.tn) * (self.K // self.tk)

    def bytes_in(self) -> int:
        n_out = self.batch * (self.M // self.tm) * (self.N // self.tn)
        per = (self.tm * self.tk + self.tk * self.tn) * 2 * (self.K // self.tk)
        return n_out * per

    def macs(self) -> int:
        return self.batch * self.M * self.K * self.N


@dataclass
class EltwiseStage:
    """out = f(x) over all elements, in tiles of `tile` elements (a multiple of 32)."""

    entry: str
    x: str
    out: str
    count: int
    tile: int = 1024
    kind: str = ""  # the operator (relu, silu, gelu)

    def __post_init__(self) -> None:
        self.tile = min(self.tile, self.count)
        assert self.count % self.tile == 0 and self.tile % 32 == 0

    def streams(self, t: Tensors) -> Iterator[list[Call]]:
        x = t[self.x].reshape(-1)
        shape = t[self.x].shape
        out = t.setdefault(self.out, np.full(shape, _fill(t), dtype=np.float32)).reshape(-1)
        for n, start in enumerate(range(0, self.count, self.tile)):
            in_addr, out_addr = L.IN0[n % 2], L.IN1[n % 2]

            def read(m: Machine, lane: int, start=start, out_addr=out_addr) -> None:
                off = out_addr - L.BASE
                raw = m.memory[lane, off : off + 2 * self.tile].copy().view(np.uint16)
                out[start : start + self.tile] = nx.bf16_to_f32(raw)

            yield [
                Call(
                    self.entry,
                    {"p0": in_addr, "p1": out_addr, "p5": L.CONSTS, "r0": self.tile},
                    [(in_addr, bf16_bytes(x[start : start + self.tile]))],
                    read,
                    2 * self.tile,
                )
            ]

    def contract(self) -> list[str]:
        return [
            f"- `{self.entry}`: {self.out} = f({self.x}) elementwise over {self.count} bf16 elements, "
            f"{self.count // self.tile} call(s) of {self.tile} elements.",
            "  - p0 = input tile (bf16, contiguous), p1 = output tile (bf16, contiguous), p5 = "
            "constant table, "
            "r0 = elements in the tile.",
        ]

    def n_calls(self) -> int:
        return self.count // self.tile

    def bytes_in(self) -> int:
        return 2 * self.count

    def macs(self) -> int:
        return 0


ROW_TILE_ELEMENTS = 1024  # elements per row-stage call (whole rows)


@dataclass
class RowStage:
    """A row-wise operator (softmax, layernorm, rmsnorm) on [R, H], several rows per call."""

    entry: str
    x: str
    out: str
    rows: int
    H: int
    tile_rows: int = 0
    pad_value: float = float("-inf")  # rows shorter than 32 are padded to 32 with this (softmax: -inf)
    kind: str = ""  # the operator (softmax, layernorm, rmsnorm)
    batch: int = 1  # independent [rows, H] matrices (e.g. one per attention head), one after another

    def __post_init__(self) -> None:
        self.Hp = max(32, -(-self.H // 32) * 32)
        if not self.tile_rows:
            self.tile_rows = max(1, min(self.rows, ROW_TILE_ELEMENTS // self.Hp))
        assert self.rows % self.tile_rows == 0

    def streams(self, t: Tensors) -> Iterator[list[Call]]:
        x = t[self.x].reshape(self.batch * self.rows, self.H)
        out = t.setdefault(self.out, np.full(t[self.x].shape, _fill(t), dtype=np.float32)).reshape(
            self.batch * self.rows, self.H
        )
        if self.Hp != self.H:
            x = np.concatenate(
                [x, np.full((x.shape[0], self.Hp - self.H), self.pad_value, np.float32)], axis=1
            )
        n_el = self.tile_rows * self.Hp
        for n, r in enumerate(range(0, self.batch * self.rows, self.tile_rows)):
            in_addr, out_addr = L.IN0[n % 2], L.IN1[n % 2]

            def read(m: Machine, lane: int, r=r, out_addr=out_addr) -> None:
                off = out_addr - L.BASE
                raw = m.memory[lane, off : off + 2 * n_el].copy().view(np.uint16)
                out[r : r + self.tile_rows] = nx.bf16_to_f32(raw).reshape(self.tile_rows, self.Hp)[
                    :, : self.H
                ]

            yield [
                Call(
                    self.entry,
                    {"p0": in_addr, "p1": out_addr, "p5": L.CONSTS, "r0": self.tile_rows, "r1": self.Hp},
                    [(in_addr, bf16_bytes(x[r : r + self.tile_rows]))],
                    read,
                    2 * n_el,
                )
            ]

    def contract(self) -> list[str]:
        pad = (
            f" Rows are padded to {self.Hp} elements with {self.pad_value} (the padding's outputs "
            f"are ignored)."
            if self.Hp != self.H
            else ""
        )
        return [
            f"- `{self.entry}`: {self.out} = op({self.x}) row by row on {self.batch} x "
            f"[{self.rows}, {self.H}], "
            f"{self.batch * self.rows // self.tile_rows} call(s) of {self.tile_rows} row(s).{pad}",
            "  - p0 = input rows (bf16, row-major, r1 elements per row), p1 = output rows (same layout), "
            "p5 = constant table, r0 = rows in the tile, r1 = row length in memory.",
        ]

    def n_calls(self) -> int:
        return self.batch * self.rows // self.tile_rows

    def bytes_in(self) -> int:
        return 2 * self.batch * self.rows * self.Hp

    def macs(self) -> int:
        return 0


@dataclass
class RopeStage:
    """RoPE on [S, D] in tiles of whole rows: y = x*cos + rotate_half(x)*sin.

    The DMA delivers x, its half-swapped copy x_sw = concat(x[:, D/2:], x[:, :D/2]) (two
    transfers per row), cos and sin; rotate_half(x) = x_sw with the first half negated."""

    entry: str
    S: int
    D: int
    tile_rows: int = 0
    kind: str = "rope"

    def __post_init__(self) -> None:
        if not self.tile_rows:
            self.tile_rows = max(1, min(self.S, 1024 // self.D))
        assert self.S % self.tile_rows == 0 and self.D % 16 == 0

    def streams(self, t: Tensors) -> Iterator[list[Call]]:
        x, cos, sin = t["x"], t["cos"], t["sin"]
        half = self.D // 2
        x_sw = np.concatenate([x[:, half:], x[:, :half]], axis=1)
        out = t.setdefault("y", np.full((self.S, self.D), _fill(t), dtype=np.float32))
        n_el = self.tile_rows * self.D
        for n, r in enumerate(range(0, self.S, self.tile_rows)):
            k = n % 2
            addrs = (L.IN0[k], L.IN1[k], L.ACC + k * 0x800, L.EPI[k], L.OUT[k])
            rows = slice(r, r + self.tile_rows)

            def read(m: Machine, lane: int, r=r, out_addr=addrs[4]) -> None:
                off = out_addr - L.BASE
                raw = m.memory[lane, off : off + 2 * n_el].copy().view(np.uint16)
                out[r : r + self.tile_rows] = nx.bf16_to_f32(raw).reshape(self.tile_rows, self.D)

            loads = [(a, bf16_bytes(v[rows])) for a, v in zip(addrs[:4], (x, x_sw, cos, sin), strict=True)]
            args = {
                "p0": addrs[0],
                "p1": addrs[1],
                "p2": addrs[2],
                "p3": addrs[3],
                "p4": addrs[4],
                "p5": L.CONSTS,
                "r0": self.tile_rows,
                "r1": self.D,
            }
            yield [Call(self.entry, args, loads, read, 2 * n_el)]

    def contract(self) -> list[str]:
        return [
            f"- `{self.entry}`: y = x*cos + rotate_half(x)*sin on [{self.S}, {self.D}], "
            f"{self.S // self.tile_rows} "
            f"call(s) of {self.tile_rows} row(s).",
            "  - p0 = x rows, p1 = x_sw rows (each row's halves swapped: x_sw = concat(x[:, D/2:], "
            "x[:, :D/2]), "
            "so rotate_half(x) = x_sw with its first D/2 columns negated), p2 = cos rows, p3 = sin rows, "
            "p4 = output rows (all bf16, row-major, D per row), p5 = constant table, r0 = rows, r1 = D.",
        ]

    def n_calls(self) -> int:
        return self.S // self.tile_rows

    def bytes_in(self) -> int:
        return 8 * self.S * self.D

    def macs(self) -> int:
        return 0


Stage = MatmulStage | EltwiseStage | RowStage | RopeStage


# ---------------------------------------------------------------------------- running

MAX_LANES = 512  # streams run in lockstep on one machine (identical arguments, per-lane data)


@dataclass
class HarnessRun:
    fault: Fault | None
    calls: int
    kernel_cycles: int
    dma_in: int
    dma_out: int
    dma_cycles: int
    stats: AieStats = field(default_factory=AieStats)
    hazards: dict = field(default_factory=dict)


def _signature(stream: list[Call]) -> tuple:
    return tuple((c.entry, tuple(sorted(c.args.items()))) for c in stream)


def run_stages(
    program: Program,
    stages: list[Stage],
    tensors: Tensors,
    make_machine: Callable[[int], Machine],
    limits: RunLimits,
    config: AieConfig,
    rng_seed: int | None = None,
    max_lanes: int = MAX_LANES,
) -> HarnessRun:
    """Run every call of every stage. Streams of calls with identical arguments run in
    lockstep (one machine, per-lane memory and vector registers); if the lanes ever disagree
    on a scalar (a data-dependent branch, address or count), that group is rerun one stream
    at a time. Timing is identical either way. Stops at the first fault."""
    deadline = time.monotonic() + limits.wall_time_s
    run = HarnessRun(None, 0, 0, 0, 0, 0)
    dma_cycles = 0.0
    for stage in stages:
        if program.labels.get(stage.entry) is None:
            run.fault = Fault(
                "control", f"the kernel has no entry label `{stage.entry}:`; the I/O contract calls it"
            )
            return run
        groups: dict[tuple, list[list[Call]]] = {}
        for stream in stage.streams(tensors):
            groups.setdefault(_signature(stream), []).append(stream)
        for members in groups.values():
            for start in range(0, len(members), max_lanes):
                chunk = members[start : start + max_lanes]
                fault, used = _run_chunk(
                    program, chunk, make_machine, limits, config, deadline, rng_seed, run
                )
                if fault is None and used is None:  # diverged: one stream at a time
                    for stream in chunk:
                        fault, used = _run_chunk(
                            program, [stream], make_machine, limits, config, deadline, rng_seed, run
                        )
                        if fault is not None:
                            break
                for stream in chunk:
                    for call in stream:
                        n_in = sum(int(d.size) for _, d in call.loads)
                        run.dma_in += n_in
                        run.dma_out += call.out_bytes
                        dma_cycles += max(
                            n_in / config.dma_in_bytes_per_cycle
                            + config.dma_task_overhead_cycles * len(call.loads),
                            call.out_bytes / config.dma_out_bytes_per_cycle
                            + (config.dma_task_overhead_cycles if call.out_bytes else 0),
                        )
                if fault is not None:
                    run.fault = fault
                    run.dma_cycles = int(dma_cycles)
                    return run
        if getattr(stage, "post", None) is not None:
            stage.post(tensors)
    run.dma_cycles = int(dma_cycles)
    return run


def _run_chunk(program, chunk, make_machine, limits, config, deadline, rng_seed, run: HarnessRun):
    """Run streams in lockstep. Returns (fault, machine) on completion, (None, None) if the
    lanes diverged (nothing is recorded then)."""
    lanes = len(chunk)
    machine = make_machine(lanes)
    rng = np.random.default_rng(rng_seed) if rng_seed is not None else None
    budget_left = limits.max_instructions - run.stats.bundles
    for n, calls in enumerate(zip(*chunk, strict=True)):
        if run.calls + lanes > config.max_calls:
            return Fault("instruction_limit", f"more than {config.max_calls} kernel calls"), machine
        for lane, call in enumerate(calls):
            for addr, data in call.loads:
                off = addr - L.BASE
                machine.memory[lane, off : off + data.size] = data
        first = calls[0]
        per_lane_budget = max(1, (budget_left - machine.stats.bundles) // lanes)
        outcome = machine.call(
            program,
            program.labels[first.entry],
            first.args,
            RunLimits(per_lane_budget, limits.wall_time_s),
            deadline,
            rng,
        )
        if outcome.diverged:
            return None, None
        if outcome.fault is not None:
            _merge(run, machine)
            f = outcome.fault
            where = (
                f"in call {run.calls} of `{first.entry}` (args "
                + ", ".join(
                    f"{k}=0x{v:X}" if k.startswith("p") else f"{k}={v}" for k, v in first.args.items()
                )
                + ")"
            )
            return Fault(f.kind, f"{f.message}\n    {where}", f.pc, f.instruction, f.line, f.state), machine
        for lane, call in enumerate(calls):
            if call.after is not None:
                call.after(machine, lane)
        del n
    _merge(run, machine)
    return None, machine


def _merge(run: HarnessRun, machine: Machine) -> None:
    st, total = machine.stats, run.stats
    run.calls += st.calls
    run.kernel_cycles += st.kernel_cycles
    for name in (
        "kernel_cycles",
        "calls",
        "bundles",
        "operations",
        "mac_ops",
        "loads",
        "stores",
        "stall_bank",
        "stall_interlock",
        "zol_iterations",
    ):
        setattr(total, name, getattr(total, name) + getattr(st, name))
    for slot, count in st.slot_ops.items():
        total.slot_ops[slot] = total.slot_ops.get(slot, 0) + count
    for key, h in machine.hazards.items():
        mine = run.hazards.get(key)
        if mine is None:
            run.hazards[key] = h
        else:
            mine.count += h.count
            mine.cycles_early = max(mine.cycles_early, h.cycles_early)
