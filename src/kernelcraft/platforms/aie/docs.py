"""The agent-facing docs of the AIE-ML-like tile, generated from the instruction table, the
hardware configuration and the memory map, so they cannot drift from the simulator.
"""

from __future__ import annotations

from dataclasses import fields

from . import layout as L
from .config import DEFAULT_CONFIG, FIELD_DOCS, FIELD_SOURCES, AieConfig
from .isa import FAMILY_ORDER, INSTRUCTIONS, MEM_MODES, SLOT_BITS, SLOT_NAMES, SLOT_NOPS, mem_imm_ranges
from .numerics import ROUNDING_MEANING, ROUNDING_MODES, SATURATION_MODES
from .registers import CLASS_DOCS
from .semantics import CFG_BF16_ELEM, CFG_BF16_MATMUL, CFG_INT8_MATMUL, SHUFFLE_MODES

HONEST = (
    "This is an AIE-ML-like compute-tile simulator written for KernelCraft: it follows the public "
    "AIE-ML (AIE2, XDNA1) documentation and llvm-aie's AIE2 model, but it is not AMD hardware, not "
    "AMD's aiesimulator, and not cycle-exact to silicon."
)

WORKED_EXAMPLE = """\
// One call: p0 = x (16 bf16), p1 = y (16 bf16), p5 = constant table; y = 2 * x + 1.
kernel:                                          // issue cycle: what lands when
    vlda wl3, [p0, #0] ; movxm r1, #0x40004000   // 0: x -> wl3 at 7; r1 = two bf16 2.0 at 1
    vbxor x1, x1, x1 ; mov p2, p5                // 1: x1 = 0 at 3; p2 at 2
    vbcst.32 x2, r1 ; movx r2, #60               // 2: x2 = 2.0 in all lanes at 4; r2 = 60 (elementwise) at 3
    vlda amll1, [p2, #0]                         // 3: constant `one` (1.0 x 16 fp32) -> bml1, low half at 10
    vlda amlh1, [p2, #32]                        // 4: high half at 11
    vmov wh3, wl1                                // 5: wh3 = 0 at 7 (lanes 16..31 of the MAC input)
    nop
    nop
    nop
    vmac.f bml0, bml1, x3, x2, r2                // 9: bml0 = 1 + x*2; reads bml1 at 11, result at 15
    nop
    nop
    nop
    nop
    nop
    vst.conv.bf16.fp32 bml0, [p1, #0] ; ret lr   // 15: round to bf16 and store; return
    nop                                          // the 5 delay slots of ret
    nop
    nop
    nop
    nop
"""


def late_accumulator_reads(cfg: AieConfig) -> str:
    """Which accumulator operands are read after issue, from the instruction table."""
    parts = []
    for spec in INSTRUCTIONS:
        if spec.generation not in ("aie-ml", cfg.generation):
            continue
        late = [o for o in spec.operands if o.acc_delay]
        if late and spec.mnemonic not in (p[0] for p in parts):
            delays = {o.acc_delay for o in late}
            names = " and ".join(o.name for o in late)
            parts.append((spec.mnemonic, f"{spec.mnemonic} ({names})", delays))
    delays = {d for _m, _t, ds in parts for d in ds}
    when = f"issue + {delays.pop()}" if len(delays) == 1 else "issue + their delay"
    return "of " + ", ".join(text for _m, text, _d in parts) + f", which are read at {when}"


def _isa(cfg: AieConfig) -> str:
    out = [
        "# AIE-ML-like tile: instruction set",
        "",
        HONEST,
        "",
        "## Bundles and slots",
        "",
        "A program is a sequence of VLIW bundles, one per line, operations separated by `;`. One bundle "
        "issues per cycle. Each operation belongs to one slot and a bundle holds at most one operation per "
        "slot (`nop` alone is an empty bundle; `nopa nopb nops nopx nopm nopv nopxm` name an empty slot and "
        "are optional).",
        "",
        "| slot | unit | encoding bits | empty-slot name |",
        "|---|---|---|---|",
    ]
    nop_of = {slot: name for name, slot in SLOT_NOPS.items()}
    for slot, name in SLOT_NAMES.items():
        out.append(f"| {slot.value} | {name} | {SLOT_BITS[slot]} | {nop_of.get(slot, '')} |")
    out += [
        "",
        "Bundle rules (the assembler reports each with line, column and a hint):",
        "1. At most one operation per slot; an L-slot operation (movxm, j, jz, jnz, jnzd, jl) takes X and M.",
        "2. At most one load or store touching accumulator registers per bundle; only load unit A (vlda) "
        "loads accumulators.",
        "3. Vector loads and stores move 32 bytes at 32-byte aligned addresses; scalar loads/stores are in "
        "slots A and S only.",
        "4. Addresses outside 0x70000..0x7FFFF fault (there are no neighbour tiles).",
        "5. Two writes landing in one register in the same cycle are an error.",
        f"6. Every branch is followed by {cfg.branch_delay_slots} delay-slot bundles that always execute; no "
        "branch may sit in another branch's delay slots.",
        f"7. Zero-overhead loop: ls, le and lc must be written at least {cfg.zol_setup_distance} bundles "
        f"before the loop's last bundle; no branch in the last {cfg.zol_no_branch_tail} bundles of the body.",
        f"8. The program (bundles of 2..16 bytes by the slots used) must fit the "
        f"{cfg.program_memory_bytes}-byte "
        "program memory.",
        "",
        "## Timing: the exposed pipeline",
        "",
        "Every operation's result lands `latency` cycles after it issues (the Lat column). A bundle issued "
        "before that reads the OLD value: there are no interlocks. Reads happen at issue, except the "
        f"accumulator inputs {late_accumulator_reads(cfg)} "
        "(so a dependent vmac.f on the same accumulator may issue 4 bundles after the previous one). Such "
        "early reads are reported as hazard warnings: statically by check_syntax where the code is "
        "straight-line, and at run time always. Intentional early reads (software pipelining) are legal. "
        "Loads read memory 4 cycles after issue; vst writes 4 cycles after issue, vst.conv / vst.srs 6; a "
        "load sees a store whose memory write happened in an earlier cycle.",
        "",
        "## Registers",
        "",
        "| class | names | what |",
        "|---|---|---|",
    ]
    for cls, (names, what) in CLASS_DOCS.items():
        out.append(f"| {cls} | {names} | {what} |")
    out += [
        "",
        "Calling convention (AIE2): pointer arguments in p0..p5, integer arguments in r0..r7, return with "
        "`ret lr`. The harness states each kernel's arguments in the I/O contract.",
        "",
    ]
    by_family: dict[str, list] = {}
    for spec in INSTRUCTIONS:
        if spec.generation not in ("aie-ml", cfg.generation):
            continue
        by_family.setdefault(spec.family, []).append(spec)
    for family in FAMILY_ORDER:
        specs = by_family.get(family)
        if not specs:
            continue
        out += [
            f"## {family[0].upper() + family[1:]}",
            "",
            "| syntax | slot | Lat | what it does |",
            "|---|---|---|---|",
        ]
        for spec in specs:
            lat = str(spec.latency) if spec.latency else ("5 delay slots" if spec.branch else "-")
            if spec.mem == "store":
                lat = f"mem +{spec.mem_stage}"
            what = spec.summary + (f" ({spec.notes})" if spec.notes else "")
            out.append(f"| `{spec.syntax()}` | {spec.slot.value} | {lat} | {what} |")
        out.append("")
    out += [
        "## MAC configuration words",
        "",
        "The last operand of the vector MACs is an r register holding the mode (bit 0 set: ignore the "
        "accumulator input).",
        "",
        "| value | mode | operands |",
        "|---|---|---|",
        f"| {CFG_BF16_MATMUL} | bf16 4x8x4 matrix | xA = A 4x8 row-major (32 bf16), xB = B 8x4 row-major, "
        "bmD = C 4x4 row-major fp32 |",
        f"| {CFG_BF16_ELEM} | bf16 elementwise, 16 lanes | bmD[i] = acc[i] + xA[i]*xB[i] + xA[i+16]*xB[i+16] "
        "(zero lanes 16..31 for a plain product) |",
        f"| {CFG_INT8_MATMUL} | signed int8 4x8x8 | A = 4x8 int8 in the low 32 bytes of xA, B = 8x8 int8 "
        "in xB, cmD = 32 int32 (4x8 row-major) |",
        "",
        "## vshuffle modes (rMode)",
        "",
        "| mode | result |",
        "|---|---|",
    ]
    for mode, text in SHUFFLE_MODES.items():
        out.append(f"| {mode} | {text} |")
    out += [
        "",
        "## Rounding (crRnd) and saturation (crSat)",
        "",
        "| crRnd | name | rounds |",
        "|---|---|---|",
    ]
    for idx, name in ROUNDING_MODES.items():
        out.append(f"| {idx} | {name} | {ROUNDING_MEANING[name]} |")
    out += ["", "crSat: " + "; ".join(f"{k} = {v}" for k, v in SATURATION_MODES.items()) + ".", ""]
    return "\n".join(out)


def _memory(cfg: AieConfig) -> str:
    out = [
        "# AIE-ML-like tile: memory layout",
        "",
        f"Data memory: {cfg.data_memory_bytes // 1024} KB at 0x{cfg.data_memory_base:05X}..0x"
        f"{cfg.data_memory_end - 1:05X}, {cfg.physical_banks} single-ported physical banks of 128 bits. Bank "
        "pairs interleave every 16 bytes into 4 logical banks of 16 KB: logical bank = address bits 15:14, "
        "physical bank = 2 * address[15:14] + address[4].",
        "",
        "## Banks and conflicts",
        "",
        "A 32-byte vector access occupies both physical banks of its logical bank; a scalar access the one "
        "holding it. When k accesses (loads and stores of one memory cycle, from any bundles) hit one "
        "physical bank, the whole core stalls k - 1 cycles. Keep the two loads and the store of a bundle in "
        "different 16 KB logical banks; the harness puts each operand stream in its own bank.",
        "",
        "## Addressing modes",
        "",
        "| mode | syntax | immediate range (vector / scalar word) |",
        "|---|---|---|",
    ]
    vec, word = mem_imm_ranges(32), mem_imm_ranges(4)
    for mode, text in MEM_MODES.items():
        rng = ""
        if mode in vec:
            rng = (
                f"{vec[mode][0]}..{vec[mode][1]} step {vec[mode][2]} / "
                f"{word[mode][0]}..{word[mode][1]} step 4"
            )
        out.append(f"| {mode} | {text} | {rng} |")
    out += [
        "",
        "Pointer adds `padda/paddb/padds [pN], #imm | mK` take a byte immediate in -2048..2047. For larger "
        "steps load a modifier register: `movxm m1, #4096` then `[p0], m1`. Modifiers and dj are signed "
        "20-bit.",
        "",
        "2-D walk (`.2d` suffix, `[pN], dK`): after the access dcK += 1; if dcK reaches dnK then pN += djK "
        "and dcK = 0, else pN += mK.",
        "",
        "## The harness's map of local memory",
        "",
        "| region | address | bytes | use |",
        "|---|---|---|---|",
    ]
    for name, addr, size, use in L.REGIONS:
        out.append(f"| {name} | 0x{addr:05X} | {size} | {use} |")
    out += [
        "",
        "## Constant table (64 bytes per entry)",
        "",
        "| name | address | lanes | contents |",
        "|---|---|---|---|",
    ]
    for c in L.CONSTANTS.values():
        out.append(f"| {c.name} | 0x{c.address:05X} | {c.lanes} | {c.meaning} |")
    out += [
        "",
        "Task constants (eps, inv_hidden, ...) are filled per task instance; the I/O contract gives "
        "their values.",
        "",
    ]
    return "\n".join(out)


def _hardware(cfg: AieConfig) -> str:
    out = [
        "# AIE-ML-like tile: hardware",
        "",
        HONEST,
        "",
        "One compute tile: a VLIW core (slots A, B, S, X, M, V), 64 KB data memory, 16 KB program memory. "
        "Peak: one bf16 4x8x4 vmac.f per cycle = 128 MACs/cycle; two 256-bit loads and one 256-bit store "
        "per cycle. Scored time is cycles (shown as time at the clock below).",
        "",
        "## Configuration (every number and its source)",
        "",
        "| parameter | value | meaning | source |",
        "|---|---|---|---|",
    ]
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        shown = f"0x{value:X}" if f.name == "data_memory_base" else value
        out.append(f"| {f.name} | {shown} | {FIELD_DOCS[f.name]} | {FIELD_SOURCES[f.name]} |")
    out += [
        "",
        "## Latencies and their sources",
        "",
        "Result latencies follow llvm-aie's AIE2 scheduling model (llvm/lib/Target/AIE/AIE2Schedule.td, "
        "itineraries read as def stage - use stage + 1, with the MOV/VEC bypasses): scalar ALU 1, scalar "
        "mul 2, loads 7, bf16 MACs 6 (accumulator input read at issue + 2), integer MACs 5, vector ALU 2, "
        "moves and conversions 2, vsrs 4, vups 3. Branches: 5 delay slots (llvm-aie control-flow.mir). "
        "Memory stages: loads and vst at issue + 4 (E5), vst.conv / vst.srs at issue + 6 (E7). The Peano "
        "listing for one bf16 MAC (scalable-analyses/xdna bf16_mac.s) runs on this model with no hazard.",
        "",
        "## Numerics",
        "",
        "bf16 storage, denormals flushed to zero (AM020: no denormal support). MAC accumulation in fp32: "
        f"mode `{cfg.fp_mode}` (aie: every addend of one MAC is aligned to the largest exponent with 23 "
        "fraction bits, rounded to nearest even, summed exactly, normalised once, as AM020 ch.4 describes; "
        "ieee: the exact sum rounded once).",
        "",
        "## Pipeline mode",
        "",
        f"`{cfg.pipeline}`"
        + (
            " (ablation: a bundle waits until its operands have landed; kernels that rely on reading old "
            "values behave differently)"
            if cfg.interlocked
            else " (as the hardware: early reads see old values)"
        ),
        "",
    ]
    return "\n".join(out)


GUIDANCE = """\
# AIE-ML-like tile: guidance

## How a kernel is called

The harness moves all data. Per call it fills input tiles in local memory, sets p0..p5 and r0..r7 as
the I/O contract says, and calls your entry label; you compute and `ret lr`. Everything the contract
does not load is undefined (poisoned in final scoring). Write every entry label the contract names.

## Worked example (assembled and run by the test suite)

```asm
{example}
```

## Checklist

- Latency: a load's data is usable 7 bundles after it issues, a vmac.f's result 6, a vector ALU or
  move result 2. A dependent vmac.f on one accumulator may issue every 4 bundles: keep 4 or more
  accumulators busy to issue one vmac.f per cycle.
- Keep the V slot busy: put loads (slots A and B), the store (S) and scalar work (X, M) in the same
  bundles as the vmac.f operations.
- Zero-overhead loops: `movxm ls, #start`, `movxm le, #last_bundle_label`, `movxm lc, #count` at least
  7 bundles before the loop's last bundle. lc counts iterations (the body always runs at least once).
- Branches have 5 delay slots that always execute; fill them with useful work (e.g. the final stores
  after `ret lr`).
- One accumulator load/store per bundle. Vector addresses must be 32-byte aligned.
- bf16 lanes 16..31 of the MAC inputs take part in the elementwise mode (lane i pairs with i + 16):
  zero them for a plain product.
- exp, reciprocal and 1/sqrt have no instruction: build them from vmul.f/vmac.f, vadd.f, conversions
  and integer lane operations (the constant table holds the usual magic numbers and coefficients).
- Bank conflicts stall the whole core: two loads in one bundle should read different 16 KB banks.
- Use check_syntax: it reports every bundle-rule violation and the hazards it can see.
"""


def render_docs(cfg: AieConfig = DEFAULT_CONFIG) -> dict[str, str]:
    return {
        "isa": _isa(cfg),
        "memory_layout": _memory(cfg),
        "hardware": _hardware(cfg),
        "guidance": GUIDANCE.replace("{example}", WORKED_EXAMPLE.rstrip()),
    }
