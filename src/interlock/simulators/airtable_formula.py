"""Airtable's ``filterByFormula``: a small evaluator for the formulas pyairtable writes.

Comparisons (``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``) of fields, strings, numbers,
``TRUE()``, ``FALSE()``, ``BLANK()`` and ``RECORD_ID()``, combined with ``AND``, ``OR``
and ``NOT`` (pyairtable.formulas: EQ, NE, GT, GTE, LT, LTE, AND, OR, NOT). Anything else
is refused as Airtable refuses a formula it cannot read.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from interlock.simulators.base import Refused

__all__ = ["Predicate", "compile_formula"]

Record = dict[str, Any]
Predicate = Callable[[Record], Any]


def _invalid(message: str) -> Refused:
    return Refused(422, {"error": {"type": "INVALID_FILTER_BY_FORMULA", "message": message}})


_TOKEN = re.compile(
    r"""\s*(?:(?P<field>\{[^}]*\})|(?P<str>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
    |(?P<num>-?\d+(?:\.\d+)?)|(?P<const>(?:TRUE|FALSE|RECORD_ID|BLANK)\(\))
    |(?P<call>AND|OR|NOT)\(|(?P<op>!=|>=|<=|=|>|<)|(?P<comma>,)|(?P<close>\)))""",
    re.VERBOSE,
)


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _tokens(formula: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(formula.rstrip()):
        match = _TOKEN.match(formula, pos)
        if match is None or match.lastgroup is None:
            raise _invalid(
                f"The formula for filtering records is invalid: {formula} (the "
                "simulator evaluates comparisons (= != > >= < <=), AND, OR and NOT)"
            )
        out.append((match.lastgroup, match.group(match.lastgroup)))
        pos = match.end()
    return out


def compile_formula(formula: str) -> Predicate:
    """A predicate over records for ``formula``; Airtable's 422 INVALID_FILTER_BY_FORMULA
    (as ``Refused``) for what it cannot read."""
    tokens = _tokens(formula)

    def operand(kind: str, text: str) -> Predicate:
        if kind == "field":
            name = text[1:-1]
            return lambda r: r["fields"].get(name)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", text[1:-1])
            return lambda r: value
        if kind == "num":
            number = float(text)
            return lambda r: number
        constant = {"TRUE()": True, "FALSE()": False, "BLANK()": None}
        if text in constant:
            return lambda r: constant[text]
        return lambda r: r["id"]

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            return bool(a) == bool(b)
        if isinstance(a, int | float) or isinstance(b, int | float):
            try:
                return float(a) == float(b)
            except ValueError:
                return False
        return str(a) == str(b)

    def order(a: Any, b: Any, op: str) -> bool:
        """Numbers by value (an empty cell counts as 0), anything else as text."""
        try:
            x: Any = float(0 if a is None else a)
            y: Any = float(0 if b is None else b)
        except (TypeError, ValueError):
            x, y = str(a or ""), str(b or "")
        return bool(COMPARISONS[op](x, y))

    def expression(i: int) -> tuple[Predicate, int]:
        kind, text = tokens[i]
        if kind == "call":
            parts = []
            while True:
                part, i = expression(i + 1)
                parts.append(part)
                if tokens[i][0] != "comma":
                    break
            if tokens[i][0] != "close":
                raise ValueError("unclosed call")
            combine = {"AND": all, "OR": any}.get(text)
            if combine is not None:
                return (lambda r: combine(p(r) for p in parts)), i + 1
            return (lambda r: not parts[0](r)), i + 1
        left = operand(kind, text)
        if i + 1 < len(tokens) and tokens[i + 1][0] == "op":
            op = tokens[i + 1][1]
            right = operand(*tokens[i + 2])
            if op in ("=", "!="):
                negate = op == "!="
                return (lambda r: same(left(r), right(r)) != negate), i + 3
            return (lambda r: order(left(r), right(r), op)), i + 3
        return (lambda r: bool(left(r))), i + 1

    try:
        predicate, end = expression(0)
        if end != len(tokens):
            raise ValueError("trailing input")
    except (IndexError, ValueError):
        raise _invalid(f"The formula for filtering records is invalid: {formula}") from None
    return predicate
