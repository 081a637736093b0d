"""Conditions on an HTTP answer, Gatus style: ``[STATUS] == 200``, ``$.db.state == "up"``.

A condition is ``LEFT OP RIGHT``. ``LEFT`` is ``[STATUS]`` (the HTTP status code),
``[RESPONSE_TIME]`` (ms) or a JSON path into the body (``$``, ``$.a.b``, ``$.items[0].id``,
``$.items.length``); ``OP`` is one of ``== != < <= > >=``; ``RIGHT`` is a JSON literal
(``200``, ``"up"``, ``true``, ``null``) or a bare word, taken as a string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, final

from interlock.errors import ConfigError

__all__ = ["Answer", "Condition", "extract", "parse_condition", "parse_path"]

_OPS = ("==", "!=", "<=", ">=", "<", ">")
_CONDITION = re.compile(r"^\s*(\S+)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Answer:
    """What a condition is checked against: status code, response time (ms), parsed body."""

    status: int
    response_ms: float
    #: the body parsed as JSON; ``_MISSING`` when it is not JSON
    body: Any = _MISSING


def parse_path(text: str, where: str) -> tuple[str | int, ...]:
    """``"$.a[0].b"`` -> ``("a", 0, "b")``; raises ConfigError for anything else."""
    if not text.startswith("$"):
        raise ConfigError(f"{where}: JSON path {text!r} must start with '$'")
    rest, steps, pos = text[1:], [], 0
    while pos < len(rest):
        match = _STEP.match(rest, pos)
        if match is None:
            raise ConfigError(f"{where}: malformed JSON path {text!r} at {rest[pos:]!r}")
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    return tuple(steps)


def extract(body: Any, path: tuple[str | int, ...]) -> Any:
    """The value at ``path`` in ``body``, or ``_MISSING``; ``length`` of a list is its size."""
    value = body
    for step in path:
        indexable = isinstance(step, int) and isinstance(value, list) and step < len(value)
        if indexable or (isinstance(step, str) and isinstance(value, dict) and step in value):
            value = value[step]
        elif step == "length" and isinstance(value, list | dict | str):
            value = len(value)
        else:
            return _MISSING
    return value


@final
@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed condition; ``check(answer)`` gives None when it holds, else why not."""

    text: str
    left: str | tuple[str | int, ...]
    op: str
    right: Any

    def check(self, answer: Answer) -> str | None:
        if self.left == "[STATUS]":
            actual: Any = answer.status
        elif self.left == "[RESPONSE_TIME]":
            actual = answer.response_ms
        else:
            assert isinstance(self.left, tuple)
            if answer.body is _MISSING:
                return f"{self.text}: the body is not JSON"
            actual = extract(answer.body, self.left)
            if actual is _MISSING:
                return f"{self.text}: the body has no such field"
        try:
            holds = _compare(actual, self.op, self.right)
        except TypeError:
            holds = False
        return None if holds else f"{self.text}: got {json.dumps(actual, default=str)[:80]}"


def _compare(actual: Any, op: str, right: Any) -> bool:
    if op == "==":
        return bool(actual == right)
    if op == "!=":
        return bool(actual != right)
    # ordering only between numbers (bool is not one): "up" < 3 is a failed check, not a crash
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        raise TypeError(op)
    if isinstance(right, bool) or not isinstance(right, int | float):
        raise TypeError(op)
    return {"<": actual < right, "<=": actual <= right, ">": actual > right, ">=": actual >= right}[
        op
    ]


def parse_condition(text: Any, where: str) -> Condition:
    """Parse ``text``; raises ConfigError naming ``where`` when it is malformed."""
    if not isinstance(text, str):
        raise ConfigError(f"{where}: a condition must be a string, got {text!r}")
    match = _CONDITION.match(text)
    if match is None:
        raise ConfigError(
            f"{where}: malformed condition {text!r}",
            hint="write LEFT OP RIGHT, e.g. '[STATUS] == 200' or '$.status == \"ok\"'",
        )
    left_text, op, right_text = match.groups()
    left: str | tuple[str | int, ...]
    if left_text in ("[STATUS]", "[RESPONSE_TIME]"):
        left = left_text
    elif left_text.startswith("$"):
        left = parse_path(left_text, where)
    else:
        raise ConfigError(
            f"{where}: malformed condition {text!r}: {left_text!r} is not "
            "[STATUS], [RESPONSE_TIME] or a JSON path ($.field)"
        )
    try:
        right = json.loads(right_text)
    except ValueError:
        if any(ch in right_text for ch in " \"'" + "".join(_OPS)):
            raise ConfigError(f"{where}: malformed condition {text!r}: bad value") from None
        right = right_text
    if op in ("<", "<=", ">", ">=") and (
        isinstance(right, bool) or not isinstance(right, int | float)
    ):
        raise ConfigError(f"{where}: malformed condition {text!r}: {op} needs a number")
    return Condition(text=text, left=left, op=op, right=right)
