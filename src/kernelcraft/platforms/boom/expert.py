"""Hand-written RV64GC kernels for the ten CPU tasks: what an assembly programmer writes.

Written directly in assembly (not compiled), each is correct for every input the task
allows and takes a different approach from the C baseline where an assembly programmer
would (hardware multiply instead of shift-and-add, word copies with shifts for misaligned
blocks, branch-free medians, Shell sort, a name-order table in dhrystone, a register-only
user-mode loop in pmp). They show the headroom over the compiler on each task, and give
the tests and the Spike differential check a second, independently written solution.
(The scripted "oracle" model plays the baseline, as on every platform.)
"""

from __future__ import annotations

EXPERT_KERNELS: dict[str, str] = {
    "multiply": """\
# out[i] = a[i] * b[i] (low 32 bits): mulw gives the shift-and-add result directly.
    .text
    .globl kernel
kernel:                         # a0 = n, a1 = a, a2 = b, a3 = out
    srli t6, a0, 2              # groups of four
    andi a0, a0, 3              # leftovers
    beqz t6, 2f
1:  lw t0, 0(a1)
    lw t1, 0(a2)
    lw t2, 4(a1)
    lw t3, 4(a2)
    lw t4, 8(a1)
    lw t5, 8(a2)
    lw a4, 12(a1)
    lw a5, 12(a2)
    mulw t0, t0, t1
    mulw t2, t2, t3
    mulw t4, t4, t5
    mulw a4, a4, a5
    sw t0, 0(a3)
    sw t2, 4(a3)
    sw t4, 8(a3)
    sw a4, 12(a3)
    addi a1, a1, 16
    addi a2, a2, 16
    addi a3, a3, 16
    addi t6, t6, -1
    bnez t6, 1b
2:  beqz a0, 4f
3:  lw t0, 0(a1)
    lw t1, 0(a2)
    mulw t0, t0, t1
    sw t0, 0(a3)
    addi a1, a1, 4
    addi a2, a2, 4
    addi a3, a3, 4
    addi a0, a0, -1
    bnez a0, 3b
4:  ret
""",
    "vvadd": """\
# c[i] = a[i] + b[i] (wrapping 32-bit), four per iteration.
    .text
    .globl kernel
kernel:                         # a0 = n, a1 = a, a2 = b, a3 = c
    srli t6, a0, 2
    andi a0, a0, 3
    beqz t6, 2f
1:  lw t0, 0(a1)
    lw t1, 0(a2)
    lw t2, 4(a1)
    lw t3, 4(a2)
    lw t4, 8(a1)
    lw t5, 8(a2)
    lw a4, 12(a1)
    lw a5, 12(a2)
    addw t0, t0, t1
    addw t2, t2, t3
    addw t4, t4, t5
    addw a4, a4, a5
    sw t0, 0(a3)
    sw t2, 4(a3)
    sw t4, 8(a3)
    sw a4, 12(a3)
    addi a1, a1, 16
    addi a2, a2, 16
    addi a3, a3, 16
    addi t6, t6, -1
    bnez t6, 1b
2:  beqz a0, 4f
3:  lw t0, 0(a1)
    lw t1, 0(a2)
    addw t0, t0, t1
    sw t0, 0(a3)
    addi a1, a1, 4
    addi a2, a2, 4
    addi a3, a3, 4
    addi a0, a0, -1
    bnez a0, 3b
4:  ret
""",
    "copy": """\
# memcpy: bytes until dst is 8-byte aligned, then doublewords (when src is misaligned,
# each stored doubleword is spliced from two aligned loads with shifts), then the tail.
    .text
    .globl kernel
kernel:                         # a0 = dst, a1 = src, a2 = n
    beqz a2, done
head:
    andi t0, a0, 7
    beqz t0, dst_aligned
    lbu t1, 0(a1)
    sb t1, 0(a0)
    addi a0, a0, 1
    addi a1, a1, 1
    addi a2, a2, -1
    bnez a2, head
    ret
dst_aligned:
    li t6, 8
    bltu a2, t6, tail
    srli a4, a2, 3              # whole doublewords
    andi a2, a2, 7              # bytes left after them
    slli a5, a4, 3
    add a5, a0, a5              # dst end of the doubleword part
    andi t0, a1, 7              # src misalignment in bytes
    beqz t0, same_alignment
    slli t1, t0, 3              # right shift for the low part: 8*s
    sub t2, zero, t1            # left shift for the high part: 64 - 8*s (mod 64)
    sub a3, a1, t0              # src rounded down to 8 bytes
    ld t3, 0(a3)
splice:
    ld t4, 8(a3)
    srl t5, t3, t1
    sll a6, t4, t2
    or t5, t5, a6
    sd t5, 0(a0)
    mv t3, t4
    addi a3, a3, 8
    addi a0, a0, 8
    bne a0, a5, splice
    add a1, a3, t0              # src after the doublewords
    j tail
same_alignment:
    ld t4, 0(a1)
    sd t4, 0(a0)
    addi a1, a1, 8
    addi a0, a0, 8
    bne a0, a5, same_alignment
tail:
    beqz a2, done
1:  lbu t1, 0(a1)
    sb t1, 0(a0)
    addi a1, a1, 1
    addi a0, a0, 1
    addi a2, a2, -1
    bnez a2, 1b
done:
    ret
""",
    "median": """\
# Three-point median without branches: (lo, hi) = minmax(a, b); out = max(lo, min(hi, c)).
    .text
    .globl kernel
kernel:                         # a0 = n, a1 = in, a2 = out
    blez a0, done
    lw t0, 0(a1)
    sw t0, 0(a2)                # out[0] = in[0]
    li t6, 1
    beq a0, t6, done
    slli t6, a0, 2
    add a5, a1, t6
    lw t6, -4(a5)
    add a4, a2, a0
    add a4, a4, a0
    add a4, a4, a0
    add a4, a4, a0
    sw t6, -4(a4)               # out[n-1] = in[n-1]
    li t6, 3
    blt a0, t6, done
    lw t0, 0(a1)                # window: t0, t1, then t2 loaded each step
    lw t1, 4(a1)
    addi a1, a1, 8
    addi a2, a2, 4
    addi a4, a4, -4             # stop before out[n-1]
loop:
    lw t2, 0(a1)
    slt t3, t1, t0              # minmax(t0, t1) -> (a6, a7)
    neg t3, t3
    xor t4, t0, t1
    and t4, t4, t3
    xor a6, t0, t4              # lo
    xor a7, t1, t4              # hi
    slt t3, t2, a7              # m = min(hi, c)
    neg t3, t3
    xor t4, a7, t2
    and t4, t4, t3
    xor a7, a7, t4
    slt t3, a6, a7              # max(lo, m)
    neg t3, t3
    xor t4, a6, a7
    and t4, t4, t3
    xor a6, a6, t4
    sw a6, 0(a2)
    mv t0, t1
    mv t1, t2
    addi a1, a1, 4
    addi a2, a2, 4
    bne a2, a4, loop
done:
    ret
""",
    "dotprod": """\
# sum of a[i]*b[i] in 64 bits, two independent accumulators to hide the multiply latency.
    .text
    .globl kernel
kernel:                         # a0 = n, a1 = a, a2 = b; returns the sum in a0
    li a5, 0
    li a6, 0
    srli t6, a0, 1
    andi a0, a0, 1
    beqz t6, 2f
1:  lw t0, 0(a1)
    lw t1, 0(a2)
    lw t2, 4(a1)
    lw t3, 4(a2)
    mul t0, t0, t1
    mul t2, t2, t3
    add a5, a5, t0
    add a6, a6, t2
    addi a1, a1, 8
    addi a2, a2, 8
    addi t6, t6, -1
    bnez t6, 1b
2:  beqz a0, 3f
    lw t0, 0(a1)
    lw t1, 0(a2)
    mul t0, t0, t1
    add a5, a5, t0
3:  add a0, a5, a6
    ret
""",
    "qsort": """\
# Shell sort (in place) with Ciura's gap sequence: gapped insertion sorts, then a plain one.
    .section .rodata
    .p2align 2
gaps:
    .word 701, 301, 132, 57, 23, 10, 4, 1, 0
    .text
    .globl kernel
kernel:                         # a0 = n, a1 = data
    la t6, gaps
next_gap:
    lw t0, 0(t6)                # gap
    beqz t0, done
    addi t6, t6, 4
    bge t0, a0, next_gap
    slli t4, t0, 2              # gap in bytes
    mv t1, t0                   # i = gap
outer:
    bge t1, a0, next_gap
    slli t2, t1, 2
    add t2, a1, t2              # &a[i]
    lw t3, 0(t2)                # v = a[i]
    mv t5, t2                   # hole at j = i
inner:
    sub a2, t5, t4              # &a[j - gap]
    bltu a2, a1, place
    lw a3, 0(a2)
    ble a3, t3, place
    sw a3, 0(t5)
    mv t5, a2
    j inner
place:
    sw t3, 0(t5)
    addi t1, t1, 1
    j outer
done:
    ret
""",
    "rsort": """\
# LSD radix sort: four passes of 8-bit digits between keys and scratch; counts on the stack.
    .text
    .globl kernel
kernel:                         # a0 = n, a1 = keys, a2 = scratch
    addi sp, sp, -1024
    mv a3, a1                   # src
    mv a4, a2                   # dst
    li a5, 0                    # shift
    slli a6, a0, 2              # n in bytes
pass:
    mv t0, sp                   # clear 256 counts
    addi t1, sp, 1024
1:  sd zero, 0(t0)
    addi t0, t0, 8
    bne t0, t1, 1b
    mv t0, a3                   # count digits
    add t1, a3, a6
    beq t0, t1, 3f
2:  lwu t2, 0(t0)
    srl t2, t2, a5
    andi t2, t2, 255
    slli t2, t2, 2
    add t2, sp, t2
    lw t3, 0(t2)
    addi t3, t3, 1
    sw t3, 0(t2)
    addi t0, t0, 4
    bne t0, t1, 2b
3:  mv t0, sp                   # exclusive prefix sums
    addi t1, sp, 1024
    li t2, 0
4:  lw t3, 0(t0)
    sw t2, 0(t0)
    add t2, t2, t3
    addi t0, t0, 4
    bne t0, t1, 4b
    mv t0, a3                   # scatter
    add t1, a3, a6
    beq t0, t1, 6f
5:  lwu t2, 0(t0)
    srl t3, t2, a5
    andi t3, t3, 255
    slli t3, t3, 2
    add t3, sp, t3
    lw t4, 0(t3)
    addi t5, t4, 1
    sw t5, 0(t3)
    slli t4, t4, 2
    add t4, a4, t4
    sw t2, 0(t4)
    addi t0, t0, 4
    bne t0, t1, 5b
6:  mv t0, a3                   # swap src and dst
    mv a3, a4
    mv a4, t0
    addi a5, a5, 8
    li t0, 32
    bne a5, t0, pass
    addi sp, sp, 1024
    ret
""",
    "towers": """\
# Recursive Towers of Hanoi; moves are appended through t6. hanoi(n, from, to, via).
    .text
    .globl kernel
kernel:                         # a0 = discs, a1 = sel, a2 = moves
    addi sp, sp, -16
    sd ra, 0(sp)
    mv t6, a2
    lw t0, 0(a1)
    lw t1, 4(a1)
    li t2, 3
    remu t0, t0, t2             # source = sel[0] mod 3
    andi t1, t1, 1              # sel[1] mod 2 (sel is never negative)
    add t1, t1, t0
    addi t1, t1, 1
    remu t1, t1, t2             # target
    sub a3, t2, t0
    sub a3, a3, t1              # spare
    mv a1, t0
    mv a2, t1
    call hanoi
    ld ra, 0(sp)
    addi sp, sp, 16
    ret

hanoi:                          # a0 = n, a1 = from, a2 = to, a3 = via
    beqz a0, 2f
    addi sp, sp, -48
    sd ra, 0(sp)
    sd a0, 8(sp)
    sd a1, 16(sp)
    sd a2, 24(sp)
    sd a3, 32(sp)
    addi a0, a0, -1             # hanoi(n - 1, from, via, to)
    mv t0, a2
    mv a2, a3
    mv a3, t0
    call hanoi
    ld a0, 8(sp)
    ld a1, 16(sp)
    ld a2, 24(sp)
    ld a3, 32(sp)
    slli t0, a0, 8              # record (n << 8) | (from << 4) | to
    slli t1, a1, 4
    or t0, t0, t1
    or t0, t0, a2
    sw t0, 0(t6)
    addi t6, t6, 4
    addi a0, a0, -1             # hanoi(n - 1, via, to, from), as a tail call
    mv t0, a1
    mv a1, a3
    mv a3, t0
    ld ra, 0(sp)
    addi sp, sp, 48
    j hanoi
2:  ret
""",
    "dhrystone": """\
# The mixed-integer loop. The name order depends only on t & 7, so the eight orders are
# computed once into a table; per record a branch on the kind picks the arithmetic.
    .text
    .globl kernel
kernel:                         # a0 = r, a1 = recs, a2 = table, a3 = out
    addi sp, sp, -96            # 0..63: order of names 0..7; 64..95: counts
    sd zero, 64(sp)
    sd zero, 72(sp)
    sd zero, 80(sp)
    sd zero, 88(sp)
    li t0, 0                    # name index j
order_loop:
    slli t1, t0, 4
    add t1, a2, t1              # table + 16*j
    li t2, 0                    # byte index
    li t5, 0                    # order (0: equal)
cmp_loop:
    add t3, t1, t2
    lbu t3, 0(t3)
    add t4, a2, t2
    lbu t4, 0(t4)
    bne t3, t4, differ
    addi t2, t2, 1
    li t6, 16
    blt t2, t6, cmp_loop
    j store_order
differ:
    li t5, 1
    bgeu t3, t4, store_order
    li t5, -1
store_order:
    slli t6, t0, 3
    add t6, sp, t6
    sd t5, 0(t6)
    addi t0, t0, 1
    li t6, 8
    blt t0, t6, order_loop

    li a4, 0                    # acc
    li t0, 0                    # i
records:
    bge t0, a0, finish
    lw t1, 0(a1)                # kind
    lw t2, 4(a1)                # x
    lw t3, 8(a1)                # y
    lw t4, 12(a1)               # name index
    andi t1, t1, 3
    andi t4, t4, 7
    slli t4, t4, 3
    add t4, sp, t4
    ld t4, 0(t4)                # order
    li t5, 1
    beqz t1, kind0
    beq t1, t5, kind1
    li t5, 2
    beq t1, t5, kind2
    mv t5, t2                   # kind 3: x / y, or x when y == 0
    beqz t3, applied
    div t5, t2, t3
    j applied
kind0:
    add t5, t2, t3
    j applied
kind1:
    mul t5, t2, t3
    j applied
kind2:
    slli t5, t2, 3
    sub t5, t5, t3
applied:
    bgez t4, 1f
    neg t5, t5
    j 2f
1:  bnez t4, 2f
    add t5, t5, t0
2:  slli t6, a4, 5              # acc = acc * 33 + value
    add a4, a4, t6
    add a4, a4, t5
    sd t5, 0(a3)
    slli t1, t1, 3
    add t1, sp, t1
    ld t6, 64(t1)
    addi t6, t6, 1
    sd t6, 64(t1)
    addi a1, a1, 16
    addi a3, a3, 8
    addi t0, t0, 1
    j records
finish:
    sd a4, 0(a3)
    ld t1, 64(sp)
    sd t1, 8(a3)
    ld t1, 72(sp)
    sd t1, 16(a3)
    ld t1, 80(sp)
    sd t1, 24(a3)
    ld t1, 88(sp)
    sd t1, 32(a3)
    addi sp, sp, 96
    ret
""",
    "pmp": """\
# PMP entries 2r, 2r+1 implement region r (entry 2r is the TOR bottom); entries 6-7 give user
# mode [RAM base, arena) with RWX. The user-mode loop keeps everything in registers; the
# trap handler reports a denied access in s5 (mcause) and s6 (mtval) and skips it; the
# final ecall restores the machine-mode context and returns to the caller.
    .equ RAM_BASE, 0x80000000
    .macro REGION index, bottom, top, shift
    lw t0, 0(a1)                # mode
    lw t1, 4(a1)                # start granule
    lw t2, 8(a1)                # size order
    lw t3, 12(a1)               # permission index
    addi a1, a1, 16
    andi t2, t2, 3
    li t4, 256
    sll t4, t4, t2              # size
    slli t1, t1, 6              # start offset
    andi t3, t3, 3
    li t5, 1
    sll t5, t5, t3
    addi t5, t5, -1             # permission bits: 0, 1, 3, 7
    andi t0, t0, 1
    beqz t0, 1f
    addi t6, t4, -1             # NAPOT
    not t6, t6
    and t1, t1, t6              # start rounded down to the size
    add t1, a0, t1
    srli t1, t1, 2
    srli t4, t4, 3
    addi t4, t4, -1
    or t1, t1, t4
    csrw \\top, t1
    ori t5, t5, 0x18
    j 2f
1:  add t6, t1, t4              # TOR: [start, min(start + size, 4096))
    li t4, 4096
    ble t6, t4, 3f
    mv t6, t4
3:  add t1, a0, t1
    srli t1, t1, 2
    csrw \\bottom, t1
    add t6, a0, t6
    srli t6, t6, 2
    csrw \\top, t6
    ori t5, t5, 0x08
2:  slli t5, t5, \\shift
    or a5, a5, t5
    .endm

    .bss
    .p2align 3
saved:
    .zero 96

    .text
    .globl kernel
kernel:                         # a0 = arena, a1 = regions, a2 = accesses, a3 = values, a4 = records
    la t0, saved
    sd ra, 0(t0)
    sd sp, 8(t0)
    sd s0, 16(t0)
    sd s1, 24(t0)
    sd s2, 32(t0)
    sd s3, 40(t0)
    sd s4, 48(t0)
    sd s5, 56(t0)
    sd s6, 64(t0)
    sd s7, 72(t0)
    li a5, 0                    # pmpcfg0 being built
    REGION 0, pmpaddr0, pmpaddr1, 8
    REGION 1, pmpaddr2, pmpaddr3, 24
    REGION 2, pmpaddr4, pmpaddr5, 40
    li t0, RAM_BASE >> 2
    csrw pmpaddr6, t0
    srli t0, a0, 2
    csrw pmpaddr7, t0
    li t0, 0x0f                 # TOR, RWX
    slli t0, t0, 56
    or a5, a5, t0
    csrw pmpcfg0, a5
    la t0, trap
    csrw mtvec, t0
    li t0, 0x1800               # mstatus.MPP = U
    csrc mstatus, t0
    la t0, user_loop
    csrw mepc, t0
    mv s0, a2
    mv s1, a3
    mv s2, a4
    li s3, 16
    mv s4, a0
    mret

    .p2align 2
    .option push
    .option norvc               # every access is 4 bytes long: the handler skips 4
user_loop:
    beqz s3, user_done
    lw t0, 0(s0)
    lw t1, 4(s0)
    andi t1, t1, 511
    slli t1, t1, 3
    add t2, s4, t1
    li s5, 0
    andi t0, t0, 1
    bnez t0, user_store
    ld t3, 0(t2)
    bnez s5, user_denied
    sd zero, 0(s2)
    sd t3, 8(s2)
    j user_next
user_store:
    ld t3, 0(s1)
    sd t3, 0(t2)
    bnez s5, user_denied
    sd zero, 0(s2)
    sd zero, 8(s2)
    j user_next
user_denied:
    sd s5, 0(s2)
    sub s6, s6, s4
    sd s6, 8(s2)
user_next:
    addi s0, s0, 8
    addi s1, s1, 8
    addi s2, s2, 16
    addi s3, s3, -1
    j user_loop
user_done:
    ecall
    .option pop

    .p2align 2
trap:
    csrr s5, mcause
    li s7, 8
    beq s5, s7, back_to_machine
    csrr s6, mtval
    csrr s7, mepc
    addi s7, s7, 4
    csrw mepc, s7
    mret
back_to_machine:
    la t0, saved
    ld ra, 0(t0)
    ld sp, 8(t0)
    ld s0, 16(t0)
    ld s1, 24(t0)
    ld s2, 32(t0)
    ld s3, 40(t0)
    ld s4, 48(t0)
    ld s5, 56(t0)
    ld s6, 64(t0)
    ld s7, 72(t0)
    ret
""",
}
