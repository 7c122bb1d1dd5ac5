"""What the agent-facing docs and assembler diagnostics say must match what the simulator does."""

from __future__ import annotations

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from kernelcraft.cli import platform_cmds
from kernelcraft.platforms.plena.assembler import assemble
from kernelcraft.platforms.plena.docs import render_docs
from kernelcraft.platforms.plena.machine import MemoryImage
from kernelcraft.platforms.plena.mx import quantize_blocks

from .plena_helpers import execute


@pytest.fixture(scope="module")
def docs() -> dict[str, str]:
    return render_docs()


def _operand_row(isa: str, instruction: str, operand: str) -> str:
    section = isa.split(f"### {instruction}\n", 1)[1].split("\n### ", 1)[0]
    return next(line for line in section.splitlines() if line.startswith(f"| `{operand}`"))


def test_masked_elementwise_op_copies_rs1_into_disabled_heads_as_documented(docs):
    rs1 = np.arange(64, dtype=np.float32)
    image = MemoryImage(vram={0: rs1, 64: np.full(64, 100.0, np.float32), 128: np.full(64, -5.0, np.float32)})
    source = (
        "S_ADDI_INT gp1, gp0, 1\nC_SET_V_MASK_REG gp1\n"  # head 0 only
        "S_ADDI_INT gp2, gp0, 64\nS_ADDI_INT gp3, gp0, 128\nV_ADD_VV gp3, gp0, gp2, 1\n"
    )
    out = execute(source, image).machine.read_vram(128, 64)
    np.testing.assert_array_equal(out[:16], rs1[:16] + 100.0)
    np.testing.assert_array_equal(out[16:], rs1[16:])  # rs1's values, not rd's old -5
    row = _operand_row(docs["isa"], "V_ADD_VV", "[rmask]")
    assert "rs1's values" in row


def test_masked_reduction_docs_speak_of_reading_not_of_copying(docs):
    for name in ("V_RED_SUM", "V_RED_MAX"):
        row = _operand_row(docs["isa"], name, "[rmask]")
        assert "are read" in row and "rs1's values" not in row


def test_stride_flag_is_documented_in_elements(docs):
    for name in ("H_PREFETCH_M", "H_PREFETCH_V", "H_STORE_V"):
        row = _operand_row(docs["isa"], name, "rstride")
        assert "STRIDE_REG elements apart" in row


def test_activation_loading_recipe_in_memory_layout_lands_rows_where_the_layout_says(docs):
    """Follow the memory_layout recipe for X[8, 128], column block 1, rows 4..7."""
    assert "rd = base + c*R*64 + r0*64, rs1 = r0*C + c*64" in docs["memory_layout"]
    rows, cols, base, c, r0 = 8, 128, 1024, 1, 4
    x = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols) / 64.0
    elements, scales = quantize_blocks(x.reshape(-1))
    image = MemoryImage(hbm=np.concatenate([elements, scales]))
    rd, rs1 = base + c * rows * 64 + r0 * 64, r0 * cols + c * 64
    source = (
        f"S_ADDI_INT gp1, gp0, {x.size}\nC_SET_SCALE_REG gp1\nS_ADDI_INT gp1, gp0, {cols}\n"
        f"C_SET_STRIDE_REG gp1\nS_ADDI_INT gp2, gp0, {rd}\nS_ADDI_INT gp3, gp0, {rs1}\n"
        "H_PREFETCH_V gp2, gp3, a0, 1, 0\n"
    )
    machine = execute(source, image).machine
    for i in range(r0, r0 + 4):
        j = c * 64 + 5
        addr = base + (j // 64) * rows * 64 + i * 64 + (j % 64)  # the documented element formula
        assert machine.read_vram(addr, 1)[0] == pytest.approx(x[i, j], rel=2**-3)


def test_map_v_fp_to_vram_row_zero_does_not_warn_about_gp0():
    result = assemble("S_MAP_V_FP gp0, gp1, 0\n")
    assert result.ok and not result.warnings


def test_results_sent_to_f0_warn_but_stores_from_f0_do_not():
    for line in ("S_LD_FP f0, gp0, 3", "S_ADD_FP f0, f1, f2", "V_RED_SUM f0, gp1", "S_SQRT_FP f0, f1"):
        result = assemble(line + "\n")
        assert result.ok and len(result.warnings) == 1, line
        assert "f0" in result.warnings[0].message
    stored = assemble("S_ST_FP f0, gp0, 3\nV_ADD_VF gp1, gp1, f0\n")
    assert stored.ok and not stored.warnings


def test_immediate_beyond_32_bits_gets_no_lui_recipe():
    (error,) = assemble("S_ADDI_INT gp1, gp0, 99999999999\n").errors
    assert "S_LUI_INT" not in error.hint and "32 bits" in error.hint
    (error,) = assemble("S_ADDI_INT gp1, gp0, 300000\n").errors
    assert f"S_LUI_INT gpX, {300000 >> 12}" in error.hint


def test_sim_rejects_overlapping_hbm_placements(tmp_path):
    app = typer.Typer(pretty_exceptions_enable=False)
    platform_cmds.register(app)
    kernel = tmp_path / "k.s"
    kernel.write_text("S_ADDI_INT gp1, gp0, 1\n")
    tensor = tmp_path / "t.npy"
    np.save(tensor, np.ones(64, dtype=np.float32))  # 64 element bytes + 8 scale bytes
    runner = CliRunner()
    clash = runner.invoke(app, ["sim", str(kernel), "--hbm", f"x={tensor}@0", "--hbm", f"y={tensor}@64"])
    assert clash.exit_code == 2
    assert "overlap x" in clash.output and "Traceback" not in clash.output
    apart = runner.invoke(app, ["sim", str(kernel), "--hbm", f"x={tensor}@0", "--hbm", f"y={tensor}@72"])
    assert apart.exit_code == 0, apart.output
