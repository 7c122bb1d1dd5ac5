"""The compiler baselines: each CPU task as plain C, compiled at -O2 (the paper's level).

The C is ours, written from the task definitions: the straightforward program a C
programmer would write for each classic kernel (multiply by shift-and-add, quicksort, LSD
radix sort, recursive Towers of Hanoi, ...). `baseline_source` compiles it with the
platform's compiler and returns the assembly, which builds and runs like any kernel; speed-
ups are measured against its cycles.
"""

from __future__ import annotations

import functools

from .toolchain import compile_c, toolchain_version

BASELINE_OPT = "-O2"

_PRELUDE = "#include <stdint.h>\n\n"

C_SOURCES: dict[str, str] = {
    "multiply": """\
/* Shift-and-add multiplication: add the multiplicand for every 1 bit of the multiplier. */
static int32_t shift_add(int32_t x, int32_t y) {
    uint32_t multiplicand = (uint32_t)x, multiplier = (uint32_t)y, product = 0;
    while (multiplier != 0) {
        if (multiplier & 1u)
            product += multiplicand;
        multiplicand <<= 1;
        multiplier >>= 1;
    }
    return (int32_t)product;
}

void kernel(long n, const int32_t *a, const int32_t *b, int32_t *out) {
    for (long i = 0; i < n; i++)
        out[i] = shift_add(a[i], b[i]);
}
""",
    "vvadd": """\
void kernel(long n, const int32_t *a, const int32_t *b, int32_t *c) {
    for (long i = 0; i < n; i++)
        c[i] = (int32_t)((uint32_t)a[i] + (uint32_t)b[i]);
}
""",
    "copy": """\
void kernel(uint8_t *dst, const uint8_t *src, long n) {
    for (long i = 0; i < n; i++)
        dst[i] = src[i];
}
""",
    "median": """\
static int32_t median3(int32_t a, int32_t b, int32_t c) {
    if (a > b) { int32_t t = a; a = b; b = t; }  /* now a <= b */
    if (b > c) b = c;                             /* b = min(max(a, b), c) */
    return a > b ? a : b;
}

void kernel(long n, const int32_t *in, int32_t *out) {
    if (n <= 0)
        return;
    out[0] = in[0];
    for (long i = 1; i + 1 < n; i++)
        out[i] = median3(in[i - 1], in[i], in[i + 1]);
    if (n > 1)
        out[n - 1] = in[n - 1];
}
""",
    "dotprod": """\
int64_t kernel(long n, const int32_t *a, const int32_t *b) {
    uint64_t sum = 0;
    for (long i = 0; i < n; i++)
        sum += (uint64_t)((int64_t)a[i] * (int64_t)b[i]);
    return (int64_t)sum;
}
""",
    "qsort": """\
/* Quicksort: median-of-three pivot, Hoare partition, insertion sort below 16 elements,
   an explicit stack (the larger part is deferred, so it never holds more than log2 n). */
#define SMALL 16

static void swap(int32_t *x, int32_t *y) { int32_t t = *x; *x = *y; *y = t; }

static void insertion_sort(int32_t *a, long lo, long hi) {
    for (long i = lo + 1; i <= hi; i++) {
        int32_t v = a[i];
        long j = i;
        while (j > lo && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

void kernel(long n, int32_t *a) {
    long stack[128];
    int top = 0;
    long lo = 0, hi = n - 1;
    if (n < 2)
        return;
    for (;;) {
        if (hi - lo < SMALL) {
            insertion_sort(a, lo, hi);
            if (top == 0)
                return;
            hi = stack[--top];
            lo = stack[--top];
            continue;
        }
        long mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) swap(&a[mid], &a[lo]);
        if (a[hi] < a[lo]) swap(&a[hi], &a[lo]);
        if (a[hi] < a[mid]) swap(&a[hi], &a[mid]);
        int32_t pivot = a[mid];
        long i = lo - 1, j = hi + 1;
        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j)
                break;
            swap(&a[i], &a[j]);
        }
        if (j - lo > hi - j - 1) {
            stack[top++] = lo; stack[top++] = j; lo = j + 1;
        } else {
            stack[top++] = j + 1; stack[top++] = hi; hi = j;
        }
    }
}
""",
    "rsort": """\
/* LSD radix sort, four passes of 8-bit digits, ping-ponging between keys and scratch
   (an even number of passes leaves the result in keys). */
void kernel(long n, uint32_t *keys, uint32_t *scratch) {
    uint32_t *src = keys, *dst = scratch;
    for (int shift = 0; shift < 32; shift += 8) {
        uint32_t count[256];
        for (int d = 0; d < 256; d++)
            count[d] = 0;
        for (long i = 0; i < n; i++)
            count[(src[i] >> shift) & 255u]++;
        uint32_t sum = 0;
        for (int d = 0; d < 256; d++) {
            uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (long i = 0; i < n; i++) {
            uint32_t k = src[i];
            dst[count[(k >> shift) & 255u]++] = k;
        }
        uint32_t *t = src; src = dst; dst = t;
    }
}
""",
    "towers": """\
static int32_t *next_move;

static void move_tower(long n, long from, long to, long via) {
    if (n == 0)
        return;
    move_tower(n - 1, from, via, to);
    *next_move++ = (int32_t)((n << 8) | (from << 4) | to);
    move_tower(n - 1, via, to, from);
}

void kernel(long discs, const int32_t *sel, int32_t *moves) {
    long source = sel[0] % 3;
    long target = (source + 1 + sel[1] % 2) % 3;
    next_move = moves;
    move_tower(discs, source, target, 3 - source - target);
}
""",
    "dhrystone": """\
static int compare_names(const uint8_t *a, const uint8_t *b) {
    for (int j = 0; j < 16; j++)
        if (a[j] != b[j])
            return a[j] < b[j] ? -1 : 1;
    return 0;
}

static int64_t work(int kind, int64_t x, int64_t y) {
    switch (kind) {
    case 0: return x + y;
    case 1: return x * y;
    case 2: return x * 8 - y;
    default: return y == 0 ? x : x / y;
    }
}

void kernel(long r, const int32_t *recs, const uint8_t *table, int64_t *out) {
    uint64_t acc = 0;
    int64_t count[4] = {0, 0, 0, 0};
    for (long i = 0; i < r; i++) {
        const int32_t *rec = recs + 4 * i;
        int kind = rec[0] & 3;
        int order = compare_names(table + 16 * (rec[3] & 7), table);
        int64_t value = work(kind, rec[1], rec[2]);
        if (order < 0)
            value = -value;
        else if (order == 0)
            value += i;
        acc = acc * 33 + (uint64_t)value;
        count[kind]++;
        out[i] = value;
    }
    out[r] = (int64_t)acc;
    for (int k = 0; k < 4; k++)
        out[r + 1 + k] = count[k];
}
""",
    "pmp": """\
/* Machine mode programs PMP entries 0..5 from the region table (entry 2r holds the bottom of
   region r for TOR, entry 2r+1 the region), entries 6..7 give user mode the memory below the
   arena (code, stack, buffers), then user mode performs the accesses. A denied access traps
   to pmp_trap, which records it and skips the instruction; ecall returns to machine mode. */
#define RAM_BASE 0x80000000ul
#define ARENA_BYTES 4096
#define GRANULE 64
#define REGION_MIN 256
#define PMP_TOR (1u << 3)
#define PMP_NAPOT (3u << 3)

static const uint8_t perms[4] = {0, 1, 3, 7};

uint64_t pmp_save[16];               /* machine-mode context while user mode runs */
uint64_t pmp_scratch[4];             /* the trap handler's spill area */
int64_t *volatile pmp_current;       /* record of the access in progress */
volatile long pmp_faulted;
uint64_t pmp_arena;
static const int32_t *g_accesses;
static const int64_t *g_values;
static int64_t *g_records;
static long g_count;

void pmp_trap(void);
void pmp_run_user(void (*fn)(void));

__asm__(
    ".text\\n"
    ".p2align 2\\n"
    ".globl pmp_trap\\n"
    "pmp_trap:\\n"
    "  csrrw t0, mscratch, t0\\n"
    "  sd t1, 0(t0)\\n"
    "  sd t2, 8(t0)\\n"
    "  sd t3, 16(t0)\\n"
    "  csrr t1, mcause\\n"
    "  li t2, 8\\n"
    "  beq t1, t2, 2f\\n"
    "  la t2, pmp_current\\n"
    "  ld t2, 0(t2)\\n"
    "  sd t1, 0(t2)\\n"
    "  csrr t3, mtval\\n"
    "  la t1, pmp_arena\\n"
    "  ld t1, 0(t1)\\n"
    "  sub t3, t3, t1\\n"
    "  sd t3, 8(t2)\\n"
    "  la t1, pmp_faulted\\n"
    "  li t3, 1\\n"
    "  sd t3, 0(t1)\\n"
    "  csrr t1, mepc\\n"
    "  lhu t3, 0(t1)\\n"
    "  andi t3, t3, 3\\n"
    "  li t2, 3\\n"
    "  addi t1, t1, 2\\n"
    "  bne t3, t2, 1f\\n"
    "  addi t1, t1, 2\\n"
    "1:\\n"
    "  csrw mepc, t1\\n"
    "  ld t1, 0(t0)\\n"
    "  ld t2, 8(t0)\\n"
    "  ld t3, 16(t0)\\n"
    "  csrrw t0, mscratch, t0\\n"
    "  mret\\n"
    "2:\\n"
    "  la t1, pmp_resume\\n"
    "  csrw mepc, t1\\n"
    "  li t1, 0x1800\\n"
    "  csrs mstatus, t1\\n"
    "  csrrw t0, mscratch, t0\\n"
    "  mret\\n"
    ".globl pmp_run_user\\n"
    "pmp_run_user:\\n"
    "  la t0, pmp_save\\n"
    "  sd ra, 0(t0)\\n"
    "  sd sp, 8(t0)\\n"
    "  sd s0, 16(t0)\\n  sd s1, 24(t0)\\n  sd s2, 32(t0)\\n  sd s3, 40(t0)\\n"
    "  sd s4, 48(t0)\\n  sd s5, 56(t0)\\n  sd s6, 64(t0)\\n  sd s7, 72(t0)\\n"
    "  sd s8, 80(t0)\\n  sd s9, 88(t0)\\n  sd s10, 96(t0)\\n  sd s11, 104(t0)\\n"
    "  csrw mepc, a0\\n"
    "  li t1, 0x1800\\n"
    "  csrc mstatus, t1\\n"
    "  mret\\n"
    "pmp_resume:\\n"
    "  la t0, pmp_save\\n"
    "  ld ra, 0(t0)\\n"
    "  ld sp, 8(t0)\\n"
    "  ld s0, 16(t0)\\n  ld s1, 24(t0)\\n  ld s2, 32(t0)\\n  ld s3, 40(t0)\\n"
    "  ld s4, 48(t0)\\n  ld s5, 56(t0)\\n  ld s6, 64(t0)\\n  ld s7, 72(t0)\\n"
    "  ld s8, 80(t0)\\n  ld s9, 88(t0)\\n  ld s10, 96(t0)\\n  ld s11, 104(t0)\\n"
    "  ret\\n");

#define CSRW(name, value) __asm__ volatile("csrw " #name ", %0" : : "r"(value))

static void set_pmpaddr(int i, uint64_t value) {
    switch (i) {
    case 0: CSRW(pmpaddr0, value); break;
    case 1: CSRW(pmpaddr1, value); break;
    case 2: CSRW(pmpaddr2, value); break;
    case 3: CSRW(pmpaddr3, value); break;
    case 4: CSRW(pmpaddr4, value); break;
    case 5: CSRW(pmpaddr5, value); break;
    case 6: CSRW(pmpaddr6, value); break;
    default: CSRW(pmpaddr7, value); break;
    }
}

static void user_main(void) {
    for (long j = 0; j < g_count; j++) {
        int64_t *record = g_records + 2 * j;
        pmp_current = record;
        pmp_faulted = 0;
        long slot = g_accesses[2 * j + 1] & 511;
        volatile int64_t *at = (volatile int64_t *)(pmp_arena + 8 * slot);
        if (g_accesses[2 * j] & 1) {
            *at = g_values[j];
            if (!pmp_faulted) { record[0] = 0; record[1] = 0; }
        } else {
            int64_t value = *at;
            if (!pmp_faulted) { record[0] = 0; record[1] = value; }
        }
    }
    __asm__ volatile("ecall");
    for (;;) {
    }
}

void kernel(int64_t *arena, const int32_t *regions, const int32_t *accesses, const int64_t *values,
            int64_t *records) {
    uint64_t base = (uint64_t)arena;
    uint64_t cfg = 0;
    for (int r = 0; r < 3; r++) {
        const int32_t *region = regions + 4 * r;
        uint64_t size = (uint64_t)REGION_MIN << (region[2] & 3);
        uint64_t start = (uint64_t)region[1] * GRANULE;
        uint64_t perm = perms[region[3] & 3];
        if (region[0] & 1) {
            uint64_t lo = base + (start & ~(size - 1));
            set_pmpaddr(2 * r + 1, (lo >> 2) | ((size >> 3) - 1));
            cfg |= (PMP_NAPOT | perm) << (8 * (2 * r + 1));
        } else {
            uint64_t hi = start + size < ARENA_BYTES ? start + size : ARENA_BYTES;
            set_pmpaddr(2 * r, (base + start) >> 2);
            set_pmpaddr(2 * r + 1, (base + hi) >> 2);
            cfg |= (PMP_TOR | perm) << (8 * (2 * r + 1));
        }
    }
    set_pmpaddr(6, RAM_BASE >> 2);
    set_pmpaddr(7, base >> 2);
    cfg |= (uint64_t)(PMP_TOR | 7) << 56;
    CSRW(pmpcfg0, cfg);
    CSRW(mscratch, (uint64_t)pmp_scratch);
    CSRW(mtvec, (uint64_t)pmp_trap);
    pmp_arena = base;
    g_accesses = accesses;
    g_values = values;
    g_records = records;
    g_count = 16;
    pmp_run_user(user_main);
}
""",
}


def c_source(task_id: str) -> str:
    return _PRELUDE + C_SOURCES[task_id]


@functools.cache
def baseline_assembly(task_id: str) -> str:
    """The -O2 assembly of a task's C baseline, headed by a note of how it was made."""
    asm, diagnostics = compile_c(c_source(task_id), BASELINE_OPT)
    if asm is None:  # our own C: a failure here is a bug, not user input
        raise RuntimeError(
            f"the {task_id} baseline does not compile: " + "; ".join(d.format() for d in diagnostics)
        )
    header = (
        f"// Compiler baseline for {task_id}: the C below compiled with {toolchain_version()} "
        f"at {BASELINE_OPT}\n"
        "// (riscv64 freestanding, rv64gc, lp64, medany).\n//\n"
        + "".join(f"//   {line}\n" if line else "//\n" for line in c_source(task_id).splitlines())
        + "\n"
    )
    return header + asm
