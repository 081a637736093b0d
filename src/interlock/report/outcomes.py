"""Each test's outcome in a run, as collected from pytest's reports and kept as ``tests.json``.

``tests.json`` is the run folder's record of its tests (one entry per test run: a test
repeated three times has three), from which the HTML report, shard balancing, flakiness
and merges read. A failed entry keeps its traceback text and the sections attached to it
(captured output, log excerpts, simulator calls).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, final

import pytest

__all__ = ["TESTS_FILE", "Outcome", "Outcomes", "read_outcomes", "write_outcomes"]

TESTS_FILE: Final = "tests.json"
_MAX_TEXT: Final = 20_000


@final
@dataclass(kw_only=True)
class Outcome:
    """One run of one test: ``outcome`` is passed, failed, error (setup/teardown) or skipped."""

    nodeid: str
    outcome: str
    #: seconds, setup + call + teardown
    duration_s: float = 0.0
    longrepr: str = ""
    #: (title, text) pairs: captured output, ``interlock log: ...``, ``interlock simulator: ...``
    sections: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        return cls(
            nodeid=str(data["nodeid"]),
            outcome=str(data["outcome"]),
            duration_s=float(data.get("duration_s", 0.0)),
            longrepr=str(data.get("longrepr", "")),
            sections=[(str(t), str(x)) for t, x in data.get("sections", [])],
        )


@final
class Outcomes:
    """Folds pytest's three reports per test (setup, call, teardown) into one ``Outcome``."""

    def __init__(self) -> None:
        self.done: list[Outcome] = []
        self._open: dict[str, Outcome] = {}

    def add(self, report: pytest.TestReport) -> None:
        current = self._open.setdefault(report.nodeid, Outcome(nodeid=report.nodeid, outcome=""))
        current.duration_s += report.duration
        if report.failed and current.outcome not in ("failed", "error"):
            current.outcome = "failed" if report.when == "call" else "error"
            current.longrepr = str(report.longrepr)[-_MAX_TEXT:]
            current.sections = [(t, x[-_MAX_TEXT:]) for t, x in report.sections]
        elif report.skipped and not current.outcome:
            current.outcome = "skipped"
        elif report.when == "call" and report.passed and not current.outcome:
            current.outcome = "passed"
        if report.when == "teardown":
            self.done.append(self._open.pop(report.nodeid))

    def counts(self) -> Counter[str]:
        return Counter(o.outcome for o in self.done)


def write_outcomes(outcomes: list[Outcome], path: Path) -> None:
    """Write ``tests.json`` whole or not at all."""
    counts = Counter(o.outcome for o in outcomes)
    document = {"counts": dict(counts), "tests": [asdict(o) for o in outcomes]}
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_outcomes(path: Path) -> list[Outcome]:
    """The entries of a ``tests.json``; raises ValueError if it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [Outcome.from_dict(entry) for entry in document["tests"]]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not an Interlock tests.json: {exc}") from None
