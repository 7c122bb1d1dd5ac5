"""The bare-metal runtime every program is linked with: memory map, start-up code, linker script.

A program is our start-up code (`_start`) plus the kernel. `_start` zeroes every register
(so a kernel sees the same state on rvsim and on Spike), enables the FPU, points mtvec at a
handler that records an unexpected trap, zeroes .bss, sets the stack, loads a0..a7 from the
argument block the task image provides, calls `kernel` with the standard LP64 calling
convention, stores the returned a0/a1 and ends the run through the HTIF `tohost` word
(value 1: exit code 0). Everything runs in machine mode unless the kernel itself drops to
user mode (the pmp task does).
"""

from __future__ import annotations

from dataclasses import dataclass

RAM_BASE = 0x8000_0000
PROGRAM_BYTES = 0x10_0000  # code, read-only data, data and bss of the program
STACK_BASE = 0x8010_0000
STACK_TOP = 0x8014_0000  # 256 KiB, growing down
DATA_BASE = 0x8020_0000  # the task window: argument block, then the task's buffers
ARGS_ADDR = DATA_BASE  # a0..a7 passed to kernel, 8 bytes each
RESULT_ADDR = DATA_BASE + 0x40  # a0, a1 as kernel returned them
FAULT_ADDR = DATA_BASE + 0x60  # mcause, mepc, mtval, flag (1 = the start-up trap handler ran)
BUFFERS_BASE = DATA_BASE + 0x1000
DATA_LIMIT = 0x8100_0000
RAM_BYTES = 64 << 20

EXIT_OK = 0
EXIT_TRAP = 3  # the start-up code's trap handler ended the run

ENTRY_SYMBOL = "kernel"


@dataclass(frozen=True)
class Region:
    name: str
    start: int
    end: int
    what: str


MEMORY_MAP = (
    Region(
        "program",
        RAM_BASE,
        RAM_BASE + PROGRAM_BYTES,
        "start-up code, then your .text, .rodata, .data and .bss (zeroed), and the tohost word",
    ),
    Region("stack", STACK_BASE, STACK_TOP, f"sp starts at the top ({STACK_TOP:#x}) and grows down"),
    Region("arguments", ARGS_ADDR, ARGS_ADDR + 0x40, "the values loaded into a0..a7 before kernel is called"),
    Region("return", RESULT_ADDR, RESULT_ADDR + 0x10, "a0 and a1 as kernel returned them"),
    Region(
        "task buffers", BUFFERS_BASE, DATA_LIMIT, "inputs, outputs and scratch of the task (see the contract)"
    ),
)

CRT_SOURCE = f"""\
    .option norelax
    .section .text.kc_start, "ax", @progbits
    .globl _start
_start:
{chr(10).join(f"    li x{i}, 0" for i in range(1, 32))}
    li t0, 0x2000              # mstatus.FS = Initial: the F and D instructions are usable
    csrs mstatus, t0
{chr(10).join(f"    fmv.d.x f{i}, zero" for i in range(32))}
    csrwi fcsr, 0
    la t0, __kc_trap
    csrw mtvec, t0
    la t0, __bss_start
    la t1, __bss_end
1:  bgeu t0, t1, 2f
    sd zero, 0(t0)
    addi t0, t0, 8
    j 1b
2:  li sp, {STACK_TOP:#x}
    li t6, {ARGS_ADDR:#x}
    ld a0, 0(t6)
    ld a1, 8(t6)
    ld a2, 16(t6)
    ld a3, 24(t6)
    ld a4, 32(t6)
    ld a5, 40(t6)
    ld a6, 48(t6)
    ld a7, 56(t6)
    li t0, 0
    li t1, 0
    li t6, 0
    call {ENTRY_SYMBOL}
    li t0, {RESULT_ADDR:#x}
    sd a0, 0(t0)
    sd a1, 8(t0)
    fence
    li t0, 1
    la t1, tohost
    sd t0, 0(t1)
3:  j 3b

    .p2align 2
__kc_trap:                     # an unexpected trap: record it and end the run
    csrr t0, mcause
    csrr t1, mepc
    csrr t2, mtval
    li t3, {FAULT_ADDR:#x}
    sd t0, 0(t3)
    sd t1, 8(t3)
    sd t2, 16(t3)
    li t4, 1
    sd t4, 24(t3)
    fence
    li t0, {(EXIT_TRAP << 1) | 1}
    la t1, tohost
    sd t0, 0(t1)
4:  j 4b
    .globl __kc_start_end
__kc_start_end:                # the kernel's code follows

    .section .tohost, "aw", @progbits
    .p2align 6
    .globl tohost
tohost:
    .dword 0
    .p2align 6
    .globl fromhost
fromhost:
    .dword 0
"""

LINKER_SCRIPT = f"""\
OUTPUT_ARCH(riscv)
ENTRY(_start)
MEMORY {{ PROGRAM (rwx) : ORIGIN = {RAM_BASE:#x}, LENGTH = {PROGRAM_BYTES:#x} }}
SECTIONS
{{
  .text : {{ *(.text.kc_start) *(.text .text.*) }} > PROGRAM
  .rodata : ALIGN(8) {{ *(.rodata .rodata.* .srodata .srodata.*) }} > PROGRAM
  .data : ALIGN(8) {{ *(.data .data.* .sdata .sdata.*) }} > PROGRAM
  .bss (NOLOAD) : ALIGN(8) {{
    __bss_start = .;
    *(.bss .bss.* .sbss .sbss.* COMMON)
    . = ALIGN(8);
    __bss_end = .;
  }} > PROGRAM
  .tohost : ALIGN(64) {{ *(.tohost) }} > PROGRAM
  /DISCARD/ : {{ *(.note.GNU-stack) *(.comment) *(.eh_frame) }}
  begin_signature = {DATA_BASE:#x};
  end_signature = {DATA_BASE:#x};
}}
"""
