"""Mergeable figures of one measured thing: an HDR histogram of durations, counts, errors by kind.

The shape the SLO core is moving to (record, exact ``a + b``, compact encoding,
percentiles capped at the exact maximum), kept here until that core lands so the load
engine can swap it in without changing its callers.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final, final

from hdrh.histogram import HdrHistogram

__all__ = ["Aggregate"]

#: microsecond resolution from 1 µs to one hour, three significant digits (as the SLO core)
_LOWEST_US: Final = 1
_HIGHEST_US: Final = 3_600_000_000
_DIGITS: Final = 3


@final
class Aggregate:
    """Durations (ms) and outcomes of one step or workflow; memory is bounded by the histogram.

    ``record`` costs one histogram update; ``a + b`` is exact (histogram counts add);
    ``encode`` / ``decode`` round-trip through a JSON-able dict of a few hundred bytes.
    """

    __slots__ = ("_hist", "count", "errors", "failures", "max_ms", "min_ms", "sum_ms")

    def __init__(self) -> None:
        self._hist = HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)
        self.count = 0
        self.failures = 0
        self.sum_ms = 0.0
        self.min_ms = float("inf")
        self.max_ms = 0.0
        #: failures by kind, e.g. ``{"status 500": 3, "timeout": 1}``
        self.errors: Counter[str] = Counter()

    def record(self, duration_ms: float, ok: bool = True, error: str | None = None) -> None:
        """Add one run of ``duration_ms`` milliseconds; a failure counts under ``error``."""
        us = int(duration_ms * 1000)
        self._hist.record_value(_LOWEST_US if us < _LOWEST_US else min(us, _HIGHEST_US))
        self.count += 1
        self.sum_ms += duration_ms
        if duration_ms < self.min_ms:
            self.min_ms = duration_ms
        if duration_ms > self.max_ms:
            self.max_ms = duration_ms
        if not ok:
            self.failures += 1
            self.errors[error or "failed"] += 1

    def __iadd__(self, other: Aggregate) -> Aggregate:
        self._hist.add(other._hist)
        self.count += other.count
        self.failures += other.failures
        self.sum_ms += other.sum_ms
        self.min_ms = min(self.min_ms, other.min_ms)
        self.max_ms = max(self.max_ms, other.max_ms)
        self.errors.update(other.errors)
        return self

    def __add__(self, other: Aggregate) -> Aggregate:
        result = Aggregate()
        result += self
        result += other
        return result

    @property
    def rate(self) -> float:
        """Success rate in [0, 1]; 0 when nothing ran (no runs is not a success)."""
        return (self.count - self.failures) / self.count if self.count else 0.0

    @property
    def avg(self) -> float:
        return self.sum_ms / self.count if self.count else 0.0

    @property
    def min(self) -> float:
        return self.min_ms if self.count else 0.0

    @property
    def max(self) -> float:
        return self.max_ms

    @property
    def med(self) -> float:
        return self.percentile(50)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0 < p <= 100) in ms, never above the exact maximum."""
        if not self.count:
            return 0.0
        # an HDR bucket's upper edge may lie a hair above the largest sample
        return min(float(self._hist.get_value_at_percentile(p)) / 1000, self.max_ms)

    def figure(self, metric: str, percentile: float | None = None) -> float:
        """A figure by its threshold name: ``p`` (with ``percentile``), avg, min, med, max,
        rate or count; raises ValueError for any other name."""
        if metric == "p":
            if percentile is None:
                raise ValueError("the p metric needs a percentile")
            return self.percentile(percentile)
        if metric == "count":
            return float(self.count)
        if metric in ("avg", "min", "med", "max", "rate"):
            return float(getattr(self, metric))
        raise ValueError(f"unknown figure {metric!r}")

    def encode(self) -> dict[str, Any]:
        """A JSON-able dict: counts, exact extremes, errors and the compressed histogram."""
        return {
            "count": self.count,
            "failures": self.failures,
            "sum_ms": self.sum_ms,
            "min_ms": self.min_ms if self.count else None,
            "max_ms": self.max_ms,
            "errors": dict(self.errors),
            "hdr": self._hist.encode().decode("ascii") if self.count else "",
        }

    @classmethod
    def decode(cls, data: dict[str, Any]) -> Aggregate:
        """The inverse of ``encode``; raises ValueError on a malformed dict."""
        result = cls()
        try:
            if data["hdr"]:
                result._hist.add(HdrHistogram.decode(data["hdr"].encode("ascii")))
            result.count = int(data["count"])
            result.failures = int(data["failures"])
            result.sum_ms = float(data["sum_ms"])
            result.min_ms = float("inf") if data["min_ms"] is None else float(data["min_ms"])
            result.max_ms = float(data["max_ms"])
            result.errors = Counter({str(k): int(v) for k, v in data["errors"].items()})
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an encoded aggregate: {exc}") from exc
        return result

    def summary(self) -> dict[str, Any]:
        """The figures a report shows (ms, rate in [0, 1])."""
        return {
            "count": self.count,
            "failures": self.failures,
            "rate": self.rate,
            "avg": self.avg,
            "min": self.min,
            "med": self.med,
            "p90": self.percentile(90),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
            "max": self.max,
            "errors": dict(self.errors.most_common(10)),
        }
