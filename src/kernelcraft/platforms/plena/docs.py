"""The agent-facing PLENA documentation, rendered from the instruction table and the config.

The docs are what a model reads before writing a kernel, so they must never drift from the
simulator: the ISA reference comes from `isa.INSTRUCTIONS`, every size and latency from the
`PlenaConfig`, the DMA examples from running the simulator itself, and the I/O contract
from `layout.py`. Only guidance.md is hand-written, as a template whose `{{name}}` fields
are filled from the config.

Write the files with `python -m kernelcraft.platforms.plena.docs OUTDIR`.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import fields
from pathlib import Path

from .config import DEFAULT_CONFIG, PlenaConfig
from .isa import FIELDS, INSTRUCTIONS, REGISTER_PREFIX, InstrSpec, Kind, Operand, Unit, register_count
from .layout import FP_SLOT_MEANING, FP_SLOTS, HBM_ALIGN, OUTPUT_BASE

GUIDANCE_TEMPLATE = Path(__file__).with_name("docs") / "guidance.md"

UNIT_TITLES = {
    Unit.MATRIX: "Matrix unit (M_*)",
    Unit.VECTOR: "Vector unit (V_*)",
    Unit.SCALAR: "Scalar unit (S_*)",
    Unit.MEMORY: "HBM transfers (H_*)",
    Unit.CONTROL: "Control (C_*)",
}

FIELD_DOCS: dict[str, str] = {
    "mlen": "matrix tile edge and reduction depth; an MRAM tile is MLEN x MLEN",
    "vlen": "vector width in elements (one VRAM row)",
    "blen": "output block edge of M_MM / M_TMM (BLEN x BLEN accumulator); also M_MV outputs",
    "hlen": "head width of the per-head matrix ops and the V_MASK granularity",
    "clock_ghz": "clock frequency in GHz (cycles to nanoseconds)",
    "prefetch_m_rows": "rows of MLEN elements one H_PREFETCH_M moves",
    "prefetch_v_rows": "VRAM rows one H_PREFETCH_V moves",
    "store_v_rows": "VRAM rows one H_STORE_V moves",
    "vram_rows": "VRAM capacity in rows of VLEN BF16 elements",
    "mram_tiles": "MRAM capacity in MLEN x MLEN BF16 tiles",
    "fpsram_words": "FP SRAM capacity in BF16 scalars",
    "intsram_words": "INT SRAM capacity in u32 words",
    "gp_regs": "integer registers gp0..",
    "fp_regs": "BF16 registers f0..",
    "addr_regs": "HBM address registers a0..",
    "hbm_bytes": "HBM capacity in bytes",
    "hbm_bytes_per_cycle": "HBM bandwidth in bytes per cycle",
    "hbm_latency_cycles": "fixed latency of every HBM transfer instruction",
    "hbm_burst_bytes": "HBM access granularity (a burst)",
    "mx_block": "elements sharing one E8M0 scale in MXFP8",
    "systolic_overhead_cycles": "pipeline fill added to M_MM/M_TMM/M_BMM/M_BTMM/M_BMV/M_BTMV",
    "max_loop_iteration_instructions": "dynamic instructions allowed in one iteration of a hardware loop",
}


# ----------------------------------------------------------------------------- helpers


def _bits(field: str) -> str:
    shift, width = FIELDS[field]
    return f"{field} [{shift + width - 1}:{shift}]"


def _kind_text(op: Operand, cfg: PlenaConfig) -> str:
    if op.kind is Kind.ZERO:
        return "placeholder `0`"
    if op.kind in REGISTER_PREFIX:
        p = REGISTER_PREFIX[op.kind]
        return f"register {p}0..{p}{register_count(op.kind, cfg) - 1}"
    if op.choices is not None:
        text = "flag " + " / ".join(map(str, op.choices))
    else:
        text = f"immediate {op.min_value}..{op.max_value}"
    if op.default is not None:
        text += f" (default {op.default})"
    return text


def cycles_text(spec: InstrSpec, cfg: PlenaConfig) -> str:
    """The cost evaluated for this config; flag operands that change it are spelled out."""
    if spec.cost is None:
        return "HBM model (see hardware.md): latency + bursts x burst bytes / bandwidth"
    flags = [(i, op) for i, op in enumerate(spec.operands) if op.choices is not None]
    results = {}
    for combo in itertools.product(*(op.choices for _, op in flags)):
        values = [0] * len(spec.operands)
        for (i, _), v in zip(flags, combo, strict=True):
            values[i] = v
        results[combo] = spec.cost(cfg, tuple(values))
    if len(set(results.values())) == 1:
        value = next(iter(results.values()))
        return str(value) if spec.cost_text == str(value) else f"{value} (formula: {spec.cost_text})"
    parts = [
        ", ".join(f"{op.name}={v}" for (_, op), v in zip(flags, combo, strict=True)) + f": {cycles}"
        for combo, cycles in results.items()
    ]
    return "; ".join(parts) + f" (formula: {spec.cost_text})"


def _fill(template: str, cfg: PlenaConfig) -> str:
    """Replace {{name}} with config values (fields, derived sizes, or simple products)."""
    names = {f.name: getattr(cfg, f.name) for f in fields(cfg)}
    names.update(
        tile_elems=cfg.tile_elems,
        heads_per_row=cfg.heads_per_row,
        vram_elems=cfg.vram_elems,
        mram_elems=cfg.mram_elems,
        bmm_scale=f"{cfg.bmm_scale:g}",
        blen_mlen=cfg.blen * cfg.mlen,
        blen_vlen=cfg.blen * cfg.vlen,
        imm18_max=(1 << 18) - 1,
        imm22_max=(1 << 22) - 1,
        mlen_4=4 * cfg.mlen,
        mlen_2=2 * cfg.mlen,
        scale_bytes_per_row=cfg.vlen // cfg.mx_block,
        x_vram=16 * cfg.vlen,
        fp_regs_last=cfg.fp_regs - 1,
        **{f"slot_{name}": slot for name, slot in FP_SLOTS.items()},
    )

    def value(match: re.Match) -> str:
        key = match.group(1)
        if key not in names:
            raise KeyError(f"guidance template uses unknown field {{{{{key}}}}}")
        return str(names[key])

    return re.sub(r"\{\{(\w+)\}\}", value, template)


# ----------------------------------------------------------------------------- isa.md


def _instruction_section(spec: InstrSpec, cfg: PlenaConfig) -> str:
    out = [f"### {spec.name}", "", f"{spec.summary}", "", "```asm", spec.syntax(), "```", ""]
    out.append(f"- Opcode: `0x{spec.opcode:02X}` (bits [5:0])")
    out.append(f"- Cycles: {cycles_text(spec, cfg)}")
    if spec.macs is not None:
        out.append(f"- Multiply-accumulates per execution: {spec.macs(cfg)}")
    out.append("")
    if spec.operands:
        out += ["| operand | kind | encoding field | meaning |", "|---|---|---|---|"]
        for op in spec.operands:
            out.append(f"| `{op.syntax()}` | {_kind_text(op, cfg)} | {_bits(op.field)} | {op.doc} |")
        out.append("")
    out += [f"Semantics: {spec.semantics}", ""]
    if spec.notes:
        out += [f"Notes: {spec.notes}", ""]
    return "\n".join(out)


def spec_differences(cfg: PlenaConfig) -> list[str]:
    """Every point where the public PLENA documents disagree with its emulator, and our choice."""
    b, m, h = cfg.blen, cfg.mlen, cfg.hlen
    return [
        "**V_SUB_VV operand order**: one copy of the written spec computes rs2 - rs1; the emulator and "
        "this simulator compute `rs1 - rs2`.",
        "**M_MV / M_TMV shape and operands**: the spec has rs1 = vector and MLEN outputs; here (as in the "
        f"emulator) rs1 = MRAM address, rs2 = VRAM row, and {b} (BLEN) outputs accumulate in v_accum, "
        "written by M_MV_WO.",
        "**M_MM / M_TMM column blocks are row-granular**: block j of a tile is addressed as "
        f"`tile_base + j*BLEN*MLEN` (= j*{b * m}), not the older element-granular `tile_base + j*BLEN`.",
        "**Operand order of the transposed and per-head matrix ops**: M_TMM takes the VRAM rows in rs1 "
        "and the MRAM address in rs2 (swapped with respect to M_MM); M_BMM and M_BTMM take the MRAM "
        "address in rs1 and the VRAM rows in rs2, as the emulator does.",
        "**Element offsets inside a tile** for M_MV, M_TMV, M_BMM, M_BTMM, M_BMV, M_BTMV: the MRAM address "
        f"is `tile_base + c` with c an element offset in the first tile row (a multiple of {b} for the "
        f"vector ops, of {h} (HLEN) for the per-head ops).",
        "**C_SET_ADDR_REG** concatenation (the two spec copies disagree): rs1 gives the high 32 bits, rs2 "
        "the low 32 bits.",
        "**gp0 is not write-protected** (spec: always 0). Every kernel treats it as 0; the assembler "
        "warns about any write to it except the no-op `S_ADDI_INT gp0, gp0, 0`.",
        f"**bmm_scale = 1/sqrt(HLEN) = {cfg.bmm_scale:g}** is multiplied into every M_BMM, M_BTMM, M_BMV "
        "and M_BTMV product inside the hardware; no instruction changes it.",
        "**C_BREAK** leaves the innermost hardware loop after the current iteration (the spec lists it "
        "as a breakpoint).",
        "**V_SHFT_V** shifts toward higher element indices with zero fill (the spec text says left).",
        "**Masked reductions are defined**: with rmask=1, V_RED_SUM and V_RED_MAX only read the heads "
        "enabled in V_MASK (the emulator's masked reductions are irregular).",
        "**rmask is encoded in rs3 (bits [21:18]) for every vector op**, including V_EXP_V, V_RECI_V, "
        "V_RED_SUM and V_RED_MAX (the public assembler misplaces it for these four).",
        "**H_PREFETCH_M loads whole rows**: row r comes from `offset + r*stride` (the emulator), not "
        "element (row, col) from `col*stride + row` (the spec's wording).",
        "**Precision class flag**: accepted (0 or 1) on H_PREFETCH_M / H_PREFETCH_V / H_STORE_V, but every "
        f"class is MXFP8 here (E4M3 elements, one E8M0 scale per {cfg.mx_block} elements).",
        f"**HBM offsets must be multiples of the MX block ({cfg.mx_block} elements)**, and so must "
        "STRIDE_REG for strided transfers; anything else is an alignment fault instead of silently mixing "
        "scales.",
        f"**Register files**: {cfg.addr_regs} address registers (the spec says 8, the emulator has 16); "
        f"{cfg.gp_regs} gp and {cfg.fp_regs} f registers.",
        "**No pipeline hazards**: instructions take effect in order, so no NOP spacing between dependent "
        "instructions is needed (the RTL needs some; the emulator, like this simulator, does not).",
        f"**One head packing for M_BMM and M_BTMM**: head h is columns [h*{cfg.hlen}, (h+1)*{cfg.hlen}) "
        "of each VRAM row for both. The emulator reads M_BTMM that way but M_BMM's rows interleaved "
        "(element i of head h at i*lanes + h); here one packing serves both, matching V_MASK heads.",
    ]


def render_isa(cfg: PlenaConfig) -> str:
    out = [
        "# PLENA instruction set reference",
        "",
        f"Generated from the instruction table for MLEN={cfg.mlen}, VLEN={cfg.vlen}, BLEN={cfg.blen}, "
        f"HLEN={cfg.hlen}. {len(INSTRUCTIONS)} instructions.",
        "",
        "## Conventions",
        "",
        "- One instruction per line: `OPCODE op, op, ...`. Comments start with `;` or `//`.",
        "- There are no labels or branches: hardware loops (C_LOOP_START / C_LOOP_END) are the only "
        "control flow.",
        f"- Registers: `gp0..gp{cfg.gp_regs - 1}` (u32 integers, all on-chip addresses), "
        f"`f0..f{cfg.fp_regs - 1}` (BF16 scalars; f0 reads 0.0 and writes to it are dropped), "
        f"`a0..a{cfg.addr_regs - 1}` (64-bit HBM base addresses).",
        "- Special registers: SCALE_REG (byte distance from a tensor's elements to its MX scales), "
        "STRIDE_REG (HBM row stride in elements for rstride=1 transfers; starts at 1), V_MASK (head "
        "enable bits for rmask=1 vector ops).",
        f"- Immediates are unsigned decimal, `0x` hex or `0b` binary. 18-bit immediates hold "
        f"0..{(1 << 18) - 1}; larger constants take `S_LUI_INT rd, v >> 12` then "
        "`S_ADDI_INT rd, rd, v & 0xFFF`.",
        "- Notation: G[r] = gp register, F[r] = f register, A[r] = address register, V[x] = the VRAM row "
        f"of VLEN={cfg.vlen} elements starting at element address x (x a multiple of VLEN).",
        "- Numerics: everything on chip is BF16; vector and scalar ops compute in FP32 and round to BF16 "
        "(nearest-even) on every write; matrix products accumulate in FP32 and round to BF16 when "
        "written out.",
        "",
        "## Encoding",
        "",
        "Every instruction is one 32-bit word; the binary form is one `0xXXXXXXXX` word per line.",
        "",
        "| field | bits |",
        "|---|---|",
    ]
    for name, (shift, width) in FIELDS.items():
        out.append(f"| {name} | [{shift + width - 1}:{shift}] |")
    out.append("")
    out += ["## Summary", "", "| instruction | unit | cycles | what it does |", "|---|---|---|---|"]
    for spec in INSTRUCTIONS:
        cyc = cycles_text(spec, cfg).split(" (formula")[0] if spec.cost is not None else "HBM model"
        out.append(f"| {spec.name} | {spec.unit.value} | {cyc} | {spec.summary} |")
    out.append("")
    for unit in Unit:
        out += [f"## {UNIT_TITLES[unit]}", ""]
        for spec in INSTRUCTIONS:
            if spec.unit is unit:
                out.append(_instruction_section(spec, cfg))
    out += ["## Differences from the public PLENA specification", ""]
    out.append(
        "The public PLENA documents and its emulator disagree in places. This simulator follows the "
        "emulator; every such point and the choice made:"
    )
    out.append("")
    out += [f"{i}. {item}" for i, item in enumerate(spec_differences(cfg), start=1)]
    out.append("")
    return "\n".join(out)


# ----------------------------------------------------------------------------- memory_layout.md


def render_memory_layout(cfg: PlenaConfig) -> str:
    m, v, b, blk = cfg.mlen, cfg.vlen, cfg.blen, cfg.mx_block
    # A worked example: W[K, N] with K = 2*MLEN, N = 3*MLEN stored at HBM byte 4096.
    k_dim, n_dim, base = 2 * m, 3 * m, 4096
    numel = k_dim * n_dim
    tk, tj = 1, 2
    offset = tk * m * n_dim + tj * m
    row_r = 5
    row_off = offset + row_r * n_dim
    rows_act = 2 * b
    slots = "\n".join(f"| {slot} | `{name}` | {FP_SLOT_MEANING[name]} |" for name, slot in FP_SLOTS.items())
    space_rows = [
        (
            "HBM",
            "MXFP8 tensors (E4M3 element bytes + E8M0 scale bytes)",
            "byte",
            f"{cfg.hbm_bytes} bytes",
            f"transfer offsets are multiples of {blk} (the MX block); bursts of {cfg.hbm_burst_bytes} bytes",
        ),
        (
            "VRAM (vector SRAM)",
            "BF16",
            "element",
            f"{cfg.vram_rows} rows x {v} = {cfg.vram_elems} elements ({cfg.vram_elems * 2} bytes)",
            f"every V_* / M_* row address is a multiple of VLEN={v}",
        ),
        (
            "MRAM (matrix SRAM)",
            "BF16 weight / K / V tiles",
            "element",
            f"{cfg.mram_tiles} tiles of {m} x {m} = {cfg.mram_elems} elements",
            f"H_PREFETCH_M destinations are multiples of MLEN*MLEN={cfg.tile_elems}; only H_PREFETCH_M "
            "writes it, only M_* read it",
        ),
        ("FP SRAM", "BF16 scalars (constants, running statistics)", "element", str(cfg.fpsram_words), "none"),
        ("INT SRAM", "u32 words", "word", str(cfg.intsram_words), "none"),
    ]
    spaces = "\n".join("| " + " | ".join(row) + " |" for row in space_rows)
    scale_lo = base + numel + row_off // blk
    return f"""# PLENA memory layout

Generated for MLEN={m}, VLEN={v}, BLEN={b}, HLEN={cfg.hlen}, MX block={blk}.

## Memory spaces

| space | holds | address unit | size | alignment rules |
|---|---|---|---|---|
{spaces}

All on-chip addresses live in gp registers (u32); HBM base addresses in a registers (64-bit).

## MXFP8 in HBM

A tensor of n elements occupies n element bytes (E4M3, one per element, row-major) followed by
n/{blk} scale bytes (E8M0, one per block of {blk} consecutive elements): {blk + 1} bytes per {blk}
elements. Element e's value is `E4M3(byte[e]) * 2^(scale[e/{blk}] - 127)`. On the way into VRAM or
MRAM the values are decoded exactly to BF16; on the way out (H_STORE_V) each block of {blk} is
re-quantised: scale = 2^(floor(log2(max|x|)) - 8), elements rounded to nearest-even E4M3 and
saturated at +-448.

Addresses of one transfer row r (H_PREFETCH_M / H_PREFETCH_V / H_STORE_V):

```
off_r    = G[rs1] + r * stride              stride = STRIDE_REG if rstride = 1, else the row width
elements : A[ab] + off_r           ... + width - 1
scales   : A[ab] + SCALE_REG + off_r / {blk}   ... + width/{blk} - 1
```

So SCALE_REG = the tensor's element count (the distance from its first element byte to its first
scale byte), and off_r (hence G[rs1] and STRIDE_REG) must be a multiple of {blk}.

### Worked example

W[K, N] with K = {k_dim}, N = {n_dim} (row-major) stored at HBM byte {base}: a{0} = {base},
SCALE_REG = {numel}, STRIDE_REG = {n_dim}. Tile (k={tk}, j={tj}) (rows {tk * m}..{tk * m + m - 1},
columns {tj * m}..{tj * m + m - 1}) starts at element offset k*MLEN*N + j*MLEN =
{tk}*{m}*{n_dim} + {tj}*{m} = {offset}. Its row {row_r} is at offset {offset} + {row_r}*{n_dim} =
{row_off}: elements at HBM bytes {base + row_off}..{base + row_off + m - 1}, scales at
{base} + {numel} + {row_off}/{blk} = {scale_lo}..{scale_lo + m // blk - 1}.

```asm
H_PREFETCH_M gp2, gp3, a0, 1, 0   ; gp2 = MRAM tile base, gp3 = {offset}, STRIDE_REG = {n_dim}
```

## VRAM layout of a matrix (column-block-major)

A [R, C] matrix in VRAM is stored as C/VLEN column blocks of R rows each: element (i, j) is at

```
base + (j // {v}) * R * {v} + i * {v} + (j % {v})
```

so column block c of row i is the VRAM row `base + c*R*{v} + i*{v}`. Loading an activation X[R, C]
from HBM into this layout: for column block c and rows r0.., H_PREFETCH_V with
rd = base + c*R*{v} + r0*{v}, rs1 = r0*C + c*{v}, STRIDE_REG = C, rstride = 1; each H_PREFETCH_V
moves {cfg.prefetch_v_rows} rows. M_MM reads BLEN={b} consecutive rows of one column block (the K slice),
e.g. rows i..i+{b - 1} of block c at `base + c*R*{v} + i*{v}`. For R = {rows_act}, C = {2 * v}:
element (1, {v + 3}) is at base + 1*{rows_act}*{v} + 1*{v} + 3 = base + {rows_act * v + v + 3}.

## Task I/O contract

- **Inputs**: every input tensor is in HBM as MXFP8, in the task's input order (activations
  first, then weights), each at a {HBM_ALIGN}-byte-aligned base; the task statement gives each
  tensor's base. SCALE_REG for a tensor = its element count; element (i, j) of a 2-D [R, C]
  tensor is at byte offset i*C + j from its base.
- **Constants**: FP SRAM slots preloaded with BF16 values (the same slot numbers in every task;
  a task states which ones it uses):

| slot | name | value |
|---|---|---|
{slots}

- **Output**: in VRAM from element address OUTPUT_BASE = {OUTPUT_BASE}, column-block-major as
  above: element (i, j) of an [R, C] output is at
  `{OUTPUT_BASE} + (j // {v})*R*{v} + i*{v} + (j % {v})`. A 3-D [B, R, C] output stores each
  [R, C] matrix that way, matrix b starting at b*R*C. A 1-D output of C elements is a [1, C]
  matrix. C must be a multiple of VLEN={v}.
- Memory the kernel did not write is not zero: every evaluation (yours and final scoring) fills it
  with poison. Read only what you wrote or what the contract preloads.
"""


# ----------------------------------------------------------------------------- hardware.md


def _dma_examples(cfg: PlenaConfig) -> list[tuple[str, int, int, int]]:
    """(description, cycles, bytes read, bytes written) measured by running the simulator."""
    from ..base import RunLimits
    from .assembler import assemble
    from .machine import MemoryImage, run

    cases = [
        ("H_PREFETCH_V, contiguous rows", "H_PREFETCH_V gp0, gp0, a0, 0, 0", cfg.prefetch_v_rows * cfg.vlen),
        (
            "H_PREFETCH_M, one contiguous tile",
            "H_PREFETCH_M gp0, gp0, a0, 0, 0",
            cfg.prefetch_m_rows * cfg.mlen,
        ),
        (
            f"H_PREFETCH_M, strided (STRIDE_REG = {4 * cfg.mlen})",
            "H_PREFETCH_M gp0, gp0, a0, 1, 0",
            4 * cfg.prefetch_m_rows * cfg.mlen,
        ),
        ("H_STORE_V, contiguous rows", "H_STORE_V gp0, gp0, a0, 0, 0", cfg.store_v_rows * cfg.vlen),
    ]
    out = []
    for text, ins, scale in cases:
        src = (
            f"S_LUI_INT gp1, {scale >> 12}\nS_ADDI_INT gp1, gp1, {scale & 0xFFF}\nC_SET_SCALE_REG gp1\n"
            f"S_LUI_INT gp1, {(4 * cfg.mlen) >> 12}\nS_ADDI_INT gp1, gp1, {(4 * cfg.mlen) & 0xFFF}\n"
            f"C_SET_STRIDE_REG gp1\n{ins}\n"
        )
        program = assemble(src, cfg).program
        if program is None or scale + scale // cfg.mx_block > cfg.hbm_bytes:
            continue
        ex = run(program, MemoryImage(), RunLimits(max_instructions=100, wall_time_s=10))
        if ex.fault is None:
            s = ex.stats
            out.append((text, s.unit_busy_cycles["memory"], s.hbm_read_bytes, s.hbm_write_bytes))
    return out


def render_hardware(cfg: PlenaConfig) -> str:
    from .machine import peak_macs_per_cycle

    rows = "\n".join(f"| `{f.name}` | {getattr(cfg, f.name)} | {FIELD_DOCS[f.name]} |" for f in fields(cfg))
    peak = peak_macs_per_cycle(cfg)
    mac_rows = []
    costs = []
    for spec in INSTRUCTIONS:
        costs.append(f"| {spec.name} | {spec.unit.value} | {cycles_text(spec, cfg)} |")
        if spec.macs is not None and spec.cost is not None:
            cyc = max(1, spec.cost(cfg, (0,) * len(spec.operands)))
            mac_rows.append(f"| {spec.name} | {spec.macs(cfg)} | {cyc} | {spec.macs(cfg) / cyc:g} |")
    dma = "\n".join(f"| {t} | {c} | {r} | {w} |" for t, c, r, w in _dma_examples(cfg))
    lat, bw, burst = cfg.hbm_latency_cycles, cfg.hbm_bytes_per_cycle, cfg.hbm_burst_bytes
    return f"""# PLENA hardware configuration

Every number below is this configuration's; a different configuration renders different docs.

## Parameters

| parameter | value | meaning |
|---|---|---|
{rows}

## Derived sizes

| quantity | value |
|---|---|
| MRAM tile | {cfg.mlen} x {cfg.mlen} = {cfg.tile_elems} elements |
| VRAM | {cfg.vram_elems} BF16 elements = {cfg.vram_elems * 2} bytes |
| MRAM | {cfg.mram_elems} BF16 elements = {cfg.mram_elems * 2} bytes |
| per-head lanes (MLEN / HLEN) | {cfg.heads_per_row} |
| bmm_scale (1 / sqrt(HLEN)) | {cfg.bmm_scale:g} |
| HBM transfer per H_PREFETCH_M | {cfg.prefetch_m_rows} x {cfg.mlen} elements |
| HBM transfer per H_PREFETCH_V / H_STORE_V | {cfg.prefetch_v_rows} / {cfg.store_v_rows} rows of {cfg.vlen} |
| latency of one cycle | {1 / cfg.clock_ghz:g} ns |

## Peak compute

Peak multiply-accumulates per cycle: **{peak}** (the best rate of any matrix instruction).
MAC utilisation in the run statistics = useful MACs / (cycles x {peak}).

| instruction | MACs | cycles | MACs per cycle |
|---|---|---|---|
{chr(10).join(mac_rows)}

## Timing model

- One instruction stream, executed **in order and blocking**: an instruction starts when the
  previous one has finished. Total cycles = the sum of every executed instruction's cycles. The
  matrix, vector, scalar and HBM units never overlap, so unit busy times add up to the total.
- Non-HBM instructions have the fixed costs below (cycles at this configuration).
- An HBM instruction (H_PREFETCH_M, H_PREFETCH_V, H_STORE_V) costs
  `{lat} + ceil(bytes / {bw})` cycles, where bytes = (number of distinct {burst}-byte bursts its
  element and scale addresses touch) x {burst}. Unaligned or strided rows touch more bursts than
  their size suggests.
- H_STORE_V writes whole bursts: a burst it only partly covers is first read, merged and written
  back (read-modify-write), adding one burst read each. Keep stores burst-aligned.
- DMA does not overlap compute: a prefetch is finished before the next instruction starts.
- Loop control (C_LOOP_START / C_LOOP_END) costs its cycles on every execution.

### Measured HBM costs (this configuration, from the simulator)

| transfer | cycles | bytes read | bytes written |
|---|---|---|---|
{dma}

### Cost of every instruction

| instruction | unit | cycles |
|---|---|---|
{chr(10).join(costs)}

## Limits

- A hardware loop iteration may run at most {cfg.max_loop_iteration_instructions} dynamic
  instructions (a loop_cap fault otherwise).
- A run has an instruction limit and a wall-time limit set by the harness; exceeding either is a
  fault, not a hang.
"""


# ----------------------------------------------------------------------------- guidance.md


def render_guidance(cfg: PlenaConfig) -> str:
    return _fill(GUIDANCE_TEMPLATE.read_text(encoding="utf-8"), cfg)


def render_docs(config: PlenaConfig = DEFAULT_CONFIG) -> dict[str, str]:
    """The four Markdown documents an agent gets, for this configuration."""
    return {
        "isa": render_isa(config),
        "memory_layout": render_memory_layout(config),
        "hardware": render_hardware(config),
        "guidance": render_guidance(config),
    }
