"""Recording named workflow runs: how long, whether they succeeded and why not."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import final

from interlock.slo.aggregate import Aggregate
from interlock.slo.journal import Journal
from interlock.slo.tally import Tally
from interlock.slo.thresholds import parse_thresholds

__all__ = ["Recorder"]


@final
class Recorder:
    """Aggregates a process's workflow runs and declared thresholds.

    With a ``journal``, every run and declaration is also streamed to the run folder
    the moment it is recorded, so a process that dies keeps what it recorded.
    """

    def __init__(self, journal: Journal | None = None) -> None:
        self.tally = Tally()
        self.journal = journal
        self._lock = threading.Lock()

    @contextmanager
    def workflow(self, name: str) -> Iterator[None]:
        """Time the block; an exception marks the run failed (and still propagates)."""
        began = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            self.add(name, (time.perf_counter() - began) * 1000, ok=False, error=error)
            raise
        self.add(name, (time.perf_counter() - began) * 1000, ok=True)

    def add(self, name: str, duration_ms: float, *, ok: bool, error: str | None = None) -> None:
        """One run of ``name`` that took ``duration_ms``; ``error`` says why a failed one did."""
        with self._lock:
            self.tally.record(name, duration_ms, ok=ok, error=error)
            if self.journal is not None:
                self.journal.run(name, duration_ms, ok=ok, error=error)

    def merge(self, name: str, figures: Aggregate) -> None:
        """Many runs of ``name`` at once, as an aggregate (e.g. a load run's workflow):
        exactly as if each had been added; ``figures`` is copied, not kept."""
        with self._lock:
            self.tally.merge(name, figures)
            if self.journal is not None:
                self.journal.merge(name, figures)

    def declare(self, name: str, *rules: str) -> None:
        """Hold ``name`` to thresholds (k6 style, e.g. ``p(95)<1500``, ``rate>=0.99``).

        Parsed here, so a bad rule raises ConfigError at the declaration. A declared
        workflow that never runs is a breach ("no data").
        """
        parsed = parse_thresholds(rules)
        with self._lock:
            self.tally.declare(name, parsed)
            if self.journal is not None:
                self.journal.declare(name, parsed)

    def finish(self) -> None:
        """Write the tally to the journal's folder in place of its lines (a clean end)."""
        if self.journal is not None:
            with self._lock:
                self.journal.compact(self.tally)
