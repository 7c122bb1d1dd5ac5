"""Adding a task image to a linked program without relinking, and the Spike device tree."""

from __future__ import annotations

import struct

import pytest

from kernelcraft.platforms.boom.elf import Elf, ElfError, Segment, with_segments
from kernelcraft.platforms.boom.fdt import build_dtb

from .boom_helpers import built, kernel


def test_segments_are_added_and_placeholders_set():
    prog = built(kernel("    ret"))
    before = Elf(prog.elf)
    image = with_segments(
        prog.elf,
        [Segment(0x80300000, b"\x01\x02\x03", zero_fill=5)],
        {"begin_signature": 0x80300000, "end_signature": 0x80300008},
    )
    after = Elf(image)
    assert after.load_segments() == before.load_segments() + [(0x80300000, 8)]
    assert after.symbols["end_signature"].value == 0x80300008
    assert after.symbols["kernel"].value == before.symbols["kernel"].value
    assert after.section_bytes(after.section(".text")) == before.section_bytes(before.section(".text"))
    with pytest.raises(ElfError):
        with_segments(prog.elf, [], {"no_such_symbol": 1})
    with pytest.raises(ElfError):
        Elf(b"not an elf at all, not at all")


def test_device_tree_blob_has_a_valid_header_and_strings():
    blob = build_dtb({"a": 1, "child@0": {"name": "x", "cells": [1, 2]}})
    magic, total, off_struct, off_strings = struct.unpack(">4I", blob[:16])
    assert magic == 0xD00DFEED and total == len(blob)
    assert blob[off_strings:].split(b"\0")[:3] == [b"a", b"name", b"cells"]
    assert b"child@0\0" in blob[off_struct:off_strings]
