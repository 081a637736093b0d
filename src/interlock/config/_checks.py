"""Checks of single values, shared by every source: the file, the environment, the command line.

Each takes ``where`` (``[tool.interlock.app] ready_timeout``, ``$LATENCY_THRESHOLD``,
``--latency-threshold``) so that an error names the place the user wrote the value, and
raises ConfigError with one line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from interlock.errors import ConfigError
from interlock.suggest import did_you_mean

__all__ = [
    "as_bool",
    "as_int_at_least",
    "as_number",
    "as_positive",
    "as_str",
    "as_str_list",
    "as_str_table",
    "as_table",
    "as_unique_str_list",
    "as_url",
    "known_keys",
]


def known_keys(where: str, table: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse a key ``table`` should not have, suggesting the nearest known one."""
    choices = sorted(known)
    for key in sorted(set(table) - set(choices)):
        hint = did_you_mean(key, choices, listing="known keys:")
        raise ConfigError(f"{where} has an unknown key {key!r}", hint=hint)


def as_table(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table, got {value!r}")
    return value


def as_str(where: str, value: Any, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    return value


def as_str_list(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} must be a list of strings, got {value!r}")
    return tuple(value)


def as_unique_str_list(where: str, value: Any) -> tuple[str, ...]:
    """``as_str_list`` for a list of names, where a name given twice is a mistake."""
    items = as_str_list(where, value)
    for index, item in enumerate(items):
        if item in items[:index]:
            raise ConfigError(f"{where} names {item!r} twice", hint="list each once")
    return items


def as_str_table(where: str, value: Any) -> dict[str, str]:
    table = as_table(where, value)
    for key, item in table.items():
        if not isinstance(item, str):
            raise ConfigError(f"{where} {key} must be a string, got {item!r}")
    return table


def as_bool(where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def as_number(where: str, value: Any) -> float:
    """A finite number; numeric strings are accepted (the environment holds only strings)."""
    if isinstance(value, bool):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return number


def as_int_at_least(where: str, value: Any, minimum: int) -> int:
    """A whole number no smaller than ``minimum`` (``2``, not ``2.0`` nor ``"2"``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be a whole number >= {minimum}, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{where} must be a whole number >= {minimum}, got {value}")
    return value


def as_positive(where: str, value: Any, unit: str) -> float:
    number = as_number(where, value)
    if number <= 0:
        raise ConfigError(f"{where} must be a positive number of {unit}, got {number:g}")
    return number


def as_url(where: str, value: Any, schemes: tuple[str, ...]) -> str:
    """A URL with one of ``schemes`` (a ``+driver`` suffix is allowed, as SQLAlchemy writes)."""
    url = as_str(where, value)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in schemes or not rest:
        raise ConfigError(
            f"{where} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, "
            f"got {_redacted(url)!r}"
        )
    return url


def _redacted(url: str) -> str:
    """The URL without its password, which has no place in an error message."""
    head, sep, tail = url.partition("://")
    userinfo, at, host = tail.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{head}://{userinfo.split(':', 1)[0]}:***@{host}"
