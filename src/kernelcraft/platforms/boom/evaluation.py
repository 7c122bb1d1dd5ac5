"""Preparing a CPU task instance on BOOM and judging a kernel against it.

prepare() draws the task's integer inputs, lays them out (layout.py) and computes the exact
reference; the reference never enters simulated memory. run() adds the instance's memory
image to the built program (no relinking), simulates it on the BOOM preset, reads the
output back and judges it exactly with the platform-neutral judging.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from ...tasks import Task, get_task
from ..api import Evaluation, PlatformError
from ..base import Fault, RunLimits
from ..judging import EXACT, Tolerance, judge
from . import elf, layout
from .config import BoomConfig
from .machine import Execution, returned, simulate
from .program import Program
from .runtime import DATA_BASE, STACK_BASE, STACK_TOP

TRAP_NAMES = {
    0: "instruction address misaligned",
    1: "instruction access fault",
    2: "illegal instruction",
    3: "breakpoint",
    4: "load address misaligned",
    5: "load access fault",
    6: "store address misaligned",
    7: "store access fault",
    8: "ecall from U-mode",
    11: "ecall from M-mode",
    12: "instruction page fault",
    13: "load page fault",
    15: "store page fault",
}


@dataclass(frozen=True)
class BoomInstance:
    task: Task
    config_name: str
    seed: int
    profile: str
    params: dict[str, int]
    inputs: dict[str, np.ndarray]
    reference: np.ndarray
    output_shape: tuple[int, ...]
    tolerance: Tolerance
    layout: layout.Layout
    window: bytes
    stack: bytes | None  # the poisoned stack, or None (zeroed memory)
    poisoned: bool

    @property
    def poison(self) -> bool:
        return self.poisoned

    def label(self) -> str:
        shape = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.task.id} {self.config_name} ({shape})"

    def contract_text(self) -> str:
        from .docs import render_contract

        return render_contract(self)

    def segments(self) -> list[elf.Segment]:
        out = [elf.Segment(DATA_BASE, self.window)]
        if self.stack is not None:
            out.append(elf.Segment(STACK_BASE, self.stack))
        return out

    def signature_bounds(self) -> tuple[int, int]:
        return DATA_BASE, DATA_BASE + len(self.window)

    def image(self, program: Program) -> bytes:
        start, end = self.signature_bounds()
        return elf.with_segments(
            program.elf, self.segments(), {"begin_signature": start, "end_signature": end}
        )


def prepare(
    task: Task | str, config_name: str, seed: int, profile: str, poison: bool, params: dict[str, int]
) -> BoomInstance:
    task = get_task(task) if isinstance(task, str) else task
    if not task.has_form("integer") or task.id not in layout.CONTRACTS:
        raise PlatformError(f"task {task.id} is not a CPU task")
    inputs = task.make_inputs_for(params, seed, profile, "integer")
    return prepare_with_inputs(task, config_name, inputs, params, seed, profile, poison)


def prepare_with_inputs(
    task: Task,
    config_name: str,
    inputs: dict[str, np.ndarray],
    params: dict[str, int],
    seed: int = 0,
    profile: str = "custom",
    poison: bool = False,
) -> BoomInstance:
    """An instance on given input values (for tests and hand-made cases); `seed` only seeds the poison."""
    expected = dict(task.inputs_for(params, "integer"))
    dtypes = task.input_dtypes("integer")
    if set(inputs) != set(expected):
        raise PlatformError(f"{task.id} takes inputs {', '.join(expected)}, got {', '.join(inputs)}")
    inputs = {name: np.asarray(inputs[name], dtype=dtypes[name]).reshape(expected[name]) for name in expected}
    reference = task.reference(inputs, params, "integer")
    plan = layout.plan(task.id, params, inputs)
    rng = np.random.default_rng([zlib.crc32(f"poison:{task.id}:{config_name}".encode()), seed & 0xFFFFFFFF])
    window = layout.image(plan, inputs, rng if poison else None)
    stack = rng.integers(0, 256, STACK_TOP - STACK_BASE, dtype=np.uint8).tobytes() if poison else None
    return BoomInstance(
        task,
        config_name,
        seed,
        profile,
        dict(params),
        inputs,
        reference,
        tuple(reference.shape),
        EXACT,
        plan,
        window,
        stack,
        poison,
    )


@dataclass(frozen=True)
class BoomFault(Fault):
    """A Fault that shows addresses (pc, mtval, the address of a stray write) in hex."""

    pc_format = "#x"

    def where(self) -> str:
        if self.pc is None and isinstance(self.state.get("address"), int):
            return f" at address {self.state['address']:#x}"
        return super().where()

    def state_items(self) -> list[str]:
        return [
            f"{k}={v:#x}" if k in HEX_STATE and isinstance(v, int) else f"{k}={v}"
            for k, v in self.state.items()
        ]


HEX_STATE = {"mtval", "address", "pc", "mepc"}
PAST_THE_END = 16  # bytes after the kernel's last instruction where falling through lands


def fault_of(execution: Execution, program: Program) -> Fault | None:
    """The run's problem as a Fault (pc, instruction, kernel line), or None for a clean exit."""
    if execution.stop == "exit":
        return None
    if execution.stop == "trap" and execution.trap is not None:
        cause = execution.trap["mcause"]
        pc = execution.trap["mepc"]
        tval = execution.trap["mtval"]
        name = TRAP_NAMES.get(cause, f"mcause {cause}")
        text = _instruction_at(program, pc)
        line = program.line_at(pc)
        past_the_end = program.kernel_end <= pc < program.kernel_end + PAST_THE_END
        if line:
            where = ""
        elif program.kernel_start <= pc < program.kernel_end:
            where = " (in your kernel, at data or a directive with no source line)"
        elif past_the_end:
            where = " (just past the last instruction of your kernel)"
        else:
            where = " (outside your kernel's code)"
        message = f"{name}{where}; mtval = {tval:#x}"
        if past_the_end and cause in (1, 2):
            message += ": the pc ran off the end of your code: does every path of kernel end with `ret`?"
        elif cause in (5, 7):
            message += ": the address is outside RAM or denied by PMP"
        elif cause in (4, 6):
            message += ": BOOM traps misaligned loads and stores; align to the access size"
        elif cause == 2:
            message += ": not an RV64GC instruction, or a CSR that does not exist"
        return BoomFault("trap", message, pc, text, line, {"mcause": cause, "mtval": tval})
    kind = {"instruction_limit": "instruction_limit", "wall_time": "wall_time"}.get(execution.stop, "error")
    pc = execution.stop_pc
    line = program.line_at(pc)
    message = execution.message or execution.stop
    if kind != "error":
        if pc is None:
            at = ""
        elif line:
            at = f" at line {line}"
        elif program.kernel_start <= pc < program.kernel_end:
            at = " inside your kernel"
        else:
            at = " outside your kernel's code"
        message += (
            f"; it was running{at} when stopped: an endless loop, or a kernel that did not return "
            "(ret with the ra it was given)?"
        )
    return BoomFault(
        kind,
        message,
        pc,
        _instruction_at(program, pc) if pc is not None else "",
        line,
        {"cycles": execution.stats.cycles, "instructions": execution.stats.instructions},
    )


# An address within this of a 64-bit poison word (or of a sign-extended 32-bit one, closer) was
# computed from it: an immediate offset reaches +-2048. The 32-bit window is narrow because random
# 32-bit words are dense enough to be near any address by chance (< 1% here).
POISON_NEAR_64 = 2048
POISON_NEAR_32 = 256


def poison_values(instance: BoomInstance) -> tuple[np.ndarray, np.ndarray]:
    """The aligned 8-byte words and the sign-extended aligned 4-byte words of the poison bytes the
    run started with (stack, outputs, scratch and the gaps between buffers), as uint64."""
    chunks = [(STACK_BASE, instance.stack)] if instance.stack is not None else []
    ranges = [(b.address, b.end) for b in instance.layout.buffers if b.role in ("output", "scratch")]
    ranges += [(lo, hi) for lo, hi, what in layout.untouchable(instance.layout) if what.startswith("the gap")]
    chunks += [(lo, instance.window[lo - DATA_BASE : hi - DATA_BASE]) for lo, hi in ranges]
    words64, words32 = [np.zeros(0, dtype=np.uint64)], [np.zeros(0, dtype=np.uint64)]
    for address, data in chunks:
        for size, out, dtype in ((8, words64, "<u8"), (4, words32, "<i4")):
            body = data[-address % size :]
            values = np.frombuffer(body[: len(body) // size * size], dtype=dtype)
            out.append(values.astype(np.int64).view(np.uint64) if size == 4 else values)
    return np.concatenate(words64), np.concatenate(words32)


def with_poison_hint(fault: Fault | None, instance: BoomInstance) -> Fault | None:
    """The fault, told that its address looks like poison when it does (a pointer or address read
    from memory the kernel never wrote)."""
    if fault is None or not instance.poison or fault.kind != "trap":
        return fault
    if fault.state.get("mcause") not in (1, 4, 5, 6, 7):
        return fault
    address = np.uint64(fault.state["mtval"])
    words64, words32 = poison_values(instance)
    with np.errstate(over="ignore"):
        near = ((words64 - address) < POISON_NEAR_64) | ((address - words64) < POISON_NEAR_64)
        near32 = ((words32 - address) < POISON_NEAR_32) | ((address - words32) < POISON_NEAR_32)
    if not near.any() and not near32.any():
        return fault
    return replace(
        fault,
        message=fault.message + "; the address looks like poison: it was computed from memory you never "
        "wrote (every evaluation fills outputs, scratch, the gaps between buffers and the stack with random "
        "bytes)",
    )


def stray_writes(instance: BoomInstance, read) -> Fault | None:
    """A Fault when the kernel changed input buffers or the gaps between buffers."""
    start = layout.BUFFERS_BASE
    before = np.frombuffer(instance.window, dtype=np.uint8)[start - DATA_BASE :]
    after = np.frombuffer(read(start, len(before)), dtype=np.uint8)
    changed = before != after
    for lo, hi, what in layout.untouchable(instance.layout):
        hits = np.flatnonzero(changed[lo - start : hi - start])
        if hits.size:
            first = lo + int(hits[0])
            return BoomFault(
                "out_of_bounds",
                f"the kernel wrote {hits.size} byte(s) of {what}, first at {first:#x}; "
                "write only the output and scratch buffers (and your own stack and data)",
                None,
                "",
                None,
                {"address": first, "bytes": int(hits.size)},
            )
    return None


def abi_fault(execution: Execution) -> Fault | None:
    """A Fault when kernel returned with sp or s0..s11 changed (the start-up code calls it
    with every s-register zero and sp at the stack top, and touches none of them after)."""
    entry = {name: 0 for name in execution.callee_saved}
    if "sp" in entry:
        entry["sp"] = STACK_TOP
    changed = [name for name, value in execution.callee_saved.items() if value != entry[name]]
    if not changed:
        return None
    detail = ", ".join(
        f"{name} = {execution.callee_saved[name]:#x} (was {entry[name]:#x})" for name in changed
    )
    return BoomFault(
        "abi",
        f"kernel returned with callee-saved registers changed: {detail}. The LP64 calling "
        "convention requires sp and s0..s11 to be as they were at entry: save the s-registers "
        "you use on the stack and restore them (and sp) before `ret`",
        None,
        "",
        None,
        {name: f"{execution.callee_saved[name]:#x}" for name in changed},
    )


ACCESS_FAULTS = {5: "load", 7: "store"}
PMPADDR_BITS = 54  # RV64: pmpaddr holds physical address bits 55:2


def pmp_allows_user(pmp: tuple[int, ...], address: int, size: int, store: bool) -> bool:
    """The privileged spec's PMP decision for a user-mode access of `size` bytes at `address`,
    under pmp = (pmpcfg0, pmpaddr0, ...): the lowest-numbered entry that matches any byte decides;
    an access only partly inside it fails; no match fails."""
    cfg, addrs = pmp[0], [a & ((1 << PMPADDR_BITS) - 1) for a in pmp[1:]]
    for i, raw in enumerate(addrs):
        entry = (cfg >> (8 * i)) & 0xFF
        mode = (entry >> 3) & 3
        if mode == 0:
            continue
        if mode == 1:  # TOR: [pmpaddr(i-1), pmpaddr(i))
            lo, hi = (addrs[i - 1] << 2 if i else 0), raw << 2
        elif mode == 2:  # NA4
            lo, hi = raw << 2, (raw << 2) + 4
        else:  # NAPOT: trailing ones give the size
            ones = (~raw & (raw + 1)).bit_length() - 1
            lo = (raw & ~((1 << ones) - 1)) << 2
            hi = lo + (1 << (ones + 3))
        if address + size <= lo or address >= hi:
            continue
        if not (lo <= address and address + size <= hi):
            return False
        return bool(entry & (2 if store else 1))
    return False


def trap_mechanism(instance: BoomInstance, execution: Execution) -> Fault | None:
    """A Fault when the contract's trap records did not come from real user-mode traps.

    The denied records of the reference must be exactly the load/store access faults the run
    took from user mode (same mcause, mtval - base): a kernel that works the decisions out in
    software, or in machine mode, writes the right numbers without the mechanism the task
    is about.
    """
    check = instance.layout.contract.trap_records
    if check is None or execution.stop != "exit" or execution.traps is None:
        return None
    base = instance.layout.buffer(check.base).address
    records = instance.reference[layout.output_span(instance.layout, check.records)].reshape(-1, 2)
    expected = Counter((int(c), int(off)) for c, off in records.tolist() if c != 0)
    user = execution.traps.from_user()
    taken = Counter((t.cause, t.tval - base) for t in user if t.cause in ACCESS_FAULTS)

    def describe(items: Counter) -> str:
        shown = [f"{ACCESS_FAULTS.get(c, c)} at {check.base}+{off:#x}" for c, off in sorted(items.elements())]
        more = f" and {len(shown) - 4} more" if len(shown) > 4 else ""
        return ", ".join(shown[:4]) + more

    denied = sum(expected.values())
    got = sum(taken.values())
    if taken == expected:
        return _pmp_setting_fault(instance, records, base, user, check)
    parts = [
        f"the {check.records} are not the PMP's work: {denied} denied access(es) should each trap from "
        f"user mode (mcause 5 load / 7 store, mtval = the address), but the run took {got} such trap(s)"
    ]
    if not user:
        parts.append(
            "nothing trapped from user mode: program pmpcfg0/pmpaddr, drop to user mode (mret with "
            "mstatus.MPP = 0) and perform every access there"
        )
    missing, extra = expected - taken, taken - expected
    if missing:
        parts.append(f"no trap for: {describe(missing)}")
    if extra:
        parts.append(f"traps no record explains: {describe(extra)}")
    fetch = [t for t in user if t.cause == 1]
    if fetch:
        parts.append(
            f"{len(fetch)} user-mode instruction fetch(es) were denied (mcause 1, first at "
            f"{fetch[0].tval:#x}): grant your user code X with a PMP entry outside the arena"
        )
    if execution.traps.unobserved:
        parts.append(f"{execution.traps.unobserved} trap(s) were taken where the harness could not read them")
    return BoomFault(
        "pmp_check",
        "; ".join(parts),
        None,
        "",
        None,
        {"denied_records": denied, "user_access_faults": got},
    )


def _pmp_setting_fault(instance: BoomInstance, records, base: int, user, check) -> Fault | None:
    """A Fault when the PMP in force at a user-mode trap does not decide every access of the task
    as the reference does (the denied ones trapping is not enough: the allowed ones must be
    allowed by the same setting, or the decisions were made elsewhere)."""
    accesses = check.accesses(instance.inputs, base)
    for setting in dict.fromkeys(t.pmp for t in user if t.pmp):
        for j, (address, size, store) in enumerate(accesses):
            allowed = pmp_allows_user(setting, address, size, store)
            if allowed == (int(records[j][0]) == 0):
                continue
            what = f"{'store to' if store else 'load from'} {check.base}+{address - base:#x}"
            detail = f"pmpcfg0={setting[0]:#x}, " + ", ".join(
                f"pmpaddr{i}={a:#x}" for i, a in enumerate(setting[1:])
            )
            return BoomFault(
                "pmp_check",
                f"the PMP setting in force when user mode trapped does not implement the region table: "
                f"access {j} ({what}) is {'allowed' if allowed else 'denied'} by it but "
                f"{'denied' if allowed else 'allowed'} by the table. Program the PMP once so that it decides "
                f"every access, then perform all of them in user mode ({detail})",
                None,
                "",
                None,
                {"access": j, "pmpcfg0": f"{setting[0]:#x}"},
            )
    return None


def _instruction_at(program: Program, pc: int) -> str:
    for ins in program.instructions():
        if ins.address == pc:
            return ins.text
    return ""


def run(
    program: Program,
    instance: BoomInstance,
    cfg: BoomConfig,
    limits: RunLimits | None = None,
    trace: bool = False,
) -> Evaluation:
    """Simulate a built kernel on an instance and judge its output; never raises for a bad kernel."""
    sites = program.xret_sites() if instance.layout.contract.trap_records is not None else None
    execution = simulate(instance.image(program), cfg, limits, trap_sites=sites)
    fault = (
        with_poison_hint(fault_of(execution, program), instance)
        or abi_fault(execution)
        or stray_writes(instance, execution.memory.read)
        or trap_mechanism(instance, execution)
    )
    dtype = instance.task.integer.output_dtype
    output = layout.read_output(
        instance.layout, execution.memory.read, returned(execution.memory)[0], dtype, instance.output_shape
    )
    before = layout.output_poison(instance.layout, instance.window, dtype, instance.output_shape)
    untouched = None
    if before is not None:
        untouched = (output == before) & (instance.reference != before)
    verdict = judge(
        output,
        instance.reference,
        instance.tolerance,
        row_width=64,
        untouched=untouched,
        untouched_meaning="still the value memory held before the run" if before is not None else None,
        poisoned=instance.poison,
    )
    return Evaluation(
        label=instance.label(),
        ok=fault is None,
        correct=fault is None and verdict.all_match,
        match_rate=verdict.match_rate,
        tolerance=instance.tolerance,
        fault=fault,
        stats=execution.stats,
        diff=verdict.diff,
        mse=verdict.mse,
        max_abs_err=verdict.max_abs_err,
        output=output,
        program=program,
        trace=None,  # no trace format yet; the Execution holds a live simulator and cannot be pickled
    )
