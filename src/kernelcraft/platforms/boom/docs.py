"""The BOOM agent docs, generated from the tables the platform runs on.

isa: the RV64GC subset reference (isa.INSTRUCTIONS) and the kernel conventions.
memory_layout: the memory map (runtime.MEMORY_MAP) and how a task's buffers are placed.
hardware: the BOOM preset as rvsim runs it, every number with its source (config.sources).
guidance: how to work on this target. The I/O contract of an instance is rendered here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import isa, runtime
from .config import BOOM_COMMIT, BOOM_REPO, DEFAULT_CONFIG, L2_COMMIT, L2_REPO, BoomConfig, sources

if TYPE_CHECKING:
    from .evaluation import BoomInstance

# Measured on the default preset (tests/platforms/boom/test_boom_docs.py measures it again): the
# cycles of a run whose kernel is a bare `ret`, i.e. the start-up code on cold caches.
STARTUP_CYCLES = 945

C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "uint16": "uint16_t",
    "int32": "int32_t",
    "uint32": "uint32_t",
    "int64": "int64_t",
    "uint64": "uint64_t",
}


def render_isa(cfg: BoomConfig) -> str:
    lines = [
        "# RV64GC reference (BOOM)",
        "",
        "BOOM implements RV64GC: the base integer ISA RV64I with M (multiply/divide), A (atomics), "
        "F and D (single and double floating point), C (16-bit compressed encodings), Zicsr and "
        "Zifencei, with machine, supervisor and user modes. There is no vector (V) extension and no "
        "bit-manipulation (Zba/Zbb/Zbs: no min/max, clz, rev8 instructions).",
        "",
        "## Writing a kernel",
        "",
        "- GNU assembler syntax, run through the C preprocessor first (`#define`, `//` and `/* */` "
        "comments, `#` at the start of a line only for directives). `.macro`, `.equ`, `.rept`, "
        "local numeric labels (`1:` ... `1b`/`1f`) all work. File inclusion is not allowed.",
        f"- Define a global function `{runtime.ENTRY_SYMBOL}` (`.globl {runtime.ENTRY_SYMBOL}` then "
        f"`{runtime.ENTRY_SYMBOL}:`). It is called with the standard RISC-V LP64 calling convention: "
        "arguments in a0..a7 (see the task's C signature), return value in a0, return with `ret`. "
        "sp points to a 16-byte aligned stack; s0..s11 and sp must be as they were when you return "
        "(ra too, or you cannot return): the harness checks them after kernel returns and fails the run "
        "(an abi fault) if any changed. Everything runs in machine mode.",
        "- You may add `.data`, `.rodata` and `.bss` sections (tables, scratch); .bss is zeroed.",
        "- The assembler picks 16-bit compressed encodings by itself where one fits "
        "(`.option norvc` turns that off); it also expands pseudo-instructions such as `li` and `la`.",
        "- Registers: x0/zero (always 0), ra, sp, gp, tp, t0..t6 (temporaries), s0..s11 "
        "(callee-saved), a0..a7 (arguments/results); f0..f31 for floating point.",
        "",
        "## Instructions",
        "",
        "| mnemonic | ext | operands | class | what it does |",
        "|---|---|---|---|---|",
    ]
    for ins in isa.INSTRUCTIONS:
        lines.append(f"| `{ins.mnemonic}` | {ins.extension} | {ins.operands} | {ins.category} | {ins.what} |")
    lines += [
        "",
        "## Traps and privileged state used by the tasks",
        "",
        "- CSRs: mstatus (MPP in bits 12:11: 0 = user, 3 = machine), mtvec (trap vector, direct mode: "
        "4-byte aligned address), mepc, mcause, mtval, mscratch, pmpcfg0, pmpaddr0..pmpaddr7, "
        "cycle/instret (read-only counters).",
        "- A trap saves the pc in mepc, the cause in mcause (2 illegal instruction, 4/6 misaligned "
        "load/store, 5/7 load/store access fault, 8 ecall from user mode, 11 ecall from machine mode) "
        "and the faulting address in mtval, then jumps to mtvec in machine mode. `mret` returns to "
        "mepc in the mode held in mstatus.MPP. The faulting instruction may be 2 bytes long (a "
        "compressed encoding): to skip it, resume at a label of yours, or put `.option norvc` around "
        "the code that may fault so that mepc + 4 is right.",
        "- The start-up code's mtvec handler ends the run on any trap. If you install your own, put the "
        "start-up one back (read mtvec first) before returning.",
        f"- PMP: {cfg.pmp_entries} entries (pmpcfg0 holds their 8 configuration bytes, entry i in bits "
        "8i+7..8i: R bit 0, W bit 1, X bit 2, A bits 4:3 = 0 off / 1 TOR / 2 NA4 / 3 NAPOT, L bit 7). "
        "pmpaddr holds address >> 2; a TOR entry i covers [pmpaddr(i-1) << 2, pmpaddr(i) << 2) (from "
        "0 for entry 0); a NAPOT entry of 2^k bytes at base b holds (b >> 2) | (2^(k-3) - 1). The "
        "lowest-numbered entry containing an access decides it; in user mode an access no entry "
        "contains is denied; machine mode is only checked by locked (L) entries. R=0 with W=1 is "
        "reserved: do not use it.",
        "- Misaligned loads and stores trap (mcause 4 or 6), as on BOOM: align every access to its size.",
        "",
    ]
    return "\n".join(lines)


def render_memory_layout(cfg: BoomConfig) -> str:
    lines = [
        "# Memory layout (BOOM)",
        "",
        f"RAM is {runtime.RAM_BYTES >> 20} MiB at {runtime.RAM_BASE:#x}; physical addresses, no "
        "virtual memory (machine mode, bare). Loads and stores outside RAM fault.",
        "",
        "| region | from | to | contents |",
        "|---|---|---|---|",
    ]
    for region in runtime.MEMORY_MAP:
        lines.append(f"| {region.name} | {region.start:#x} | {region.end:#x} | {region.what} |")
    lines += [
        "",
        "## How a run goes",
        "",
        "1. The start-up code sets every register to 0, enables the FPU, installs a trap handler, "
        "zeroes your .bss, sets sp, loads a0..a7 from the argument block and calls `kernel`.",
        "2. Your kernel computes the task's output into the output buffers (or returns it in a0).",
        "3. When `kernel` returns, the start-up code stores a0/a1 and ends the run (HTIF tohost). "
        "An unexpected trap ends the run as a fault and reports the pc, your source line, mcause "
        "and mtval.",
        "",
        f"The start-up code and the cold instruction cache cost about {STARTUP_CYCLES:,} cycles of every "
        "run (a kernel that only returns takes that long); the rest is yours.",
        "",
        "## Task buffers",
        "",
        f"Each task's buffers start at {runtime.BUFFERS_BASE:#x}, in the order of the C signature, "
        "each 64-byte aligned (copy deliberately misaligns its two blocks; the pmp arena is 4 KiB "
        "aligned and placed last), with at least 64 bytes between buffers. The task prompt gives "
        "every address and the register holding it. Input buffers hold the inputs; output and "
        "scratch buffers, the gaps between buffers and the stack are not initialised: in every "
        "evaluation (your run_evaluation calls as well as final scoring) they hold random poison "
        "bytes, so never read memory you did not write (except inputs). Arrays are little-endian, "
        "row-major, elements packed (int32 = 4 bytes).",
        "",
        "A write into an input buffer, or into the gaps between and after the task's buffers, fails "
        "the run (an out_of_bounds fault with the first address written). Write only the output and "
        "scratch buffers, your own .data/.bss and the stack.",
        "",
    ]
    return "\n".join(lines)


HARDWARE_ROWS = (
    (
        "fetch",
        "fetch_bytes",
        lambda c: f"{c.fetch_bytes} bytes/cycle ({c.fetch_width} 16-bit parcels)",
        lambda c: f"fetch_width={c.fetch_instructions} (32-bit instructions)",
    ),
    (
        "decode / rename / commit width",
        "decode_width",
        lambda c: str(c.decode_width),
        lambda c: f"width={c.decode_width}",
    ),
    (
        "reorder buffer",
        "rob_entries",
        lambda c: f"{c.rob_entries} entries",
        lambda c: f"rob_size={c.rob_entries}",
    ),
    (
        "integer issue queue",
        "int_iq",
        lambda c: f"{c.int_iq.entries} entries, {c.int_iq.issue_width} issue/cycle",
        lambda c: "one unified queue (below)",
    ),
    (
        "memory issue queue",
        "mem_iq",
        lambda c: f"{c.mem_iq.entries} entries, {c.mem_iq.issue_width} issue/cycle",
        lambda c: "one unified queue (below)",
    ),
    (
        "FP issue queue",
        "fp_iq",
        lambda c: f"{c.fp_iq.entries} entries, {c.fp_iq.issue_width} issue/cycle",
        lambda c: f"issue_queue_size={c.issue_queue_entries}, issue_width={c.issue_width}",
    ),
    (
        "integer physical registers",
        "int_phys_regs",
        lambda c: str(c.int_phys_regs),
        lambda c: f"prf_gpr_size={c.int_phys_regs}",
    ),
    (
        "FP physical registers",
        "fp_phys_regs",
        lambda c: str(c.fp_phys_regs),
        lambda c: f"prf_fpr_size={c.fp_phys_regs}",
    ),
    (
        "load queue",
        "ldq_entries",
        lambda c: f"{c.ldq_entries} entries",
        lambda c: f"load_queue_size={c.ldq_entries}",
    ),
    (
        "store queue",
        "stq_entries",
        lambda c: f"{c.stq_entries} entries",
        lambda c: f"store_buffer_size={c.stq_entries}",
    ),
    (
        "branches in flight",
        "max_br_count",
        lambda c: str(c.max_br_count),
        lambda c: f"checkpoint_count={c.max_br_count}",
    ),
    (
        "fetch buffer",
        "fetch_buffer_entries",
        lambda c: f"{c.fetch_buffer_entries} entries",
        lambda c: "not modelled",
    ),
    ("fetch target queue", "ftq_entries", lambda c: f"{c.ftq_entries} entries", lambda c: "not modelled"),
    (
        "branch predictor",
        "tage_tables",
        lambda c: (
            "TAGE-L: "
            + ", ".join(f"{s}x{h}" for s, h, _ in c.tage_tables)
            + " (sets x history), loop predictor, "
            "BIM, BTB, micro-BTB"
        ),
        lambda c: f"TAGE {len(c.tage_tables)} tables x {c.tage_entries_per_table}, bimodal {c.bim_entries}",
    ),
    (
        "TAGE useful-bit reset period",
        "tage_u_bit_period",
        lambda c: str(c.tage_u_bit_period),
        lambda c: f"reset_interval={c.tage_u_bit_period}",
    ),
    ("BIM", "bim_sets", lambda c: f"{c.bim_sets} sets", lambda c: f"bimodal_entries={c.bim_entries}"),
    (
        "BTB",
        "btb_sets",
        lambda c: f"{c.btb_sets} sets x {c.btb_ways} ways",
        lambda c: f"btb_size={c.btb_entries}",
    ),
    (
        "return address stack",
        "ras_entries",
        lambda c: f"{c.ras_entries} entries",
        lambda c: f"ras_size={c.ras_entries}",
    ),
    (
        "integer ALU latency",
        "alu_latency",
        lambda c: f"{c.alu_latency} cycle",
        lambda c: f"IntAlu x{c.int_iq.issue_width}",
    ),
    (
        "multiply latency",
        "imul_latency",
        lambda c: f"{c.imul_latency} cycles, pipelined",
        lambda c: "IntMul x1",
    ),
    (
        "divide latency",
        "div_latency",
        lambda c: f"up to {c.div_latency} cycles, iterative",
        lambda c: "IntDiv x1, fixed",
    ),
    (
        "FP add/mul/FMA latency",
        "fma_latency",
        lambda c: f"{c.fma_latency} cycles",
        lambda c: f"FpAdd/FpMul/FpFma x{c.fp_iq.issue_width}",
    ),
    (
        "FP divide/sqrt latency",
        "fdiv_latency",
        lambda c: f"{c.fdiv_latency} cycles",
        lambda c: "FpDivSqrt x1",
    ),
    ("cache line", "line_bytes", lambda c: f"{c.line_bytes} bytes", lambda c: "all caches"),
    (
        "L1 data cache",
        "l1d_ways",
        lambda c: f"{c.l1d_bytes // 1024} KiB, {c.l1_sets} sets x {c.l1d_ways} ways, {c.l1d_mshrs} MSHRs",
        lambda c: f"l1d {c.l1d_bytes // 1024}KB {c.l1d_ways}-way, mshr_count={c.l1d_mshrs}",
    ),
    (
        "L1 data hit latency",
        "l1d_latency",
        lambda c: f"{c.l1d_latency + 1} cycles load-to-use",
        lambda c: f"latency={c.l1d_latency}",
    ),
    (
        "L1 data prefetcher",
        "l1d_prefetch",
        lambda c: "next-line" if c.l1d_prefetch else "none",
        lambda c: "NextLine(1)" if c.l1d_prefetch else "Off",
    ),
    (
        "L1 instruction cache",
        "l1i_ways",
        lambda c: f"{c.l1i_bytes // 1024} KiB, {c.l1_sets} sets x {c.l1i_ways} ways",
        lambda c: f"l1i {c.l1i_bytes // 1024}KB {c.l1i_ways}-way",
    ),
    (
        "L1 instruction hit latency",
        "l1i_latency",
        lambda c: f"{c.l1i_latency} cycle",
        lambda c: f"latency={c.l1i_latency}",
    ),
    ("L2 cache", "l2_kib", lambda c: f"{c.l2_kib} KiB", lambda c: f"l2 {c.l2_kib}KB"),
    ("L2 ways", "l2_ways", lambda c: str(c.l2_ways), lambda c: f"{c.l2_ways}-way"),
    ("L2 hit latency", "l2_latency", lambda c: f"{c.l2_latency} cycles", lambda c: f"latency={c.l2_latency}"),
    (
        "DRAM latency",
        "dram_latency",
        lambda c: f"{c.dram_latency} cycles",
        lambda c: "MemoryController.Simple",
    ),
    (
        "PMP entries",
        "pmp_entries",
        lambda c: f"{c.pmp_entries} (grain {c.pmp_granularity} bytes)",
        lambda c: "rvsim implements 16; the build rejects entries 8..15",
    ),
    (
        "data TLB",
        "tlb_entries",
        lambda c: f"{c.tlb_entries} entries",
        lambda c: f"tlb_size={c.tlb_entries} (unused: bare mode)",
    ),
    ("misaligned access", "misaligned_trap", lambda c: "traps", lambda c: "misaligned_access_trap=True"),
    (
        "trap entry",
        "trap_latency",
        lambda c: f"{c.trap_latency} cycles",
        lambda c: f"trap_latency={c.trap_latency}",
    ),
    (
        "system bus",
        "bus_latency",
        lambda c: f"{c.bus_latency} cycles",
        lambda c: f"bus_latency={c.bus_latency}",
    ),
    (
        "branch mispredict penalty",
        "mispredict",
        lambda c: "about 12 cycles (measured on the Large preset)",
        lambda c: "not a parameter: rvsim's pipeline depth and redirect",
    ),
    ("clock", "clock_mhz", lambda c: f"{c.clock_mhz} MHz", lambda c: f"cpu_clock_mhz={c.clock_mhz}"),
    (
        "RAM",
        "ram_mib",
        lambda c: f"{runtime.RAM_BYTES >> 20} MiB at {runtime.RAM_BASE:#x}",
        lambda c: "ram_size",
    ),
)


def hardware_table(cfg: BoomConfig) -> list[str]:
    src = sources(cfg.preset)
    rows = ["| parameter | BOOM value | rvsim setting | source |", "|---|---|---|---|"]
    for label, key, value, setting in HARDWARE_ROWS:
        rows.append(f"| {label} | {value(cfg)} | {setting(cfg)} | {src.get(key, 'our choice')} |")
    return rows


def render_hardware(cfg: BoomConfig) -> str:
    lines = [
        f"# Hardware: {cfg.label}",
        "",
        f"An out-of-order RV64GC core configured as BOOM v3's {cfg.preset.capitalize()}Boom preset "
        "(WithN" + cfg.preset.capitalize() + "Booms), simulated cycle by cycle by rvsim. Cycles are "
        "counted from the first instruction of the start-up code to the end of the run, caches cold.",
        "",
        "## Timing you will feel",
        "",
        "| instructions | latency | throughput |",
        "|---|---|---|",
    ]
    for row in isa.latency_rows(cfg):
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"- Up to {cfg.decode_width} instructions decode, rename and commit per cycle; the reorder buffer "
        f"holds {cfg.rob_entries}. Independent work overlaps; a dependence chain runs at its latency.",
        f"- One L1 data access per cycle ({cfg.mem_iq.issue_width} memory pipe). A miss goes to the L2 "
        f"({cfg.l2_latency} cycles) and then DRAM ({cfg.dram_latency} cycles); at most {cfg.l1d_mshrs} "
        "misses are outstanding. Every run starts with cold caches: streaming kernels are bound by misses.",
        f"- run_evaluation splits L1D misses: a primary miss fetches a {cfg.line_bytes}-byte line; a "
        "secondary miss is an access to a line already being fetched, which waits for it and fetches "
        "nothing. Streaming over an array gives about one primary miss per line and a secondary miss "
        f"for most other accesses to it ({cfg.line_bytes // 4} int32 per line): that is the cold start, "
        "not thrashing. Primary misses cost DRAM round trips; fewer, wider accesses cut the secondary ones.",
        f"- The start-up code and the cold instruction cache cost about {STARTUP_CYCLES:,} cycles of "
        "every run.",
        "- A mispredicted branch flushes the younger work and refetches (about 12 cycles). "
        "Data-dependent branches on random data mispredict half the time; branch-free code "
        "(slt, masks, xor) avoids that.",
        "- Division is slow and not pipelined; multiply is pipelined.",
        "",
        "## Configuration and sources",
        "",
        f"Sources are files of {BOOM_REPO} at commit {BOOM_COMMIT[:12]} (BOOM v3 lives under "
        "src/main/scala/v3/ since March 2024; before that the same mixins were in "
        "src/main/scala/common/config-mixins.scala), of " + f"{L2_REPO} at {L2_COMMIT[:12]}, or our choice.",
        "",
        *hardware_table(cfg),
        "",
        "rvsim cannot express every BOOM structure; the platform docs (docs/boom.md) list what is "
        "approximated: split issue queues become one queue, BOOM's fetch packets, fetch buffer, fetch "
        "target queue, micro-BTB and loop predictor are not modelled, and the divider has a fixed latency.",
        "",
    ]
    return "\n".join(lines)


def render_guidance(cfg: BoomConfig) -> str:
    return "\n".join(
        [
            "# Guidance (BOOM)",
            "",
            "1. Read the task's C signature: arguments arrive in a0..a7 in that order; pointers are "
            "absolute addresses. Write the complete kernel, save it, run it. The first goal is 100% match.",
            "2. Keep to the calling convention: save and restore s-registers (and ra if you call) on the "
            "stack, keep sp 16-byte aligned, return with `ret`.",
            "3. Use the right widths: `lw` sign-extends 32-bit data, `lwu`/`lbu` zero-extend; `addw`/`mulw` "
            "wrap at 32 bits and sign-extend; 64-bit results use `add`/`mul`.",
            "4. Then optimise, reading run_evaluation's counters: cycles, instructions, IPC, branch "
            "mispredicts and L1 misses. Unroll loops to cut branches and overlap loads; keep "
            "independent chains (several accumulators); replace unpredictable branches by branch-free "
            "sequences; move data in 8-byte words where the task allows; avoid div/rem in loops.",
            "5. Never read memory you did not write except the inputs: every evaluation (yours and final "
            "scoring) fills outputs, scratch, gaps and the stack with random bytes; scoring also runs "
            "other inputs. Return with sp and s0..s11 as you found them (checked).",
            "6. An unexpected trap ends the run with pc, your source line, mcause and mtval; "
            "a run that does not finish within the instruction limit is stopped.",
            "",
        ]
    )


def render_docs(cfg: BoomConfig = DEFAULT_CONFIG) -> dict[str, str]:
    return {
        "isa": render_isa(cfg),
        "memory_layout": render_memory_layout(cfg),
        "hardware": render_hardware(cfg),
        "guidance": render_guidance(cfg),
    }


def _describe(source: str, inst: BoomInstance) -> str:
    values = inst.inputs[source]
    return f"{C_TYPES.get(values.dtype.name, values.dtype.name)}[{'x'.join(str(d) for d in values.shape)}]"


def render_contract(inst: BoomInstance) -> str:
    plan = inst.layout
    contract = plan.contract
    task = inst.task
    lines = [
        f"## I/O contract: {inst.label()}",
        "",
        "Your kernel is the C function",
        "",
        f"    {contract.signature};",
        "",
        "called in machine mode with these arguments:",
        "",
        "| register | argument | value |",
        "|---|---|---|",
    ]
    by_name = {b.name: b for b in plan.buffers}
    for i, (arg, value) in enumerate(zip(contract.args, plan.registers, strict=True)):
        if arg.role == "param":
            desc = f"{value} (the task's {arg.source})"
        else:
            buf = by_name[arg.name]
            source = f"input {arg.source}" if arg.role in ("input", "inout") else arg.role
            desc = (
                f"{value:#x}: {C_TYPES.get(buf.dtype, buf.dtype)}[{buf.count}], {buf.nbytes} bytes ({source})"
            )
        lines.append(f"| a{i} | {arg.name} | {desc} |")
    lines += ["", "### Buffers", "", "| buffer | address | type | role |", "|---|---|---|---|"]
    roles = {
        "input": "input (initialised)",
        "output": "output (not initialised)",
        "inout": "input and output: transformed in place",
        "scratch": "scratch (not initialised)",
    }
    for buf in plan.buffers:
        arg = next(a for a in contract.args if a.name == buf.name)
        shape = (
            _describe(arg.source, inst)
            if arg.role in ("input", "inout")
            else f"{C_TYPES.get(buf.dtype, buf.dtype)}[{buf.count}]"
        )
        lines.append(f"| {buf.name} | {buf.address:#x} .. {buf.end:#x} | {shape} | {roles[buf.role]} |")
    lines += ["", "### Output", ""]
    dtype = task.integer.output_dtype
    if contract.outputs:
        parts = " then ".join(f"`{name}`" for name in contract.outputs)
        lines.append(
            f"The output is {parts} after `kernel` returns, compared element by element with the "
            f"reference ({C_TYPES.get(dtype, dtype)}, {int(np.prod(inst.output_shape))} elements): "
            "exact equality."
        )
    else:
        lines.append(f"The output is the return value in a0 ({C_TYPES.get(dtype, dtype)}): exact equality.")
    if contract.notes:
        lines += ["", f"Note: {contract.notes}."]
    lines += [
        "",
        f"Exactly: {task.integer.algorithm}.",
        "",
        "Memory the contract does not initialise (outputs, scratch, the gaps between buffers, the stack) "
        "holds random poison bytes in every evaluation (yours and final scoring, which also runs other "
        "input values).",
    ]
    return "\n".join(lines) + "\n"
