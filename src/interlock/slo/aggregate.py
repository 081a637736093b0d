"""A workflow's figures as a mergeable aggregate: an HDR histogram, counts and errors by kind.

Aggregates merge exactly (``a + b`` holds what recording both sets of runs into one
would hold), so xdist workers, load shards and CI shards send aggregates, never
sample lists. ``to_dict`` / ``from_dict`` give a compact JSON form (the histogram in
HdrHistogram's own compressed base64 encoding).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from hdrh.histogram import HdrHistogram

__all__ = ["MAX_ERROR_KINDS", "Aggregate"]

#: microsecond resolution from 1 µs to one hour, three significant digits
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 3_600_000_000, 3
#: distinct error texts kept per workflow; further kinds are counted under OTHER_ERRORS
MAX_ERROR_KINDS: Final = 20
OTHER_ERRORS: Final = "(other errors)"
_ERROR_CHARS = 300


def _histogram() -> HdrHistogram:
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


@final
@dataclass(eq=False)
class Aggregate:
    """Runs of one workflow. Durations are in milliseconds.

    ``percentile(p)`` never exceeds the largest recorded duration (an HDR bucket's upper
    edge may lie above it), so 20 runs of 1499.8 ms have a p(95) of 1499.8 ms.
    """

    runs: int = 0
    failures: int = 0
    #: sum of every duration in whole microseconds, for the mean (integers merge exactly)
    total_us: int = 0
    #: exact smallest and largest durations (the histogram only knows their buckets)
    min_ms: float = 0.0
    max_ms: float = 0.0
    #: error text -> how many failed runs gave it
    errors: Counter[str] = field(default_factory=Counter)
    _hist: HdrHistogram = field(default_factory=_histogram, repr=False)

    def record(self, duration_ms: float, *, ok: bool, error: str | None = None) -> None:
        """Add one run; ``error`` (a failed run's reason) defaults to ``"failed"``."""
        duration_ms = max(float(duration_ms), 0.0)
        self._hist.record_value(min(max(int(duration_ms * 1000), _LOWEST_US), _HIGHEST_US))
        self.min_ms = duration_ms if self.runs == 0 else min(self.min_ms, duration_ms)
        self.max_ms = max(self.max_ms, duration_ms)
        self.runs += 1
        self.total_us += round(duration_ms * 1000)
        if not ok:
            self.failures += 1
            self._count_errors({(error or "failed")[:_ERROR_CHARS]: 1})

    def _count_errors(self, counts: Mapping[str, int]) -> None:
        for text, count in counts.items():
            if text not in self.errors and len(self.errors) >= MAX_ERROR_KINDS:
                text = OTHER_ERRORS
            self.errors[text] += count

    # -- figures ----------------------------------------------------------------------
    @property
    def successes(self) -> int:
        return self.runs - self.failures

    @property
    def rate(self) -> float:
        """Share of successful runs, 0..1 (0 when there were none)."""
        return self.successes / self.runs if self.runs else 0.0

    @property
    def avg(self) -> float:
        return self.total_us / self.runs / 1000 if self.runs else 0.0

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0 < p <= 100) in ms, capped at the largest duration."""
        if not self.runs:
            return 0.0
        edge = float(self._hist.get_value_at_percentile(p)) / 1000
        return max(min(edge, self.max_ms), self.min_ms)

    # -- merging and the wire form ---------------------------------------------------
    def __add__(self, other: Aggregate) -> Aggregate:
        if not isinstance(other, Aggregate):
            return NotImplemented
        merged = Aggregate()
        merged += self
        merged += other
        return merged

    def __iadd__(self, other: Aggregate) -> Aggregate:
        if not isinstance(other, Aggregate):
            return NotImplemented
        if other.runs:
            self.min_ms = other.min_ms if self.runs == 0 else min(self.min_ms, other.min_ms)
            self.max_ms = max(self.max_ms, other.max_ms)
            self.runs += other.runs
            self.failures += other.failures
            self.total_us += other.total_us
            self._hist.add(other._hist)
            self._count_errors(other.errors)
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Aggregate):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: counts, exact min/max, the sum, errors and the encoded histogram."""
        return {
            "runs": self.runs,
            "failures": self.failures,
            "total_us": self.total_us,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
            "errors": dict(self.errors),
            "hdr": self._hist.encode().decode("ascii") if self.runs else "",
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Aggregate:
        """The inverse of ``to_dict``; raises ValueError on a malformed document."""
        try:
            hist = HdrHistogram.decode(data["hdr"].encode("ascii")) if data["hdr"] else None
            aggregate = cls(
                runs=int(data["runs"]),
                failures=int(data["failures"]),
                total_us=int(data["total_us"]),
                min_ms=float(data["min_ms"]),
                max_ms=float(data["max_ms"]),
                errors=Counter({str(k): int(v) for k, v in data["errors"].items()}),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an SLO aggregate: {exc}") from None
        if hist is not None:
            aggregate._hist.add(hist)
        if aggregate._hist.get_total_count() != aggregate.runs:
            raise ValueError("not an SLO aggregate: histogram and run count disagree")
        return aggregate
