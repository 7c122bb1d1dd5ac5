"""The Coral NPU address space: ITCM, DTCM and the external-memory window, as the RTL sees it.

Loads may read the ITCM (read-only data lives there), stores to it fault; everything outside
the three regions is an AXI access the cocotb memory model answers with SLVERR, i.e. a
fault. Misaligned scalar accesses are legal (the LSU splits them into line accesses).
Stores to external memory are tracked byte by byte, so the judge can tell which output
elements a kernel never wrote.
"""

from __future__ import annotations

import mmap
import sys

import numpy as np

from .config import CoralConfig

ITCM, DTCM, EXT = 0, 1, 2
REGION_NAMES = ("ITCM", "DTCM", "external memory")
POISON_PATTERN = bytes([0xA5, 0x5A, 0xC3, 0x3C])  # repeated over memory nothing initialised


class MemoryFault(Exception):
    """An access outside the regions (or a store to the ITCM)."""

    def __init__(self, address: int, size: int, store: bool, why: str):
        super().__init__(why)
        self.address = address
        self.size = size
        self.store = store
        self.why = why


def locate(c: CoralConfig, address: int, size: int, store: bool) -> tuple[int, int]:
    """(region, offset) of the byte range [address, address + size); MemoryFault otherwise."""
    for rid, base, limit in (
        (DTCM, c.dtcm_base, c.dtcm_size),
        (EXT, c.ext_base, c.ext_size),
        (ITCM, c.itcm_base, c.itcm_size),
    ):
        off = address - base
        if 0 <= off and off + size <= limit:
            if store and rid == ITCM:
                raise MemoryFault(address, size, store, "stores to the ITCM fault (it holds the code)")
            return rid, off
        if 0 <= off < limit:
            raise MemoryFault(
                address, size, store, f"the access runs past the end of the {REGION_NAMES[rid]}"
            )
    raise MemoryFault(address, size, store, describe_outside(c, address))


def describe_outside(c: CoralConfig, address: int) -> str:
    return (
        f"address {address:#010x} is outside ITCM [{c.itcm_base:#x}, {c.itcm_end:#x}), "
        f"DTCM [{c.dtcm_base:#x}, {c.dtcm_end:#x}) and external memory [{c.ext_base:#x}, {c.ext_end:#x}): "
        "the AXI bus answers SLVERR"
    )


class Memory:
    def __init__(self, config: CoralConfig, poison: bool = False):
        self.config = config
        self.itcm = bytearray(config.itcm_size)
        self.dtcm = bytearray(config.dtcm_size)
        # The 4 MB window as private anonymous mappings: zero pages come from the OS on first
        # touch, where zeroing a bytearray would cost more than simulating a small kernel, and
        # `reset` hands the touched pages back the same way.
        self.ext = _anonymous(config.ext_size)
        self.ext_written = _anonymous(config.ext_size)  # 1 where a store landed
        self.poison = poison
        if poison:
            self._poison()
        self.ext_written_np = np.frombuffer(self.ext_written, dtype=np.uint8)
        self.bufs = (self.itcm, self.dtcm, self.ext)
        self.np = tuple(np.frombuffer(b, dtype=np.uint8) for b in self.bufs)
        self.bases = (config.itcm_base, config.dtcm_base, config.ext_base)
        self.sizes = (config.itcm_size, config.dtcm_size, config.ext_size)

    def _poison(self) -> None:
        for buf in (self.dtcm, self.ext):
            buf[:] = (POISON_PATTERN * (len(buf) // 4 + 1))[: len(buf)]

    def reset(self, poison: bool) -> None:
        """Back to the state a new Memory(config, poison) has, in place (the same buffers and
        views, which a machine's compiled instructions hold)."""
        self.poison = poison
        self.itcm[:] = bytes(len(self.itcm))
        self.dtcm[:] = bytes(len(self.dtcm))
        for buf in (self.ext, self.ext_written):
            _zero(buf)
        if self.poison:
            self._poison()

    # ------------------------------------------------------------------ lookup
    def region(self, address: int, size: int, store: bool) -> tuple[int, int]:
        """(region, offset) of the byte range [address, address + size); MemoryFault otherwise."""
        return locate(self.config, address, size, store)

    # ------------------------------------------------------------------ bulk access (harness side)
    def write(self, address: int, data: bytes) -> None:
        """Backdoor write (the harness placing inputs); no store tracking."""
        rid, off = self.region(address, len(data), store=False)
        self.bufs[rid][off : off + len(data)] = data

    def read(self, address: int, size: int) -> bytes:
        rid, off = self.region(address, size, store=False)
        return bytes(self.bufs[rid][off : off + size])

    def written_mask(self, address: int, size: int) -> np.ndarray:
        """Bytes of external memory that a store wrote (False elsewhere)."""
        off = address - self.config.ext_base
        if off < 0 or off + size > self.config.ext_size:
            return np.zeros(size, dtype=bool)
        return np.frombuffer(bytes(self.ext_written[off : off + size]), dtype=np.uint8).astype(bool)


_PRIVATE = sys.platform.startswith("linux") and hasattr(mmap, "MAP_PRIVATE")


def _anonymous(size: int) -> mmap.mmap:
    if _PRIVATE:
        return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
    return mmap.mmap(-1, size)


def _zero(buf: mmap.mmap) -> None:
    """Zero an anonymous mapping. On Linux, MADV_DONTNEED on a private anonymous mapping drops its
    pages and the next touch maps zero pages, at a cost in proportion to the pages touched."""
    if _PRIVATE:
        buf.madvise(mmap.MADV_DONTNEED)
    else:
        buf[:] = bytes(len(buf))
