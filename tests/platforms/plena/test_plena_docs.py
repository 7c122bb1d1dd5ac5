"""The generated PLENA docs: complete, true to the config and the table, examples that assemble."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import fields

import numpy as np
import pytest

from kernelcraft.platforms.plena import docs
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.config import DEFAULT_CONFIG, HbmConfig, PlenaConfig
from kernelcraft.platforms.plena.isa import INSTRUCTIONS
from kernelcraft.platforms.plena.layout import FP_SLOTS, OUTPUT_BASE
from kernelcraft.platforms.plena.machine import peak_macs_per_cycle

OTHER = PlenaConfig(
    mlen=128,
    vlen=128,
    blen=8,
    hlen=32,
    prefetch_m_rows=128,
    prefetch_v_rows=8,
    store_v_rows=2,
    vram_rows=4096,
    mram_tiles=16,
    fpsram_words=512,
    hbm_bytes=1 << 22,
    timing_profile="emulator",
    fp_regs=12,
    max_loop_iteration_instructions=4321,
    systolic_overhead_cycles=3,
)


@pytest.fixture(scope="module")
def default_docs() -> dict[str, str]:
    return docs.render_docs(DEFAULT_CONFIG)


@pytest.fixture(scope="module")
def other_docs() -> dict[str, str]:
    return docs.render_docs(OTHER)


def test_four_documents(default_docs):
    assert set(default_docs) == {"isa", "memory_layout", "hardware", "guidance"}
    assert all(text.startswith("# ") and len(text) > 1000 for text in default_docs.values())


def test_every_instruction_documented_with_its_cost(default_docs, other_docs):
    for cfg, rendered in ((DEFAULT_CONFIG, default_docs), (OTHER, other_docs)):
        isa = rendered["isa"]
        for spec in INSTRUCTIONS:
            section = isa.split(f"### {spec.name}\n", 1)[1].split("\n### ", 1)[0]
            assert spec.syntax() in section and spec.semantics in section
            assert f"0x{spec.opcode:02X}" in section
            assert docs.cycles_text(spec, cfg) in section
            for op in spec.operands:
                assert op.doc in section
            if spec.notes:
                assert spec.notes in section
    assert "M_MM 0, rs1, rs2" in default_docs["isa"]
    mm = default_docs["isa"].split("### M_MM\n", 1)[1]
    assert "- Cycles: 64 " in mm and "- Cycles: 131 " in other_docs["isa"].split("### M_MM\n", 1)[1]


def test_spec_differences_listed(default_docs):
    isa = default_docs["isa"]
    section = isa.split("## Differences from the public PLENA specification", 1)[1]
    for phrase in (
        "V_SUB_VV",
        "M_MV / M_TMV",
        "row-granular",
        "M_TMM takes the VRAM rows in rs1",
        "gp0 is not write-protected",
        "C_BREAK",
        "bmm_scale = 0.25",
        "not 1/sqrt(HLEN)",
        "Two head packings",
        "bit 14",
        "Trailing all-zero operands",
        "MXFP8 is PLENA's, not OCP's",
        "Masked reductions",
        "rmask is encoded in rs3",
        "every\nclass is MXFP8".replace("\n", " "),
        "multiples of the MX block (8 elements)",
        "V_SHFT_V",
        "C_SET_ADDR_REG",
    ):
        assert phrase in section, phrase


def test_numbers_follow_the_config(default_docs, other_docs):
    hw, other_hw = default_docs["hardware"], other_docs["hardware"]
    for f in fields(PlenaConfig):
        if f.name == "hbm":
            continue
        assert f"| `{f.name}` | {getattr(DEFAULT_CONFIG, f.name)} |" in hw
        assert f"| `{f.name}` | {getattr(OTHER, f.name)} |" in other_hw
    for f in fields(HbmConfig):
        row = next(line for line in hw.splitlines() if line.startswith(f"| `{f.name}` | "))
        assert f"| {getattr(DEFAULT_CONFIG.hbm, f.name)} |" in row and HbmConfig.SOURCES[f.name] in row
    assert f"**{peak_macs_per_cycle(DEFAULT_CONFIG)}**" in hw and "**256**" in hw  # the BLEN x MLEN array
    assert f"**{peak_macs_per_cycle(OTHER)}**" in other_hw
    assert "**consistent** (in force)" in hw and "**emulator** (in force)" in other_hw
    assert "bmm_scale (multiplied into every per-head product) | 0.25" in other_hw  # not 1/sqrt(32)
    mem = other_docs["memory_layout"]
    assert "4096 rows x 128 = 524288 elements" in mem and "MLEN*MLEN=16384" in mem
    assert "base + (j // 128) * R * 128 + i * 128 + (j % 128)" in mem
    guidance = other_docs["guidance"]
    assert "MLEN = 128, VLEN = 128, BLEN = 8, HLEN = 32" in guidance
    assert "tile_base + j*1024" in guidance and "4321 instructions" in guidance
    assert "{{" not in guidance and "{{" not in default_docs["guidance"]
    assert "f1..f11" in guidance


def test_dma_examples_measured_by_the_simulator(default_docs, other_docs):
    from kernelcraft.platforms.plena.hbm import HbmModel

    hw = default_docs["hardware"]
    row = next(line for line in hw.splitlines() if line.startswith("| H_PREFETCH_V, rows one after"))
    alone, in_run, requested, useful = (int(x) for x in row.strip("| ").split(" | ")[1:])
    # 4 rows: 4 element blocks and 4 requests of the shared scale block; 256 + 32 useful bytes.
    assert (requested, useful) == (512, 288)
    model = HbmModel(DEFAULT_CONFIG)
    starts = np.arange(4) * 64
    assert alone == model.read(starts, (1 << 16) + starts // 8, 64, 8)
    assert in_run < alone
    other = next(line for line in other_docs["hardware"].splitlines() if "H_PREFETCH_V, rows one" in line)
    assert other.strip("| ").split(" | ")[3:5] == ["1536", "1152"]  # 8 rows of 128: 2 + 1 requests each


def test_io_contract_from_layout(default_docs):
    mem = default_docs["memory_layout"]
    for name, slot in FP_SLOTS.items():
        assert f"| {slot} | `{name}` |" in mem
    assert f"OUTPUT_BASE = {OUTPUT_BASE}" in mem


def _asm_blocks(text: str) -> list[str]:
    return re.findall(r"```asm\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("cfg", [DEFAULT_CONFIG, OTHER], ids=["default", "other"])
def test_guidance_examples_assemble(cfg):
    rendered = docs.render_docs(cfg)
    blocks = _asm_blocks(rendered["guidance"])
    assert len(blocks) >= 3
    for block in blocks:
        result = assemble(block, cfg)
        assert result.ok, "\n".join(d.format() for d in result.errors)
    for block in _asm_blocks(rendered["memory_layout"]):
        assert assemble(block, cfg).ok


def test_guidance_gemm_example_computes_the_block():
    """The M_MM example in guidance.md, run on tiles it expects, writes X @ W's block."""
    import numpy as np

    from kernelcraft.platforms.plena.layout import build_hbm_image, plan_hbm
    from kernelcraft.platforms.plena.machine import MemoryImage, run
    from kernelcraft.platforms.plena.mx import mx_roundtrip

    cfg = DEFAULT_CONFIG
    m, b, v = cfg.mlen, cfg.blen, cfg.vlen
    gemm = _asm_blocks(docs.render_docs(cfg)["guidance"])[0]
    rng = np.random.default_rng(0)
    w = rng.normal(size=(2 * m, m)).astype(np.float32)
    x = rng.normal(size=(b, 2 * m)).astype(np.float32)
    layout = plan_hbm([("w", (2 * m, m))])
    load = "S_ADDI_INT gp1, gp0, 8192\nC_SET_SCALE_REG gp1\n"
    load += "S_ADDI_INT gp2, gp0, 4096\nS_ADDI_INT gp3, gp0, 4096\n"
    load += "H_PREFETCH_M gp0, gp0, a0, 0, 0\nH_PREFETCH_M gp2, gp3, a0, 0, 0\n"
    x_vram = 16 * v
    chunks = np.concatenate([x[:, :m].reshape(-1), x[:, m:].reshape(-1)])
    image = MemoryImage(hbm=build_hbm_image(layout, {"w": w}), vram={x_vram: chunks})
    ex = run(assemble(load + gemm, cfg).program, image)
    assert ex.fault is None
    expected = x.astype(np.float64) @ mx_roundtrip(w)
    got = np.array([ex.machine.vram[i * v + b : i * v + 2 * b].astype(np.float64) for i in range(b)])
    np.testing.assert_allclose(got, expected[:, b : 2 * b], rtol=2e-2, atol=1e-2)


def test_docs_command_writes_files(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kernelcraft.cli.main import main; main()",
            "docs",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "guidance.md",
        "hardware.md",
        "isa.md",
        "memory_layout.md",
    ]
    assert (tmp_path / "isa.md").read_text() == docs.render_isa(DEFAULT_CONFIG)


def test_every_config_field_has_a_description():
    assert set(docs.FIELD_DOCS) == {f.name for f in fields(PlenaConfig)}


def test_references_between_docs_name_sections_grep_docs_finds(default_docs):
    """Docs point at each other the way grep_docs titles sections ("doc > title > heading")."""
    from kernelcraft.agent.docs_search import split_sections

    titles = {s.title for name, text in default_docs.items() for s in split_sections(name, text)}
    refs = set()
    for text in default_docs.values():
        assert not re.search(r"\b(isa|memory_layout|hardware|guidance)\.md\b", text)
        refs |= set(
            re.findall(r'"((?:isa|memory_layout|hardware|guidance) > [^"]+)"', " ".join(text.split()))
        )
    assert len(refs) >= 5
    assert refs <= titles, refs - titles


def test_initial_state_and_partial_tiles_are_documented(default_docs):
    isa, mem = default_docs["isa"], default_docs["memory_layout"]
    state = isa.split("## Initial state", 1)[1].split("\n## ", 1)[0]
    for row in (
        "| gp0..gp15 | 0 |",
        "| f0..f7 | 0.0 |",
        "| SCALE_REG | 0 |",
        "| STRIDE_REG | 1 |",
        "| V_MASK | 0: no head",
    ):
        assert row in state
    assert "accum" in state and "poisoned" in state
    tiles = mem.split("## Partial tiles", 1)[1]
    assert "always 64 rows" in tiles and "NaN" in tiles and "does not fault" in tiles
    assert "tile_base + c" in isa.split("### M_BMM\n", 1)[1].split("### ", 1)[0]
    assert "## Reductions and softmax" in default_docs["guidance"]


def test_memory_layout_lists_the_constants_each_task_uses(default_docs):
    mem = default_docs["memory_layout"]
    assert (
        "| rmsnorm | 1 `eps`, 2 `inv_hidden` |" in mem and "| sdpa | 0 `neg_inf`, 5 `inv_sqrt_dhead` |" in mem
    )
    assert "| gemm | none |" in mem
