"""PLENA assembly text <-> program <-> 32-bit binary words.

Syntax: one instruction per line, `OPCODE op, op, ...`; registers gpN / fN / aN; unsigned
integer immediates (decimal, 0x hex or 0b binary); comments start with `;` or `//`. There
are no labels: hardware loops are the only control flow. Every problem in the source is
reported in one pass, each with line, column, the offending text and a hint.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..base import Diagnostic, errors_only
from .config import DEFAULT_CONFIG, PlenaConfig
from .isa import (
    FIELDS,
    REGISTER_PREFIX,
    InstrSpec,
    InstructionTable,
    Kind,
    Operand,
    register_count,
    table_for,
)

# Ops whose rmask the public assembler writes into bit 14 (its imm field) instead of rs3.
RMASK_AT_BIT14 = frozenset({"V_EXP_V", "V_RECI_V", "V_RED_MAX"})


@dataclass(frozen=True)
class Instruction:
    spec: InstrSpec
    operands: tuple[int, ...]  # register indices / immediates, one per spec operand
    line: int = 0  # source line, 0 when decoded from binary

    @property
    def name(self) -> str:
        return self.spec.name

    def text(self) -> str:
        parts = []
        for op, value in zip(self.spec.operands, self.operands, strict=True):
            if op.kind is Kind.ZERO:
                parts.append("0")
            elif op.kind in REGISTER_PREFIX:
                parts.append(f"{REGISTER_PREFIX[op.kind]}{value}")
            else:
                parts.append(str(value))
        return f"{self.spec.name} {', '.join(parts)}".strip()

    def encode(self) -> int:
        word = self.spec.opcode
        for op, value in zip(self.spec.operands, self.operands, strict=True):
            shift, _width = FIELDS[op.field]
            word |= value << shift
        return word


@dataclass(frozen=True)
class Program:
    instructions: tuple[Instruction, ...]
    config: PlenaConfig = DEFAULT_CONFIG

    def __len__(self) -> int:
        return len(self.instructions)

    def words(self) -> list[int]:
        return [ins.encode() for ins in self.instructions]

    def to_hex(self) -> str:
        return "".join(f"0x{w:08X}\n" for w in self.words())

    def to_text(self) -> str:
        return "".join(ins.text() + "\n" for ins in self.instructions)


@dataclass(frozen=True)
class AssemblyResult:
    program: Program | None  # None when there is any error
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.program is not None

    @property
    def errors(self) -> list[Diagnostic]:
        return errors_only(self.diagnostics)

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


_LABEL = re.compile(r"^\s*[A-Za-z_.$][\w.$]*\s*:")
_INT = re.compile(r"^(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)$")
_REG = re.compile(r"^(gp|f|a)(\d+)$", re.IGNORECASE)
_MNEMONIC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KIND_WORD = {Kind.GP: "a gp register", Kind.FP: "an f register", Kind.ADDR: "an a register"}


def _parse_int(text: str) -> int:
    """An immediate matched by _INT; decimal keeps leading zeros legal (int(.., 0) rejects them)."""
    prefix = text[:2].lower()
    if prefix == "0x":
        return int(text[2:], 16)
    if prefix == "0b":
        return int(text[2:], 2)
    return int(text, 10)


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _strip_comment(line: str) -> str:
    cut = len(line)
    for marker in (";", "//"):
        i = line.find(marker)
        if i != -1:
            cut = min(cut, i)
    return line[:cut]


def _imm_hint(op: Operand, value: int) -> str:
    if op.field == "imm18" and value > 0xFFFFFFFF:
        return f"immediates here are unsigned 18-bit (0..{op.max_value}); registers hold 32 bits"
    if op.field == "imm18":
        return (
            f"immediates here are unsigned 18-bit (0..{op.max_value}); build {value} in a register with "
            f"S_LUI_INT gpX, {value >> 12} then S_ADDI_INT gpX, gpX, {value & 0xFFF}"
        )
    return f"the immediate must be in {op.min_value}..{op.max_value}"


MAX_IMMEDIATE_CHARS = 40  # longer digit strings are no immediate any field can hold
MAX_SUGGESTED = 64  # distinct unknown mnemonics given "did you mean" hints; the rest get a pointer


class _LineParser:
    def __init__(self, config: PlenaConfig, diagnostics: list[Diagnostic], table: InstructionTable):
        self.config = config
        self.diagnostics = diagnostics
        self.table = table
        self._suggestions: dict[str, str] = {}  # unknown mnemonic -> hint: each is looked up once

    def _unknown_hint(self, mnemonic: str) -> str:
        key = mnemonic.upper()
        hint = self._suggestions.get(key)
        if hint is None:
            close = []
            if len(self._suggestions) < MAX_SUGGESTED and len(key) <= 64:
                close = difflib.get_close_matches(key, self.table.by_name.keys(), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else "see the ISA reference for valid opcodes"
            self._suggestions[key] = hint
        return hint

    def error(self, line: int, column: int, message: str, text: str = "", hint: str = "") -> None:
        self.diagnostics.append(Diagnostic(line, column, message, text, hint))

    def parse(self, lineno: int, raw: str) -> Instruction | None:
        code = _strip_comment(raw)
        if not code.strip():
            return None
        if _LABEL.match(code):
            col = len(code) - len(code.lstrip()) + 1
            self.error(
                lineno,
                col,
                "PLENA doesn't support labels/symbols",
                code.strip(),
                "use registers or integer immediates only; loops are C_LOOP_START/C_LOOP_END",
            )
            return None
        stripped = code.lstrip()
        col0 = len(code) - len(stripped) + 1
        split = re.search(r"\s", stripped)
        end = split.start() if split else len(stripped)
        head, rest = stripped[:end], stripped[end + 1 :]
        mnemonic = head
        spec = self.table.by_name.get(mnemonic.upper()) if _MNEMONIC.match(mnemonic) else None
        if spec is None:
            self.error(
                lineno,
                col0,
                f"unknown instruction '{_clip(mnemonic)}'",
                mnemonic,
                self._unknown_hint(mnemonic),
            )
            return None
        operand_texts = self._split_operands(rest, col0 + end + 1)
        return self._operands(lineno, spec, operand_texts, stripped.strip())

    @staticmethod
    def _split_operands(rest: str, start_col: int) -> list[tuple[str, int]]:
        """Operand texts with their 1-based columns; `rest` starts at column start_col."""
        if not rest.strip():
            return []
        out = []
        col = start_col
        for piece in rest.split(","):
            lead = len(piece) - len(piece.lstrip())
            out.append((piece.strip(), col + lead))
            col += len(piece) + 1
        return out

    def _operands(self, lineno: int, spec: InstrSpec, texts: list[tuple[str, int]], src: str):
        n_req, n_all = spec.required_operands, len(spec.operands)
        surplus = texts[n_all:]
        if surplus and len(surplus) <= spec.surplus_zero_operands and all(t == "0" for t, _ in surplus):
            self.diagnostics.append(
                Diagnostic(
                    lineno,
                    surplus[0][1],
                    f"surplus operand{'s' if len(surplus) > 1 else ''} "
                    f"{', '.join(t for t, _ in surplus)} ignored",
                    src,
                    f"{spec.name} takes {n_all} operands; the public PLENA compiler writes a trailing 0, "
                    f"which has no effect. Syntax: {spec.syntax()}",
                    "warning",
                )
            )
            texts = texts[:n_all]
        if not n_req <= len(texts) <= n_all:
            want = str(n_all) if n_req == n_all else f"{n_req} to {n_all}"
            self.error(
                lineno,
                texts[n_all][1] if len(texts) > n_all else 1,
                f"{spec.name} takes {want} operands, got {len(texts)}",
                src,
                f"syntax: {spec.syntax()}",
            )
            return None
        values: list[int] = []
        ok = True
        for i, op in enumerate(spec.operands):
            if i >= len(texts):
                values.append(op.default if op.default is not None else 0)
                continue
            text, col = texts[i]
            value = self._operand(lineno, col, spec, op, text)
            ok = ok and value is not None
            values.append(value if value is not None else 0)
        return Instruction(spec, tuple(values), lineno) if ok else None

    def _operand(self, lineno: int, col: int, spec: InstrSpec, op: Operand, text: str) -> int | None:
        syntax = f"syntax: {spec.syntax()}"
        if not text:
            self.error(lineno, col, f"missing operand '{op.name}' of {spec.name}", text, syntax)
            return None
        reg = _REG.match(text)
        if op.kind is Kind.ZERO:
            if text in ("0", "gp0"):
                return 0
            self.error(
                lineno,
                col,
                f"operand '{op.name}' of {spec.name} is a placeholder",
                text,
                f"write 0 here; {syntax}",
            )
            return None
        if op.kind in REGISTER_PREFIX:
            want = REGISTER_PREFIX[op.kind]
            if reg is None:
                self.error(
                    lineno,
                    col,
                    f"invalid operand '{text}': {op.name} must be {_KIND_WORD[op.kind]}",
                    text,
                    syntax,
                )
                return None
            prefix, index = reg.group(1).lower(), int(reg.group(2))
            if prefix != want:
                self.error(
                    lineno,
                    col,
                    f"wrong register class: {op.name} of {spec.name} must be "
                    f"{_KIND_WORD[op.kind]}, not '{text}'",
                    text,
                    syntax,
                )
                return None
            limit = register_count(op.kind, self.config)
            if index >= limit:
                self.error(
                    lineno,
                    col,
                    f"register '{text}' does not exist",
                    text,
                    f"{want} registers are {want}0..{want}{limit - 1}",
                )
                return None
            return index
        # immediate
        if reg is not None:
            self.error(lineno, col, f"{op.name} of {spec.name} is an immediate, not a register", text, syntax)
            return None
        if text.startswith("-"):
            self.error(
                lineno,
                col,
                f"negative immediate '{text}'",
                text,
                "immediates are unsigned; compute the value in a register with S_SUB_INT",
            )
            return None
        if len(text) > MAX_IMMEDIATE_CHARS and _INT.match(text):
            self.error(
                lineno,
                col,
                f"immediate '{_clip(text)}' has {len(text)} characters: far out of range for {op.name}",
                text,
                f"{op.name} of {spec.name} must be in {op.min_value}..{op.max_value}",
            )
            return None
        if not _INT.match(text):
            self.error(
                lineno,
                col,
                f"invalid operand '{_clip(text)}'",
                text,
                f"expected an integer immediate (decimal, 0x.. or 0b..); {syntax}",
            )
            return None
        value = _parse_int(text)
        if op.choices is not None and value not in op.choices:
            self.error(
                lineno, col, f"{op.name} must be one of {', '.join(map(str, op.choices))}", text, op.doc
            )
            return None
        if not op.min_value <= value <= op.max_value:
            self.error(
                lineno,
                col,
                f"immediate {value} out of range for {op.name} of {spec.name}",
                text,
                _imm_hint(op, value),
            )
            return None
        return value


def _check_structure(instructions: list[Instruction], diagnostics: list[Diagnostic]) -> None:
    """Hardware loops must nest properly: no branches exist, so this is decidable statically."""
    open_loops: list[Instruction] = []
    for ins in instructions:
        name = ins.name
        if name == "C_LOOP_START":
            reg = ins.operands[0]
            if any(o.operands[0] == reg for o in open_loops):
                diagnostics.append(
                    Diagnostic(
                        ins.line,
                        1,
                        f"gp{reg} already counts an enclosing loop",
                        ins.text(),
                        "nested loops need distinct counter registers",
                    )
                )
            open_loops.append(ins)
        elif name == "C_LOOP_END":
            reg = ins.operands[0]
            if not open_loops:
                diagnostics.append(
                    Diagnostic(
                        ins.line,
                        1,
                        "C_LOOP_END without a matching C_LOOP_START",
                        ins.text(),
                        "every loop is C_LOOP_START gpN, count ... C_LOOP_END gpN",
                    )
                )
                continue
            top = open_loops[-1]
            if top.operands[0] != reg:
                diagnostics.append(
                    Diagnostic(
                        ins.line,
                        1,
                        f"C_LOOP_END gp{reg} closes the loop opened at line {top.line} "
                        f"with gp{top.operands[0]}",
                        ins.text(),
                        "close the innermost loop first, with its own counter register",
                    )
                )
            open_loops.pop()
        elif name == "C_BREAK" and not open_loops:
            diagnostics.append(Diagnostic(ins.line, 1, "C_BREAK outside a loop", ins.text(), "remove it"))
        writes_gp0 = (
            ins.spec.operands
            and ins.spec.operands[0].kind is Kind.GP
            and ins.spec.operands[0].field == "rd"
            and ins.operands[0] == 0
            and (ins.spec.unit.value == "scalar" or name == "C_LOOP_START")
            and name not in ("S_ST_INT", "S_MAP_V_FP")  # these read their first gp operand
        )
        if writes_gp0 and not (name == "S_ADDI_INT" and ins.operands == (0, 0, 0)):
            diagnostics.append(
                Diagnostic(
                    ins.line,
                    1,
                    "this writes gp0, which every kernel treats as the constant 0",
                    ins.text(),
                    "gp0 is not write-protected; use another register",
                    "warning",
                )
            )
        if ins.spec.operands and ins.spec.operands[0].name == "fd" and ins.operands[0] == 0:
            diagnostics.append(
                Diagnostic(
                    ins.line,
                    1,
                    "the result goes to f0, which always reads 0.0: the write is dropped",
                    ins.text(),
                    "use f1..f7 for results",
                    "warning",
                )
            )
    for ins in open_loops:
        diagnostics.append(
            Diagnostic(
                ins.line,
                1,
                f"C_LOOP_START gp{ins.operands[0]} is never closed",
                ins.text(),
                f"add C_LOOP_END gp{ins.operands[0]} after the loop body",
            )
        )


def assemble(
    source: str, config: PlenaConfig = DEFAULT_CONFIG, table: InstructionTable | None = None
) -> AssemblyResult:
    """Assemble PLENA text. Never raises on bad input: problems come back as diagnostics.

    `table` is the instruction set (default: the base ISA and the configuration's extension sets)."""
    diagnostics: list[Diagnostic] = []
    parser = _LineParser(config, diagnostics, table or table_for(config))
    instructions = []
    for lineno, raw in enumerate(source.splitlines(), start=1):
        ins = parser.parse(lineno, raw)
        if ins is not None:
            instructions.append(ins)
    _check_structure(instructions, diagnostics)
    diagnostics.sort(key=lambda d: (d.line, d.column))
    program = None if errors_only(diagnostics) else Program(tuple(instructions), config)
    return AssemblyResult(program, tuple(diagnostics))


def decode_word(
    word: int, config: PlenaConfig = DEFAULT_CONFIG, index: int = 0, table: InstructionTable | None = None
) -> Instruction | Diagnostic:
    """One 32-bit word to an instruction, or a diagnostic saying why it is not one."""
    line = index + 1
    if not 0 <= word < 1 << 32:
        return Diagnostic(line, 0, f"word {word:#x} is not 32 bits", hex(word))
    opcode = word & 0x3F
    spec = (table or table_for(config)).by_opcode.get(opcode)
    if spec is None:
        return Diagnostic(line, 0, f"unknown opcode {opcode:#04x}", f"0x{word:08X}")
    used_mask = 0x3F
    values = []
    for op in spec.operands:
        shift, width = FIELDS[op.field]
        value = (word >> shift) & ((1 << width) - 1)
        used_mask |= ((1 << width) - 1) << shift
        if op.kind in REGISTER_PREFIX and value >= register_count(op.kind, config):
            return Diagnostic(
                line,
                0,
                f"{spec.name}: register {REGISTER_PREFIX[op.kind]}{value} does not exist",
                f"0x{word:08X}",
            )
        if op.kind is Kind.ZERO and value != 0:
            return Diagnostic(
                line, 0, f"{spec.name}: placeholder field is {value}, must be 0", f"0x{word:08X}"
            )
        if (op.choices is not None and value not in op.choices) or value < op.min_value:
            return Diagnostic(line, 0, f"{spec.name}: {op.name}={value} is invalid", f"0x{word:08X}")
        values.append(value)
    stray = word & ~used_mask & 0xFFFFFFFF
    if stray:
        shift, width = FIELDS["rs2"]
        if spec.name in RMASK_AT_BIT14 and not stray & ~(((1 << width) - 1) << shift):
            return Diagnostic(
                line,
                0,
                f"{spec.name}: bits [17:14] are set ({(stray >> shift):#x}); this looks like the public "
                "PLENA assembler's encoding, which puts rmask at bit 14 for V_EXP_V, V_RECI_V and "
                "V_RED_MAX while its emulator (and this simulator) read rmask from rs3, bits [21:18]; "
                "re-encode with rmask in bits [21:18]",
                f"0x{word:08X}",
            )
        return Diagnostic(line, 0, f"{spec.name}: bits set outside its operand fields", f"0x{word:08X}")
    return Instruction(spec, tuple(values), 0)


def decode_words(
    words: list[int], config: PlenaConfig = DEFAULT_CONFIG, table: InstructionTable | None = None
) -> AssemblyResult:
    diagnostics: list[Diagnostic] = []
    instructions = []
    table = table or table_for(config)
    for i, word in enumerate(words):
        decoded = decode_word(word, config, i, table)
        if isinstance(decoded, Diagnostic):
            diagnostics.append(decoded)
        else:
            instructions.append(Instruction(decoded.spec, decoded.operands, i + 1))
    _check_structure(instructions, diagnostics)
    program = None if errors_only(diagnostics) else Program(tuple(instructions), config)
    return AssemblyResult(program, tuple(diagnostics))


def parse_hex(text: str) -> tuple[list[int], list[Diagnostic]]:
    """Read the binary form: one 0xXXXXXXXX word per line (blank lines and comments ignored)."""
    words, diagnostics = [], []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        item = _strip_comment(raw).strip()
        if not item:
            continue
        try:
            word = int(item, 16)
        except ValueError:
            diagnostics.append(Diagnostic(lineno, 1, "not a hex word", item, "one 0xXXXXXXXX per line"))
            continue
        if not 0 <= word < 1 << 32:
            diagnostics.append(Diagnostic(lineno, 1, "word wider than 32 bits", item))
            continue
        words.append(word)
    return words, diagnostics
