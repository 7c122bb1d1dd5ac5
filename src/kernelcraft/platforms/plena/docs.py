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
from .isa import (
    FIELDS,
    REGISTER_PREFIX,
    InstrSpec,
    InstructionTable,
    Kind,
    Operand,
    Unit,
    register_count,
    table_for,
)
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
    "timing_profile": "the instruction cost table in force: consistent or emulator (see Timing profiles)",
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
    "mx_block": "elements sharing one E8M0 scale in MXFP8",
    "mx_quantiser": "how H_STORE_V rounds to MXFP8: plena (the hardware quantiser) or ocp",
    "hbm": "the HBM2 timing model's parameters (see HBM model)",
    "bmm_scale": "factor the per-head matrix ops (M_BMM, M_BTMM, M_BMV, M_BTMV) multiply into every product",
    "systolic_overhead_cycles": "emulator profile only: fill added to M_MM/M_TMM/M_BMM/M_BTMM/M_BMV/M_BTMV",
    "max_loop_iteration_instructions": "dynamic instructions allowed in one iteration of a hardware loop",
    "extensions": "instruction extension sets included (see the ISA reference's extension section)",
}


# ----------------------------------------------------------------------------- helpers

DOC_TITLES = {
    "isa": "PLENA instruction set reference",
    "memory_layout": "PLENA memory layout",
    "hardware": "PLENA hardware configuration",
    "guidance": "Writing PLENA kernels: guidance",
}


def ref(doc: str, *headings: str) -> str:
    """A section's name as grep_docs prints it (`doc > title > heading`), quoted."""
    return '"' + " > ".join((doc, DOC_TITLES[doc], *headings)) + '"'


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
    cost = spec.timing(cfg)
    if cost is None:
        return f"HBM model (see {ref('hardware', 'HBM model')}): depends on size, alignment and open rows"
    flags = [(i, op) for i, op in enumerate(spec.operands) if op.choices is not None]
    results = {}
    for combo in itertools.product(*(op.choices for _, op in flags)):
        values = [0] * len(spec.operands)
        for (i, _), v in zip(flags, combo, strict=True):
            values[i] = v
        results[combo] = cost.fn(cfg, tuple(values))
    if len(set(results.values())) == 1:
        value = next(iter(results.values()))
        return str(value) if cost.text == str(value) else f"{value} (formula: {cost.text})"
    parts = [
        ", ".join(f"{op.name}={v}" for (_, op), v in zip(flags, combo, strict=True)) + f": {cycles}"
        for combo, cycles in results.items()
    ]
    return "; ".join(parts) + f" (formula: {cost.text})"


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
        f"**bmm_scale = {cfg.bmm_scale:g}** is multiplied into every M_BMM, M_BTMM, M_BMV and M_BTMV "
        "product inside the hardware; no instruction changes it. It is the emulator's constant "
        "(registers.rs initialises it to 0.25), not 1/sqrt(HLEN): for HLEN other than 16 the two differ.",
        "**C_BREAK** leaves the innermost hardware loop after the current iteration (the spec lists it "
        "as a breakpoint).",
        "**V_SHFT_V** shifts toward higher element indices with zero fill (the spec text says left).",
        "**Masked reductions are defined**: with rmask=1, V_RED_SUM and V_RED_MAX only read the heads "
        "enabled in V_MASK. The emulator's masked forms replace each enabled head by its sum (or max) "
        "and then reduce the whole row, disabled heads included; its masked V_EXP_V also clamps the "
        "disabled heads' values to [-88, 88].",
        "**rmask is encoded in rs3 (bits [21:18]) for every vector op**, where the emulator reads it. The "
        "public assembler puts V_EXP_V's, V_RECI_V's and V_RED_MAX's rmask at bit 14 and drops "
        "V_RED_SUM's, so masking these four through the public toolchain does nothing on its emulator; "
        "disasm rejects a word with bit 14 set for these three and says why.",
        "**Trailing all-zero operands** that the public compiler writes and its assembler ignores "
        "(`S_RECI_FP f1, f1, 0`, `S_EXP_FP f1, f1, 0`, `V_EXP_V gp1, gp1, 0, 0`, `V_RED_SUM f1, gp1, 0, 0`, "
        "six-operand H_PREFETCH_V / H_PREFETCH_M / H_STORE_V) are accepted with a warning.",
        "**H_PREFETCH_M loads whole rows**: row r comes from `offset + r*stride` (the emulator), not "
        "element (row, col) from `col*stride + row` (the spec's wording).",
        "**Precision class flag**: accepted (0 or 1) on H_PREFETCH_M / H_PREFETCH_V / H_STORE_V, but every "
        f"class is MXFP8 here (E4M3 elements, one E8M0 scale per {cfg.mx_block} elements).",
        "**MXFP8 is PLENA's, not OCP's**: as the emulator, an E4M3 exponent field of 15 is Inf/NaN (the "
        "largest element is 240) and subnormals are m/8 * 2^-7; H_STORE_V quantises with PLENA's hardware "
        "rule (see " + ref("memory_layout", "MXFP8 in HBM") + ").",
        f"**HBM offsets must be multiples of the MX block ({cfg.mx_block} elements)**, and so must "
        "STRIDE_REG for strided transfers; anything else is an alignment fault instead of silently mixing "
        "scales.",
        f"**Register files**: {cfg.addr_regs} address registers (the spec says 8, the emulator has 16); "
        f"{cfg.gp_regs} gp and {cfg.fp_regs} f registers.",
        "**No pipeline hazards**: instructions take effect in order, so no NOP spacing between dependent "
        "instructions is needed (the RTL needs some; the emulator, like this simulator, does not).",
        f"**Two head packings, as the emulator**: M_BTMM and M_BTMV read head h of a VRAM row as columns "
        f"[h*{cfg.hlen}, (h+1)*{cfg.hlen}) (as V_MASK does); M_BMM and M_BMV read it interleaved, element "
        f"j of head h at column j*{cfg.heads_per_row} + h.",
        "**Per-head products** are exact products summed and rounded to FP32 once, then scaled and added "
        "to the FP32 accumulator; the emulator's FP32 matmul sums in FP32 in its BLAS's order, so the two "
        "can differ in the last FP32 bit (rarely visible after the BF16 write-out).",
    ]


def render_isa(cfg: PlenaConfig, table: InstructionTable | None = None) -> str:
    b, m = cfg.blen, cfg.mlen
    table = table or table_for(cfg)
    instructions = table.instructions
    out = [
        "# PLENA instruction set reference",
        "",
        f"Generated from the instruction table for MLEN={cfg.mlen}, VLEN={cfg.vlen}, BLEN={cfg.blen}, "
        f"HLEN={cfg.hlen}. {len(instructions)} instructions.",
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
        "## Initial state",
        "",
        "Every register starts defined; only memory can hold garbage:",
        "",
        "| state | at the start of a run |",
        "|---|---|",
        f"| gp0..gp{cfg.gp_regs - 1} | 0 |",
        f"| f0..f{cfg.fp_regs - 1} | 0.0 |",
        f"| a0..a{cfg.addr_regs - 1} | 0 |",
        "| SCALE_REG | 0 |",
        "| STRIDE_REG | 1 |",
        "| V_MASK | 0: no head enabled (an rmask=1 elementwise op copies rs1 to rd, a masked "
        "reduction reads nothing) |",
        f"| m_accum ({b} x {b}), v_accum ({b}), hm_accum ({cfg.heads_per_row} x {m} x {m}), "
        f"hv_accum ({cfg.heads_per_row} x {m}) | all 0.0; each matching write-out (M_MM_WO, M_MV_WO, "
        "M_BMM_WO, M_BMV_WO) clears its accumulator again |",
        "| hardware loop stack | empty |",
        "",
        "Memory is another matter: VRAM, MRAM, FP SRAM and INT SRAM words the task contract does not "
        "preload, and HBM outside the task's inputs, are poisoned when a kernel is scored (NaN on chip, "
        "random bytes in HBM). A run reports every read of memory nothing wrote as a warning (the "
        "instruction's line, the region and the address range), and reads of values computed from such "
        "memory separately.",
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
    for spec in instructions:
        cyc = cycles_text(spec, cfg).split(" (formula")[0] if spec.timing(cfg) is not None else "HBM model"
        out.append(f"| {spec.name} | {spec.unit.value} | {cyc} | {spec.summary} |")
    out.append("")
    for unit in Unit:
        out += [f"## {UNIT_TITLES[unit]}", ""]
        for spec in instructions:
            if spec.unit is unit:
                out.append(_instruction_section(spec, cfg))
    out += _extension_sections(cfg, table)
    out += ["## Differences from the public PLENA specification", ""]
    out.append(
        "The public PLENA documents and its emulator disagree in places. This simulator follows the "
        "emulator; every such point and the choice made:"
    )
    out.append("")
    out += [f"{i}. {item}" for i, item in enumerate(spec_differences(cfg), start=1)]
    out.append("")
    return "\n".join(out)


def _extension_sections(cfg: PlenaConfig, table: InstructionTable) -> list[str]:
    """Where the instructions beyond the base ISA come from (their sections are above)."""
    from .extensions import DLLM_SOURCE, TITLES

    out: list[str] = []
    for name in cfg.extensions:
        names = ", ".join(s.name for s in table.instructions if s.extension == name)
        out += [
            f"## Extension set `{name}`: {TITLES[name]}",
            "",
            f"This configuration includes the `{name}` extension set: {names}. Source: {DLLM_SOURCE}",
            "",
        ]
    added = [s for s in table.instructions if s.extension == "session"]
    if added:
        out += ["## Instructions added in this session", ""]
        for spec in added:
            out += [
                f"### {spec.name} (added)",
                "",
                f"{spec.notes} Its reference section is under {UNIT_TITLES[spec.unit]}. Usage example, with "
                "every gp operand set to address 0 first:",
                "",
                "```asm",
                *_example(spec),
                "```",
                "",
            ]
    return out


def _example(spec: InstrSpec) -> list[str]:
    """Lines using the instruction: its gp operands set to 0, then the instruction."""
    counters = {Kind.GP: 1, Kind.FP: 1}
    parts, setup = [], []
    for op in spec.operands:
        if op.kind in counters:
            reg = f"{REGISTER_PREFIX[op.kind]}{counters[op.kind]}"
            counters[op.kind] += 1
            if op.kind is Kind.GP:
                setup.append(f"S_ADDI_INT {reg}, gp0, 0")
            parts.append(reg)
        else:
            parts.append("0")
    return [*setup, f"{spec.name} {', '.join(parts)}".strip()]


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
    quantiser_text = {
        "plena": (
            "PLENA's hardware quantiser: scale = 2^floor(log2(max|x| + 1e-9)); each x/scale gets the\n"
            "exponent floor(log2|x/scale|) clamped to [-7, 7] (-7 is the subnormal code); its mantissa\n"
            "(x/scale/2^e - 1)*8 is truncated to a quarter, rounded half to even and clamped to 0..7,\n"
            "with no carry into the next binade. So 1.328125 stores as 1.25 (not 1.375), 1.96875 as\n"
            "1.875, and magnitudes in [2^-7, 2^-6) of the scale as 7/8 * 2^-7. A NaN stays NaN."
        ),
        "ocp": (
            "the OCP rule on PLENA's element format: scale = 2^(floor(log2(max|x|)) - 7), elements\n"
            "rounded to the nearest PLENA E4M3 value (ties to even) and saturated at +-240."
        ),
    }[cfg.mx_quantiser]
    p_rows, v_rows, s_rows = cfg.prefetch_m_rows, cfg.prefetch_v_rows, cfg.store_v_rows
    constants = _task_constants(cfg)
    constant_rows = "\n".join(
        f"| {task} | {', '.join(f'{FP_SLOTS[n]} `{n}`' for n in names) or 'none'} |"
        for task, names in constants.items()
    )
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
elements. Element e's value is `E4M3(byte[e]) * 2^(scale[e/{blk}] - 127)`, in PLENA's E4M3 (the
emulator's decoder, not OCP's): sign, 4 exponent bits, 3 mantissa bits, bias 7; exponent field 0
is subnormal, m/8 * 2^-7; field 15 is Inf (mantissa 0) or NaN, so the largest element is
1.875 * 2^7 = 240. Scale byte 0 reads as 0.0. On the way into VRAM or MRAM the values are
converted to BF16 (rounding to nearest-even if a product is not representable).

On the way out (H_STORE_V) each block of {blk} is re-quantised with
{quantiser_text}

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

Constants each task's compiler baseline loads (a kernel may use any slot; every task preloads
all of them, with this instance's values listed in its task statement):

| task | slots used |
|---|---|
{constant_rows}

- **Output**: in VRAM from element address OUTPUT_BASE = {OUTPUT_BASE}, column-block-major as
  above: element (i, j) of an [R, C] output is at
  `{OUTPUT_BASE} + (j // {v})*R*{v} + i*{v} + (j % {v})`. A 3-D [B, R, C] output stores each
  [R, C] matrix that way, matrix b starting at b*R*C. A 1-D output of C elements is a [1, C]
  matrix. C must be a multiple of VLEN={v}.
- Memory the kernel did not write is not zero: every evaluation (yours and final scoring) fills it
  with poison. Read only what you wrote or what the contract preloads.

## Partial tiles: transfers past a tensor's end

Transfers move fixed amounts: H_PREFETCH_M always {p_rows} rows of {m} elements, H_PREFETCH_V {v_rows} rows
and H_STORE_V {s_rows} rows of {v}. When a tensor has fewer rows left (32 keys, a [32, {m}] weight, the
last rows of an activation), the extra rows come from whatever follows in HBM: the next input
tensor, the zero padding between tensors, or, past the inputs, poison (random bytes when scored).
Decoded as MXFP8 such bytes can be any value, including NaN and Inf (exponent field 15).

- Loading them does not fault: no instruction faults on NaN or Inf; they only propagate.
- They matter only when an instruction uses them:
  - M_MM and M_MV contract over all {m} rows of a tile: rows past the end must hold zeros (copy
    the tensor to HBM scratch followed by zero rows, as the baseline does for V with fewer than
    {m} keys).
  - M_BTMM and M_BTMV give one output column per tile row: rows past the end give garbage
    (possibly NaN) columns, which the following steps must leave out (rmask=1 vector ops and
    masked reductions read only the heads V_MASK enables).
  - M_TMM, M_TMV, M_BMM and M_BMV read only the tile rows their address selects, so they work on
    partial tiles directly.
- A run warns where such rows are used: "reads MRAM [..), which line N loaded from HBM [..), which
  nothing wrote".
- H_STORE_V always writes {s_rows} whole rows: storing past a tensor's end overwrites what follows it.
"""


def _task_constants(cfg: PlenaConfig) -> dict[str, list[str]]:
    """FP SRAM slots each task's C1 baseline loads (S_LD_FP fX, gp0, slot), for the docs."""
    from ...tasks import all_tasks
    from .assembler import assemble
    from .baseline import generate

    out: dict[str, list[str]] = {}
    names = {slot: name for name, slot in FP_SLOTS.items()}
    for task in all_tasks():
        try:
            program = assemble(generate(task.id, "C1", cfg), cfg).program
        except (NotImplementedError, ValueError):
            continue
        if program is None:
            continue
        used = {
            ins.operands[2]
            for ins in program.instructions
            if ins.name == "S_LD_FP" and ins.operands[1] == 0 and ins.operands[2] in names
        }
        out[task.id] = [names[s] for s in sorted(used)]
    return out


# ----------------------------------------------------------------------------- hardware.md


def _dma_examples(cfg: PlenaConfig) -> list[tuple[str, int, int, int, int]]:
    """(transfer, cycles alone, cycles each in a run of 8, bytes requested, useful bytes), measured
    by running the simulator: the first transfer of a program finds every DRAM row closed."""
    from ..base import RunLimits
    from .assembler import assemble
    from .machine import MemoryImage, run

    m, v = cfg.mlen, cfg.vlen
    wide = 4 * m  # the strided cases: rows of a [*, 4*MLEN] tensor
    cases = [
        (
            "H_PREFETCH_V, rows one after another",
            "H_PREFETCH_V gp2, gp3, a0, 0, 0",
            cfg.prefetch_v_rows * v,
            0,
        ),
        (
            f"H_PREFETCH_V, rows {wide} elements apart",
            "H_PREFETCH_V gp2, gp3, a0, 1, 0",
            cfg.prefetch_v_rows * v,
            1,
        ),
        ("H_PREFETCH_M, one contiguous tile", "H_PREFETCH_M gp2, gp3, a0, 0, 0", cfg.prefetch_m_rows * m, 0),
        (
            f"H_PREFETCH_M, tile rows {wide} elements apart",
            "H_PREFETCH_M gp2, gp3, a0, 1, 0",
            cfg.prefetch_m_rows * m,
            1,
        ),
        ("H_STORE_V, rows one after another", "H_STORE_V gp2, gp3, a0, 0, 0", cfg.store_v_rows * v, 0),
        (f"H_STORE_V, rows {wide} elements apart", "H_STORE_V gp2, gp3, a0, 1, 0", cfg.store_v_rows * v, 1),
    ]
    out = []
    for text, ins, moved, strided in cases:
        step = m if strided else moved
        span = 8 * moved * (4 if strided else 1)
        scale_reg = max(span, 1 << 16)
        if scale_reg + scale_reg // cfg.mx_block + span > cfg.hbm_bytes:
            continue
        setup = (
            f"S_LUI_INT gp1, {scale_reg >> 12}\nS_ADDI_INT gp1, gp1, {scale_reg & 0xFFF}\n"
            "C_SET_SCALE_REG gp1\n"
            f"S_ADDI_INT gp1, gp0, {wide}\nC_SET_STRIDE_REG gp1\n"
        )
        dst_step = cfg.tile_elems if ins.startswith("H_PREFETCH_M") else 0
        body = []
        for k in range(8):
            body.append(f"S_LUI_INT gp3, {(k * step) >> 12}\nS_ADDI_INT gp3, gp3, {(k * step) & 0xFFF}")
            body.append(f"S_ADDI_INT gp2, gp0, {(k % 2) * dst_step}\n{ins}")
        program = assemble(setup + "\n".join(body) + "\n", cfg).program
        if program is None:
            continue
        ex = run(program, MemoryImage(), RunLimits(max_instructions=1000, wall_time_s=10), trace=True)
        if ex.fault is not None or ex.trace is None:
            continue
        costs = [dur for _, _, dur, unit in ex.trace if unit == "memory"]
        s = ex.stats
        requested = (s.hbm_read_bytes + s.hbm_write_bytes) // len(costs)
        useful = (s.hbm_useful_read_bytes + s.hbm_useful_write_bytes) // len(costs)
        out.append((text, costs[0], round(sum(costs[1:]) / len(costs[1:])), requested, useful))
    return out


def _cost_rows(cfg: PlenaConfig, table: InstructionTable) -> tuple[list[str], list[str]]:
    """Rows of the cost table and the numbered sources they cite."""
    from dataclasses import replace

    other_name = "emulator" if cfg.timing_profile == "consistent" else "consistent"
    other = replace(cfg, timing_profile=other_name)
    rows: list[str] = []
    sources: list[str] = []
    for spec in table.instructions:
        cost = spec.timing(cfg)
        if cost is None:
            rows.append(f"| {spec.name} | {spec.unit.value} | HBM model | HBM model | | see HBM model |")
            continue
        if cost.source not in sources:
            sources.append(cost.source)
        here = cycles_text(spec, cfg).split(" (formula")[0]
        there = cycles_text(spec, other).split(" (formula")[0]
        cite = f"[{sources.index(cost.source) + 1}]"
        rows.append(f"| {spec.name} | {spec.unit.value} | {here} | {there} | {cost.text} | {cite} |")
    return rows, [f"{i}. {text}" for i, text in enumerate(sources, start=1)]


def render_hardware(cfg: PlenaConfig, table: InstructionTable | None = None) -> str:
    from .isa import drain_cycles
    from .machine import peak_macs_per_cycle

    rows = "\n".join(
        f"| `{f.name}` | {getattr(cfg, f.name)} | {FIELD_DOCS[f.name]} |"
        for f in fields(cfg)
        if f.name != "hbm"
    )
    h = cfg.hbm
    hbm_rows = "\n".join(
        f"| `{f.name}` | {getattr(h, f.name)} | {h.DOCS[f.name]} | {h.SOURCES[f.name]} |" for f in fields(h)
    )
    peak = peak_macs_per_cycle(cfg)
    table = table or table_for(cfg)
    mac_rows = []
    for spec in table.instructions:
        if spec.macs is not None and spec.timing(cfg) is not None:
            cyc = max(1, spec.cycles(cfg, (0,) * len(spec.operands)))
            mac_rows.append(f"| {spec.name} | {spec.macs(cfg)} | {cyc} | {spec.macs(cfg) / cyc:g} |")
    dma = "\n".join(f"| {t} | {a} | {r} | {q} | {u} |" for t, a, r, q, u in _dma_examples(cfg))
    cost_rows, cost_sources = _cost_rows(cfg, table)
    other = "emulator" if cfg.timing_profile == "consistent" else "consistent"
    profile_text = {
        "consistent": (
            "**consistent** (in force): every matrix instruction's cost follows from one matrix array of "
            f"BLEN x MLEN = {cfg.array_macs_per_cycle} multipliers. A matrix-matrix instruction streams at "
            "the array's peak (MACs / (BLEN*MLEN) cycles); the single-row forms (M_MV, M_TMV, M_BMV, "
            "M_BTMV) also spend BLEN cycles loading the weight columns, which one row cannot hide; the "
            f"pipeline fill and drain ({drain_cycles(cfg)} = 9 + BLEN cycles) is paid by the write-out "
            "that reads the accumulators, plus one cycle per VRAM row written. No instruction beats the "
            "array's peak, and the same multiply-accumulates cost the same whichever instruction does them. "
            "Vector, scalar and control costs are the emulator's."
        ),
        "emulator": (
            "**emulator** (in force): the public PLENA emulator's cost table, exactly, for comparison with "
            "work measured on it. In this table M_BMV and M_BTMV do 4096 MACs in one cycle and M_BMM / "
            "M_BTMM 4096 MACs a cycle while M_MM does 16, so the per-head instructions are far cheaper "
            "per multiply-accumulate than the array could be."
        ),
    }
    return f"""# PLENA hardware configuration

Every number below is this configuration's; a different configuration renders different docs.
Where a number comes from (a file and line of a public repository, or our choice and why) is
written next to it.

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
| bmm_scale (multiplied into every per-head product) | {cfg.bmm_scale:g} |
| HBM transfer per H_PREFETCH_M | {cfg.prefetch_m_rows} x {cfg.mlen} elements |
| HBM transfer per H_PREFETCH_V / H_STORE_V | {cfg.prefetch_v_rows} / {cfg.store_v_rows} rows of {cfg.vlen} |
| peak HBM bandwidth | {cfg.hbm_bytes_per_cycle:g} bytes per cycle |
| latency of one cycle | {1 / cfg.clock_ghz:g} ns |

bmm_scale is {cfg.bmm_scale:g} because the public emulator's register file initialises it to 0.25
and no instruction writes it (PLENA_Simulator transactional_emulator/src/accelerator/registers.rs:28);
it does not change with HLEN.

## Timing profiles

Results name the profile they were measured under. Two exist:

- {profile_text[cfg.timing_profile]}
- **{other}**: the other table; its cycles are listed next to these in the cost table below.

## Peak compute

Peak multiply-accumulates per cycle: **{peak}** (the best rate of any matrix instruction under this
profile). MAC utilisation in the run statistics = useful MACs / (cycles x {peak}).

| instruction | MACs | cycles | MACs per cycle |
|---|---|---|---|
{chr(10).join(mac_rows)}

## Timing model

- One instruction stream, executed **in order and blocking**: an instruction starts when the
  previous one has finished. Total cycles = the sum of every executed instruction's cycles. The
  matrix, vector, scalar and HBM units never overlap, so unit busy times add up to the total.
- Non-HBM instructions have the fixed costs in the table below.
- An HBM instruction (H_PREFETCH_M, H_PREFETCH_V, H_STORE_V) takes the time the HBM model below
  gives it: it depends on how many 64-byte requests it makes, how they spread over channels and
  banks, and whether the DRAM rows they need are already open.
- DMA does not overlap compute: a prefetch is finished before the next instruction starts.
- Loop control (C_LOOP_START / C_LOOP_END) costs its cycles on every execution.

## HBM model

HBM is an HBM2 stack as the public emulator configures Ramulator2 (8 channels, HBM2_8Gb
organisation, HBM2_2Gbps timing, FR-FCFS scheduling, open-row policy, MOP4CLXOR address mapping).
A transfer is expanded the way the emulator's DMA does it, then scheduled:

- **Requests**: every transferred row asks for each 64-byte block its elements touch, then for the
  block holding its scales. Rows whose scales share a block each ask for it again, so a transfer of
  R rows of 64 elements makes 2R requests. Each request is four {h.access_bytes}-byte accesses, spread
  over four channels.
- **Banks and rows**: an access to a bank whose open row it needs is a row hit; a closed bank needs
  ACT ({h.nRCDRD} cycles before the read); another open row needs PRE + ACT ({h.nRP} + {h.nRCDRD}).
  Rows stay open after a transfer, so reading neighbouring data again is cheaper. ACTs on a
  pseudo-channel are {h.nRRDS} cycles apart, at most four per {h.nFAW}.
- **Bandwidth**: each of the {h.channels * h.pseudochannels} pseudo-channels moves one access every
  {h.bus_cycles} cycles; each channel issues one command a cycle. Read data arrives
  {h.nCL} + {h.nBL} cycles after its read command, plus {h.controller_cycles} cycles through the controller.
- **Reads** (H_PREFETCH_M, H_PREFETCH_V): all requests go out together; the instruction ends when
  the last one is back.
- **Writes** (H_STORE_V): every 64-byte block is read, merged and written back, one block after
  another (read, wait, write): 2R read round trips for R rows. A stored row's scales are
  re-read and rewritten for every row, so a store costs far more than a load of the same size.
- **Traffic** is counted per 64-byte request, scale reads included (`hbm_read_bytes`,
  `hbm_write_bytes`), next to the bytes the transfers needed (`hbm_useful_read_bytes`,
  `hbm_useful_write_bytes`).
- Refresh is not modelled (in the emulator it adds about a tenth on average).

Costs this model gives, measured by running the simulator (a program's first transfer finds every
row closed; "in a run" is the mean of the next seven transfers of the same kind at the next offsets):

| transfer | cycles alone | cycles each, in a run | bytes requested | useful bytes |
|---|---|---|---|---|
{dma}

For calibration, the public emulator measured (PLENA_Simulator f0703b2 with Ramulator2 and its
HBM patch, on the compiler baseline kernels): one H_PREFETCH_V of 4 rows 22-32 cycles and about 26
each back to back; one 64 x 64 H_PREFETCH_M 122 cycles alone and 77-100 per tile in runs of tiles;
one H_STORE_V of 4 rows about 158.

| HBM parameter | value | meaning | source |
|---|---|---|---|
{hbm_rows}

## Cost of every instruction

Cycles under this configuration's profile ({cfg.timing_profile}) and under the {other} profile, with the
formula and the source of the number in force (numbered below).

| instruction | unit | cycles | {other} profile | formula | source |
|---|---|---|---|---|---|
{chr(10).join(cost_rows)}

Sources (PLENA_Simulator at f0703b2; the emulator awaits each latency named, whose value it reads
from plena_settings.toml's dc_lib_en column):

{chr(10).join(cost_sources)}

## Limits

- A hardware loop iteration may run at most {cfg.max_loop_iteration_instructions} dynamic
  instructions (a loop_cap fault otherwise).
- A run has an instruction limit and a wall-time limit set by the harness; exceeding either is a
  fault, not a hang.
"""


# ----------------------------------------------------------------------------- guidance.md


def render_guidance(cfg: PlenaConfig) -> str:
    return _fill(GUIDANCE_TEMPLATE.read_text(encoding="utf-8"), cfg)


def render_docs(
    config: PlenaConfig = DEFAULT_CONFIG, table: InstructionTable | None = None
) -> dict[str, str]:
    """The four Markdown documents an agent gets, for this configuration (and instruction table:
    by default the base ISA and the configuration's extension sets)."""
    return {
        "isa": render_isa(config, table),
        "memory_layout": render_memory_layout(config),
        "hardware": render_hardware(config, table),
        "guidance": render_guidance(config),
    }
