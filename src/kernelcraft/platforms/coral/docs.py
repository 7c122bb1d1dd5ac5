"""The agent-facing Coral NPU docs, generated from the instruction table and the configuration.

isa: every instruction the simulator implements (from isa.TABLE), with its timing class;
memory_layout: the memory map and where the harness puts things (from the config);
hardware: the pipeline and every number the timing model uses, each with its source;
guidance: how to write a fast, correct kernel, with a worked example the tests assemble and run.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from .config import SOURCES, CoralConfig
from .isa import CSR_NAMES, GROUPS, PSEUDO, TABLE, InstrDef
from .stats import STALL_CAUSES, STALL_TEXT
from .toolchain import extdata_base

# Measured on the simulator with the default configuration (tests/platforms/coral/test_coral_timing.py
# measures them again and fails when they drift): what the start-up code costs.
STARTUP_CYCLES = 56  # reset to halt with an empty main (li a0, 0; ret)
BSS_CYCLES_PER_BYTE = 0.625  # the start-up code zeroes .bss one word per 2.5 cycles

# Steady-state cycles per loop body of vector loads (from the DTCM) and arithmetic: how far the
# two overlap inside the 8-uop RVV reorder buffer. Measured like the numbers above.
OVERLAP_ROWS = (
    ("vle8.v m1 (1 uop)", "vle8.v v1, (a0)", "e8, m1", 5),
    ("3 independent vwmacc.vv e8 m1 (6 uops)", "VWMACC3", "e8, m1", 3),
    ("vle8.v m1 + the 3 vwmacc (7 uops in all)", "vle8.v v1, (a0)\nVWMACC3", "e8, m1", 5),
    ("vle8.v m1 + 4 vwmacc (9 uops: one too many)", "vle8.v v1, (a0)\nVWMACC4", "e8, m1", 7),
    ("vle16.v m4 (4 uops)", "vle16.v v0, (a0)", "e16, m4", 17),
    ("2 vwmacc.vv e16 m4 (16 uops)", "WIDE2", "e16, m4", 8),
    ("vle16.v m4 + the 2 vwmacc, independent registers", "vle16.v v0, (a0)\nWIDE2", "e16, m4", 23),
    ("vle8.v m8 (8 uops)", "vle8.v v8, (a0)", "e8, m8", 33),
    ("vle8.v m8 + vadd.vv m8", "vle8.v v8, (a0)\nvadd.vv v16, v0, v24", "e8, m8", 35),
)
OVERLAP_MACROS = {
    "VWMACC3": "vwmacc.vv v8, v4, v5\nvwmacc.vv v10, v4, v5\nvwmacc.vv v12, v4, v5",
    "VWMACC4": "vwmacc.vv v8, v4, v5\nvwmacc.vv v10, v4, v5\nvwmacc.vv v12, v4, v5\nvwmacc.vv v14, v4, v5",
    "WIDE2": "vwmacc.vv v8, v4, v20\nvwmacc.vv v24, v4, v20",
}


def overlap_body(body: str) -> str:
    """The assembly of an OVERLAP_ROWS loop body."""
    for name, text in OVERLAP_MACROS.items():
        body = body.replace(name, text)
    return "".join(f"    {line}\n" for line in body.split("\n"))


# What each timing class costs, in words (numbers filled from the configuration).
UNIT_TEXT = {
    "alu": "ALU: result next cycle (4 ALUs)",
    "mul": "multiplier: {mul_latency} cycles, one per cycle",
    "div": "divider: about {divider_base} + bits of |rs1| cycles, not pipelined, slot 0",
    "load": (
        "LSU: result {load_use} cycles after dispatch (DTCM); one load per {scalar_load_slot_cycles} cycles"
    ),
    "store": "LSU: one store per {scalar_store_slot_cycles} cycles (DTCM)",
    "fload": "LSU, like lw",
    "fstore": "LSU, like sw",
    "branch": "resolves next cycle; a mispredict costs 3 bubbles",
    "jal": "predicted taken: no refetch bubble",
    "jalr": "always refetched: 3 bubbles",
    "csr": "slot 0 alone; waits for the retirement buffer to drain",
    "fpu": "FPU: {fpu_latency} cycles, one float op in flight, slot 0",
    "fdiv": "FPU divide/sqrt: {fpu_divsqrt_latency} cycles, slot 0",
    "fence": "waits for the LSU to drain; ends the dispatch group",
    "mpause": "waits until the core is idle, then halts",
    "system": "ends the run",
    "vset": "front end only (no back-end uop); rd ready next cycle",
    "valu": "vector ALU: 1 uop per register of the group, latency {rvv_alu_latency}, 2 uops/cycle",
    "vmac": "vector MAC: 1 uop per register, latency {rvv_mac_latency}, 2 uops/cycle",
    "vdiv": "vector divider: iterative, about 5 (e8) to 13 (e32) cycles per uop",
    "vred": "permute/reduction unit: 1 uop/cycle, result about LMUL + 2 cycles",
    "vwred": "permute/reduction unit: 1 uop every 2 cycles",
    "vcmp": "permute/reduction unit (compares): 1 uop/cycle",
    "vperm": "permute/reduction unit: waits for all uops, then 1 register/cycle",
    "vtoscalar": "result reaches the scalar register about 6-7 cycles after dispatch",
    "vload": "LSU: per register n + 3 cycles for n 16-byte lines touched, +1 per instruction",
    "vstore": "LSU: per register n + 2 cycles, +1 per instruction",
}


def _unit(unit: str, c: CoralConfig) -> str:
    values = dict(c.to_dict(), load_use=c.scalar_load_use + 1)
    return UNIT_TEXT[unit].format(**values)


def _families(defs: list[InstrDef]) -> list[tuple[str, str, InstrDef]]:
    """Collapse load/store variants (EEW, segment count) into one row per family."""
    out: OrderedDict[str, tuple[list[str], InstrDef]] = OrderedDict()
    for d in defs:
        if d.unit not in ("vload", "vstore"):
            out[d.name] = ([d.name], d)
            continue
        family = re.sub(r"seg\d", "seg<n>", re.sub(r"(e|ei)(8|16|32)", r"\1<eew>", d.name))
        family = re.sub(r"^(vl|vs)(\d)r", r"\1<n>r", family)
        out.setdefault(family, ([], d))[0].append(d.name)
    rows = []
    for family, (names, d) in out.items():
        if len(names) == 1:
            rows.append((names[0], d.summary, d))
        else:
            eews = sorted({int(m) for n in names for m in re.findall(r"(?:e|ei)(8|16|32)", n)})
            segs = sorted({int(m) for n in names for m in re.findall(r"seg(\d)", n)})
            regs = sorted({int(m) for n in names for m in re.findall(r"^v[ls](\d)r", n)})
            label = family.replace("<eew>", "{" + ",".join(map(str, eews)) + "}") if eews else family
            label = label.replace("<n>", "{" + ",".join(map(str, segs or regs)) + "}")
            summary = d.summary.replace("8-bit elements", "EEW-bit elements").replace(
                "(8-bit byte", "(EEW-bit byte"
            )
            summary = re.sub(r"^(load|store) 2 interleaved", r"\1 n interleaved", summary)
            summary = re.sub(r"of 2 interleaved", "of n interleaved", summary)
            summary = re.sub(r"(load|store) 1 whole register\(s\)", r"\1 n whole registers", summary)
            rows.append((label, summary, d))
    return rows


def isa_doc(c: CoralConfig) -> str:
    lines = [
        "# Coral NPU ISA reference",
        "",
        "RV32IMF + Zicsr + Zifencei + Zbb scalar core with the Zve32x vector extension (RVV 1.0, integer "
        f"only): VLEN = {c.vlen} bits, ELEN = {c.elen}, XLEN = 32, no C (compressed) extension, no D, no "
        "vector floating point. Kernels are GNU assembler text (`.S`, run through the C preprocessor, so "
        "`#define` works); the assembler is LLVM's (clang).",
        "",
        "## Registers",
        "",
        "- `x0`-`x31` (ABI names `zero ra sp gp tp t0-t6 s0-s11 a0-a7`; there is no `t7`). `x0` reads 0.",
        "- `f0`-`f31`: 32-bit floats (`ft0-ft11 fs0-fs11 fa0-fa7`).",
        f"- `v0`-`v31`: {c.vlen}-bit vector registers. One register holds 16 x int8 (e8), 8 x int16 (e16) or "
        "4 x int32 (e32). With LMUL = 2, 4, 8 an instruction works on a group of 2, 4, 8 registers whose "
        "first "
        "register number must be a multiple of LMUL (v8 for m8, v4/v8/v12 for m4, ...).",
        "- `v0` is also the mask: `v0.t` on an instruction makes element i active only when bit i of v0 is "
        "set.",
        "",
        "## vtype, vl and the vector CSRs",
        "",
        "`vsetvli rd, rs1, eSEW, mLMUL, ta|tu, ma|mu` sets SEW (e8, e16, e32) and LMUL (mf4, mf2, m1, m2, "
        "m4, m8) and vl = min(rs1, VLMAX) with VLMAX = LMUL * 128 / SEW (e8 m8: 128 elements; e32 m1: 4). "
        "`rs1 = zero` with `rd != zero` asks for VLMAX; `vsetivli` takes a 5-bit immediate. Legal: e8 with "
        "mf4..m8, e16 with mf2..m8, e32 with m1..m8; anything else sets vill and every later vector "
        "instruction traps until a legal vsetvli. Reset state: vill set (run a vsetvli before any vector "
        "op).",
        "",
        "- Tail elements (past vl) and masked-off elements are left unchanged whatever ta/ma say.",
        "- Widening instructions (`vw*`) write 2*SEW elements to a group of 2*LMUL registers (LMUL <= 4, "
        "SEW <= 16); narrowing ones (`vn*`) read a 2*SEW source group. `vsext.vf2/vzext.vf2` need SEW >= 16 "
        "(the destination SEW), `.vf4` SEW = 32: set the destination SEW first.",
        "- `.vi` immediates are 5 bits: -16..15 (shift, slide and gather amounts 0..31).",
        "- A masked instruction (v0.t) cannot write v0 itself unless it writes a mask (compares).",
        "- Fixed point: `vxrm` (CSR 0x00A) picks rounding for vsmul, vssra/vssrl, vnclip, vaadd: 0 rnu "
        "(round to nearest, ties up), 1 rne, 2 rdn (truncate), 3 rod; it resets to 0. `vxsat` records "
        "saturation. `csrwi vxrm, 0` sets it explicitly.",
        "- `vstart` must be 0 for reductions, vcpop, vfirst, vmsbf/vmsif/vmsof, viota and vcompress.",
        "- Vector loads/stores may use unaligned addresses (the LSU works in bytes); scalar loads/stores "
        "may too (an access that crosses a 16-byte line costs one more bus access).",
        "",
        "CSRs: "
        + ", ".join(f"`{n}`" for n in CSR_NAMES.values() if not n.startswith(("kscm", "mcontext")))
        + ". `mcycle`/`mcycleh` count cycles (the user-level `cycle`, `time`, `instret` do not exist: "
        "`rdcycle` traps). `vl`, `vtype` and `vlenb` (reads 16) are read-only.",
        "",
        "## Timing classes",
        "",
        "The last column of each table names the instruction's timing class (details in hardware.md):",
        "",
        "| class | cost |",
        "|---|---|",
        *[f"| {unit} | {_unit(unit, c)} |" for unit in UNIT_TEXT],
        "",
    ]
    by_group: dict[str, list[InstrDef]] = {}
    for d in TABLE:
        by_group.setdefault(d.group, []).append(d)
    for group in GROUPS:
        lines += [
            f"## {group}",
            "",
            "| instruction | operands | what it does | timing |",
            "|---|---|---|---|",
        ]
        for name, summary, d in _families(by_group.get(group, [])):
            operands = d.syntax.replace("vm", "[v0.t]") if d.syntax else ""
            lines.append(f"| `{name}` | `{operands}` | {summary} | {d.unit} |")
        lines.append("")
    lines += [
        "## Not available",
        "",
        "Vector floating point (vfadd, vfmul, vfcvt, ...), e64, the C extension, atomics (A), D, user "
        "counters (`rdcycle`, `rdtime`, `rdinstret`) and interrupts. `ecall` traps (there is no OS); "
        "`ebreak` halts with a fault.",
        "",
        "## Vector pseudo-instructions",
        "",
        "The assembler also accepts these; each becomes the real instruction(s) shown and costs what "
        "they cost.",
        "",
        "| pseudo-instruction | operands | becomes | what it does |",
        "|---|---|---|---|",
        *[
            f"| `{p.name}` | `{p.syntax.replace('vm', '[v0.t]')}` | `{p.expansion}` | {p.summary} |"
            for p in PSEUDO
        ],
        "",
    ]
    return "\n".join(lines)


def _region_rows(c: CoralConfig) -> str:
    rows = [
        ("ITCM", c.itcm_base, c.itcm_end, f"{c.itcm_size // 1024} KB",
         "code (`.text`), then `.rodata`; loads may read it, stores fault"),
        ("DTCM", c.dtcm_base, c.dtcm_end, f"{c.dtcm_size // 1024} KB",
         f"`.data`, `.bss`, then the stack ({c.stack_size} bytes at the top); 1-cycle SRAM"),
        ("external memory", c.ext_base, c.ext_end, f"{c.ext_size // 1024 // 1024} MB",
         "the task's inputs, tables and output; over AXI, one transaction at a time"),
    ]  # fmt: skip
    return "\n".join(
        f"| {name} | {lo:#010x}-{hi - 1:#010x} | {size} | {what} |" for name, lo, hi, size, what in rows
    )


def _overlap_rows() -> str:
    return "\n".join(f"| {label} | {vtype} | {cycles} |" for label, _body, vtype, cycles in OVERLAP_ROWS)


def _stall_rows() -> str:
    return "\n".join(f"| `{cause}` | {STALL_TEXT[cause]} |" for cause in STALL_CAUSES)


def _unit_rows(c: CoralConfig) -> str:
    alu = "ALU (add, logic, shifts, min/max, saturating, narrowing, moves, mask ops)"
    mac = "MUL/MAC (vmul*, vwmul*, vmacc*, vwmacc*, vsmul)"
    return "\n".join(
        [
            f"| {alu} | {c.rvv_alu_units} | {c.rvv_alu_latency} | 2 uops/cycle |",
            f"| {mac} | {c.rvv_mac_units} | {c.rvv_mac_latency} | "
            "16 int8 MACs per uop: vwmacc e8 m1 = 16 MAC/cycle |",
        ]
    )


def memory_doc(c: CoralConfig) -> str:
    return f"""# Coral NPU memory layout

| region | addresses | size | what lives there |
|---|---|---|---|
{_region_rows(c)}

Every other address faults (the AXI bus answers SLVERR), as do stores to the ITCM and instruction
fetches outside it. Loads and stores of any size work at any alignment.

## What the harness does

1. Loads the program (ITCM and DTCM contents from the ELF) and writes the task's inputs and constant
   tables into external memory at the addresses the I/O contract of the task gives: the first input
   at {c.ext_base:#x}, each next one right after (16-byte aligned), then the tables, then the output
   buffer 4 KB-aligned after them.
2. Releases reset at `_start` (our start-up code): it sets `sp` to the top of the DTCM and `gp`, zeroes
   the integer registers and `.bss`, enables the vector and float units and calls `main`.
3. When `main` returns 0 the start-up code executes `mpause` (`.word 0x08000073`): the core waits
   until every outstanding load, store and vector instruction is done and halts. A non-zero return
   ends in `ebreak`, a failure.
4. Reads the output buffer from external memory and compares it with the reference, exactly.

Cycles count from reset release to the halt: the start-up code (about {STARTUP_CYCLES} cycles with an
empty `main`), `main`, and the drain before `mpause`. The start-up code zeroes `.bss` inside that
count, about {BSS_CYCLES_PER_BYTE} cycles per byte: a 4 KB `.bss` buffer adds about
{round(4096 * BSS_CYCLES_PER_BYTE):,} cycles to every run (a `.bss` buffer nothing refers to is dropped
by the linker and costs nothing). `.data` is part of the program image and costs nothing.

## Your own buffers

- DTCM scratch: declare it in `.data` (`.data`, `.balign 16`, then `buf: .space 4096`): free, and it
  starts as declared. Avoid `.bss` for big buffers (see above: zeroing it is counted). Or use
  addresses in {c.dtcm_base:#x}..{c.dtcm_end:#x} below the stack directly. The DTCM is much faster than
  external memory for data you touch more than once.
- Extra external-memory space: `.section .extdata,"aw",@nobits` then labels with `.space`. The linker
  places `.extdata` at {extdata_base(c):#x}, in the upper half of external memory, above every task's
  inputs, tables and output (the harness lays those out from {c.ext_base:#x} upwards, and none reaches
  {extdata_base(c):#x}). It is not initialised. Fixed addresses past the end of the output buffer work
  too.
- `.data` and `.bss` start as declared (`.data` with its values, `.bss` zeroed). Memory the contract
  does not initialise (the output buffer, DTCM you did not declare, `.extdata`, the rest of external
  memory) holds garbage in every evaluation: write before you read.
"""


def hardware_doc(c: CoralConfig) -> str:
    rows = "\n".join(
        f"| `{name}` | {value} | {SOURCES.get(name, '')} |" for name, value in c.to_dict().items()
    )
    return f"""# Coral NPU hardware (timing model)

Configuration profile: **{c.profile}** (the RTL as of Feb 2026: fetch every other cycle, an 8-entry
retirement buffer, automatic LMUL reduction). Clock {c.clock_ghz} GHz for showing time; scores are cycles.

## The scalar core

- **Fetch.** One aligned 16-byte line (4 instructions) per fetch, a fetch every other cycle: at most 2
  instructions per cycle in straight-line code. A line can dispatch 2 cycles after its fetch. Jumps
  (`jal`) and backward branches are predicted taken, forward branches not taken, `jalr` is never
  predicted; a wrong guess (or any `jalr`, incl. `ret`) costs 3 bubbles: the next useful instruction
  dispatches 4 cycles after the branch.
- **Dispatch.** Up to 4 instructions per cycle, strictly in order. Nothing dispatches after a branch or
  jump in the same cycle. CSR accesses, fences, float ops, divides and `mpause` go alone from slot 0.
  One multiply per cycle. Register dependences: an ALU result can be used the next cycle; a load
  address (rs1 of loads/stores), a `jalr` target and store data need one cycle more.
- **Retirement buffer.** At most {c.retirement_buffer} instructions in flight; they retire in order. A
  vector instruction stays until its last uop retires, so a long vector load at the head holds up
  everything behind it: when {c.retirement_buffer} instructions are unfinished the scalar core stops
  dispatching (`retirement` stalls). CSR reads (e.g. `csrr t0, mcycle`) wait until it is empty.
- **Load/store unit.** One queue of {c.lsu_queue} and a single slot that does one access at a time, in
  order, for scalar and vector accesses alike: a scalar load takes {c.scalar_load_slot_cycles} cycles of
  the slot (result {c.scalar_load_use + 1} cycles after dispatch), a store {c.scalar_store_slot_cycles}.
  A vector load takes n + 3 cycles per register of the group (n = distinct 16-byte lines it touches:
  1 for aligned unit stride, up to 16 for strided/indexed) plus 1 per instruction; a vector store
  n + 2 per register + 1.
  External memory: every bus access is an AXI round trip of about {c.axi_roundtrip} cycles instead of 1, so
  a vector load costs about 3 + 3n per register there (vle8 m8 ~49 cycles vs ~33 from the DTCM).
  A vector load/store cannot dispatch in the cycle right after any vector instruction, arithmetic
  included, or after a vsetvli earlier in the same cycle (the RTL's config interlock: `vector_config`
  stalls; usually hidden behind the load/store slot).

## The vector unit

The scalar core hands vector instructions to the vector unit and goes on without waiting for their
results (up to 8 per cycle of queue capacity), but each keeps its retirement-buffer entry until its
last uop retires, so the scalar core runs at most {c.retirement_buffer} instructions ahead of the
vector work. The vector unit: a front-end stage, decode (2 instructions, 6 uops per cycle), dispatch
(3 uops per cycle, in order, operands read at dispatch: a uop waits until its sources are complete,
there is no chaining), an {c.rvv_rob}-uop reorder buffer, in-order retire (4 per cycle). Each uop
works on one 128-bit register: an instruction at LMUL = m takes m uops (widening ones 2m), and the RTL
shrinks LMUL to what vl needs.

| unit | count | latency | notes |
|---|---|---|---|
{_unit_rows(c)}
| permute/reduction (vred*, compares, gather, slides, compress) | 1 | LMUL + 2 | one unit for all of them |
| divider (vdiv, vrem) | 1 | 5-13 per uop | iterative |

Results that go back to scalar registers (vmv.x.s, vcpop.m, vfirst.m) arrive 6-7 cycles after dispatch.

### Loads and arithmetic overlap only inside the {c.rvv_rob}-uop window

A vector load's uops (one per register of its group) hold reorder-buffer entries from dispatch until
their data arrives from the load/store slot (n + 3 cycles per register), and retirement is in order:
arithmetic behind a load runs only in the entries the load leaves free, and retires after it. Beside
an m1 load (1 uop, 5 cycles) up to {c.rvv_rob - 1} arithmetic uops cost nothing; beside an m4 load only
{c.rvv_rob - 4}; an m8 load fills the window by itself. With large groups a loop costs about the load
time plus the arithmetic that did not fit. Measured (steady state, per loop body, data in the DTCM,
registers independent):

| loop body | vtype | cycles |
|---|---|---|
{_overlap_rows()}

So: to hide arithmetic under loads, load in m1 or m2 pieces interleaved with arithmetic on registers
loaded earlier; to stream bytes with little arithmetic, m8 loads move the most bytes per cycle (33
cycles per 128 bytes against 40 for eight m1 loads). Software pipelining with large groups gains
nothing: the window, not the order, is the limit.

## Dispatch stalls

run_evaluation counts the cycles the scalar core could not dispatch its next instruction, by cause
(each stalled cycle goes to the last rule that pushed the instruction later):

| label | meaning |
|---|---|
{_stall_rows()}

Large `retirement` shares are normal for vector kernels: the scalar side is waiting for the vector
unit, so cut vector work (fewer load instructions and 16-byte lines, fewer uops), not scalar code.

## Every number and its source

| parameter | value | source |
|---|---|---|
{rows}
"""


WORKED_EXAMPLE = """    # y[i] = min(|a[i] - b[i]|, 127) for N int8 pairs in external memory, 128 a pass
    .equ N, 1000
    .equ A_ADDR, 0x20000000
    .equ B_ADDR, 0x20000400
    .equ Y_ADDR, 0x20001000
    .text
    .globl main
main:
    li a0, A_ADDR
    li a1, B_ADDR
    li a2, Y_ADDR
    li a3, N
1:  vsetvli t0, a3, e8, m8, ta, ma      # t0 = elements this pass (<= 128; the last pass is shorter)
    vle8.v v8, (a0)
    vle8.v v16, (a1)
    vmax.vv v24, v8, v16                # the larger of each pair
    vmin.vv v8, v8, v16                 # the smaller
    vssub.vv v24, v24, v8               # larger - smaller, saturated at 127
    vse8.v v24, (a2)
    add a0, a0, t0
    add a1, a1, t0
    add a2, a2, t0
    sub a3, a3, t0
    bnez a3, 1b
    li a0, 0                            # success
    ret
"""
WORKED_EXAMPLE_N = 1000
WORKED_EXAMPLE_ADDRESSES = {"a": 0x20000000, "b": 0x20000400, "y": 0x20001000}

DOT_EXAMPLE = """    # int32 dot product of two int8 vectors of length a2 at a0, a1 -> a0
dot:
    vsetivli zero, 1, e32, m1, ta, ma
    vmv.s.x v16, zero                   # running sum in v16[0]
2:  vsetvli t0, a2, e8, m2, ta, ma      # 32 int8 per pass
    vle8.v v2, (a0)
    vle8.v v4, (a1)
    vwmul.vv v8, v2, v4                 # int16 products (e16, m4: v8..v11)
    vsetvli zero, t0, e16, m4, ta, ma
    vwredsum.vs v16, v8, v16            # int32 sum
    add a0, a0, t0
    add a1, a1, t0
    sub a2, a2, t0
    bnez a2, 2b
    vsetivli zero, 1, e32, m1, ta, ma
    vmv.x.s a0, v16
    ret
"""

REQUANT_EXAMPLE = """    # requantise 4 int32 accumulators in v8 to int8 at a1
    # (multiplier M in a2, shift in a3, output zero point in a4)
    csrwi vxrm, 0                       # round to nearest, ties up
    vsetivli zero, 4, e32, m1, ta, ma
    vsmul.vx v8, v8, a2                 # (acc * M + 2^30) >> 31, saturating
    vssra.vx v8, v8, a3                 # (v + 2^(s-1)) >> s
    vadd.vx v8, v8, a4                  # output zero point
    vsetivli zero, 4, e16, mf2, ta, ma
    vnclip.wi v9, v8, 0                 # saturate to int16
    vsetivli zero, 4, e8, mf4, ta, ma
    vnclip.wi v10, v9, 0                # saturate to int8
    vse8.v v10, (a1)
"""


def guidance_doc(c: CoralConfig) -> str:
    return f"""# Writing Coral NPU kernels: guidance

## Rules

- Use the vector unit for all data processing; keep scalar code for loop control and addresses.
- The output must end up in external memory at the contract's address. Everything you read must be
  an input, a table of the contract, or something you wrote first.
- Start every vector section with a `vsetvli` (the reset vtype is illegal); set it again whenever
  SEW/LMUL change, e.g. before `vsext.vf2` (destination SEW) or after a widening op.
- Strip-mine: `vsetvli t0, a2, e8, m8, ta, ma` returns how many elements this pass handles; advance
  pointers by it and loop until the count reaches 0.
- Match the integer algorithm exactly: int8 x int8 products fit int16 (`vwmul`), sums need int32
  (`vwmacc` on int16 operands, `vwredsum`). Requantise with `vsmul` and `vssra` under vxrm = 0 and
  narrow with `vnclip` (saturating) as the task says. Table lookups are gathers: `vluxei16.v` with
  byte offsets (index = x + 128, zero-extended), or `vrgather` for tables of up to 128 entries.
- `main` must return 0 with sp and s0-s11 as it found them (the harness checks): save and restore
  the s-registers (and ra if you call) on the stack if you use them.

## Pitfalls that cost runs

- There is no `t7`; `.vi` immediates are -16..15; `addi` immediates -2048..2047 (use `li`).
- LMUL register groups must be aligned (v8, v16, v24 for m8) and must not overlap operands you still
  need: a widening op at m4 writes 8 registers.
- No vector float: `vfadd`, `vfmul`, `vfcvt` do not exist on Coral NPU.
- `vsext.vf2`/`vzext.vf2` take the *destination* SEW: set e16 before extending e8 data.
- A masked instruction uses v0 as the mask: do not keep data in v0.
- Loads from the output buffer, DTCM you did not declare or `.extdata` before you wrote them return
  garbage in every evaluation (yours and final scoring).
- DTCM buffers belong in `.data`, not `.bss`: the start-up code zeroes `.bss` inside your cycles.

## Performance

- The vector unit is the limit, not the scalar code: the single load/store slot (n + 3 cycles per
  register loaded, n = 16-byte lines) and the 8-uop reorder buffer, which a load's uops occupy until
  their data arrives. Vector loads and arithmetic overlap only inside that window (hardware.md has
  the rule and measurements): beside an m1 load up to 7 arithmetic uops are free, beside an m4 load 4,
  beside an m8 load none, so with big groups a loop costs about load time + arithmetic. Count the load
  instructions, lines and uops of your loop; cut those.
- Pure data movement: big groups move the most bytes per cycle (e8 m8: 128 bytes in 33 cycles from
  the DTCM); unit-stride beats strided or indexed (one bus access per 16-byte line instead of per
  element).
- External memory costs about 3 cycles per 16-byte line, the DTCM 1: copy data you reuse (weights,
  a tile of the input) into the DTCM once, compute from there, write results back.
- The 2 MAC units: vwmacc at e8 m1 is 16 MACs per cycle. A chain of vwmacc into one accumulator waits
  the 3-cycle MAC latency each time; independent accumulators remove that wait. Reductions
  (`vredsum`, `vwredsum`) go through one slow unit: accumulate across elements in registers and
  reduce once at the end.
- `retirement` stalls (often most of them) mean the scalar core is waiting for vector work to
  finish: see the stall table in hardware.md.
- Moving values back to scalar registers (`vmv.x.s`, `vcpop.m`) costs 6-7 cycles each: avoid it
  inside loops.
- Fetch delivers at most 2 instructions per cycle and every taken loop branch refetches: unroll short
  loops a little. `ret`/`jalr` always costs 3 bubbles.
- `csrr t0, mcycle` before and after a section measures it (it waits for the pipeline to drain).

## Worked example

Saturating absolute difference of two int8 arrays (not one of the tasks): y[i] = min(|a[i] - b[i]|,
127) for 1000 pairs, a at 0x20000000, b at 0x20000400, y at 0x20001000. It shows strip-mining with a
shorter last pass, two input streams and a saturating operation:

```asm
{WORKED_EXAMPLE}```

Helpers you can adapt (a dot product with a widening multiply and a widening reduction; a
requantisation of int32 accumulators to int8):

```asm
{DOT_EXAMPLE}```

```asm
{REQUANT_EXAMPLE}```
"""


def render_docs(config: CoralConfig) -> dict[str, str]:
    return {
        "isa": isa_doc(config),
        "memory_layout": memory_doc(config),
        "hardware": hardware_doc(config),
        "guidance": guidance_doc(config),
    }
