"""Mergeable figures of one measured thing: an HDR histogram of durations, counts, errors by kind.

One class serves the SLO gate (a workflow's runs across tests, xdist workers and CI
shards) and the load engine (a step's or workflow's requests per second, per shard and
per run). Aggregates merge exactly (``a + b`` holds what recording both sets of runs
into one would hold), so processes send aggregates, never sample lists. ``to_dict`` /
``from_dict`` (alias ``encode`` / ``decode``) give a compact JSON form, the histogram in
HdrHistogram's own compressed base64 encoding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

from hdrh.histogram import HdrHistogram

__all__ = ["MAX_ERROR_KINDS", "OTHER_ERRORS", "Aggregate"]

#: microsecond resolution from 1 µs to one hour, three significant digits
_LOWEST_US: Final = 1
_HIGHEST_US: Final = 3_600_000_000
_DIGITS: Final = 3
#: distinct error texts kept per aggregate; further kinds are counted under OTHER_ERRORS
MAX_ERROR_KINDS: Final = 20
OTHER_ERRORS: Final = "(other errors)"
_ERROR_CHARS: Final = 300
#: the figures ``figure`` knows besides ``p`` (threshold metric names, k6's)
_FIGURES: Final = frozenset({"avg", "min", "med", "max", "rate", "count"})


def _histogram() -> HdrHistogram:
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


@final
@dataclass(eq=False, slots=True)
class Aggregate:
    """Runs of one workflow or step. Durations are in milliseconds; memory is bounded.

    ``record`` costs one histogram update (the load engine calls it once per request).
    ``percentile(p)`` never leaves the exact [min, max] of the recorded durations (an
    HDR bucket's upper edge may lie above the largest), so 20 runs of 1499.8 ms have a
    p(95) of 1499.8 ms.
    """

    runs: int = 0
    failures: int = 0
    #: sum of every duration in whole microseconds, for the mean (integers merge exactly)
    total_us: int = 0
    #: exact smallest and largest durations (the histogram only knows their buckets)
    min_ms: float = 0.0
    max_ms: float = 0.0
    #: error text -> how many failed runs gave it, e.g. ``{"status 500": 3}``
    errors: Counter[str] = field(default_factory=Counter)
    _hist: HdrHistogram = field(default_factory=_histogram, repr=False)

    def record(self, duration_ms: float, ok: bool = True, error: str | None = None) -> None:
        """Add one run of ``duration_ms`` ms (negative counts as 0); a failed run counts
        under ``error`` (default ``"failed"``, cut to 300 characters)."""
        # the load engine's hot path: plain comparisons, no builtin calls but one round
        if duration_ms < 0.0:
            duration_ms = 0.0
        us = round(duration_ms * 1000)
        self._hist.record_value(
            _LOWEST_US if us < _LOWEST_US else _HIGHEST_US if us > _HIGHEST_US else us
        )
        if not self.runs:
            self.min_ms = self.max_ms = duration_ms
        elif duration_ms < self.min_ms:
            self.min_ms = duration_ms
        elif duration_ms > self.max_ms:
            self.max_ms = duration_ms
        self.runs += 1
        self.total_us += us
        if not ok:
            self.failures += 1
            self._count_errors({(error or "failed")[:_ERROR_CHARS]: 1})

    def _count_errors(self, counts: Mapping[str, int]) -> None:
        for text, count in counts.items():
            if text not in self.errors and len(self.errors) >= MAX_ERROR_KINDS:
                text = OTHER_ERRORS
            self.errors[text] += count

    # -- figures (ms; rate in [0, 1]) ---------------------------------------------------
    @property
    def count(self) -> int:
        """The number of runs (k6's name for it, used by load thresholds)."""
        return self.runs

    @property
    def successes(self) -> int:
        return self.runs - self.failures

    @property
    def rate(self) -> float:
        """Share of successful runs, 0..1 (0 when there were none: no runs is no success)."""
        return self.successes / self.runs if self.runs else 0.0

    @property
    def avg(self) -> float:
        return self.total_us / self.runs / 1000 if self.runs else 0.0

    @property
    def min(self) -> float:
        return self.min_ms

    @property
    def max(self) -> float:
        return self.max_ms

    @property
    def med(self) -> float:
        return self.percentile(50)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0 < p <= 100) in ms, within the exact [min, max]."""
        if not self.runs:
            return 0.0
        edge = float(self._hist.get_value_at_percentile(p)) / 1000
        return max(min(edge, self.max_ms), self.min_ms)

    def figure(self, metric: str, percentile: float | None = None) -> float:
        """A figure by its threshold name: ``p`` (with ``percentile``), avg, min, med, max,
        rate or count; raises ValueError for any other name or a ``p`` without one."""
        if metric == "p":
            if percentile is None:
                raise ValueError("the p metric needs a percentile")
            return self.percentile(percentile)
        if metric not in _FIGURES:
            raise ValueError(f"unknown figure {metric!r}")
        return float(getattr(self, metric))

    def summary(self) -> dict[str, Any]:
        """The figures a report shows: count, failures, rate, avg, min, med, p90, p95, p99,
        max (ms) and the ten commonest errors."""
        return {
            "count": self.runs,
            "failures": self.failures,
            "rate": self.rate,
            "avg": self.avg,
            "min": self.min_ms,
            "med": self.med,
            "p90": self.percentile(90),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
            "max": self.max_ms,
            "errors": dict(self.errors.most_common(10)),
        }

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
            self.max_ms = other.max_ms if self.runs == 0 else max(self.max_ms, other.max_ms)
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
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"not an encoded aggregate: {exc}") from None
        if hist is not None:
            aggregate._hist.add(hist)
        if aggregate._hist.get_total_count() != aggregate.runs:
            raise ValueError("not an encoded aggregate: histogram and run count disagree")
        return aggregate

    #: the load engine's names for the wire form (shards, result files)
    encode = to_dict
    decode = from_dict
