"""Decoding of bracketed form bodies (``metadata[plan]=x&expand[0]=y``) as Stripe sends them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["decode_form"]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_form(body: str) -> dict[str, Any]:
    """Nested dicts for ``a[b]``, lists for ``a[0]`` (indices in order), strings at the leaves."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(key)
        if not match:
            result[key] = value
            continue
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = result
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    decoded: dict[str, Any] = _listify(result)
    return decoded


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
