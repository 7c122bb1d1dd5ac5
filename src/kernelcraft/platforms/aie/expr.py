"""Integer constant expressions in immediates (`#4*4*4 * 8`, `#.l_end`, `#(2*8*4*8) - 7*32`).

A small recursive-descent evaluator (no eval): decimal, hex and binary literals, labels,
unary minus, + - * / % << >> & | ^ and parentheses. Division truncates toward zero, as C
does, since the constant arithmetic in public AIE listings is C-like.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"\s*(0[xX][0-9a-fA-F]+|0[bB][01]+|\d+|<<|>>|[-+*/%&|^()~]|[A-Za-z_.$][\w.$]*)")


class ExprError(ValueError):
    pass


def tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"unexpected character {text[pos]!r} in expression {text!r}")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


def evaluate(text: str, lookup: Callable[[str], int | None]) -> int:
    """Value of an expression; `lookup` resolves names (labels) or returns None."""
    tokens = tokenize(text)
    if not tokens:
        raise ExprError("empty expression")
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        return tok

    def atom() -> int:
        tok = peek()
        if tok is None:
            raise ExprError(f"expression {text!r} ends too early")
        take()
        if tok == "(":
            value = bitor()
            if peek() != ")":
                raise ExprError(f"missing ')' in {text!r}")
            take()
            return value
        if tok == "-":
            return -atom()
        if tok == "+":
            return atom()
        if tok == "~":
            return ~atom()
        if tok[0].isdigit():
            return int(tok, 0)
        value = lookup(tok)
        if value is None:
            raise ExprError(f"unknown name {tok!r}")
        return value

    def product() -> int:
        value = atom()
        while peek() in ("*", "/", "%"):
            operator, rhs = take(), atom()
            if operator == "*":
                value *= rhs
            elif rhs == 0:
                raise ExprError(f"division by zero in {text!r}")
            elif operator == "/":
                value = (
                    int(value / rhs)
                    if abs(value) < 1 << 52
                    else (abs(value) // abs(rhs)) * (1 if (value < 0) == (rhs < 0) else -1)
                )
            else:
                value = value - rhs * int(value / rhs)
        return value

    def total() -> int:
        value = product()
        while peek() in ("+", "-"):
            value = value + product() if take() == "+" else value - product()
        return value

    def shifted() -> int:
        value = total()
        while peek() in ("<<", ">>"):
            operator, rhs = take(), total()
            if rhs < 0 or rhs > 64:
                raise ExprError(f"shift by {rhs} in {text!r}")
            value = value << rhs if operator == "<<" else value >> rhs
        return value

    def bitand() -> int:
        value = shifted()
        while peek() == "&":
            take()
            value &= shifted()
        return value

    def bitxor() -> int:
        value = bitand()
        while peek() == "^":
            take()
            value ^= bitand()
        return value

    def bitor() -> int:
        value = bitxor()
        while peek() == "|":
            take()
            value |= bitxor()
        return value

    result = bitor()
    if pos != len(tokens):
        raise ExprError(f"unexpected {tokens[pos]!r} in expression {text!r}")
    if abs(result) > 1 << 40:
        raise ExprError(f"value of {text!r} is too large")
    return result
