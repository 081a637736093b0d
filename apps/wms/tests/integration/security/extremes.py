"""Extreme but valid values from a JSON Schema: each bound the schema states, reached.

``extreme(schema, "max")`` gives the largest value the schema allows (integers at their
maximum, strings at their maxLength in 4-byte characters, the last year a date may name,
arrays at their maxItems), ``"min"`` the smallest. A value the schema allows must never
give a 500: either the service takes it or the schema must say it does not.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any, Literal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

__all__ = ["Side", "extreme"]

Side = Literal["max", "min"]

#: characters that are each 4 bytes of UTF-8, right-to-left, combining or CJK: a string
#: at its maxLength in these is 4x as many bytes, and sorts and compares oddly
WIDE = "\U0001d518\U0001f5d1\u4e2d\u202e\u00e9\u0301\u00df"
#: what a schema without an upper bound on an integer still allows
HUGE_INT = 2**64
#: candidate extremes of dates, furthest first: the first the schema's pattern allows
_DAYS = {
    "date": {
        "max": ("9999-12-31", "2999-12-31"),
        "min": ("0001-01-01", "1900-01-01"),
    },
    "date-time": {
        "max": ("9999-12-31T23:59:59-14:00", "2999-12-31T23:59:59-14:00"),
        "min": ("0001-01-01T00:00:00+14:00", "1900-01-01T00:00:00+14:00"),
    },
}
#: every text field's pattern in WMS (any character but NUL): free text
FREE_TEXT = r"^[^\x00]*$"


def _by_pattern(pattern: str, side: Side, low: int, high: int) -> str:
    found: list[str] = []

    @settings(
        max_examples=60,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.from_regex(pattern, fullmatch=True).filter(lambda s: low <= len(s) <= high))
    def collect(value: str) -> None:
        found.append(value)

    collect()
    found.sort(key=len)
    return found[-1] if side == "max" else found[0]


def _string(schema: Mapping[str, Any], side: Side) -> str:
    fmt, pattern = schema.get("format"), schema.get("pattern")
    low, high = int(schema.get("minLength", 0)), int(schema.get("maxLength", 2000))
    if fmt in ("date", "date-time"):
        # the furthest day the schema allows; a moment with the offset that pushes it
        # further still once in UTC
        fits = [d for d in _DAYS[fmt][side] if not pattern or re.fullmatch(pattern, d)]
        assert fits, f"no {side} {fmt} of {_DAYS[fmt][side]} matches {pattern}"
        return fits[0]
    if fmt == "uuid":
        return (
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
            if side == "max"
            else ("00000000-0000-0000-0000-000000000000")
        )
    if fmt == "email":
        # the longest address the pattern allows, unique (e-mails often are)
        local = f"{secrets.token_hex(12)}{'x' * 8}.{'y' * 15}.{'z' * 15}"
        domain = ".".join(["a" * 63, "b" * 63, "c" * 56, "com"])  # 253 characters in all
        return f"{local}@{domain}" if side == "max" else f"{secrets.token_hex(3)}@x.io"
    if pattern and pattern != FREE_TEXT:
        return _by_pattern(pattern, side, low, high)
    if side == "min":
        return secrets.token_hex(max(low, 1))[: max(low, 1)]
    # unique too: names are often unique in their table
    tail = secrets.token_hex(4)
    body = "".join(secrets.choice(WIDE) for _ in range(max(high - len(tail), 0)))
    return (body + tail)[-high:] if high else ""


def extreme(schema: Mapping[str, Any], side: Side, definitions: Mapping[str, Any]) -> Any:
    """The ``side`` extreme of ``schema`` (``$ref`` resolved in ``definitions``, the
    spec's ``components/schemas``); optional properties are all given."""
    while "$ref" in schema:
        schema = definitions[str(schema["$ref"]).rsplit("/", 1)[-1]]
    if "anyOf" in schema or "oneOf" in schema:
        options = [
            o for o in schema.get("anyOf", schema.get("oneOf", [])) if o.get("type") != "null"
        ]
        return extreme(options[0], side, definitions) if options else None
    if "allOf" in schema:
        return extreme(schema["allOf"][0], side, definitions)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][-1 if side == "max" else 0]
    kind = schema.get("type")
    if kind == "integer":
        if side == "max":
            if "maximum" in schema:
                return int(schema["maximum"])
            return int(schema["exclusiveMaximum"]) - 1 if "exclusiveMaximum" in schema else HUGE_INT
        if "minimum" in schema:
            return int(schema["minimum"])
        return int(schema["exclusiveMinimum"]) + 1 if "exclusiveMinimum" in schema else -HUGE_INT
    if kind == "number":
        return schema.get("maximum", 1e308) if side == "max" else schema.get("minimum", -1e308)
    if kind == "boolean":
        return side == "max"
    if kind == "string":
        return _string(schema, side)
    if kind == "array":
        count = int(schema.get("maxItems", 3)) if side == "max" else int(schema.get("minItems", 0))
        return [extreme(schema.get("items", {}), side, definitions) for _ in range(count)]
    if kind == "object" or "properties" in schema:
        return {
            name: extreme(sub, side, definitions)
            for name, sub in schema.get("properties", {}).items()
        }
    return None
