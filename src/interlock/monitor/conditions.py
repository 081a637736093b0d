"""Conditions on an HTTP answer, Gatus style: ``[STATUS] == 200``, ``$.db.state == "up"``.

A condition is ``LEFT OP RIGHT``. ``LEFT`` is ``[STATUS]`` (the HTTP status code),
``[RESPONSE_TIME]`` (ms) or a JSON path into the body (``$``, ``$.a.b``, ``$.items[0].id``,
``$.items.length``, ``$[?breaker == "open"].length``, ``$.items[*].size.sum``: see
``parse_path``); ``OP`` is one of ``== != < <= > >=``; ``RIGHT`` is a JSON literal
(``200``, ``"up"``, ``true``, ``null``) or a bare word, taken as a string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, final

from interlock.errors import ConfigError

__all__ = ["Answer", "Condition", "JsonPath", "Select", "extract", "parse_condition", "parse_path"]

_OPS = ("==", "!=", "<=", ">=", "<", ">")
# a JSON path may hold spaces inside brackets ($[?breaker == "open"]); nothing else does
_CONDITION = re.compile(r"^\s*(\$(?:[^\s\[]|\[[^\]]*\])*|\S+)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
_STEP = re.compile(
    r"\.(?P<key>[A-Za-z_][\w-]*)|\[(?P<index>\d+)\]|\[(?P<star>\*)\]"
    r"|\[\?\s*(?P<field>[A-Za-z_][\w-]*)\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>[^\]]+?)\s*\]"
)
#: after a selection, these fold the selected values into one number
_FOLDS = {"length", "sum", "max", "min"}
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Select:
    """``[*]`` (every item of a list) or ``[?field OP value]`` (the items where it holds)."""

    field: str | None = None
    op: str = "=="
    value: Any = None

    def keeps(self, item: Any) -> bool:
        if self.field is None:
            return True
        if not isinstance(item, dict) or self.field not in item:
            return False
        try:
            return _compare(item[self.field], self.op, self.value)
        except TypeError:
            return False


Step = str | int | Select
JsonPath = tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """What a condition is checked against: status code, response time (ms), parsed body."""

    status: int
    response_ms: float
    #: the body parsed as JSON; ``_MISSING`` when it is not JSON
    body: Any = _MISSING


def _literal(text: str, where: str, whole: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        if any(ch in text for ch in " \"'" + "".join(_OPS)):
            raise ConfigError(f"{where}: malformed {whole!r}: bad value {text!r}") from None
        return text


def parse_path(text: str, where: str) -> JsonPath:
    """``"$.a[0].b"`` -> ``("a", 0, "b")``; raises ConfigError for anything else.

    Besides keys and indexes, one selection: ``$.items[*].size.sum``,
    ``$[?breaker == "open"].length``; after it, ``length``, ``sum``, ``max`` or ``min``
    fold the selected values into one number.
    """
    if not text.startswith("$"):
        raise ConfigError(f"{where}: JSON path {text!r} must start with '$'")
    rest, steps, pos = text[1:], list[Step](), 0
    while pos < len(rest):
        match = _STEP.match(rest, pos)
        if match is None:
            raise ConfigError(f"{where}: malformed JSON path {text!r} at {rest[pos:]!r}")
        if match["key"] is not None:
            steps.append(match["key"])
        elif match["index"] is not None:
            steps.append(int(match["index"]))
        elif match["star"] is not None:
            steps.append(Select())
        else:
            value = _literal(match["value"], where, text)
            steps.append(Select(match["field"], match["op"], value))
        pos = match.end()
    if sum(isinstance(step, Select) for step in steps) > 1:
        raise ConfigError(f"{where}: JSON path {text!r} may select ([*], [?...]) only once")
    return tuple(steps)


def extract(body: Any, path: JsonPath) -> Any:
    """The value at ``path`` in ``body``, or ``_MISSING``; ``length`` of a list is its size."""
    value = body
    selected: list[Any] | None = None
    for step in path:
        if isinstance(step, Select):
            if not isinstance(value, list):
                return _MISSING
            selected = [item for item in value if step.keeps(item)]
        elif selected is not None:
            if step in _FOLDS:
                return _fold(str(step), selected)
            selected = [v for item in selected if (v := _step(item, step)) is not _MISSING]
        else:
            value = _step(value, step)
            if value is _MISSING:
                return _MISSING
    return selected if selected is not None else value


def _step(value: Any, step: str | int) -> Any:
    indexable = isinstance(step, int) and isinstance(value, list) and step < len(value)
    if indexable or (isinstance(step, str) and isinstance(value, dict) and step in value):
        return value[step]
    if step == "length" and isinstance(value, list | dict | str):
        return len(value)
    return _MISSING


def _fold(name: str, values: list[Any]) -> Any:
    if name == "length":
        return len(values)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != len(values):
        return _MISSING
    if name == "sum":
        return sum(numbers)
    if not numbers:
        return _MISSING
    return max(numbers) if name == "max" else min(numbers)


@final
@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed condition; ``check(answer)`` gives None when it holds, else why not."""

    text: str
    left: str | JsonPath
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
    left: str | JsonPath
    if left_text in ("[STATUS]", "[RESPONSE_TIME]"):
        left = left_text
    elif left_text.startswith("$"):
        left = parse_path(left_text, where)
    else:
        raise ConfigError(
            f"{where}: malformed condition {text!r}: {left_text!r} is not "
            "[STATUS], [RESPONSE_TIME] or a JSON path ($.field)"
        )
    right = _literal(right_text, where, text)
    if op in ("<", "<=", ">", ">=") and (
        isinstance(right, bool) or not isinstance(right, int | float)
    ):
        raise ConfigError(f"{where}: malformed condition {text!r}: {op} needs a number")
    return Condition(text=text, left=left, op=op, right=right)
