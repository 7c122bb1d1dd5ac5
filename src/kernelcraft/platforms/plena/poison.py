"""Which memory a kernel reads before anything wrote it.

Hidden scoring fills every memory the contract does not initialise with poison (NaN on chip,
random bytes in HBM). A kernel that reads such memory can still pass a visible run when the
poison happens to be harmless there, so every such read is reported as a warning, with the
instruction, the region and the address range. Two kinds:

- "never written": nothing (neither the image nor an instruction) wrote those addresses;
- "written from poisoned reads": an instruction wrote them from data that came, directly or
  through registers, accumulators and other memory, from never-written memory.

The tracker keeps a state per location (NEVER, CLEAN, TAINT): per row for VRAM (per element
for rows written in part) and MRAM, per word for the SRAMs, per byte for HBM, and a taint flag
for every f register and accumulator. Each instruction gets a footprint function, run just
before it, that checks what it will read and marks what it will write; the instruction itself
is unchanged. Registers start defined (only memory is poisoned); integer registers carry no
taint (an address computed from poisoned data is reported where the data was read).

The H_* transfers move fixed amounts (H_PREFETCH_M always 64 rows), so they often pick up bytes
past a tensor's end that the kernel never uses. A transfer is therefore a move, not a use: it
carries the states of the bytes it moves to their destination, and a read is reported where
the moved data is used, naming the transfer that brought it and the HBM range it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..base import Diagnostic
from .config import PlenaConfig

NEVER, CLEAN, TAINT, MIXED = 0, 1, 2, 3
MAX_REPORTS = 40  # distinct (instruction, region, kind) warnings kept

Footprint = Callable[[], None]


@dataclass
class PoisonRead:
    """Reads of one instruction from one region, merged into one address range."""

    pc: int
    line: int
    instruction: str
    region: str
    kind: str  # "never written" | "written from poisoned reads"
    lo: int
    hi: int
    count: int = 1
    via: str = ""  # for data a transfer moved: which transfer, from where

    def diagnostic(self) -> Diagnostic:
        times = f" ({self.count} times)" if self.count > 1 else ""
        if self.kind == "never written":
            where = f", {self.via}," if self.via else ","
            message = f"reads {self.region} [{self.lo}, {self.hi}){where} which nothing wrote{times}"
            hint = (
                "memory the task contract does not initialise is poisoned in scoring (NaN on chip, "
                "random bytes in HBM): write it before reading it, or read only what the contract preloads"
            )
        else:
            message = (
                f"reads {self.region} [{self.lo}, {self.hi}), which holds values computed from memory "
                f"nothing wrote{times}"
            )
            hint = "the first warning of kind 'never written' points at where the poisoned data came from"
        return Diagnostic(self.line, 0, message, self.instruction, hint, "warning")


_FILLS = tuple(bytes([code]) * 4096 for code in range(4))  # runs of one state, sliced


class PoisonTracker:
    def __init__(self, config: PlenaConfig, hbm_initialised: int):
        cfg = self.config = config
        self.vram_row = bytearray(cfg.vram_rows)
        # Per-element states of rows written in part (row -> VLEN state bytes), consulted for
        # MIXED rows only; made when a row first needs them.
        self.vram_elems: dict[int, bytearray] = {}
        self.vlen = cfg.vlen
        self.mram_row = bytearray(cfg.mram_tiles * cfg.mlen)
        self.fpsram = bytearray(cfg.fpsram_words)
        self.intsram = bytearray(cfg.intsram_words)
        self.hbm = np.zeros(cfg.hbm_bytes, dtype=np.uint8)  # calloc: pages appear when touched
        self.hbm[:hbm_initialised] = CLEAN
        self.hbm_clean_below = hbm_initialised  # every HBM byte below this address is CLEAN
        self.f = [False] * cfg.fp_regs
        self.acc = {"m": False, "v": False, "hm": False, "hv": False}
        # M_BTMM/M_BTMV write one output column per tile row: the columns' states, per key.
        self.acc_cols: dict[str, np.ndarray | None] = {"hm": None, "hv": None}
        self.acc_origin: dict[str, tuple[int, int, int] | None] = {"hm": None, "hv": None}
        self.reports: dict[tuple[int, str, str], PoisonRead] = {}
        # (region, row) -> (line, HBM lo, HBM hi) for rows a transfer filled from never-written HBM
        self.origin: dict[tuple[str, int], tuple[int, int, int]] = {}
        self.dropped = 0
        self.pc = 0  # the instruction whose footprint runs (set before each footprint)
        self.instructions: tuple | list = ()  # the program's, for the line and text of a report

    @property
    def line(self) -> int:
        return self.instructions[self.pc].line if self.pc < len(self.instructions) else 0

    @property
    def text(self) -> str:
        return self.instructions[self.pc].text() if self.pc < len(self.instructions) else ""

    # ------------------------------------------------------------------ preloads
    def preload_vram(self, addr: int, count: int) -> None:
        self.write_vram(addr, count, False)

    def preload_words(self, memory: bytearray, addr: int, count: int) -> None:
        memory[addr : addr + count] = bytes([CLEAN]) * count

    # ------------------------------------------------------------------ reporting
    def _report(self, region: str, kind: str, lo: int, hi: int) -> None:
        key = (self.pc, region, kind)
        entry = self.reports.get(key)
        if entry is not None:
            entry.lo, entry.hi, entry.count = min(entry.lo, lo), max(entry.hi, hi), entry.count + 1
        elif len(self.reports) < MAX_REPORTS:
            via = ""
            if kind == "never written" and region in ("VRAM", "MRAM"):
                unit = self.config.vlen if region == "VRAM" else self.config.mlen
                found = self.origin.get((region, lo // unit))
                if found is not None:
                    via = f"which line {found[0]} loaded from HBM [{found[1]}, {found[2]})"
            self.reports[key] = PoisonRead(self.pc, self.line, self.text, region, kind, lo, hi, via=via)
        else:
            self.dropped += 1

    def diagnostics(self) -> list[Diagnostic]:
        out = [r.diagnostic() for r in sorted(self.reports.values(), key=lambda r: (r.pc, r.region))]
        if self.dropped:
            out.append(
                Diagnostic(
                    0, 0, f"{self.dropped} more reads of poisoned memory not listed", "", "", "warning"
                )
            )
        return out

    def _states(self, region: str, states: np.ndarray, base: int) -> bool:
        """Report the never-written and tainted parts of a read; True if any part is either."""
        never = states == NEVER
        taint = states == TAINT
        bad = False
        if never.any():
            idx = np.flatnonzero(never)
            self._report(region, "never written", base + int(idx[0]), base + int(idx[-1]) + 1)
            bad = True
        if taint.any():
            idx = np.flatnonzero(taint)
            self._report(region, "written from poisoned reads", base + int(idx[0]), base + int(idx[-1]) + 1)
            bad = True
        return bad

    # ------------------------------------------------------------------ VRAM
    def read_vram(self, addr: int, count: int, mask: np.ndarray | None = None) -> bool:
        """Check VRAM elements [addr, addr + count) (only where `mask` is set, if given)."""
        vlen = self.config.vlen
        if addr < 0 or count <= 0 or addr + count > self.config.vram_elems:
            return False
        first, last = addr // vlen, (addr + count - 1) // vlen
        rows = self.vram_row[first : last + 1]
        if mask is None and rows.count(CLEAN) == len(rows):
            return False
        states = np.empty(count, dtype=np.uint8)
        for r in range(first, last + 1):
            lo, hi = max(addr, r * vlen), min(addr + count, (r + 1) * vlen)
            code = self.vram_row[r]
            states[lo - addr : hi - addr] = self._elems(r, lo, hi) if code == MIXED else code
        if mask is not None:
            states = np.where(mask, states, CLEAN)
        return self._states("VRAM", states, addr)

    def write_row(self, row: int, taint: bool) -> None:
        """write_vram of one whole, in-range VRAM row."""
        if self.origin:
            self.origin.pop(("VRAM", row), None)
        self.vram_row[row] = TAINT if taint else CLEAN

    def clean_rows(self, region: str, states: bytearray, first: int, count: int) -> None:
        """Whole rows [first, first + count) of a region (in range) now hold clean data."""
        states[first : first + count] = _fill(CLEAN, count)
        if self.origin:
            for r in range(first, first + count):
                self.origin.pop((region, r), None)

    def write_vram(self, addr: int, count: int, taint: bool) -> None:
        vlen = self.vlen
        if addr < 0 or count <= 0 or addr + count > len(self.vram_row) * vlen:
            return
        code = TAINT if taint else CLEAN
        origin = self.origin
        rows = self.vram_row
        for r in range(addr // vlen, (addr + count - 1) // vlen + 1):
            if origin:
                origin.pop(("VRAM", r), None)
            start = r * vlen
            lo, hi = max(addr, start), min(addr + count, start + vlen)
            if hi - lo == vlen or rows[r] == code:
                rows[r] = code
            else:
                self.write_part(r, lo - start, hi - lo, code)

    def write_part(self, row: int, offset: int, count: int, code: int) -> None:
        """Elements [offset, offset + count) of a VRAM row, less than the row, take state `code`
        (the row's origin is the caller's to drop)."""
        vlen, rows = self.vlen, self.vram_row
        old = rows[row]
        if old == code or count == vlen:
            rows[row] = code
            return
        if old != MIXED:
            elems = self.vram_elems[row] = bytearray(_fill(old, vlen))
        else:
            elems = self.vram_elems[row]
        elems[offset : offset + count] = _fill(code, count)
        first = elems[0]
        rows[row] = first if elems.count(first) == vlen else MIXED

    def _elems(self, row: int, lo: int, hi: int) -> np.ndarray:
        """States of VRAM elements [lo, hi) inside a MIXED row."""
        start = row * self.vlen
        return np.frombuffer(self.vram_elems[row], dtype=np.uint8)[lo - start : hi - start]

    def vram_states(self, addr: int, count: int) -> np.ndarray:
        """States of VRAM elements [addr, addr + count), without reporting (a transfer's source)."""
        vlen = self.config.vlen
        states = np.empty(count, dtype=np.uint8)
        for r in range(addr // vlen, (addr + count - 1) // vlen + 1):
            lo, hi = max(addr, r * vlen), min(addr + count, (r + 1) * vlen)
            code = self.vram_row[r]
            states[lo - addr : hi - addr] = self._elems(r, lo, hi) if code == MIXED else code
        return states

    def move_to_vram(self, addr: int, states: np.ndarray, origin: tuple[int, int, int] | None) -> None:
        """A transfer's data lands in whole VRAM rows at addr with these element states."""
        vlen = self.config.vlen
        for k in range(len(states) // vlen):
            r = addr // vlen + k
            row = states[k * vlen : (k + 1) * vlen]
            first = int(row[0])
            if (row == first).all():
                self.vram_row[r] = first
            else:
                self.vram_elems[r] = bytearray(row.tobytes())
                self.vram_row[r] = MIXED
            if origin is not None and (row == NEVER).any():
                self.origin[("VRAM", r)] = origin
            elif self.origin:
                self.origin.pop(("VRAM", r), None)

    # ------------------------------------------------------------------ MRAM
    def read_mram(self, first_row: int, rows: int) -> bool:
        if first_row < 0 or first_row + rows > len(self.mram_row):
            return False
        states = self.mram_row[first_row : first_row + rows]
        if states.count(CLEAN) == rows:
            return False
        mlen = self.config.mlen
        arr = np.frombuffer(bytes(states), dtype=np.uint8).repeat(mlen)
        return self._states("MRAM", arr, first_row * mlen)

    def key_columns(self, acc: str, first_row: int) -> None:
        """M_BTMM/M_BTMV: tile row k feeds output column k; carry the rows' states to the columns."""
        mlen = self.config.mlen
        states = np.frombuffer(bytes(self.mram_row[first_row : first_row + mlen]), dtype=np.uint8)
        if (states == CLEAN).all():
            return
        current = self.acc_cols[acc]
        self.acc_cols[acc] = states.copy() if current is None else worst(current, states)
        if self.acc_origin[acc] is None:
            for k in np.flatnonzero(states == NEVER).tolist():
                found = self.origin.get(("MRAM", first_row + k))
                if found is not None:
                    self.acc_origin[acc] = found
                    break

    def write_out(self, acc: str, addr: int, rows: int) -> None:
        """A per-head write-out: rows of the accumulator, each with the columns' states."""
        cols = self.acc_cols[acc]
        if cols is None:
            self.write_vram(addr, rows * self.config.vlen, self.acc[acc])
        else:
            row = worst(cols, np.full(cols.size, TAINT if self.acc[acc] else CLEAN, dtype=np.uint8))
            if 0 <= addr and addr + rows * self.config.vlen <= self.config.vram_elems:
                self.move_to_vram(addr, np.tile(row, rows), self.acc_origin[acc])
        self.acc[acc] = False
        self.acc_cols[acc] = None
        self.acc_origin[acc] = None

    def move_to_mram(
        self, first_row: int, row_states: np.ndarray, origin: tuple[int, int, int] | None
    ) -> None:
        """A transfer fills MRAM rows; a row holding any never-written byte counts as never written."""
        n = len(row_states)
        if first_row < 0 or first_row + n > len(self.mram_row):
            return
        self.mram_row[first_row : first_row + n] = bytes(row_states.astype(np.uint8))
        for k in range(n):
            if row_states[k] == NEVER and origin is not None:
                self.origin[("MRAM", first_row + k)] = origin
            elif self.origin:
                self.origin.pop(("MRAM", first_row + k), None)

    # ------------------------------------------------------------------ SRAMs
    def read_words(self, memory: bytearray, region: str, addr: int, count: int) -> bool:
        if addr < 0 or addr + count > len(memory):
            return False
        states = memory[addr : addr + count]
        if states.count(CLEAN) == count:
            return False
        return self._states(region, np.frombuffer(bytes(states), dtype=np.uint8), addr)

    def write_words(self, memory: bytearray, addr: int, count: int, taint: bool) -> None:
        if addr < 0 or addr + count > len(memory):
            return
        memory[addr : addr + count] = bytes([TAINT if taint else CLEAN]) * count

    # ------------------------------------------------------------------ HBM
    def hbm_states(self, elem_idx: np.ndarray, scale_idx: np.ndarray) -> np.ndarray | None:
        """Per-element states (rows x width) of a transfer's source: an element is never written
        if its byte or its scale byte is, else tainted if either is, else clean."""
        if (
            elem_idx.size == 0
            or int(elem_idx.max()) >= self.hbm.size
            or int(scale_idx.max()) >= self.hbm.size
        ):
            return None
        block = elem_idx.shape[1] // scale_idx.shape[1]
        return worst(self.hbm[elem_idx], np.repeat(self.hbm[scale_idx], block, axis=1))

    def clean_to_hbm(self, elem_idx: np.ndarray, scale_idx: np.ndarray) -> None:
        """move_to_hbm of states all CLEAN: every byte written, element or scale, is CLEAN."""
        if elem_idx.size and int(elem_idx.max()) < self.hbm.size and int(scale_idx.max()) < self.hbm.size:
            self.hbm[elem_idx] = CLEAN
            self.hbm[scale_idx] = CLEAN

    def move_to_hbm(self, elem_idx: np.ndarray, scale_idx: np.ndarray, states: np.ndarray) -> None:
        """H_STORE_V: element bytes take their element's state, a scale byte its block's worst."""
        if (
            elem_idx.size == 0
            or int(elem_idx.max()) >= self.hbm.size
            or int(scale_idx.max()) >= self.hbm.size
        ):
            return
        if not (states == CLEAN).all():
            self.hbm_clean_below = min(self.hbm_clean_below, int(elem_idx.min()), int(scale_idx.min()))
        self.hbm[elem_idx] = states
        block = elem_idx.shape[1] // scale_idx.shape[1]
        grouped = states.reshape(states.shape[0], -1, block)
        per_block = grouped[..., 0]
        for k in range(1, block):
            per_block = worst(per_block, grouped[..., k])
        self.hbm[scale_idx] = per_block


def _fill(code: int, n: int) -> bytes:
    return _FILLS[code][:n] if n <= 4096 else bytes([code]) * n


def worst(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise worst of two state arrays: never written, then tainted, then clean."""
    return np.where(
        (a == NEVER) | (b == NEVER), NEVER, np.where((a == TAINT) | (b == TAINT), TAINT, CLEAN)
    ).astype(np.uint8)
