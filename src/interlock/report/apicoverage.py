"""API coverage: which of the app's OpenAPI operations, and which of the responses each
declares, the suites exercised.

An operation is a method and a path template (``GET /customers/{id}``); a call matches
the template whose fixed segments it shares (the more fixed segments, the better the
match). A declared response ``"404"`` is exercised by a 404, ``"4XX"`` by any 4xx, and
``"default"`` by any status no other declared code of the operation covers.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, final
from urllib.parse import urlsplit

__all__ = ["API_COVERAGE_FILE", "Call", "Operation", "api_coverage", "write_api_coverage"]

API_COVERAGE_FILE: Final = "api-coverage.json"
_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@final
@dataclass(frozen=True)
class Call:
    """One request the suites made to the app: its method, path and response status."""

    method: str
    path: str
    status: int


@final
@dataclass(kw_only=True)
class Operation:
    """An operation of the spec and what the suites did with it."""

    method: str
    path: str
    declared: list[str]
    #: status code -> how many calls answered it
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def calls(self) -> int:
        return sum(self.statuses.values())

    def exercised_responses(self) -> list[str]:
        """The declared responses some call exercised."""
        explicit = {d for d in self.declared if d.isdigit()}
        hit = []
        for declared in self.declared:
            if declared.isdigit():
                ok = int(declared) in self.statuses
            elif declared.upper().endswith("XX") and declared[:1].isdigit():
                ok = any(str(s)[0] == declared[0] for s in self.statuses)
            else:  # "default": a status no explicit code covers
                ok = any(str(s) not in explicit for s in self.statuses)
            if ok:
                hit.append(declared)
        return hit

    def describe(self) -> str:
        seen = ", ".join(f"{s} x{n}" for s, n in sorted(self.statuses.items())) or "never called"
        missing = [d for d in self.declared if d not in self.exercised_responses()]
        tail = f"; not exercised: {', '.join(missing)}" if missing and self.calls else ""
        return f"{self.method} {self.path}: {seen}{tail}"


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}/?$")


def _operations(spec: Mapping[str, Any]) -> list[Operation]:
    operations = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in _METHODS:
            if isinstance(item, dict) and method in item:
                declared = sorted(str(code) for code in item[method].get("responses", {}))
                operations.append(Operation(method=method.upper(), path=path, declared=declared))
    return operations


def api_coverage(spec: Mapping[str, Any], calls: Iterable[Call]) -> list[Operation]:
    """Every operation of ``spec`` (an OpenAPI document) with the ``calls`` that match it."""
    operations = _operations(spec)
    compiled = [(op, _pattern(op.path), op.path.count("{")) for op in operations]
    for call in calls:
        matches = [
            (params, op)
            for op, pattern, params in compiled
            if op.method == call.method.upper() and pattern.match(call.path)
        ]
        if matches:
            _, best = min(matches, key=lambda m: m[0])  # fewest parameters: the most specific
            best.statuses[call.status] = best.statuses.get(call.status, 0) + 1
    return operations


def read_calls(folder: Path, base_url: str) -> list[Call]:
    """The calls recorded under ``folder`` (``*.jsonl``) to the app at ``base_url``."""
    prefix = urlsplit(base_url).path.rstrip("/")
    calls = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                url = urlsplit(str(entry["url"]))
                calls.append(
                    Call(str(entry["method"]), url.path[len(prefix) :], int(entry["status"]))
                )
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a killed process
    return calls


def write_api_coverage(operations: list[Operation], path: Path) -> str:
    """``api-coverage.json`` (every operation); returns the summary line."""
    hit = [op for op in operations if op.calls]
    declared = sum(len(op.declared) for op in operations)
    exercised = sum(len(op.exercised_responses()) for op in operations)
    share = len(hit) / len(operations) * 100 if operations else 0.0
    summary = (
        f"API coverage: {len(hit)} of {len(operations)} operations ({share:.1f}%), "
        f"{exercised} of {declared} declared responses"
    )
    document = {
        "summary": summary,
        "operations": [
            {
                "method": op.method,
                "path": op.path,
                "calls": op.calls,
                "statuses": {str(s): n for s, n in sorted(op.statuses.items())},
                "declared": op.declared,
                "exercised": op.exercised_responses(),
            }
            for op in operations
        ],
        "lines": [op.describe() for op in operations],
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return summary
