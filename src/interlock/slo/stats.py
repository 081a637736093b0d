"""Figures of a workflow: runs, success rate and latency percentiles (from an HDR histogram)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from hdrh.histogram import HdrHistogram

from interlock.slo.record import Sample

__all__ = ["WorkflowStats", "summarize"]

#: microsecond resolution from 1 µs to one hour, three significant digits
_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 3_600_000_000, 3


@dataclass(frozen=True, kw_only=True)
class WorkflowStats:
    name: str
    runs: int
    failures: int
    rate: float
    avg: float
    min: float
    med: float
    p90: float
    p95: float
    p99: float
    max: float
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["errors"] = list(self.errors)
        return data


def histogram(durations_ms: Iterable[float]) -> HdrHistogram:
    hist = HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)
    for value in durations_ms:
        hist.record_value(min(max(int(value * 1000), _LOWEST_US), _HIGHEST_US))
    return hist


def percentile_ms(hist: HdrHistogram, p: float) -> float:
    return float(hist.get_value_at_percentile(p)) / 1000


def summarize(name: str, samples: Iterable[Sample]) -> WorkflowStats:
    runs = [s for s in samples if s.name == name]
    durations = [s.duration_ms for s in runs]
    failures = [s for s in runs if not s.ok]
    hist = histogram(durations)
    top = max(durations) if durations else 0.0
    distinct_errors = tuple(dict.fromkeys(s.error or "failed" for s in failures))[:5]
    return WorkflowStats(
        name=name,
        runs=len(runs),
        failures=len(failures),
        rate=(len(runs) - len(failures)) / len(runs) if runs else 0.0,
        avg=sum(durations) / len(durations) if durations else 0.0,
        min=min(durations) if durations else 0.0,
        # an HDR bucket's upper edge may lie a hair above the largest sample: cap at max
        med=min(percentile_ms(hist, 50), top),
        p90=min(percentile_ms(hist, 90), top),
        p95=min(percentile_ms(hist, 95), top),
        p99=min(percentile_ms(hist, 99), top),
        max=max(durations) if durations else 0.0,
        errors=distinct_errors,
    )
