"""A 32x32x32 bf16 GEMM kernel in the style of the public XDNA1 tensor kernel (scalable-analyses/xdna,
src/tensor_kernel_32x32x32_bf16_bf16_fp32.s), generated here rather than copied.

It computes out[m1,n1,m0,n0] += sum in0[m1,k1,m0,k0] * in1[k1,n1,k0,n0] (m0=4, k0=8, n0=4; m1=8, k1=4,
n1=8), keeping a 2x4 block of output tiles in eight accumulators, as the public kernel does: while one
half of the accumulators (bm*0..3) takes 32 vmac.f, the other half (bm*4..7) is stored and reloaded
with the next block, and the input tiles stream in through both load units. Every load and store
post-increments its pointer straight to the stream's next address. Unlike the public kernel the
blocks are unrolled (no hardware loop) and addresses are immediates.
"""

from __future__ import annotations

M1, K1, N1 = 8, 4, 8
TILE_A, TILE_B, TILE_C = 64, 64, 64  # bytes of a 4x8 bf16, 8x4 bf16, 4x4 fp32 tile
IN0, IN1, OUT = 0x70000, 0x74000, 0x78000  # three different 16 KB logical banks


def a_off(m: int, k: int) -> int:
    return (m * K1 + k) * TILE_A


def b_off(k: int, n: int) -> int:
    return (k * N1 + n) * TILE_B


def c_off(m: int, n: int) -> int:
    return (m * N1 + n) * TILE_C


BLOCKS = [(mb, nb) for mb in range(M1 // 2) for nb in range(N1 // 4)]  # 2x4 output tiles per block


class Stream:
    """One pointer walking its addresses; each access post-increments to the address of the
    stream's next access in time (filled in by resolve() once every access has its bundle)."""

    def __init__(self, ptr: str, addrs: list[int]):
        self.ptr, self.addrs, self.i = ptr, addrs, 0
        self.uses: list[tuple[int, int, str]] = []  # (bundle, address, key)

    def next(self) -> str:
        key = f"{{{self.ptr}:{self.i}}}"
        self.uses.append((-1, self.addrs[self.i], key))
        self.i += 1
        return key

    def at(self, key: str, bundle: int) -> None:
        self.uses = [(bundle if k == key else t, a, k) for t, a, k in self.uses]

    def resolve(self, text: str) -> str:
        ordered = sorted(self.uses)
        for n, (_t, addr, key) in enumerate(ordered):
            nxt = ordered[n + 1][1] if n + 1 < len(ordered) else addr
            text = text.replace(key, f"[{self.ptr}], #{nxt - addr}")
        return text


def kernel() -> str:
    """The kernel source. Per 8-bundle step s of the vmac stream (one vmac.f per bundle from bundle
    S0 on): in1 halves for step s load at s-8..s-1 (slot B); in0 halves at s-9..s-6 (slot A);
    while block i computes, block i-1's accumulators are stored at step offsets 7, 0, 1, 2 (slot S)
    and block i+1's are loaded at offsets 3..6 (slot A), so no bundle touches two accumulators in
    memory. Block 0's accumulators load in the free A slots before S0."""
    a_addrs, b_addrs, c_addrs = [], [], []
    for mb, nb in BLOCKS:
        for k in range(K1):
            for r in range(2):
                base = a_off(2 * mb + r, k)
                a_addrs += [base, base + 32]
            for c in range(4):
                base = b_off(k, 4 * nb + c)
                b_addrs += [base, base + 32]
        for j in range(8):
            r, c = j % 2, j // 2
            base = c_off(2 * mb + r, 4 * nb + c)
            c_addrs += [base, base + 32]
    a, b = Stream("p0", a_addrs), Stream("p1", b_addrs)
    c_load, c_store = Stream("p2", c_addrs), Stream("p3", c_addrs)

    def acc(half: int, j: int) -> str:
        return f"bm{'lh'[j % 2]}{4 * half + j // 2}"

    def quarter(half: int, q: int) -> str:
        j, h = q // 2, q % 2
        return f"am{'lh'[j % 2]}{'lh'[h]}{4 * half + j // 2}"

    s0 = 22
    n_blocks = len(BLOCKS)
    end = s0 + 32 * n_blocks + 16
    slots: list[dict[str, str]] = [dict() for _ in range(end)]
    for i in range(n_blocks):
        half = i % 2
        for k in range(K1):
            s = s0 + 32 * i + 8 * k
            ax = (0, 1) if (4 * i + k) % 2 == 0 else (2, 3)
            for j in range(8):
                slots[s + j]["V"] = f"vmac.f {acc(half, j)}, {acc(half, j)}, x{ax[j % 2]}, x{4 + j // 2}, r0"
            for h in range(8):
                slots[s - 8 + h]["B"] = f"vldb w{'lh'[h % 2]}{4 + h // 2}, {b.next()}"
            for h, t in enumerate((s - 9, s - 8, s - 7, s - 6)):
                slots[t]["A"] = f"vlda w{'lh'[h % 2]}{ax[h // 2]}, {a.next()}"
    # Accumulators of block 0 before the vmac stream starts.
    free = [t for t in range(s0) if "A" not in slots[t]]
    for q in range(16):
        slots[free[q]]["A"] = f"vlda {quarter(0, q)}, {c_load.next()}"
    # Block i+1 loads and block i-1 stores while block i computes; block 7 stores at the end.
    for i in range(n_blocks):
        w = s0 + 32 * i
        loads = [w + 8 * k + u for k in range(4) for u in (3, 4, 5, 6)]
        stores = [w + 8 * k + u for k in range(4) for u in (0, 1, 2, 7)]
        if i + 1 < n_blocks:
            for q, t in enumerate(loads):
                slots[t]["A"] = f"vlda {quarter((i + 1) % 2, q)}, {c_load.next()}"
        if i >= 1:
            for q, t in enumerate(stores):
                slots[t]["S"] = f"vst {quarter((i - 1) % 2, q)}, {c_store.next()}"
    w = s0 + 32 * n_blocks
    t = w - 2
    last = (n_blocks - 1) % 2
    for q in range(16):
        t = max(t, w - 2 + q // 2)
        while "S" in slots[t]:
            t += 1
        slots[t]["S"] = f"vst {quarter(last, q)}, {c_store.next()}"
    streams = (a, b, c_load, c_store)
    for t, s in enumerate(slots):
        for text in s.values():
            for st in streams:
                for _b, _a, key in st.uses:
                    if key in text:
                        st.at(key, t)
    n = max(i for i, s in enumerate(slots) if s) + 1
    ret = max(n - 6, 0)
    slots[0]["X"] = "movx r0, #28"
    slots[ret]["X"] = "ret lr"
    lines = ["gemm32:"]
    for s in slots[: max(n, ret + 6)]:
        ops = [s[k] for k in ("V", "A", "B", "S", "X") if k in s]
        lines.append("    " + (" ; ".join(ops) if ops else "nop"))
    text = "\n".join(lines) + "\n"
    for st in streams:
        text = st.resolve(text)
    return text
