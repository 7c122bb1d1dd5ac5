"""A small model of how the public PLENA emulator spends time on HBM transfers.

The emulator (PLENA_Simulator transactional_emulator/src/dma.rs) splits an H_* transfer into
64-byte requests and hands them to Ramulator2's HBM2 model, which splits each request into
accesses of prefetch x channel width bytes (16 here). This module follows the same expansion
and schedules the accesses with Ramulator2's HBM2 timing parameters:

- requests: for every transferred row, one per 64-byte block its elements touch, then one
  per block its scales touch (rows sharing a scale block each request it again, as the
  emulator does);
- addresses map to channel / pseudo-channel / bank group / bank / row with Ramulator2's
  MOP4CLXOR mapper (src/addr_mapper/impl/linear_mappers.cpp), which spreads the four
  accesses of a 64-byte block over four channels;
- a bank serves its open row at once (row hit), needs ACT (closed bank) or PRE + ACT
  (another row open: a conflict); FR-FCFS serves a bank's open-row accesses first, then its
  other rows in arrival order, one row at a time; rows stay open across instructions
  (open-row policy);
- ACTs on a pseudo-channel are nRRDS apart and at most four per nFAW window (applied to the
  ACTs of one batch); a bank's PRE waits for nRAS after its ACT and nRTPL (a read) or
  nCWL + nBL + nWR (a write) after its last access; ACT to ACT on a bank is nRC;
- a pseudo-channel's data bus carries one access every max(bus_cycles, nCCDS, nCCDL) cycles
  (consecutive accesses may share a bank group), in order of readiness; a channel's command
  bus issues one command a cycle (ACT takes act_command_cycles), so a channel never finishes
  before its command count;
- read data is back nCL + nBL after the RD; reads of a transfer go out together and the
  instruction waits for the last one; H_STORE_V does a read-modify-write of each 64-byte
  block in order (read, wait, write), as the emulator's write_unaligned does; writes are
  posted, a read after a write on the same pseudo-channel waits nCWL + nBL + nWTRS, a read
  of a block whose write has not issued yet is forwarded from the write queue;
- every read round trip adds controller_cycles (request hand-off and return);
- refresh (nRFC every nREFI) is not modelled: in the emulator it adds about a tenth on
  average and makes single transfers vary.

Traffic is counted as the emulator counts it, 64 bytes per request (scale reads included),
alongside the useful bytes the instruction needed.

Two implementations of the same schedule: a plain-Python one for small batches (stores
issue one block at a time) and a NumPy one for large ones (a 64-row tile is 512 accesses);
a test checks they agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .config import PlenaConfig

NEVER = -(1 << 40)
VECTOR_MIN_ACCESSES = 96  # batches with more accesses take the NumPy path
MEMO_LIMIT = 1 << 18  # blocks described by one memo's entries before it starts again (tens of MB)
_TABLES: dict = {}  # HbmConfig -> HbmModel._access_table()


class _Memo(dict):
    """A memo shared by every model of one HBM configuration (what it stores is a function of
    the configuration alone, so repeated runs of a kernel replay its transfers), emptied when
    the blocks its entries describe pass MEMO_LIMIT."""

    weight = 0

    def put(self, key, value, blocks: int) -> None:
        if self.weight + blocks > MEMO_LIMIT:
            self.clear()
            self.weight = 0
        self[key] = value
        self.weight += blocks


_MEMOS: dict = {}  # HbmConfig -> (shapes, schedules, row transfers)


def _log2(n: int) -> int:
    return int(n).bit_length() - 1


@dataclass
class HbmCounters:
    read_bytes: int = 0  # per 64-byte request, as the emulator counts
    write_bytes: int = 0
    useful_read_bytes: int = 0  # element and scale bytes the transfers needed
    useful_write_bytes: int = 0
    requests: int = 0
    row_hits: int = 0  # (bank, row) groups served from an open row
    row_misses: int = 0  # bank closed: ACT
    row_conflicts: int = 0  # another row open: PRE + ACT

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class HbmModel:
    """Open rows persist across instructions; the rest of the timing state lives for one
    instruction (an instruction starts after the previous one has finished)."""

    def __init__(self, config: PlenaConfig):
        self.config = config
        h = self.h = config.hbm
        self.counters = HbmCounters()
        self.n_pch = h.channels * h.pseudochannels
        self.n_banks = self.n_pch * h.bankgroups * h.banks
        self.open_row = np.full(self.n_banks, -1, dtype=np.int64)  # kept across instructions; -1: closed
        self.access = h.access_bytes
        self.per_request = h.request_bytes // self.access
        self._shift = _log2(self.access)
        col_bits = _log2(h.columns) - _log2(h.prefetch)
        self._col_lo = min(2, col_bits)  # MOP4CLXOR keeps the two lowest column bits lowest
        self._col_hi = col_bits - self._col_lo
        self._level_bits = [_log2(h.channels), _log2(h.pseudochannels), _log2(h.bankgroups), _log2(h.banks)]
        self._gap = max(h.bus_cycles, h.nCCDS, h.nCCDL)
        self._to_core = config.dram_to_core
        period = (1 << (self._shift + col_bits + sum(self._level_bits))) // h.request_bytes
        self._period, self._period_bits = period, _log2(period)  # blocks per row of every bank
        self._table = self._access_table()
        # (store, *blocks) -> the transfer's shape; (store, structure, status) -> its schedule;
        # (store, first element byte, first scale byte, strides, rows, widths) -> (blocks, shape)
        self._shapes, self._schedules, self._rows = _MEMOS.setdefault(h, (_Memo(), _Memo(), _Memo()))
        self._begin()

    # ------------------------------------------------------------------ address mapping
    def map(self, addrs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Byte addresses of accesses -> (pseudo-channel id, bank id, row) (MOP4CLXOR)."""
        a = np.asarray(addrs, dtype=np.int64) >> self._shift
        col = a & ((1 << self._col_lo) - 1)
        a = a >> self._col_lo
        levels = []
        for bits in self._level_bits:
            levels.append(a & ((1 << bits) - 1))
            a = a >> bits
        col = col | ((a & ((1 << self._col_hi) - 1)) << self._col_lo)
        row = a >> self._col_hi
        shift = 0
        for i, bits in enumerate(self._level_bits):
            if bits:
                levels[i] = levels[i] ^ ((col >> shift) & ((1 << bits) - 1))
                shift += bits
        row = row ^ (col >> shift)
        ch, pch, bg, bank = levels
        h = self.h
        pch_id = ch * h.pseudochannels + pch
        bank_id = (pch_id * h.bankgroups + bg) * h.banks + bank
        return pch_id, bank_id, row

    def _access_table(self) -> list[tuple[tuple[int, int], ...]]:
        """(bank, row XOR) of each access of every block within one row period, shared by
        models with the same HBM configuration.

        Block b's accesses are those of block b mod period with the row b // period XORed
        with the table's value: the period spans every column, channel and bank bit, so the
        quotient lands in the row bits alone.
        """
        table = _TABLES.get(self.h)
        if table is None:
            n = self.per_request
            addrs = np.arange(self._period * n, dtype=np.int64) * self.access
            _, bank, row = self.map(addrs)
            pairs = list(zip(bank.tolist(), row.tolist(), strict=True))
            table = _TABLES[self.h] = [tuple(pairs[i : i + n]) for i in range(0, len(pairs), n)]
        return table

    def _accesses(self, block: int) -> list[tuple[int, int, int]]:
        """(pseudo-channel, bank, row) of each access of one 64-byte block."""
        high, per_pch = block >> self._period_bits, self.h.bankgroups * self.h.banks
        return [(bank // per_pch, bank, high ^ x) for bank, x in self._table[block & (self._period - 1)]]

    # ------------------------------------------------------------------ per-instruction state
    def _begin(self) -> None:
        n_pch, n_banks = self.n_pch, self.n_banks
        self.bus_free = [0] * n_pch
        self.read_from = [0] * n_pch
        self.write_from = [0] * n_pch
        self.last_act = [NEVER] * n_pch
        self.bank_act = [NEVER] * n_banks
        self.bank_col = [NEVER] * n_banks
        self.bank_wrote = [False] * n_banks
        self.pending_writes: dict[int, int] = {}  # 64-byte block -> cycle its last WR issues

    def _core(self, dram_cycles: int) -> int:
        return max(1, math.ceil(dram_cycles * self._to_core))

    # ------------------------------------------------------------------ grouping
    def _groups(self, blocks: list[int]) -> tuple:
        """(pseudo-channel, bank, row, access count) per distinct (bank, row), in arrival order:
        lists for small batches, arrays for large ones."""
        rb, acc, n = self.h.request_bytes, self.access, self.per_request
        if len(blocks) * n <= VECTOR_MIN_ACCESSES:
            seen: dict[tuple[int, int], int] = {}
            pch_l, bank_l, row_l, cnt_l = [], [], [], []
            for b in blocks:
                for p, bk, r in self._accesses(b):
                    i = seen.get((bk, r))
                    if i is None:
                        seen[(bk, r)] = len(cnt_l)
                        pch_l.append(p)
                        bank_l.append(bk)
                        row_l.append(r)
                        cnt_l.append(1)
                    else:
                        cnt_l[i] += 1
            return pch_l, bank_l, row_l, cnt_l
        starts = np.asarray(blocks, dtype=np.int64) * rb
        addrs = (starts[:, None] + acc * np.arange(n, dtype=np.int64)[None, :]).reshape(-1)
        pch, bank, row = self.map(addrs)
        key = bank * (1 << 40) + row
        _, first, counts = np.unique(key, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        idx = first[order]
        return pch[idx], bank[idx], row[idx], counts[order]

    @staticmethod
    def _rounds_numpy(open_row: np.ndarray, bank: np.ndarray, row: np.ndarray) -> np.ndarray:
        """_rounds for arrays."""
        hit = open_row[bank] == row
        has_hit = np.zeros(open_row.size, dtype=np.int64)
        has_hit[bank[hit]] = 1
        order = np.argsort(bank, kind="stable")  # arrival order within each bank
        sb = bank[order]
        starts, seg, _ = _segments(sb)
        miss_sorted = (~hit[order]).astype(np.int64)
        rank = np.cumsum(miss_sorted) - miss_sorted
        rank = rank - rank[starts][seg]
        rounds = np.zeros(bank.size, dtype=np.int64)
        rounds[order] = np.where(miss_sorted == 1, rank + has_hit[sb], 0)
        return rounds

    def _rounds(self, bank: list[int], row: list[int]) -> list[int]:
        """Round of each group: a bank's open-row group first, then its other rows in arrival order."""
        opens = {b: int(self.open_row[b]) for b in set(bank)}
        with_hit = {b for b, r in zip(bank, row, strict=True) if r == opens[b]}
        next_round = {b: (1 if b in with_hit else 0) for b in opens}
        rounds = [0] * len(bank)
        for i, (b, r) in enumerate(zip(bank, row, strict=True)):
            if r != opens[b]:
                rounds[i] = next_round[b]
                next_round[b] += 1
        return rounds

    # ------------------------------------------------------------------ scheduling
    def _batch(self, blocks: list[int], arrive: int, write: bool) -> int:
        """Schedule the accesses of these 64-byte blocks, issued together at `arrive`.

        Returns the cycle the last read's data is back (writes: the last WR's cycle).
        """
        h = self.h
        forwarded = False
        if not write and self.pending_writes:
            keep = [b for b in blocks if self.pending_writes.get(b, NEVER) < arrive]
            forwarded = len(keep) < len(blocks)
            blocks = keep
        if not blocks:
            return arrive + 1
        pch, bank, row, count = self._groups(blocks)
        if isinstance(pch, np.ndarray):
            last_col, cmds = self._schedule_numpy(pch, bank, row, count, arrive, write)
        else:
            rounds = self._rounds(bank, row)
            last_col, cmds = self._schedule_python(pch, bank, row, count, rounds, arrive, write)
        done = arrive + 1 if forwarded else arrive
        for ch, last in last_col.items():
            last = max(last, arrive + cmds[ch] - 1)  # one command a cycle per channel
            done = max(done, last if write else last + h.nCL + h.nBL)
        if write:
            for b in blocks:
                self.pending_writes[b] = done
        return done

    def _act_time(self, k: int) -> int:
        """Earliest offset of the k-th ACT of a batch on one pseudo-channel (nRRDS, nFAW)."""
        h = self.h
        return (k // 4) * max(h.nFAW, 4 * h.nRRDS) + (k % 4) * h.nRRDS

    def _schedule_python(self, pch, bank, row, count, rounds, arrive, write):
        h, c, gap = self.h, self.counters, self._gap
        rcd = h.nRCDWR if write else h.nRCDRD
        last_col: dict[int, int] = {}
        cmds: dict[int, int] = {}
        for r in range(max(rounds) + 1):
            sel = [i for i in range(len(pch)) if rounds[i] == r]
            ready = {}
            acts_in_pch: dict[int, list[int]] = {}
            for i in sel:
                b, p = bank[i], pch[i]
                ch = p // h.pseudochannels
                open_row = int(self.open_row[b])
                if open_row == row[i]:
                    c.row_hits += 1
                    ready[i] = arrive
                    continue
                earliest = max(arrive, self.bank_act[b] + h.nRC)
                if open_row >= 0:
                    c.row_conflicts += 1
                    to_pre = (h.nCWL + h.nBL + h.nWR) if self.bank_wrote[b] else h.nRTPL
                    pre = max(arrive, self.bank_col[b] + to_pre, self.bank_act[b] + h.nRAS)
                    earliest = max(earliest, pre + h.nRP)
                    cmds[ch] = cmds.get(ch, 0) + 1
                else:
                    c.row_misses += 1
                acts_in_pch.setdefault(p, []).append(i)
                ready[i] = earliest
                cmds[ch] = cmds.get(ch, 0) + h.act_command_cycles
            for p, items in acts_in_pch.items():
                base = self.last_act[p] + h.nRRDS
                run = NEVER
                act = NEVER
                for k, i in enumerate(items):
                    s = self._act_time(k)
                    run = max(run, max(ready[i], base) - s)
                    act = run + s
                    self.bank_act[bank[i]] = act
                    ready[i] = act + rcd
                self.last_act[p] = act
            by_pch: dict[int, list[int]] = {}
            for i in sorted(sel, key=lambda i: (pch[i], ready[i], i)):
                by_pch.setdefault(pch[i], []).append(i)
            for p, items in by_pch.items():
                free = max(self.bus_free[p], self.write_from[p] if write else self.read_from[p])
                end = NEVER
                for i in items:
                    start = max(ready[i], free)
                    end = start + (count[i] - 1) * gap
                    free = end + gap
                    self.bank_col[bank[i]] = end
                    self.bank_wrote[bank[i]] = write
                    self.open_row[bank[i]] = row[i]
                self._after_bus(p, end, write)
                ch = p // h.pseudochannels
                last_col[ch] = max(last_col.get(ch, arrive), end)
                cmds[ch] = cmds.get(ch, 0) + sum(count[i] for i in items)
        return last_col, cmds

    def _after_bus(self, p: int, end: int, write: bool) -> None:
        h = self.h
        self.bus_free[p] = end + self._gap
        if write:
            self.read_from[p] = max(self.read_from[p], end + h.nCWL + h.nBL + h.nWTRS)
        else:
            self.write_from[p] = max(self.write_from[p], end + h.nCL + h.nBL + 2 - h.nCWL)

    def _schedule_numpy(self, pch_a, bank_a, row_a, cnt_a, arrive, write):
        h, c, gap = self.h, self.counters, self._gap
        rcd = h.nRCDWR if write else h.nRCDRD
        open_row = self.open_row
        bank_act = np.array(self.bank_act, dtype=np.int64)
        bank_col = np.array(self.bank_col, dtype=np.int64)
        bank_wrote = np.array(self.bank_wrote, dtype=bool)
        last_act = np.array(self.last_act, dtype=np.int64)
        rnd_a = self._rounds_numpy(open_row, bank_a, row_a)
        ch_a = pch_a // h.pseudochannels
        n_ch = h.channels
        last_col = np.full(n_ch, arrive, dtype=np.int64)
        cmds = np.zeros(n_ch, dtype=np.int64)
        touched = np.zeros(n_ch, dtype=bool)
        touched[ch_a] = True
        for r in range(int(rnd_a.max()) + 1):
            sel = np.flatnonzero(rnd_a == r)  # arrival order
            p, b, rw, cn = pch_a[sel], bank_a[sel], row_a[sel], cnt_a[sel]
            opened = open_row[b]
            hit = opened == rw
            conflict = ~hit & (opened >= 0)
            miss = ~hit & ~conflict
            c.row_hits += int(hit.sum())
            c.row_conflicts += int(conflict.sum())
            c.row_misses += int(miss.sum())
            to_pre = np.where(bank_wrote[b], h.nCWL + h.nBL + h.nWR, h.nRTPL)
            pre = np.maximum(np.maximum(arrive, bank_col[b] + to_pre), bank_act[b] + h.nRAS)
            earliest = np.maximum(arrive, bank_act[b] + h.nRC)
            earliest = np.where(conflict, np.maximum(earliest, pre + h.nRP), earliest)
            ready = np.full(sel.size, arrive, dtype=np.int64)
            need = ~hit
            np.add.at(cmds, ch_a[sel], np.where(conflict, 1, 0) + np.where(need, h.act_command_cycles, 0))
            if need.any():
                ai = np.flatnonzero(need)  # arrival order within the round
                ap = p[ai]
                order = np.argsort(ap, kind="stable")
                ai, ap = ai[order], ap[order]
                starts, seg, ends = _segments(ap)
                k = np.arange(ap.size) - starts[seg]
                s = (k // 4) * max(h.nFAW, 4 * h.nRRDS) + (k % 4) * h.nRRDS
                e = np.maximum(earliest[ai], last_act[ap] + h.nRRDS) - s
                act = _segment_cummax(e, seg) + s
                ready[ai] = act + rcd
                bank_act[b[ai]] = act
                last_act[ap[ends]] = act[ends]
            # Data bus: per pseudo-channel, groups in order of readiness.
            order = np.lexsort((np.arange(sel.size), ready, p))
            op, orr, ocn = p[order], ready[order], cn[order]
            starts, seg, seg_end = _segments(op)
            span = ocn * gap  # bus cycles each group occupies
            before = np.cumsum(span) - span
            before = before - before[starts][seg]  # bus cycles of earlier groups in the segment
            heads = op[starts]
            free0 = [
                max(self.bus_free[q], self.write_from[q] if write else self.read_from[q])
                for q in heads.tolist()
            ]
            free = np.asarray(free0, dtype=np.int64)[seg]
            begin = _segment_cummax(np.maximum(orr, free) - before, seg) + before
            end = begin + (ocn - 1) * gap
            bo = b[order]
            bank_col[bo] = end
            bank_wrote[bo] = write
            open_row[bo] = rw[order]
            for q, e_end in zip(heads.tolist(), end[seg_end].tolist(), strict=True):
                self._after_bus(q, e_end, write)
            np.maximum.at(last_col, op // h.pseudochannels, end)
            np.add.at(cmds, op // h.pseudochannels, ocn)
        self.bank_act = bank_act.tolist()
        self.bank_col = bank_col.tolist()
        self.bank_wrote = bank_wrote.tolist()
        self.last_act = last_act.tolist()
        chans = np.flatnonzero(touched)
        return dict(zip(chans.tolist(), last_col[chans].tolist(), strict=True)), dict(
            zip(chans.tolist(), cmds[chans].tolist(), strict=True)
        )

    # ------------------------------------------------------------------ instructions
    def read(
        self, elem_starts: Sequence[int], scale_starts: Sequence[int], width: int, scale_width: int
    ) -> int:
        """Core cycles of a prefetch: every row's element blocks and its scale block(s), all
        issued at once; the instruction ends when the last data is back."""
        h = self.h
        blocks = row_blocks(elem_starts, scale_starts, width, scale_width, h.request_bytes)
        dram = self._cached(False, blocks)
        c = self.counters
        c.requests += len(blocks)
        c.read_bytes += len(blocks) * h.request_bytes
        c.useful_read_bytes += len(elem_starts) * (width + scale_width)
        return self._core(dram)

    def store(
        self, elem_starts: Sequence[int], scale_starts: Sequence[int], width: int, scale_width: int
    ) -> int:
        """Core cycles of H_STORE_V: for each row, read-modify-write of its element blocks,
        then of its scale block(s), one block at a time."""
        rb = self.h.request_bytes
        blocks = row_blocks(elem_starts, scale_starts, width, scale_width, rb)
        dram = self._cached(True, blocks)
        c = self.counters
        c.requests += 2 * len(blocks)
        c.read_bytes += len(blocks) * rb
        c.write_bytes += len(blocks) * rb
        c.useful_write_bytes += len(elem_starts) * (width + scale_width)
        return self._core(dram)

    def read_rows(
        self, e0: int, s0: int, stride: int, scale_stride: int, rows: int, width: int, scale_width: int
    ) -> int:
        """read() of `rows` rows at e0 + i*stride with scales at s0 + i*scale_stride, the
        transfer's blocks and shape memoised by those numbers (what an H_PREFETCH_* has at hand)."""
        blocks, shape = self._row_transfer(False, e0, s0, stride, scale_stride, rows, width, scale_width)
        dram = self._replay(False, blocks, shape)
        c = self.counters
        c.requests += len(blocks)
        c.read_bytes += len(blocks) * self.h.request_bytes
        c.useful_read_bytes += rows * (width + scale_width)
        return self._core(dram)

    def store_rows(
        self, e0: int, s0: int, stride: int, scale_stride: int, rows: int, width: int, scale_width: int
    ) -> int:
        """store() of rows given as in read_rows."""
        blocks, shape = self._row_transfer(True, e0, s0, stride, scale_stride, rows, width, scale_width)
        dram = self._replay(True, blocks, shape)
        rb = self.h.request_bytes
        c = self.counters
        c.requests += 2 * len(blocks)
        c.read_bytes += len(blocks) * rb
        c.write_bytes += len(blocks) * rb
        c.useful_write_bytes += rows * (width + scale_width)
        return self._core(dram)

    def _row_transfer(self, store, e0, s0, stride, scale_stride, rows, width, scale_width) -> tuple:
        key = (store, e0, s0, stride, scale_stride, rows, width, scale_width)
        entry = self._rows.get(key)
        if entry is None:
            elem_starts = [e0 + i * stride for i in range(rows)]
            scale_starts = [s0 + i * scale_stride for i in range(rows)]
            blocks = row_blocks(elem_starts, scale_starts, width, scale_width, self.h.request_bytes)
            entry = (blocks, self._shape_of(store, blocks))
            self._rows.put(key, entry, len(blocks))
        return entry

    def _read(self, blocks: list[int]) -> int:
        self._begin()
        return self._batch(blocks, 0, write=False) + self.h.controller_cycles

    def _store(self, blocks: list[int]) -> int:
        self._begin()
        now = 0
        for b in blocks:
            now = self._batch([b], now, write=False) + self.h.controller_cycles
            self._batch([b], now, write=True)
        return now

    # ------------------------------------------------------------------ memoisation
    def _cached(self, store: bool, blocks: list[int]) -> int:
        """Run a transfer's schedule, or replay a stored one.

        What a transfer costs, the counters it adds and the rows it leaves open follow from
        the code above: every timing list is reset per instruction (_begin), so the only
        state carried in is the open row of each bank. Banks, pseudo-channels, channels,
        rows and blocks are only compared for equality (grouping, per-bank and per-bus
        state, store forwarding) or stored; pseudo-channels are visited in id order, but
        each one's work touches only its own state and sums or maxima over channels, so the
        order does not matter; a row is only compared with the open row or stored as it
        (and `>= 0` tells a closed bank). So the result depends only on the transfer's
        structure, which accesses share a block, a (bank, row), a bank, a pseudo-channel and
        a channel, numbered in order of first appearance, and on each bank's status: closed,
        open at another row, or open at one of the transfer's rows. That is the memo key;
        a replay sets each touched bank's open row back from its stored number.
        """
        return self._replay(store, blocks, self._shape_of(store, blocks))

    def _shape_of(self, store: bool, blocks: list[int]) -> tuple:
        shape = self._shapes.get((store, *blocks))
        if shape is None:
            shape = self._shape(blocks)
            self._shapes.put((store, *blocks), shape, len(blocks))
        return shape

    def _replay(self, store: bool, blocks: list[int], shape: tuple) -> int:
        """_cached with the transfer's shape at hand."""
        structure, banks, first_row, first_pair, several, pair_of, pair_rows = shape
        open_row = self.open_row
        # Plain Python over the touched banks: transfers touch a few to a few hundred, where
        # NumPy's per-call cost outweighs its per-element speed.
        opened = open_row[banks].tolist()
        status = [
            p if o == r else (-1 if o < 0 else -2)
            for o, r, p in zip(opened, first_row, first_pair, strict=True)
        ]
        for i, rows in several:  # banks the transfer needs several rows of
            label = rows.get(opened[i])
            if label is not None:
                status[i] = label
        key = (store, structure, tuple(status))
        c = self.counters
        stored = self._schedules.get(key)
        if stored is None:
            before = (c.row_hits, c.row_misses, c.row_conflicts)
            dram = self._store(blocks) if store else self._read(blocks)
            delta = (c.row_hits - before[0], c.row_misses - before[1], c.row_conflicts - before[2])
            pairs = zip(banks.tolist(), open_row[banks].tolist(), strict=True)
            final = np.array([pair_of[pair] for pair in pairs], dtype=np.int64)
            self._schedules.put(key, (dram, delta, final), len(blocks))
            return dram
        dram, delta, final = stored
        open_row[banks] = pair_rows[final]
        c.row_hits += delta[0]
        c.row_misses += delta[1]
        c.row_conflicts += delta[2]
        return dram

    def _shape(self, blocks: list[int]) -> tuple:
        """A transfer's structure (see _cached); the banks it touches in order of first
        appearance with, for each, its first (bank, row) pair's row and number and, for banks
        with several, all their rows' numbers; every pair's number and row."""
        table, mask, bits = self._table, self._period - 1, self._period_bits
        block_of: dict[int, int] = {}
        pair_of: dict[tuple[int, int], int] = {}
        sequence, accesses = [], []
        for b in blocks:
            label = block_of.get(b)
            if label is None:
                label = block_of[b] = len(block_of)
                high = b >> bits
                for bank, row_xor in table[b & mask]:
                    pair = (bank, high ^ row_xor)
                    p = pair_of.get(pair)
                    if p is None:
                        p = pair_of[pair] = len(pair_of)
                    accesses.append(p)
            sequence.append(label)
        rows_of: dict[int, dict[int, int]] = {}  # bank -> {row: pair number}, banks in first-use order
        for (bank, row), p in pair_of.items():
            rows_of.setdefault(bank, {})[row] = p
        bank_number = {bank: i for i, bank in enumerate(rows_of)}
        pair_bank = [bank_number[bank] for bank, _ in pair_of]
        per_pch = self.h.bankgroups * self.h.banks
        pch_of: dict[int, int] = {}
        bank_pch = [pch_of.setdefault(bank // per_pch, len(pch_of)) for bank in rows_of]
        ch_of: dict[int, int] = {}
        pch_ch = [ch_of.setdefault(p // self.h.pseudochannels, len(ch_of)) for p in pch_of]
        structure = (tuple(sequence), tuple(accesses), tuple(pair_bank), tuple(bank_pch), tuple(pch_ch))
        firsts = [next(iter(rows.items())) for rows in rows_of.values()]
        several = tuple((i, rows) for i, rows in enumerate(rows_of.values()) if len(rows) > 1)
        return (
            structure,
            np.array(list(rows_of), dtype=np.int64),
            [row for row, _ in firsts],
            [p for _, p in firsts],
            several,
            pair_of,
            np.array([row for _, row in pair_of], dtype=np.int64),
        )


def _segments(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a sorted array: where each run of equal keys starts, each element's run number, and
    where each run ends (np.concatenate rather than np.r_, whose indexing machinery costs more
    than the arithmetic on these small arrays)."""
    starts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1))
    bounds = np.concatenate((starts, [keys.size]))
    return starts, np.repeat(np.arange(starts.size), np.diff(bounds)), bounds[1:] - 1


def _segment_cummax(values: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Running maximum restarted at every segment (segments are contiguous and ascending)."""
    if values.size == 0:
        return values
    span = int(values.max() - values.min()) + 1
    lifted = values + seg * span  # later segments always exceed earlier ones
    return np.maximum.accumulate(lifted) - seg * span


def row_blocks(
    elem_starts: Sequence[int], scale_starts: Sequence[int], width: int, scale_width: int, block: int
) -> list[int]:
    """The 64-byte block of every request of a transfer, in issue order: row by row, the
    element blocks, then the scale block(s)."""
    out: list[int] = []
    if isinstance(elem_starts, np.ndarray):
        elem_starts, scale_starts = elem_starts.tolist(), np.asarray(scale_starts).tolist()
    for e, s in zip(elem_starts, scale_starts, strict=True):
        out.extend(range(e // block, (e + width - 1) // block + 1))
        out.extend(range(s // block, (s + scale_width - 1) // block + 1))
    return out
