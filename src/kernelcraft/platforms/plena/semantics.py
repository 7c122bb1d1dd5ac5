"""What each PLENA instruction does, as closures built once per program.

Each builder takes the machine and the decoded operand values and returns
`step(executed) -> next_pc | None`. Numerics: on-chip storage is BF16 (ml_dtypes,
round-to-nearest-even on every write); vector ops compute in FP32; matrix products are
exact-product float64 dots accumulated into FP32 accumulators, so results do not depend
on the BLAS library or CPU.
"""

from __future__ import annotations

import math
import struct
import time
from collections.abc import Callable

import numpy as np

from . import loops
from .assembler import Program
from .isa import INSTRUCTIONS, Unit
from .loops import batched_loop, loop_body
from .machine import MASK32, Machine, MachineFault
from .mx import BF16, MX_BF16_BITS, quantize_blocks
from .plan import program_plan

Step = Callable[[int], "int | None"]
Builder = Callable[[Machine, tuple[int, ...], int], Step]

BUILDERS: dict[str, Builder] = {}

_F32 = struct.Struct("<f")
_U32 = struct.Struct("<I")
_U16LE = np.dtype("<u2")
EXP_CLAMP = 88.0
WALL_CHECK_EVERY = 2048  # dynamic instructions between wall-clock checks (at loop jumps)
# M_MM products kept (each an activation block by a tile, 1.5 KiB with the block's bits) before
# the cache starts afresh: our choice, beyond any GEMM's working set, a bound on their memory.
MAX_MM_PRODUCTS = 4096
MM_PRODUCTS = True  # tests turn the kept products off to compare with the per-instruction product


def builder(name: str):
    def register(fn: Builder) -> Builder:
        BUILDERS[name] = fn
        return fn

    return register


def round_bf16(x: float) -> float:
    """FP32 result rounded to BF16 (nearest-even), as a Python float."""
    if x != x:
        return x
    try:
        bits = _U32.unpack(_F32.pack(x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)
    if bits & 0x7F800000 == 0x7F800000:  # inf (NaN handled above)
        return _F32.unpack(_U32.pack(bits))[0]
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return _F32.unpack(_U32.pack(bits))[0]


def compile_program(
    program: Program, m: Machine, batch_loops: bool = False
) -> tuple[list[Step], list[int]]:
    """One step closure and one static cost per instruction.

    Identical instructions share one closure (see plan.py: the program's distinct slots are
    worked out once per program); the closures themselves are built over this machine.
    With batch_loops, loops whose bodies allow it run in batches (loops.py): their
    C_LOOP_START step may run the whole loop and return ~(pc after it), having added the
    loop's instructions to m.counts and set m.executed.
    """
    plan = program_plan(program)
    built = [
        (BUILDERS.get(spec.name) if spec.behaviour is None else behaviour_builder(spec))(m, operands, pc)
        for spec, operands, pc in plan.slots
    ]
    ops = list(map(built.__getitem__, plan.slot_of_pc))
    if m.poison is not None:
        m.footprints = _footprints(program, m, plan)
    if batch_loops and loops.ENABLED:
        bodies = plan.loop_bodies  # a body keeps its batch plans: kept with the program's plan
        for _, _, pc in plan.slots:
            if program.instructions[pc].spec.name == "C_LOOP_START":
                if pc not in bodies:
                    bodies[pc] = loop_body(program, pc, UNARY_TABLES)
                body = bodies[pc]
                if body is not None:
                    ops[pc] = batched_loop(m, program, pc, ops[pc], body, UNARY_TABLES)
    return ops, plan.costs


def _footprints(program: Program, m: Machine, plan) -> list:
    """Per pc, the footprint to run just before the step (what it reads and writes, for the
    poison tracker), or None for steps that read no memory (integer and control
    instructions). Identical instructions share one footprint: it finds the instruction it
    reports in tracker.pc, which the run loop sets."""
    from .footprints import FOOTPRINTS, behaviour_footprint

    m.poison.instructions = program.instructions
    per_slot = []
    for spec, operands, _ in plan.slots:
        build = FOOTPRINTS[spec.name] if spec.behaviour is None else behaviour_footprint(spec)
        per_slot.append(None if getattr(build, "reads_nothing", False) else build(m, operands))
    return list(map(per_slot.__getitem__, plan.slot_of_pc))


# ----------------------------------------------------------------------------- helpers


def _vrow_checker(m: Machine):
    vlen, size = m.config.vlen, m.config.vram_elems

    def row(addr: int, what: str = "VRAM address") -> int:
        if addr % vlen:
            raise MachineFault("alignment", f"{what} {addr} is not a multiple of VLEN={vlen}", address=addr)
        if addr + vlen > size:
            raise MachineFault("address", f"{what} {addr} is outside VRAM (0..{size - vlen})", address=addr)
        return addr

    return row


def _head_mask(m: Machine) -> np.ndarray:
    cfg = m.config
    bits = [(m.vmask >> h) & 1 for h in range(cfg.vlen // cfg.hlen)]
    return np.repeat(np.array(bits, dtype=bool), cfg.hlen)


def _row_bounds(m: Machine) -> tuple[int, int]:
    """(VLEN - 1, last row start): a row address is good when `addr & mask == 0` and
    `addr <= last` (VLEN is a power of two); the steps test that inline and call the checker
    only to raise its fault."""
    return m.config.vlen - 1, m.config.vram_elems - m.config.vlen


def _vector_binary(ufunc) -> Builder:
    def build(m: Machine, ops: tuple[int, ...], pc: int) -> Step:
        rd, rs1, rs2, rmask = ops
        g, v, vlen, row = m.g, m.vram, m.config.vlen, _vrow_checker(m)
        mask, last = _row_bounds(m)

        if not rmask:

            def step(_):
                d, a, b = g[rd], g[rs1], g[rs2]
                if (d | a | b) & mask or d > last or a > last or b > last:
                    row(d), row(a), row(b)
                ufunc(v[a : a + vlen], v[b : b + vlen], out=v[d : d + vlen])
        else:

            def step(_):
                d, a, b = row(g[rd]), row(g[rs1]), row(g[rs2])
                src = v[a : a + vlen].copy()
                v[d : d + vlen] = np.where(_head_mask(m), ufunc(src, v[b : b + vlen]), src)

        return step

    return build


def _vector_scalar(ufunc, scalar_first: bool = False) -> Builder:
    """ufunc(row, scalar) (or ufunc(scalar, row)) on BF16, the scalar broadcast from F[fs]."""

    def build(m: Machine, ops: tuple[int, ...], pc: int) -> Step:
        rd, rs1, fs, rmask = ops[:4]
        g, f, v, vlen, row = m.g, m.f, m.vram, m.config.vlen, _vrow_checker(m)
        mask, last = _row_bounds(m)
        scalar = np.zeros((), dtype=BF16)  # a 0-d array: ufuncs are much faster than with a BF16 scalar

        if rmask:

            def step(_):
                d, a = row(g[rd]), row(g[rs1])
                scalar[()] = f[fs]
                src = v[a : a + vlen]
                args = (scalar, src) if scalar_first else (src, scalar)
                v[d : d + vlen] = np.where(_head_mask(m), ufunc(*args), src)
        elif scalar_first:

            def step(_):
                d, a = g[rd], g[rs1]
                if (d | a) & mask or d > last or a > last:
                    row(d), row(a)
                scalar[()] = f[fs]
                ufunc(scalar, v[a : a + vlen], out=v[d : d + vlen])
        else:

            def step(_):
                d, a = g[rd], g[rs1]
                if (d | a) & mask or d > last or a > last:
                    row(d), row(a)
                scalar[()] = f[fs]
                ufunc(v[a : a + vlen], scalar, out=v[d : d + vlen])

        return step

    return build


for _name, _ufunc in (("V_ADD_VV", np.add), ("V_SUB_VV", np.subtract), ("V_MUL_VV", np.multiply)):
    BUILDERS[_name] = _vector_binary(_ufunc)
BUILDERS["V_ADD_VF"] = _vector_scalar(np.add)
BUILDERS["V_MUL_VF"] = _vector_scalar(np.multiply)
BUILDERS["V_MAX_VF"] = _vector_scalar(np.maximum)
BUILDERS["V_MIN_VF"] = _vector_scalar(np.minimum)


@builder("V_SUB_VF")
def _v_sub_vf(m: Machine, ops, pc):
    rorder = ops[4]
    return _vector_scalar(np.subtract, scalar_first=bool(rorder))(m, ops, pc)


def _bf16_table(fn) -> np.ndarray:
    """fn over every BF16 bit pattern (FP32 maths, one rounding to BF16), as a u16 lookup table.

    A unary vector op on BF16 has only 65536 possible inputs, so a table lookup gives exactly
    the FP32-then-round result at a fraction of the cost of computing it per row.
    """
    x = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(BF16).astype(np.float32)
    with np.errstate(all="ignore"):
        return fn(x).astype(BF16).view(np.uint16)


def _vector_unary(table: np.ndarray) -> Builder:
    def build(m, ops, pc):
        rd, rs1, rmask = ops
        g, vlen, row = m.g, m.config.vlen, _vrow_checker(m)
        mask, last = _row_bounds(m)
        bits = m.vram.view(np.uint16)
        index = np.empty(vlen, dtype=np.intp)  # NumPy indexes fastest with intp; every u16 is in range

        def step(_):
            d, a = g[rd], g[rs1]
            if (d | a) & mask or d > last or a > last:
                row(d), row(a)
            src = bits[a : a + vlen]
            if rmask:
                bits[d : d + vlen] = np.where(_head_mask(m), table[src], src)
            else:
                np.copyto(index, src)
                table.take(index, out=bits[d : d + vlen], mode="clip")

        return step

    return build


def _exp_clamped(x: np.ndarray) -> np.ndarray:
    return np.exp(np.minimum(np.maximum(x, np.float32(-EXP_CLAMP)), np.float32(EXP_CLAMP)))


UNARY_TABLES = {
    "V_EXP_V": _bf16_table(_exp_clamped),
    "V_RECI_V": _bf16_table(lambda x: np.float32(1.0) / x),
}
for _name, _table in UNARY_TABLES.items():
    BUILDERS[_name] = _vector_unary(_table)


def _reduction(combine) -> Builder:
    def build(m: Machine, ops, pc):
        fd, rs1, rmask = ops
        g, f, v, vlen, row = m.g, m.f, m.vram, m.config.vlen, _vrow_checker(m)

        def step(_):
            a = row(g[rs1])
            src = v[a : a + vlen].astype(np.float64)
            if rmask:
                src = src[_head_mask(m)]
            if fd:
                f[fd] = combine(f[fd], src)

        return step

    return build


def _sum_into(acc: float, values: np.ndarray) -> float:
    return round_bf16(acc + float(np.float32(values.sum())))


def _max_into(acc: float, values: np.ndarray) -> float:
    if values.size == 0:
        return acc
    top = float(values.max())
    if math.isnan(top) or math.isnan(acc):
        return math.nan
    return max(acc, top)


BUILDERS["V_RED_SUM"] = _reduction(_sum_into)
BUILDERS["V_RED_MAX"] = _reduction(_max_into)


@builder("V_SHFT_V")
def _v_shft(m: Machine, ops, pc):
    rd, rs1, rs2 = ops
    g, v, vlen, row = m.g, m.vram, m.config.vlen, _vrow_checker(m)

    def step(_):
        d, a, k = row(g[rd]), row(g[rs1]), g[rs2]
        src = v[a : a + vlen].copy()
        out = np.zeros(vlen, dtype=BF16)
        if k < vlen:
            out[k:] = src[: vlen - k]
        v[d : d + vlen] = out

    return step


@builder("V_TOPK")
def _v_topk(m: Machine, ops, pc):
    rd, rs1, rs2, policy = ops
    n, k = (128, 8) if policy else (32, 4)
    g, v = m.g, m.vram
    row = _vrow_checker(m)

    def step(_):
        a = row(g[rs1])
        if a + n > v.size:
            raise MachineFault("address", f"V_TOPK reads VRAM [{a}, {a + n}) past the end", address=a)
        fa, ia = g[rd], g[rs2]
        if fa + k > m.fpsram.size or ia + k > m.intsram.size:
            raise MachineFault("address", "V_TOPK output outside FP/INT SRAM", fp=fa, int=ia)
        logits = v[a : a + n].astype(np.float64)
        order = np.argsort(-logits, kind="stable")[:k]
        chosen = logits[order]
        weights = np.exp(chosen - chosen.max())
        weights /= weights.sum()
        m.fpsram[fa : fa + k] = weights.astype(np.float32).astype(BF16)
        m.intsram[ia : ia + k] = order.astype(np.uint32)

    return step


# ----------------------------------------------------------------------------- scalar FP


def _fp_binary(fn) -> Builder:
    def build(m: Machine, ops, pc):
        fd, fa, fb = ops
        f = m.f

        def step(_):
            if fd:
                f[fd] = round_bf16(fn(f[fa], f[fb]))

        return step

    return build


def _fp_unary(fn) -> Builder:
    def build(m: Machine, ops, pc):
        fd, fa = ops
        f = m.f

        def step(_):
            if fd:
                f[fd] = round_bf16(fn(f[fa]))

        return step

    return build


def _safe_div(a: float) -> float:
    if a == 0:
        return math.copysign(math.inf, a)
    return 1.0 / a


def _safe_sqrt(a: float) -> float:
    return math.sqrt(a) if a >= 0 else (math.nan if a == a else a)


def _fp_max(a: float, b: float) -> float:
    return math.nan if a != a or b != b else max(a, b)


def _fp_exp(a: float) -> float:
    return a if a != a else math.exp(min(max(a, -EXP_CLAMP), EXP_CLAMP))


BUILDERS["S_ADD_FP"] = _fp_binary(lambda a, b: a + b)
BUILDERS["S_SUB_FP"] = _fp_binary(lambda a, b: a - b)
BUILDERS["S_MUL_FP"] = _fp_binary(lambda a, b: a * b)
BUILDERS["S_MAX_FP"] = _fp_binary(_fp_max)
BUILDERS["S_EXP_FP"] = _fp_unary(_fp_exp)
BUILDERS["S_RECI_FP"] = _fp_unary(_safe_div)
BUILDERS["S_SQRT_FP"] = _fp_unary(_safe_sqrt)


def _sram_index(m: Machine, base: int, count: int, size: int, what: str) -> int:
    if base + count > size:
        raise MachineFault(
            "address", f"{what} address {base} is outside {what} (0..{size - count})", address=base
        )
    return base


@builder("S_LD_FP")
def _s_ld_fp(m: Machine, ops, pc):
    fd, rs1, imm = ops
    g, f, mem = m.g, m.f, m.fpsram

    def step(_):
        i = _sram_index(m, g[rs1] + imm, 1, mem.size, "FP SRAM")
        if fd:
            f[fd] = float(mem[i])

    return step


@builder("S_ST_FP")
def _s_st_fp(m: Machine, ops, pc):
    fs, rs1, imm = ops
    g, f, mem = m.g, m.f, m.fpsram

    def step(_):
        i = _sram_index(m, g[rs1] + imm, 1, mem.size, "FP SRAM")
        mem[i] = f[fs]

    return step


@builder("S_MAP_V_FP")
def _s_map_v_fp(m: Machine, ops, pc):
    rd, rs1, imm = ops
    g, v, mem, vlen, row = m.g, m.vram, m.fpsram, m.config.vlen, _vrow_checker(m)

    def step(_):
        d = row(g[rd])
        i = _sram_index(m, g[rs1] + imm, vlen, mem.size, "FP SRAM")
        v[d : d + vlen] = mem[i : i + vlen]

    return step


# ----------------------------------------------------------------------------- scalar INT


def _int_binary(fn) -> Builder:
    def build(m: Machine, ops, pc):
        rd, rs1, rs2 = ops
        g = m.g

        def step(_):
            g[rd] = fn(g[rs1], g[rs2]) & MASK32

        return step

    return build


BUILDERS["S_ADD_INT"] = _int_binary(lambda a, b: a + b)
BUILDERS["S_SUB_INT"] = _int_binary(lambda a, b: a - b)
BUILDERS["S_MUL_INT"] = _int_binary(lambda a, b: a * b)


@builder("S_ADDI_INT")
def _s_addi(m: Machine, ops, pc):
    rd, rs1, imm = ops
    g = m.g

    def step(_):
        g[rd] = (g[rs1] + imm) & MASK32

    return step


@builder("S_LUI_INT")
def _s_lui(m: Machine, ops, pc):
    rd, imm = ops
    g, value = m.g, (ops[1] << 12) & MASK32

    def step(_):
        g[rd] = value

    return step


@builder("S_LD_INT")
def _s_ld_int(m: Machine, ops, pc):
    rd, rs1, imm = ops
    g, mem = m.g, m.intsram

    def step(_):
        g[rd] = int(mem[_sram_index(m, g[rs1] + imm, 1, mem.size, "INT SRAM")])

    return step


@builder("S_ST_INT")
def _s_st_int(m: Machine, ops, pc):
    rs, rs1, imm = ops
    g, mem = m.g, m.intsram

    def step(_):
        mem[_sram_index(m, g[rs1] + imm, 1, mem.size, "INT SRAM")] = g[rs]

    return step


# ----------------------------------------------------------------------------- control


def _setter(attr: str) -> Builder:
    def build(m: Machine, ops, pc):
        (rs,) = ops
        g = m.g

        def step(_):
            setattr(m, attr, g[rs])

        return step

    return build


BUILDERS["C_SET_SCALE_REG"] = _setter("scale_reg")
BUILDERS["C_SET_STRIDE_REG"] = _setter("stride_reg")
BUILDERS["C_SET_V_MASK_REG"] = _setter("vmask")


@builder("C_SET_ADDR_REG")
def _c_set_addr(m: Machine, ops, pc):
    ad, hi, lo = ops
    g, a = m.g, m.a

    def step(_):
        a[ad] = (g[hi] << 32) | g[lo]

    return step


@builder("C_LOOP_START")
def _c_loop_start(m: Machine, ops, pc):
    rc, count = ops
    g, loops = m.g, m.loops

    def step(executed):
        g[rc] = count
        loops.append([pc, rc, executed, False])

    return step


@builder("C_LOOP_END")
def _c_loop_end(m: Machine, ops, pc):
    (rc,) = ops
    g, loops = m.g, m.loops
    cap = m.config.max_loop_iteration_instructions

    def step(executed):
        frame = loops[-1]
        if executed - frame[2] > cap:
            raise MachineFault(
                "loop_cap",
                f"one iteration of the loop started at pc {frame[0]} ran "
                f"{executed - frame[2]} instructions (limit {cap} per iteration)",
                loop_pc=frame[0],
            )
        if frame[3] or g[rc] <= 1:
            g[rc] = 0
            loops.pop()
            return None
        g[rc] -= 1
        frame[2] = executed
        if executed > m.max_instructions:
            raise MachineFault(
                "instruction_limit",
                f"executed more than {m.max_instructions} instructions; "
                "is a loop count or counter register wrong?",
                executed=executed,
            )
        m.jumps += 1
        if executed >= m.next_wall_check:  # by instructions, not jumps: loop bodies can be long
            m.next_wall_check = executed + WALL_CHECK_EVERY
            if time.perf_counter() > m.deadline:
                raise MachineFault("wall_time", "the run exceeded its wall-time limit", executed=executed)
        return frame[0] + 1

    return step


@builder("C_BREAK")
def _c_break(m: Machine, ops, pc):
    loops = m.loops

    def step(_):
        if loops:
            loops[-1][3] = True

    return step


# ----------------------------------------------------------------------------- matrix


def _tile_and_offset(m: Machine, addr: int, what: str) -> tuple[int, int]:
    cfg = m.config
    tile_elems = cfg.tile_elems
    tile = addr // tile_elems
    if tile >= cfg.mram_tiles:
        raise MachineFault(
            "address",
            f"{what} MRAM address {addr} is outside MRAM ({cfg.mram_tiles} tiles of {tile_elems})",
            address=addr,
        )
    return tile, addr - tile * tile_elems


def _tile(m: Machine, tile: int) -> np.ndarray:
    """MRAM tile as float64 (MLEN, MLEN). Cached: tiles change only on H_PREFETCH_M."""
    cached = m.tile_cache.get(tile)
    if cached is None:
        cfg = m.config
        start = tile * cfg.tile_elems
        cached = m.mram[start : start + cfg.tile_elems].astype(np.float64).reshape(cfg.mlen, cfg.mlen)
        m.tile_cache[tile] = cached
    return cached


def _rows(m: Machine, addr: int, count: int, what: str) -> np.ndarray:
    cfg = m.config
    vlen = cfg.vlen
    end = addr + count * vlen
    if addr % vlen or end > cfg.vram_elems:
        _vrow_checker(m)(addr, what)
        raise MachineFault(
            "address", f"{what}: {count} rows from {addr} run past the end of VRAM", address=addr
        )
    return m.vram[addr:end].reshape(count, vlen)


def _block_offset(m: Machine, offset: int, block: int, what: str) -> int:
    mlen = m.config.mlen
    if offset % mlen or (offset // mlen) % block:
        raise MachineFault(
            "alignment",
            f"{what} offset {offset} inside the tile must be a multiple of BLEN*MLEN={block * mlen} "
            f"(block j is at tile_base + j*{block * mlen})",
            offset=offset,
        )
    return offset // mlen


def _blen_matmul(transposed: bool) -> Builder:
    """M_MM / M_TMM: the GEMM inner loop, so the checks are inlined and the tile is cached."""
    name = "M_TMM" if transposed else "M_MM"

    def build(m: Machine, ops, pc):
        _, rs1, rs2 = ops
        mram_reg, vram_reg = (rs2, rs1) if transposed else (rs1, rs2)
        g, cfg, vram, acc, cache = m.g, m.config, m.vram, m.m_accum, m.tile_cache
        blen, mlen, vlen, tile_elems, tiles = cfg.blen, cfg.mlen, cfg.vlen, cfg.tile_elems, cfg.mram_tiles
        span, vram_size, block = blen * vlen, cfg.vram_elems, blen * mlen
        x = np.empty((blen, vlen), dtype=np.float64)  # the activation rows, refilled per step
        x_flat = x.reshape(-1)
        iadd = np.ndarray.__iadd__
        products = m.mm_products

        def mm_step(_):
            addr, xa = g[mram_reg], g[vram_reg]
            tile, off = divmod(addr, tile_elems)
            if tile >= tiles or off % block:
                _tile_and_offset(m, addr, name)
                _block_offset(m, off, blen, f"{name} column block")
            if xa % vlen or xa + span > vram_size:
                _rows(m, xa, blen, f"{name} activation rows")
            # A GEMM multiplies each activation block by every column block of a tile: the
            # block's product with the whole tile, rounded to FP32, is made once and kept as
            # contiguous column blocks, used while the rows' bits are unchanged (a change of
            # the tile empties the cache). A column of one dgemm is the same dot products, in
            # the same order, as a dgemm on that column alone: test_plena_matrix_dma checks
            # it bit for bit, test_plena_mm_products that rewritten rows and tiles are seen.
            block_rows = vram[xa : xa + span]
            bits = block_rows.tobytes()
            key = tile * vram_size + xa
            found = products.get(key)
            if found is None or found[0] != bits:
                if len(products) >= MAX_MM_PRODUCTS:
                    products.clear()
                t = cache.get(tile)
                if t is None:
                    t = _tile(m, tile)
                rows = block_rows.astype(np.float64).reshape(blen, vlen)
                product = rows.dot(t).reshape(blen, mlen // blen, blen).transpose(1, 0, 2)
                found = products[key] = (bits, product.astype(np.float32, order="C"))
            # The product rounded to FP32 (above), then an FP32 add.
            iadd(acc, found[1][off // block])

        if not transposed and MM_PRODUCTS:
            return mm_step

        def step(_):
            addr, xa = g[mram_reg], g[vram_reg]
            tile, off = divmod(addr, tile_elems)
            if tile >= tiles or off % block:
                _tile_and_offset(m, addr, name)
                _block_offset(m, off, blen, f"{name} {'row' if transposed else 'column'} block")
            if xa % vlen or xa + span > vram_size:
                _rows(m, xa, blen, f"{name} activation rows")
            x_flat[:] = vram[xa : xa + span]
            t = cache.get(tile)
            if t is None:
                t = _tile(m, tile)
            c = off // mlen
            w = t[c : c + blen, :].T if transposed else t[:, c : c + blen]
            # The product rounded to FP32, then an FP32 add (cheaper as two calls than one
            # add with a float32 loop dtype, which casts the same way).
            iadd(acc, (x @ w).astype(np.float32))

        return step

    return build


BUILDERS["M_MM"] = _blen_matmul(False)
BUILDERS["M_TMM"] = _blen_matmul(True)


def _heads(m: Machine, rows: np.ndarray) -> np.ndarray:
    """(n, VLEN) rows -> (lanes, n, HLEN): head h is columns h*HLEN.. (M_BTMM, M_BTMV)."""
    cfg = m.config
    return rows.reshape(rows.shape[0], cfg.heads_per_row, cfg.hlen).transpose(1, 0, 2)


def _interleaved_heads(m: Machine, rows: np.ndarray) -> np.ndarray:
    """(n, VLEN) rows -> (lanes, n, HLEN): element j of head h is column j*lanes + h.

    The emulator's bmm/bmv view a row as [HLEN, lanes] (matrix_machine.rs:179-183, 237-241),
    while btmm/btmv view it as [lanes, HLEN].
    """
    cfg = m.config
    return rows.reshape(rows.shape[0], cfg.hlen, cfg.heads_per_row).transpose(2, 0, 1)


@builder("M_BMM")
def _m_bmm(m: Machine, ops, pc):
    _, rs1, rs2 = ops
    g, cfg = m.g, m.config

    def step(_):
        tile, off = _tile_and_offset(m, g[rs1], "M_BMM")
        c = _element_offset(m, off, cfg.hlen, "M_BMM head row")
        x = _interleaved_heads(m, _rows(m, g[rs2], cfg.mlen, "M_BMM rows").astype(np.float64))
        w = _tile(m, tile)[c : c + cfg.hlen, :]
        m.hm_accum += (cfg.bmm_scale * (x @ w)).astype(np.float32)

    return step


@builder("M_BTMM")
def _m_btmm(m: Machine, ops, pc):
    _, rs1, rs2 = ops
    g, cfg = m.g, m.config

    def step(_):
        tile, off = _tile_and_offset(m, g[rs1], "M_BTMM")
        c = _element_offset(m, off, cfg.hlen, "M_BTMM head column")
        q = _heads(m, _rows(m, g[rs2], cfg.mlen, "M_BTMM rows").astype(np.float64))
        k = _tile(m, tile)[:, c : c + cfg.hlen]
        m.hm_accum += (cfg.bmm_scale * (q @ k.T)).astype(np.float32)

    return step


def _element_offset(m: Machine, offset: int, block: int, what: str) -> int:
    """Element offset inside a tile's first row (the public emulator's form for these ops)."""
    if offset % block or offset + block > m.config.mlen:
        raise MachineFault(
            "alignment",
            f"{what} offset {offset} inside the tile must be a multiple of {block} below MLEN",
            offset=offset,
        )
    return offset


@builder("M_MV")
def _m_mv(m: Machine, ops, pc):
    _, rs1, rs2 = ops
    g, cfg = m.g, m.config

    def step(_):
        tile, c = _tile_and_offset(m, g[rs1], "M_MV")
        if c % cfg.blen or c + cfg.blen > cfg.mlen:
            raise MachineFault(
                "alignment",
                f"M_MV column offset {c} must be a multiple of BLEN inside the first tile row",
                offset=c,
            )
        x = _rows(m, g[rs2], 1, "M_MV input row")[0].astype(np.float64)
        w = _tile(m, tile)[:, c : c + cfg.blen]
        m.v_accum += (x @ w).astype(np.float32)

    return step


@builder("M_TMV")
def _m_tmv(m: Machine, ops, pc):
    _, rs1, rs2 = ops
    g, cfg = m.g, m.config

    def step(_):
        tile, off = _tile_and_offset(m, g[rs1], "M_TMV")
        c = _element_offset(m, off, cfg.blen, "M_TMV row")
        x = _rows(m, g[rs2], 1, "M_TMV input row")[0].astype(np.float64)
        w = _tile(m, tile)[c : c + cfg.blen, :]
        m.v_accum += (w @ x).astype(np.float32)

    return step


def _bmv(transposed: bool) -> Builder:
    def build(m: Machine, ops, pc):
        rd, rs1, rs2 = ops
        g, cfg = m.g, m.config
        name = "M_BTMV" if transposed else "M_BMV"

        def step(_):
            tile, off = _tile_and_offset(m, (g[rs1] + g[rd]) & MASK32, name)
            c = _element_offset(m, off, cfg.hlen, f"{name} head")
            row = _rows(m, g[rs2], 1, f"{name} query row").astype(np.float64)
            q = (_heads(m, row) if transposed else _interleaved_heads(m, row))[:, 0, :]
            t = _tile(m, tile)
            w = t[:, c : c + cfg.hlen].T if transposed else t[c : c + cfg.hlen, :]
            m.hv_accum += (cfg.bmm_scale * (q @ w)).astype(np.float32)

        return step

    return build


BUILDERS["M_BMV"] = _bmv(False)
BUILDERS["M_BTMV"] = _bmv(True)


@builder("M_MM_WO")
def _m_mm_wo(m: Machine, ops, pc):
    rd, rstride, imm = ops
    g, cfg = m.g, m.config
    vlen, blen, size = cfg.vlen, cfg.blen, cfg.vram_elems
    rows2d, acc = m.vram.reshape(-1, vlen), m.m_accum

    def step(_):
        addr = g[rd] + imm
        base, o = addr - addr % vlen, addr % vlen
        if o % blen:
            raise MachineFault(
                "alignment", f"M_MM_WO column offset {o} is not a multiple of BLEN={blen}", address=addr
            )
        s = 1 if rstride == 0 else g[rstride]
        last = base + (blen - 1) * vlen * s + vlen
        if last > size:
            raise MachineFault(
                "address",
                f"M_MM_WO writes rows up to {last} past the end of VRAM ({size})",
                address=addr,
                row_stride=s,
            )
        if s:  # BLEN rows s apart: one write through a strided view of the rows
            row = base // vlen
            rows2d[row : row + blen * s : s, o : o + blen] = acc
        else:  # all rows land on one row: the last wins
            rows2d[base // vlen, o : o + blen] = acc[blen - 1]
        acc.fill(0.0)

    return step


@builder("M_MV_WO")
def _m_mv_wo(m: Machine, ops, pc):
    rd, imm = ops
    g, cfg = m.g, m.config

    def step(_):
        addr = g[rd] + imm
        if addr % cfg.blen or addr % cfg.vlen + cfg.blen > cfg.vlen or addr + cfg.blen > cfg.vram_elems:
            raise MachineFault(
                "alignment", f"M_MV_WO address {addr} must be a multiple of BLEN inside VRAM", address=addr
            )
        m.vram[addr : addr + cfg.blen] = m.v_accum.astype(BF16)
        m.v_accum[...] = 0.0

    return step


@builder("M_BMM_WO")
def _m_bmm_wo(m: Machine, ops, pc):
    rd, imm = ops
    g, cfg = m.g, m.config

    def step(_):
        lanes = cfg.heads_per_row
        rows = _rows(m, g[rd] + imm, lanes * cfg.mlen, "M_BMM_WO destination")
        rows[...] = m.hm_accum.reshape(lanes * cfg.mlen, cfg.mlen).astype(BF16)
        m.hm_accum[...] = 0.0

    return step


@builder("M_BMV_WO")
def _m_bmv_wo(m: Machine, ops, pc):
    rd, imm = ops
    g, cfg = m.g, m.config

    def step(_):
        rows = _rows(m, g[rd] + imm, cfg.heads_per_row, "M_BMV_WO destination")
        rows[...] = m.hv_accum.astype(BF16)
        m.hv_accum[...] = 0.0

    return step


# ----------------------------------------------------------------------------- HBM DMA


def _transfer_start(m: Machine, ab: int, off: int, rows: int, width: int, stride: int, what: str):
    """(first element byte, first scale byte) of a row transfer, bounds- and alignment-checked:
    row i's elements start at the first + i*stride, its scales at the first + i*stride/block.

    Bounds are checked with Python integers first: address registers hold up to 64 bits,
    which would overflow NumPy's int64 arithmetic.
    """
    cfg = m.config
    block = cfg.mx_block
    if off % block or (rows > 1 and stride % block):
        bad = off if off % block else off + stride
        raise MachineFault(
            "alignment",
            f"{what}: HBM row offset {bad} is not a multiple of the MX block "
            f"({block} elements); check the offset register and STRIDE_REG",
            offset=bad,
        )
    base = m.a[ab]
    last = off + stride * (rows - 1)
    lo = base + min(off, m.scale_reg + off // block)
    hi = base + max(last + width, m.scale_reg + last // block + width // block)
    if hi > cfg.hbm_bytes:
        raise MachineFault(
            "address",
            f"{what}: HBM access [{lo}, {hi}) is outside HBM (0..{cfg.hbm_bytes}); "
            f"check a{ab}, SCALE_REG and the offset",
            a=base,
            scale_reg=m.scale_reg,
            offset=off,
        )
    if m.hbm_pages is not None:  # poison the pages this transfer may touch, if not yet done
        m.hbm_pages.ensure(base + off, base + last + width)
        scales = base + m.scale_reg
        m.hbm_pages.ensure(scales + off // block, scales + last // block + width // block)
    return base + off, base + m.scale_reg + off // block


def _transfer_plan(m: Machine, ab: int, off: int, rows: int, width: int, stride: int, what: str):
    """Element and scale byte addresses of a row transfer (one start per row, as lists),
    checked as _transfer_start checks them."""
    e0, s0 = _transfer_start(m, ab, off, rows, width, stride, what)
    block = m.config.mx_block
    return [e0 + i * stride for i in range(rows)], [s0 + i * stride // block for i in range(rows)]


def _gather_bits(m: Machine, e0: int, s0: int, rows: int, width: int, stride: int, codes, out) -> None:
    """Decode a row transfer straight into BF16 bit patterns: `codes` is a (rows*width/block,
    block, 2) uint8 scratch that pairs each element byte with its block's scale byte, read as a
    little-endian u16 index into MX_BF16_BITS."""
    block = m.config.mx_block
    hbm = m.hbm_array
    blocks, scale_stride = width // block, stride // block
    if rows == 1 or stride == width:  # contiguous rows: plain slices
        elements = hbm[e0 : e0 + rows * width]
        scales = hbm[s0 : s0 + rows * blocks]
    elif stride > width and e0 + rows * stride <= hbm.size and s0 + rows * scale_stride <= hbm.size:
        elements = hbm[e0 : e0 + rows * stride].reshape(rows, stride)[:, :width]  # rows apart: a view
        scales = hbm[s0 : s0 + rows * scale_stride].reshape(rows, scale_stride)[:, :blocks]
    else:  # overlapping rows, or the last row's gap past the end of HBM
        i = np.arange(rows, dtype=np.int64)[:, None]
        elements = hbm[(e0 + i * stride + np.arange(width)[None, :]).reshape(-1)]
        scales = hbm[(s0 + i * scale_stride + np.arange(blocks)[None, :]).reshape(-1)]
    pairs = codes.reshape(rows, blocks, block, 2)
    pairs[:, :, :, 1] = scales.reshape(rows, blocks, 1)
    pairs[:, :, :, 0] = elements.reshape(rows, blocks, block)
    MX_BF16_BITS.take(codes.view(_U16LE).reshape(-1), out=out)


def _prefetch(to_matrix: bool) -> Builder:
    def build(m: Machine, ops, pc):
        rd, rs1, ab, rstride, _prec = ops
        g, cfg = m.g, m.config
        rows = cfg.prefetch_m_rows if to_matrix else cfg.prefetch_v_rows
        width = cfg.mlen if to_matrix else cfg.vlen
        block = cfg.mx_block
        name = "H_PREFETCH_M" if to_matrix else "H_PREFETCH_V"
        codes = np.empty((rows * width // block, block, 2), dtype=np.uint8)
        vram_bits, mram_bits = m.vram.view(np.uint16), m.mram.view(np.uint16)
        timing = m.hbm_timing

        def step(_):
            stride = m.stride_reg if rstride else width
            dest = g[rd]
            if to_matrix:
                if dest % cfg.tile_elems:
                    raise MachineFault(
                        "alignment",
                        f"{name}: MRAM destination {dest} is not a multiple of MLEN*MLEN={cfg.tile_elems}",
                        address=dest,
                    )
                if dest + rows * width > cfg.mram_elems:
                    raise MachineFault(
                        "address",
                        f"{name}: MRAM destination {dest} + {rows} rows is outside "
                        f"MRAM ({cfg.mram_tiles} tiles)",
                        address=dest,
                    )
                target = mram_bits[dest : dest + rows * width]
                for tile in range(dest // cfg.tile_elems, (dest + rows * width) // cfg.tile_elems):
                    m.tile_cache.pop(tile, None)
                m.mm_products.clear()
            else:
                _rows(m, dest, rows, f"{name} destination")
                target = vram_bits[dest : dest + rows * width]
            e0, s0 = _transfer_start(m, ab, g[rs1], rows, width, stride, name)
            _gather_bits(m, e0, s0, rows, width, stride, codes, target)
            m.dma_cycles += timing.read_rows(e0, s0, stride, stride // block, rows, width, width // block)

        return step

    return build


BUILDERS["H_PREFETCH_M"] = _prefetch(True)
BUILDERS["H_PREFETCH_V"] = _prefetch(False)


@builder("H_STORE_V")
def _h_store_v(m: Machine, ops, pc):
    rs, rs1, ab, rstride, _prec = ops
    g, cfg = m.g, m.config
    rows, width, block = cfg.store_v_rows, cfg.vlen, cfg.mx_block

    def step(_):
        stride = m.stride_reg if rstride else width
        source = _rows(m, g[rs], rows, "H_STORE_V source").astype(np.float32)
        e0, s0 = _transfer_start(m, ab, g[rs1], rows, width, stride, "H_STORE_V")
        elements, scales = quantize_blocks(source.reshape(-1), block, cfg.mx_quantiser)
        i = np.arange(rows, dtype=np.int64)[:, None]
        m.hbm_array[(e0 + i * stride + np.arange(width)[None, :]).reshape(-1)] = elements
        m.hbm_array[(s0 + i * (stride // block) + np.arange(width // block)[None, :]).reshape(-1)] = scales
        m.dma_cycles += m.hbm_timing.store_rows(e0, s0, stride, stride // block, rows, width, width // block)

    return step


# ----------------------------------------------------------------------------- table-driven


def behaviour_builder(spec) -> Builder:
    """Semantics of an instruction defined by its behaviour (extension sets, accepted proposals):
    read the operands by kind, call the reference, write back what it returns.

    vector: the VLEN-element VRAM row at G[op] (read as float64, written rounded to BF16);
    int_vector: VLEN INT SRAM words at G[op]; fp: F[op] (writes to f0 are dropped); int:
    G[op]; imm: the immediate. A failing reference (a proposal's sandbox gone, a wrong
    result) ends the run with a fault naming the instruction."""
    roles = spec.behaviour.operands
    reference = spec.behaviour.reference
    reads = [i for i, r in enumerate(roles) if r.reads]
    writes = [i for i, r in enumerate(roles) if r.writes]

    def build(m: Machine, ops, pc):
        vlen = m.config.vlen
        row = _vrow_checker(m)
        g, f = m.g, m.f

        def int_row(addr: int) -> int:
            if not 0 <= addr <= m.intsram.size - vlen:
                raise MachineFault(
                    "address", f"{spec.name}: INT SRAM row {addr} is outside INT SRAM", address=addr
                )
            return addr

        def read(i: int):
            kind, value = roles[i].kind, ops[i]
            if kind == "vector":
                a = row(g[value])
                return m.vram[a : a + vlen].astype(np.float64)
            if kind == "int_vector":
                a = int_row(g[value])
                return m.intsram[a : a + vlen].astype(np.int64)
            if kind == "fp":
                return float(f[value])
            if kind == "int":
                return int(g[value])
            return int(value)

        def write(i: int, out) -> None:
            kind, value = roles[i].kind, ops[i]
            if kind == "vector":
                a = row(g[value])
                m.vram[a : a + vlen] = (
                    np.asarray(out, dtype=np.float64).reshape(vlen).astype(np.float32).astype(BF16)
                )
            elif kind == "int_vector":
                a = int_row(g[value])
                words = np.asarray(out, dtype=np.float64).reshape(vlen)
                m.intsram[a : a + vlen] = (
                    np.mod(np.nan_to_num(words), 1 << 32).astype(np.uint64).astype(np.uint32)
                )
            elif kind == "fp":
                if value:
                    f[value] = round_bf16(float(out))
            else:
                g[value] = int(out) & MASK32

        def step(_):
            args = [read(i) for i in reads]
            try:
                result = reference(*args)
            except MachineFault:
                raise
            except Exception as exc:  # the reference's own failure ends the run, named
                raise MachineFault(
                    "instruction", f"{spec.name} failed: {type(exc).__name__}: {exc}"
                ) from None
            # A reference can take long per call (an accepted proposal's runs in a sandbox), so
            # the wall clock is checked after each call, not only every WALL_CHECK_EVERY jumps.
            if time.perf_counter() > m.deadline:
                raise MachineFault(
                    "wall_time", f"the run exceeded its wall-time limit ({spec.name}'s reference is slow)"
                )
            values = list(result) if isinstance(result, tuple) else [result]
            if len(values) != len(writes):
                raise MachineFault(
                    "instruction", f"{spec.name} returned {len(values)} values for {len(writes)} outputs"
                )
            try:
                for i, out in zip(writes, values, strict=True):
                    write(i, out)
            except (TypeError, ValueError, OverflowError) as exc:
                raise MachineFault("instruction", f"{spec.name} returned an unusable value: {exc}") from None

        return step

    return build


def check_complete() -> list[str]:
    """Instructions in the table without semantics (should be none)."""
    return [spec.name for spec in INSTRUCTIONS if spec.name not in BUILDERS]


UNITS = tuple(u.value for u in Unit)
