"""Poisoned memory contents, made cheaply.

A poisoned run's HBM holds a random 1 MiB pattern repeated over all 64 MiB, with the image's
bytes at address 0. Writing all 64 MiB costs more than most kernels' whole run, yet a kernel
touches a few pages of it. So HBM starts as calloc'd zeros and a page receives its pattern
bytes the first time a transfer reads or writes it (`LazyPoison.ensure`, called by the
transfer's bounds check): every byte a kernel can observe is the one the full fill would
have put there. Reading the array from outside the simulator fills the rest first
(Machine.hbm).

The random draws (INT SRAM words, then the HBM pattern, from one generator seeded with the
image's poison seed) are kept for a few seeds: repeated runs of one instance reuse them.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict

import numpy as np

POISON_PATTERN_BYTES = 1 << 20  # the HBM pattern's period
PAGE_BYTES = 1 << 14  # HBM is poisoned this many bytes at a time
BF16_NAN_BITS = 0x7FC0  # the bits np.full(n, nan, dtype=BF16) stores
_CACHED_SEEDS = 8

_draws: OrderedDict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()


def poison_draws(seed: int, intsram_words: int, hbm_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """(INT SRAM words, HBM pattern) for a poison seed, as the generator draws them in turn.
    Both are read-only: copy the words before changing them."""
    key = (seed, intsram_words, hbm_bytes)
    found = _draws.get(key)
    if found is not None:
        _draws.move_to_end(key)
        return found
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 1 << 32, intsram_words, dtype=np.uint64).astype(np.uint32)
    pattern = rng.integers(0, 256, min(hbm_bytes, POISON_PATTERN_BYTES), dtype=np.uint8)
    words.flags.writeable = False
    pattern.flags.writeable = False
    _draws[key] = (words, pattern)
    if len(_draws) > _CACHED_SEEDS:
        _draws.popitem(last=False)
    return words, pattern


def nan_memory(size: int, dtype) -> np.ndarray:
    """A BF16 memory of NaN (filled as uint16 bits: several times faster than a float fill).

    Fresh pages cost the kernel far more than the fill (a new 4 MiB VRAM takes 2-6 ms of page
    faults, refilling a mapped one 0.1 ms), so the bit arrays are kept and one is refilled once
    nothing but this pool refers to it: every view of an array (a Machine's memory, a slice a
    caller kept) holds a reference to it, so an array no view uses is free. Locked, so two
    threads cannot take the same one."""
    with _spare_lock:
        spares = _spare_bits.setdefault(size, [])
        for i in range(len(spares)):
            if _references(spares, i) <= _UNUSED:
                spares[i].fill(BF16_NAN_BITS)
                return spares[i].view(dtype)
        bits = np.full(size, BF16_NAN_BITS, dtype=np.uint16)
        if len(spares) < _SPARES_PER_SIZE:
            spares.append(bits)
        return bits.view(dtype)


def _references(arrays: list, i: int) -> int:
    return sys.getrefcount(arrays[i])


_spare_bits: dict[int, list[np.ndarray]] = {}  # size -> bit arrays, in use or free
_spare_lock = threading.Lock()
# Kept per memory size: our choice, a few machines alive at once (evaluations in parallel, a
# caller holding its last runs); more machines than that get fresh arrays.
_SPARES_PER_SIZE = 4
_UNUSED = _references([np.empty(0)], 0)  # the count of an array only the list holds


class LazyPoison:
    """Fills pages of `memory` with `pattern` (repeated from address 0) when first touched."""

    def __init__(self, memory: np.ndarray, pattern: np.ndarray):
        self.memory = memory
        self.pattern = pattern
        self.done = bytearray(-(-memory.size // PAGE_BYTES))  # 1 for pages already poisoned
        self.left = len(self.done)

    def ensure(self, lo: int, hi: int) -> None:
        """Poison the pages of [lo, hi) not poisoned yet (addresses clipped to the memory)."""
        if hi <= lo or self.left == 0:
            return
        first, last = max(lo, 0) // PAGE_BYTES, (min(hi, self.memory.size) - 1) // PAGE_BYTES
        done = self.done
        page = done.find(0, first, last + 1)
        while 0 <= page <= last:
            self._fill(page)
            page = done.find(0, page + 1, last + 1)

    def ensure_all(self) -> None:
        if self.left:
            self.ensure(0, self.memory.size)

    def _fill(self, page: int) -> None:
        memory, pattern = self.memory, self.pattern
        period = pattern.size
        at, end = page * PAGE_BYTES, min((page + 1) * PAGE_BYTES, memory.size)
        while at < end:
            offset = at % period
            n = min(end - at, period - offset)
            memory[at : at + n] = pattern[offset : offset + n]
            at += n
        self.done[page] = 1
        self.left -= 1
