"""Assembler for AIE2-syntax VLIW assembly: bundles, labels, the bundle rules, static hazards.

Syntax (as llvm-aie prints it): one bundle per line, its operations separated by `;`
(`vlda wl0, [p0], #32 ; vldb wl4, [p1], #32 ; vmac.f bml0, bml0, x0, x4, r0`); `nop` alone
is an empty bundle; `nopa/nopb/nops/nopx/nopm/nopv/nopxm` name an empty slot; labels end in
`:`; `//` starts a comment; immediates are `#expr`; directives `.p2align`, `.globl`, `.type`,
`.size`, `.text`, `.section`, `.file`, `.ident`, `.addrsig` are accepted (only `.p2align`
does anything). Data movement (`.bd`) is the harness's, not the kernel's.

Every problem is a Diagnostic with line, column, the offending text and a hint; nothing
raises on bad input. The harness's runtime routines are linked in when the source calls them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from ..base import Diagnostic
from .config import DEFAULT_CONFIG, AieConfig
from .expr import ExprError, evaluate
from .isa import (
    BY_MNEMONIC,
    MEM_MODES,
    NOP_MNEMONICS,
    SLOT_NOPS,
    Operand,
    OpSpec,
    Slot,
    bundle_bytes,
    mem_imm_ranges,
)
from .registers import SCALAR_INDEX, Reg, location_name, parse_register, reg_class

IGNORED_DIRECTIVES = (
    ".globl",
    ".global",
    ".type",
    ".size",
    ".text",
    ".section",
    ".file",
    ".ident",
    ".addrsig",
    ".p2align",
    ".align",
    ".balign",
)
_LABEL = re.compile(r"^\s*([A-Za-z_.$][\w.$]*)\s*:(?!:)")
_MEM = re.compile(r"^\[\s*([A-Za-z]+\d+)\s*(?:,\s*(.+?))?\s*\]$")
LOOP_REGS = {"ls", "le", "lc"}


@dataclass(frozen=True)
class Addr:
    """A parsed memory operand."""

    preg: Reg
    mode: str  # idx | idxj | post | postm | 2d
    imm: int = 0
    reg: Reg | None = None  # dj (idxj), m (postm)
    dim: int = 0  # K of dK (2d)
    text: str = ""

    def __str__(self) -> str:
        return self.text


@dataclass
class Op:
    spec: OpSpec
    args: list
    text: str
    column: int
    reads: tuple[tuple[int, int], ...] = ()  # (location, read delay)
    writes: tuple[tuple[int, int], ...] = ()  # (location, latency)

    @cached_property
    def delayed(self) -> bool:
        """Reads an accumulator after issue (the vector unit's accumulator input)."""
        return any(delay for _loc, delay in self.reads)

    def __str__(self) -> str:
        return self.text


@dataclass
class Bundle:
    ops: list[Op]
    line: int
    text: str
    slots: set[Slot] = field(default_factory=set)
    address: int = 0
    size: int = 2
    labels: list[str] = field(default_factory=list)
    align: int = 1
    pad: int = 0  # bytes added to this bundle so that the next one is aligned
    library: bool = False  # part of a linked runtime routine

    @property
    def is_branch(self) -> bool:
        return any(o.spec.branch for o in self.ops)

    @cached_property
    def summary(self) -> tuple[int, int, tuple[tuple[str, int], ...]]:
        """(operations, vector-MAC operations, operations per slot) for the run statistics."""
        slots: dict[str, int] = {}
        for o in self.ops:
            slots[o.spec.slot.value] = slots.get(o.spec.slot.value, 0) + 1
        macs = sum(1 for o in self.ops if o.spec.family == "vector MAC")
        return len(self.ops), macs, tuple(slots.items())

    def __str__(self) -> str:
        return self.text


@dataclass
class Program:
    bundles: list[Bundle]
    labels: dict[str, int]  # label -> byte address
    index_of: dict[int, int]  # byte address -> bundle index
    config: AieConfig
    source: str
    linked: tuple[str, ...] = ()

    @property
    def size_bytes(self) -> int:
        if not self.bundles:
            return 0
        last = self.bundles[-1]
        return last.address + last.size + last.pad

    def entry(self, name: str) -> int | None:
        return self.labels.get(name)

    def __len__(self) -> int:
        return len(self.bundles)


@dataclass
class AssembleResult:
    program: Program | None
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


class _Fail(Exception):
    def __init__(self, message: str, hint: str = "", column_offset: int = 0, kind_match: bool = False):
        super().__init__(message)
        self.message, self.hint, self.column_offset = message, hint, column_offset
        self.kind_match = kind_match  # the operand had the expected kind (a better error to show)


# ---------------------------------------------------------------------------- lexing


def _strip_comment(line: str) -> str:
    cut = line.find("//")
    return line if cut < 0 else line[:cut]


def _split_top(text: str, sep: str) -> list[tuple[str, int]]:
    """Split on `sep` outside brackets; each piece with its offset in `text`."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif ch == sep and depth == 0:
            parts.append((text[start:i], start))
            start = i + 1
    parts.append((text[start:], start))
    return parts


def _operands(text: str) -> list[tuple[str, int]]:
    """Operand texts with offsets; `[pN], #imm` / `[pN], mK` / `[pN], dK` become one operand."""
    if not text.strip():
        return []
    raw = [(t.strip(), off + len(t) - len(t.lstrip())) for t, off in _split_top(text, ",")]
    merged: list[tuple[str, int]] = []
    i = 0
    while i < len(raw):
        tok, off = raw[i]
        if tok.startswith("[") and tok.endswith("]") and "," not in tok and i + 1 < len(raw):
            nxt = raw[i + 1][0]
            if nxt.startswith("#") or re.fullmatch(r"[mMdD]\d+", nxt):
                merged.append((f"{tok}, {nxt}", off))
                i += 2
                continue
        merged.append((tok, off))
        i += 1
    return merged


# ---------------------------------------------------------------------------- assembler


class Assembler:
    def __init__(self, config: AieConfig):
        self.cfg = config
        self.diags: list[Diagnostic] = []
        self.bundles: list[Bundle] = []
        self.labels: dict[str, int] = {}  # label -> bundle index (pass 1)
        self.label_lines: dict[str, int] = {}
        self.pending_labels: list[str] = []
        self.pending_align = 1
        self.fixups: list[tuple[Op, int, str, int, int]] = []  # op, arg index, expr, line, column
        self.lines: list[str] = []

    # ------------------------------------------------------------------ diagnostics
    def error(self, line: int, column: int, message: str, text: str = "", hint: str = "") -> None:
        self.diags.append(Diagnostic(line, column, message, text, hint, "error"))

    def warning(self, line: int, column: int, message: str, text: str = "", hint: str = "") -> None:
        self.diags.append(Diagnostic(line, column, message, text, hint, "warning"))

    # ------------------------------------------------------------------ pass 1
    def parse(self, source: str, library: bool = False, line_offset: int = 0) -> None:
        for number, raw in enumerate(source.splitlines(), start=1 + line_offset):
            self.lines.append(raw)
            try:
                self._parse_line(number, raw, library)
            except Exception as exc:  # never raise on bad input
                self.error(number, 1, f"could not parse this line ({type(exc).__name__}: {exc})", raw.strip())

    def _parse_line(self, number: int, raw: str, library: bool) -> None:
        line = _strip_comment(raw).rstrip()
        if "/*" in line:
            self.error(
                number,
                line.find("/*") + 1,
                "block comments are not supported",
                raw.strip(),
                "use // comments",
            )
            return
        col = 0
        while True:
            m = _LABEL.match(line[col:])
            if not m:
                break
            name = m.group(1)
            if (
                parse_register(name) is not None
                or name.lower() in BY_MNEMONIC
                or name.lower() in NOP_MNEMONICS
            ):
                self.error(
                    number,
                    col + m.start(1) + 1,
                    f"label {name!r} is a register or mnemonic name",
                    name,
                    "choose another label name",
                )
            elif name in self.labels or name in self.pending_labels:
                self.error(
                    number,
                    col + m.start(1) + 1,
                    f"label {name!r} is defined twice (first on line {self.label_lines.get(name, number)})",
                    name,
                    "rename one of them",
                )
            else:
                self.pending_labels.append(name)
                self.label_lines[name] = number
            col += m.end()
        rest = line[col:]
        body = rest.strip()
        if not body:
            return
        start = col + len(rest) - len(rest.lstrip())
        if body.startswith("."):
            self._directive(number, start, body)
            return
        self._bundle(number, start, body, raw.strip(), library)

    def _directive(self, number: int, column: int, text: str) -> None:
        name = text.split()[0].lower()
        if name not in IGNORED_DIRECTIVES:
            hint = "data movement is done by the harness (no .bd); only .p2align has an effect"
            self.error(number, column + 1, f"unknown directive {name}", text, hint)
            return
        if name in (".p2align", ".align", ".balign"):
            arg = text[len(name) :].split(",")[0].strip()
            try:
                value = int(arg, 0)
            except ValueError:
                self.error(number, column + 1, f"{name} needs a number", text, f"e.g. {name} 4")
                return
            align = value if name == ".balign" else 1 << min(value, 4)
            if align not in (1, 2, 4, 8, 16):
                self.error(
                    number, column + 1, f"alignment {align} is not supported", text, "use .p2align 0..4"
                )
                return
            self.pending_align = max(self.pending_align, align)

    def _bundle(self, number: int, column: int, body: str, raw: str, library: bool) -> None:
        bundle = Bundle(
            [], number, raw, labels=self.pending_labels, align=self.pending_align, library=library
        )
        for name in self.pending_labels:
            self.labels[name] = len(self.bundles)
        self.pending_labels, self.pending_align = [], 1
        used: dict[Slot, str] = {}
        pieces = _split_top(body, ";")
        nop_only = len(pieces) == 1 and pieces[0][0].strip().lower() == "nop"
        for text, off in pieces:
            op_text = text.strip()
            op_col = column + off + len(text) - len(text.lstrip()) + 1
            if not op_text:
                if len(pieces) > 1:
                    self.error(number, op_col, "empty operation between ';'", body, "remove the extra ';'")
                continue
            mnemonic = op_text.split(None, 1)[0].lower()
            if mnemonic == "nop":
                if not nop_only:
                    self.error(
                        number,
                        op_col,
                        "'nop' in a bundle with other operations",
                        op_text,
                        "name the empty slot instead (nopa, nopb, nops, nopx, nopm, nopv, nopxm) or drop it",
                    )
                continue
            if mnemonic in SLOT_NOPS:
                if op_text.split(None, 1)[1:] and op_text.split(None, 1)[1].strip():
                    self.error(number, op_col, f"{mnemonic} takes no operands", op_text)
                self._claim(number, op_col, used, SLOT_NOPS[mnemonic], mnemonic, op_text)
                continue
            op = self._op(number, op_col, op_text)
            if op is None:
                continue
            self._claim(number, op_col, used, op.spec.slot, op.spec.mnemonic, op_text)
            bundle.ops.append(op)
            bundle.slots.add(op.spec.slot)
        self._bundle_rules(bundle, column)
        self.bundles.append(bundle)

    def _claim(
        self, number: int, column: int, used: dict[Slot, str], slot: Slot, name: str, text: str
    ) -> None:
        """Take a slot for one operation; the long format takes X and M together."""
        wanted = (Slot.X, Slot.M) if slot is Slot.L else (slot,)
        for s in wanted:
            if s in used:
                what = "the long format (slots X and M)" if slot is Slot.L else f"slot {s.value}"
                self.error(
                    number,
                    column,
                    f"{name} needs {what}, already taken by {used[s]} in this bundle",
                    text,
                    "one operation per slot: move one of them to another bundle",
                )
                return
        for s in wanted:
            used[s] = name

    def _bundle_rules(self, bundle: Bundle, column: int) -> None:
        acc_mem = [
            o for o in bundle.ops if o.spec.mem and any(isinstance(a, Reg) and a.file == "a" for a in o.args)
        ]
        if len(acc_mem) > 1:
            self.error(
                bundle.line,
                acc_mem[1].column,
                "two accumulator loads/stores in one bundle",
                acc_mem[1].text,
                "a bundle may hold a single load or store that touches accumulator registers",
            )
        seen: dict[tuple[int, int], Op] = {}
        for o in bundle.ops:
            for loc, lat in o.writes:
                key = (loc, lat)
                if key in seen and seen[key] is not o:
                    self.error(
                        bundle.line,
                        o.column,
                        f"{location_name(loc)} is written twice in this bundle with the same latency",
                        o.text,
                        "two writes landing in the same cycle are not allowed",
                    )
                seen[key] = o

    # ------------------------------------------------------------------ one operation
    def _op(self, number: int, column: int, text: str) -> Op | None:
        parts = text.split(None, 1)
        mnemonic = parts[0].lower()
        operand_text = parts[1] if len(parts) > 1 else ""
        two_d = mnemonic.endswith(".2d")
        base = mnemonic[:-3] if two_d else mnemonic
        candidates = BY_MNEMONIC.get(base)
        if not candidates:
            close = _close(base)
            hint = (
                f"did you mean {', '.join(close)}?"
                if close
                else "see the ISA reference for the instruction list"
            )
            self.error(number, column, f"unknown instruction {parts[0]!r}", text, hint)
            return None
        allowed = [c for c in candidates if c.generation in ("aie-ml", self.cfg.generation)]
        if not allowed:
            self.error(
                number,
                column,
                f"{base} exists only on AIE-ML v2 (generation aie2p-scalar)",
                text,
                "the default tile is AIE-ML: compute it with the vector unit or a harness routine",
            )
            return None
        operands = _operands(operand_text)
        op_offset = len(parts[0]) + (len(text) - len(parts[0]) - len(operand_text))
        best: _Fail | None = None
        best_score = -1
        for spec in allowed:
            if len(operands) != len(spec.operands):
                continue
            try:
                args, fix = [], []
                for i, ((tok, off), want) in enumerate(zip(operands, spec.operands, strict=True)):
                    try:
                        value = self._operand(tok, want, two_d, spec)
                    except _Fail as f:
                        matched = _kind_of(tok) == want.kind
                        raise _Fail(f.message, f.hint, op_offset + off, matched) from None
                    if isinstance(value, tuple) and value and value[0] == "fixup":
                        fix.append((i, value[1], column + op_offset + off))
                        value = 0
                    args.append(value)
                if two_d and not any(isinstance(a, Addr) and a.mode == "2d" for a in args):
                    raise _Fail(".2d needs a [pN], dK memory operand", "write e.g. vlda.2d wl0, [p0], d0")
                if spec.check is not None:
                    problem = spec.check(args)
                    if problem:
                        raise _Fail(problem, "use registers of the same width")
                op = Op(spec, args, text, column)
                op.reads, op.writes = _dataflow(spec, args)
                for i, expr, col in fix:
                    self.fixups.append((op, i, expr, number, col))
                return op
            except _Fail as f:
                score = 2 * f.column_offset + (1 if f.kind_match else 0)
                if score > best_score:
                    best, best_score = f, score
        if best is None:
            forms = "; ".join(s.syntax() for s in allowed)
            self.error(
                number,
                column,
                f"{base} takes {_counts(allowed)} operand(s), got {len(operands)}",
                text,
                f"forms: {forms}",
            )
            return None
        forms = "; ".join(s.syntax() for s in allowed)
        self.error(number, column + best.column_offset, best.message, text, best.hint or f"forms: {forms}")
        return None

    def _operand(self, tok: str, want: Operand, two_d: bool, spec: OpSpec):
        if want.kind == "reg":
            reg = parse_register(tok)
            if reg is None:
                raise _Fail(f"{tok!r} is not a register", f"expected {want.describe()}")
            cls = reg_class(reg.name)
            if cls not in want.classes:
                raise _Fail(
                    f"{reg.name} is a {cls} register; {spec.mnemonic} wants {want.describe()} here",
                    f"forms: {spec.syntax()}",
                )
            return reg
        if want.kind in ("imm", "label"):
            if not tok.startswith("#") and want.kind == "imm":
                raise _Fail(f"expected an immediate, got {tok!r}", "immediates start with #, e.g. #32")
            expr = tok[1:] if tok.startswith("#") else tok
            if parse_register(expr) is not None:
                raise _Fail(f"expected an immediate, got register {expr}", f"form: {spec.syntax()}")
            try:
                value = evaluate(expr, lambda name: None)
            except ExprError:
                if want.kind == "label" or re.search(r"[A-Za-z_.$]", expr):
                    return ("fixup", expr)
                raise _Fail(f"bad immediate {tok!r}", "write e.g. #32, #0x40 or #4*8") from None
            return self._check_imm(value, want)
        return self._mem(tok, want, two_d)

    def _check_imm(self, value: int, want: Operand) -> int:
        if want.kind == "label":
            if not -(1 << 31) <= value < (1 << 32):
                raise _Fail(f"immediate {value} does not fit in 32 bits")
            return value & 0xFFFFFFFF
        if not want.lo <= value <= want.hi:
            raise _Fail(
                f"immediate {value} is out of range {want.lo}..{want.hi}",
                "for larger values use movxm (32-bit) into a register",
            )
        if value % want.step:
            raise _Fail(f"immediate {value} must be a multiple of {want.step}")
        return value

    def _mem(self, tok: str, want: Operand, two_d: bool) -> Addr:
        text = tok.strip()
        post = None
        if "]," in text.replace(" ", ""):
            head, _, post = text.partition("]")
            head += "]"
            post = post.lstrip().lstrip(",").strip()
        else:
            head = text
        m = _MEM.match(head.strip())
        if not m:
            raise _Fail(
                f"bad memory operand {tok!r}", "forms: " + "; ".join(MEM_MODES[x] for x in want.modes)
            )
        preg = parse_register(m.group(1))
        if preg is None or reg_class(preg.name) != "p":
            raise _Fail(f"{m.group(1)!r} is not a pointer register", "addresses come from p0..p7")
        inner = m.group(2)
        ranges = mem_imm_ranges(want.access)
        if post is not None:
            if inner:
                raise _Fail(
                    "an operand cannot be both indexed and post-modified", "write [pN, #imm] or [pN], #imm"
                )
            reg = parse_register(post)
            if post.startswith("#"):
                mode = "post"
                try:
                    imm = evaluate(post[1:], lambda name: None)
                except ExprError as exc:
                    raise _Fail(f"bad post-increment {post!r}: {exc}") from None
                self._need_mode(want, mode, two_d)
                lo, hi, step = ranges[mode]
                if not lo <= imm <= hi or imm % step:
                    raise _Fail(
                        f"post-increment {imm} out of range {lo}..{hi} (step {step})",
                        "use a modifier register: [pN], mK with mK set by mov/movxm",
                    )
                return Addr(preg, mode, imm, text=text)
            if reg is not None and reg_class(reg.name) == "m":
                self._need_mode(want, "postm", two_d)
                return Addr(preg, "postm", reg=reg, text=text)
            d = re.fullmatch(r"[dD](\d)", post)
            if d:
                if not two_d:
                    raise _Fail(
                        f"[pN], {post} is a 2-D step", "add the .2d suffix to the mnemonic, e.g. vlda.2d"
                    )
                self._need_mode(want, "2d", two_d)
                return Addr(preg, "2d", dim=int(d.group(1)), text=text)
            raise _Fail(f"bad post-modify {post!r}", "use #imm, a modifier register mK, or dK with .2d")
        if two_d:
            raise _Fail(".2d needs a post-modified operand [pN], dK")
        if inner is None:
            self._need_mode(want, "idx", two_d)
            return Addr(preg, "idx", 0, text=text)
        reg = parse_register(inner)
        if reg is not None:
            if reg_class(reg.name) != "dj":
                raise _Fail(
                    f"indexed register {reg.name} must be a dj register", "write [pN, djK] or [pN, #imm]"
                )
            self._need_mode(want, "idxj", two_d)
            return Addr(preg, "idxj", reg=reg, text=text)
        if not inner.startswith("#"):
            raise _Fail(f"bad offset {inner!r}", "write [pN, #imm]")
        try:
            imm = evaluate(inner[1:], lambda name: None)
        except ExprError as exc:
            raise _Fail(f"bad offset {inner!r}: {exc}") from None
        self._need_mode(want, "idx", two_d)
        lo, hi, step = ranges["idx"]
        if not lo <= imm <= hi or imm % step:
            raise _Fail(
                f"offset {imm} out of range {lo}..{hi} (step {step})",
                "vector accesses need 32-byte multiples; for larger offsets add to the pointer first",
            )
        return Addr(preg, "idx", imm, text=text)

    @staticmethod
    def _need_mode(want: Operand, mode: str, two_d: bool) -> None:
        if mode not in want.modes:
            allowed = "; ".join(MEM_MODES[x] for x in want.modes)
            raise _Fail(
                f"addressing mode {MEM_MODES[mode].split('  ')[0]} is not available here", f"use {allowed}"
            )

    # ------------------------------------------------------------------ pass 2: layout, labels, rules
    def finish(self, source: str, linked: tuple[str, ...]) -> Program | None:
        if self.pending_labels:
            # A label after the last bundle addresses the end of the program.
            for name in self.pending_labels:
                self.labels[name] = len(self.bundles)
        loop_targets = self._loop_targets()
        address = 0
        for i, b in enumerate(self.bundles):
            b.size = bundle_bytes(b.slots)
            align = b.align
            if i in loop_targets:
                align = 16
            if address % align and i > 0:
                pad = align - address % align
                self.bundles[i - 1].pad += pad
                address += pad
            b.address = address
            if loop_targets.get(i) == "end":
                b.size = 16
            address += b.size
        end_address = address
        addr_of = {
            name: (self.bundles[i].address if i < len(self.bundles) else end_address)
            for name, i in self.labels.items()
        }
        for op, index, expr, line, col in self.fixups:
            try:
                value = evaluate(expr, addr_of.get)
            except ExprError as exc:
                known = ", ".join(sorted(addr_of)[:8])
                self.error(
                    line, col, f"{exc}", expr, f"labels defined: {known}" if known else "define the label"
                )
                continue
            try:
                op.args[index] = self._check_imm(value, op.spec.operands[index])
            except _Fail as f:
                self.error(line, col, f.message, expr, f.hint)
        if end_address > self.cfg.program_memory_bytes:
            limit = self.cfg.program_memory_bytes
            first = next(b for b in self.bundles if b.address + b.size > limit)
            self.error(
                first.line,
                1,
                f"program is {end_address} bytes, more than the {limit}-byte program "
                f"memory; this is the first bundle past the end",
                first.text,
                "shorten the kernel: use loops instead of unrolled code",
            )
        index_of = {b.address: i for i, b in enumerate(self.bundles)}
        program = Program(self.bundles, addr_of, index_of, self.cfg, source, linked)
        self._control_rules(program)
        if not self.cfg.interlocked:
            for d in static_hazards(program):
                self.diags.append(d)
        if any(d.severity == "error" for d in self.diags):
            return None
        return program

    def _loop_targets(self) -> dict[int, str]:
        """Bundle index -> 'start'/'end' for labels written to ls/le by movxm."""
        out: dict[int, str] = {}
        for op, _index, expr, _line, _col in self.fixups:
            target = op.args[0] if op.args else None
            if op.spec.mnemonic == "movxm" and isinstance(target, Reg) and target.name in ("ls", "le"):
                name = expr.strip()
                if name in self.labels:
                    out.setdefault(self.labels[name], "end" if target.name == "le" else "start")
                    if target.name == "le":
                        out[self.labels[name]] = "end"
        return out

    def _control_rules(self, program: Program) -> None:
        bundles = program.bundles
        n = len(bundles)
        ds = self.cfg.branch_delay_slots
        for i, b in enumerate(bundles):
            if not b.is_branch:
                continue
            for j in range(i + 1, min(n, i + 1 + ds)):
                if bundles[j].is_branch:
                    self.error(
                        bundles[j].line,
                        1,
                        f"branch in the delay slots of the branch on line {b.line}",
                        bundles[j].text,
                        f"every branch is followed by {ds} delay-slot bundles that always "
                        "execute; put no branch there",
                    )
            if i + ds >= n and not bundles[i].library:
                self.warning(
                    b.line,
                    1,
                    f"fewer than {ds} bundles follow this branch",
                    b.text,
                    f"the {ds} delay-slot bundles after a branch always execute: add nop bundles",
                )
        # Zero-overhead loops: setup distance and branch-free tail.
        for i, b in enumerate(bundles):
            for op in b.ops:
                target = op.args[0] if op.args else None
                if not (isinstance(target, Reg) and target.name in LOOP_REGS) or not any(
                    w[0] == SCALAR_INDEX[target.name] for w in op.writes
                ):
                    continue
                end = self._loop_end_after(program, i)
                if end is None:
                    continue
                distance = end - i
                if distance < self.cfg.zol_setup_distance:
                    self.error(
                        b.line,
                        op.column,
                        f"{target.name} is written {distance} bundle(s) before the loop's "
                        f"last bundle (line {bundles[end].line}); at least "
                        f"{self.cfg.zol_setup_distance} needed",
                        op.text,
                        "set ls, le and lc earlier, or pad with nop bundles (Peano pads with "
                        "full-width nops)",
                    )
        for b in bundles:
            for op in b.ops:
                if op.spec.mnemonic != "movxm" or not op.args or not isinstance(op.args[0], Reg):
                    continue
                if op.args[0].name != "le":
                    continue
                end = program.index_of.get(op.args[1])
                if end is None:
                    self.error(
                        b.line,
                        op.column,
                        "le must be the address of a bundle (the loop's last bundle)",
                        op.text,
                        "put the label on the last bundle of the loop body",
                    )
                    continue
                tail = self.cfg.zol_no_branch_tail
                for j in range(max(0, end - tail + 1), end + 1):
                    if bundles[j].is_branch:
                        self.error(
                            bundles[j].line,
                            1,
                            f"branch in the last {tail} bundles of a zero-overhead loop",
                            bundles[j].text,
                            "its delay slots would cross the loop end; move the branch",
                        )

    def _loop_end_after(self, program: Program, i: int) -> int | None:
        """The le bundle of the loop a setup at bundle i belongs to: the first movxm le at or after
        bundle i (in the next few bundles), else the most recent one before."""
        bundles = program.bundles
        for j in list(range(i, min(len(bundles), i + 16))) + list(range(i - 1, -1, -1)):
            for op in bundles[j].ops:
                if (
                    op.spec.mnemonic == "movxm"
                    and op.args
                    and isinstance(op.args[0], Reg)
                    and op.args[0].name == "le"
                ):
                    end = program.index_of.get(op.args[1])
                    if end is not None and end >= i:
                        return end
        return None


def _kind_of(token: str) -> str:
    token = token.strip()
    if token.startswith("["):
        return "mem"
    if token.startswith("#"):
        return "imm"
    return "reg" if parse_register(token) is not None else "label"


def _close(name: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, list(BY_MNEMONIC) + list(NOP_MNEMONICS), n=3, cutoff=0.6)


def _counts(specs: list[OpSpec]) -> str:
    return " or ".join(sorted({str(len(s.operands)) for s in specs}))


def _dataflow(spec: OpSpec, args: list) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """Static register reads (location, delay) and writes (location, latency) of one operation."""
    reads: list[tuple[int, int]] = []
    writes: list[tuple[int, int]] = []
    for want, arg in zip(spec.operands, args, strict=False):
        if isinstance(arg, Reg):
            if want.write:
                writes += [(loc, spec.latency) for loc in arg.locations]
            else:
                reads += [(loc, want.acc_delay if arg.file == "a" else 0) for loc in arg.locations]
        elif isinstance(arg, Addr):
            reads.append((arg.preg.locations[0], 0))
            if arg.reg is not None:
                reads.append((arg.reg.locations[0], 0))
            if arg.mode in ("post", "postm", "2d"):
                writes.append((arg.preg.locations[0], 1))
            if arg.mode == "2d":
                k = arg.dim
                for name in (f"m{k}", f"dn{k}", f"dj{k}", f"dc{k}"):
                    reads.append((SCALAR_INDEX[name], 0))
                writes.append((SCALAR_INDEX[f"dc{k}"], 1))
    for name in spec.implicit_reads:
        reads.append((SCALAR_INDEX[name], 0))
    for name in spec.implicit_writes:
        writes.append((SCALAR_INDEX[name], 1))
    return tuple(reads), tuple(writes)


# ---------------------------------------------------------------------------- static hazards


def static_hazards(program: Program) -> list[Diagnostic]:
    """Reads of a register before an earlier bundle's write to it lands, found without running.

    Straight-line code is walked in program order (one cycle per bundle, no stalls), starting
    afresh at every branch target; loop bodies (zero-overhead loops and backward branches) are
    walked twice so that loop-carried hazards show. The run-time check sees every case.
    """
    bundles = program.bundles
    n = len(bundles)
    targets: set[int] = set()
    loops: list[tuple[int, int]] = []  # (first, last) bundle indexes
    for i, b in enumerate(bundles):
        for op in b.ops:
            if op.spec.branch and op.args and isinstance(op.args[-1], int):
                t = program.index_of.get(op.args[-1])
                if t is not None:
                    targets.add(t)
                    if t <= i:
                        loops.append((t, min(n - 1, i + program.config.branch_delay_slots)))
            if op.spec.mnemonic == "movxm" and op.args and isinstance(op.args[0], Reg):
                if op.args[0].name == "ls":
                    t = program.index_of.get(op.args[1])
                    if t is not None:
                        targets.add(t)
                if op.args[0].name == "le":
                    end = program.index_of.get(op.args[1])
                    start = _zol_start(program, i)
                    if end is not None and start is not None and start <= end:
                        loops.append((start, end))
    found: dict[tuple[int, int], Diagnostic] = {}

    def walk(order: list[int]) -> None:
        land: dict[int, tuple[int, int]] = {}
        for t, i in enumerate(order):
            b = bundles[i]
            for op in b.ops:
                for loc, delay in op.reads:
                    if loc not in land:
                        continue
                    when, writer = land[loc]
                    early = when - (t + delay)
                    if early > 0:
                        key = (i, loc)
                        if key not in found:
                            wb = bundles[writer]
                            found[key] = Diagnostic(
                                b.line,
                                op.column,
                                f"reads {location_name(loc)} {early} cycle(s) before the write from "
                                f"line {wb.line} "
                                "lands: it sees the old value",
                                op.text,
                                "exposed pipeline: put independent work or nops between them (see "
                                "the latency table)",
                                "warning",
                            )
            for op in b.ops:
                for loc, lat in op.writes:
                    if lat > 0:
                        land[loc] = (t + lat, i)

    start = 0
    for i in range(n + 1):
        if i == n or (i in targets and i > start):
            walk(list(range(start, i)))
            start = i
    for first, last in loops:
        body = list(range(first, last + 1))
        walk(body + body)
    return sorted(found.values(), key=lambda d: (d.line, d.column))


def _zol_start(program: Program, i: int) -> int | None:
    bundles = program.bundles
    for j in list(range(max(0, i - 16), min(len(bundles), i + 16))):
        for op in bundles[j].ops:
            if (
                op.spec.mnemonic == "movxm"
                and op.args
                and isinstance(op.args[0], Reg)
                and op.args[0].name == "ls"
            ):
                return program.index_of.get(op.args[1])
    return None


# ---------------------------------------------------------------------------- entry point


def assemble(source: str, config: AieConfig = DEFAULT_CONFIG, link: bool = True) -> AssembleResult:
    """Assemble a kernel; runtime routines the source calls (jl __name) are linked in."""
    if not isinstance(source, str):
        return AssembleResult(None, [Diagnostic(0, 0, "the kernel source must be text")])
    asm = Assembler(config)
    try:
        asm.parse(source)
        linked: tuple[str, ...] = ()
        if link:
            from .runtime_lib import routines_needed

            needed = routines_needed(source, set(asm.labels))
            offset = len(source.splitlines())
            for _name, text in needed:
                asm.parse(text, library=True, line_offset=offset)
                offset += len(text.splitlines())
            linked = tuple(name for name, _ in needed)
        if not asm.bundles:
            asm.error(
                0, 0, "the kernel has no instructions", "", "write at least one bundle, ending with ret lr"
            )
            return AssembleResult(None, asm.diags)
        program = asm.finish(source, linked)
    except Exception as exc:  # the assembler never raises on bad input
        asm.error(0, 0, f"internal assembler error: {type(exc).__name__}: {exc}")
        program = None
    diags = sorted(asm.diags, key=lambda d: (d.severity != "error", d.line, d.column))
    return AssembleResult(program if not any(d.severity == "error" for d in diags) else None, diags)
