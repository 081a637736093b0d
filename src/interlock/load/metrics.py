"""What a load run records as it goes: the open second's figures, rolled into the run's totals.

Each duration is recorded once, into the open second's histogram; closing a second adds
its histograms into the totals (an exact, cheap merge). Memory is bounded: one histogram
per step and per workflow for the totals and for the open second.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from interlock.slo.aggregate import MAX_ERROR_KINDS, Aggregate

__all__ = ["MAX_MESSAGE_CHARS", "Metrics", "Second", "error_message"]

#: the longest first message kept for an error kind, characters
MAX_MESSAGE_CHARS = 300


def error_message(exc: BaseException) -> str | None:
    """``"Type: message"`` of ``exc`` (its first line, at most MAX_MESSAGE_CHARS), or None
    when it says nothing beyond its type."""
    text = str(exc).strip()
    if not text:
        return None
    line = text.splitlines()[0]
    name = type(exc).__name__
    shown = line if line.startswith(f"{name}:") else f"{name}: {line}"
    return shown[:MAX_MESSAGE_CHARS]


@dataclass
class Second:
    """The figures of one second of a run (time series, live progress, threshold windows)."""

    t: int
    workflow: Aggregate = field(default_factory=Aggregate)
    steps: dict[str, Aggregate] = field(default_factory=dict)
    dropped: int = 0
    started: int = 0

    def point(self, vus: int) -> dict[str, Any]:
        """One time-series point: counts in this second, workflow p95 in ms, VUs allocated."""
        return {
            "t": self.t,
            "started": self.started,
            "iterations": self.workflow.count,
            "iteration_failures": self.workflow.failures,
            "requests": sum(a.count for a in self.steps.values()),
            "request_failures": sum(a.failures for a in self.steps.values()),
            "dropped": self.dropped,
            "p95_ms": round(self.workflow.percentile(95), 3),
            "vus": vus,
        }

    def encode(self) -> dict[str, Any]:
        return {
            "t": self.t,
            "workflow": self.workflow.encode(),
            "steps": {k: v.encode() for k, v in self.steps.items()},
            "dropped": self.dropped,
            "started": self.started,
        }

    @classmethod
    def decode(cls, data: dict[str, Any]) -> Second:
        return cls(
            t=int(data["t"]),
            workflow=Aggregate.decode(data["workflow"]),
            steps={k: Aggregate.decode(v) for k, v in data["steps"].items()},
            dropped=int(data["dropped"]),
            started=int(data["started"]),
        )

    def __iadd__(self, other: Second) -> Second:
        self.workflow += other.workflow
        for name, agg in other.steps.items():
            mine = self.steps.get(name)
            if mine is None:
                mine = self.steps[name] = Aggregate()
            mine += agg
        self.dropped += other.dropped
        self.started += other.started
        return self


class Metrics:
    """The open second plus the run's totals up to the last closed second."""

    def __init__(self, workflow_name: str) -> None:
        self.workflow_name = workflow_name
        self.workflow = Aggregate()
        self.steps: dict[str, Aggregate] = {}
        self.checks: Counter[str] = Counter()  # passes by check name
        self.check_failures: Counter[str] = Counter()
        self.dropped = 0
        self.interrupted = 0
        self.started = 0
        #: the first message seen of each error kind (kinds group failures; a message
        #: says what went wrong). Bounded as the kinds are, by MAX_ERROR_KINDS.
        self.messages: dict[str, str] = {}
        self.second = Second(0)
        #: every iteration's (duration ms, error or None), only when asked, else None: it
        #: grows with the run (for tests that verify merges against every sample)
        self.samples: list[tuple[float, str | None]] | None = None

    def record_step(self, name: str, duration_ms: float, ok: bool, error: str | None) -> None:
        steps = self.second.steps
        agg = steps.get(name)
        if agg is None:
            agg = steps[name] = Aggregate()
        agg.record(duration_ms, ok, error)

    def record_iteration(self, duration_ms: float, ok: bool, error: str | None) -> None:
        self.second.workflow.record(duration_ms, ok, error)
        if self.samples is not None:
            self.samples.append((duration_ms, error))

    def record_message(self, kind: str, exc: BaseException) -> None:
        """Keep ``exc``'s message as the example of error ``kind``, unless one is kept."""
        if kind in self.messages or len(self.messages) >= MAX_ERROR_KINDS:
            return
        message = error_message(exc)
        if message is not None and message != kind:
            self.messages[kind] = message

    def record_check(self, name: str, ok: bool) -> None:
        if ok:
            self.checks[name] += 1
        else:
            self.check_failures[name] += 1

    def record_started(self) -> None:
        self.started += 1
        self.second.started += 1

    def record_dropped(self) -> None:
        self.dropped += 1
        self.second.dropped += 1

    def roll(self, t: int) -> Second:
        """Close the open second (adding it to the totals), open second ``t``; returns it."""
        closed, self.second = self.second, Second(t)
        self.workflow += closed.workflow
        for name, agg in closed.steps.items():
            total = self.steps.get(name)
            if total is None:
                total = self.steps[name] = Aggregate()
            total += agg
        return closed

    def totals(self) -> dict[str, Aggregate]:
        """Every target's totals up to the last closed second: the workflow's and each step's."""
        return {**self.steps, self.workflow_name: self.workflow}
