"""Decoding of bracketed form bodies (``metadata[plan]=x&expand[0]=y``) as Stripe sends them."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["decode_form"]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_form(body: str) -> dict[str, Any]:
    """Nested dicts for ``a[b]``, lists for ``a[0]`` and ``a[]`` (in order), strings at the leaves.

    ``expand[]=x&expand[]=y`` (as curl users write it) is ``expand[0]=x&expand[1]=y`` (as
    the SDKs write it).
    """
    result: dict[str, Any] = {}
    appended: dict[str, int] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        key = raw_key
        while (index := key.find("[]")) > 0:
            prefix = key[:index]
            position = appended.get(prefix, 0)
            appended[prefix] = position + 1
            key = f"{prefix}[{position}]{key[index + 2 :]}"
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
