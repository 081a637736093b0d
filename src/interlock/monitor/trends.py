"""``monitor history``: stored checks in buckets with their rate of change; text, CSV, JSON."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from interlock.errors import UsageError
from interlock.monitor.history import Bucket

__all__ = ["MAX_SUCCESS_CHANGE_PP", "Trend", "parse_duration", "render", "slope", "trend"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(text: str, option: str) -> float:
    """``"90"``, ``"90s"``, ``"5m"``, ``"1h"``, ``"2d"`` -> seconds; raises UsageError."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise UsageError(f"{option}: {text!r} is not a duration", hint="e.g. 90s, 15m, 1h, 2d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points (y per unit of x); 0 with fewer than two."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


#: a success rate moves within 0-100 %: a change beyond 100 points is an artefact of the fit
MAX_SUCCESS_CHANGE_PP = 100.0


def _clamp(value: float) -> float:
    return max(-MAX_SUCCESS_CHANGE_PP, min(MAX_SUCCESS_CHANGE_PP, value))


@dataclass(frozen=True, slots=True)
class Trend:
    """A probe's buckets and how its figures move: ms per minute, points of percent per hour.

    ``success_pp_per_hour`` is held within ±100: a success rate cannot move further, and a
    steeper figure only extrapolates a few minutes of buckets to an hour.
    ``success_change_pp`` is the fitted change over the ``span_s`` seconds from the first
    bucket to the last (also within ±100): what a window shorter than an hour shows.
    """

    probe: str
    buckets: list[Bucket]
    latency_ms_per_min: float
    success_pp_per_hour: float
    span_s: float = 0.0
    success_change_pp: float = 0.0

    @property
    def direction(self) -> str:
        if abs(self.latency_ms_per_min) < 1 and abs(self.success_pp_per_hour) < 1:
            return "steady"
        worse = self.latency_ms_per_min > 0 or self.success_pp_per_hour < 0
        return "worsening" if worse else "improving"


def trend(probe: str, buckets: list[Bucket]) -> Trend:
    """The trend of ``buckets`` (oldest first) of one probe."""
    per_hour = slope([(b.start / 3600, b.success_rate) for b in buckets])
    span = buckets[-1].start - buckets[0].start if buckets else 0.0
    return Trend(
        probe=probe,
        buckets=buckets,
        latency_ms_per_min=slope([(b.start / 60, b.latency_avg_ms) for b in buckets]),
        success_pp_per_hour=_clamp(per_hour),
        span_s=span,
        success_change_pp=_clamp(per_hour * span / 3600),
    )


def _success(t: Trend) -> str:
    """The success trend as text: per hour, or over the window when it is shorter."""
    if t.span_s >= 3600:
        return f"success {t.success_pp_per_hour:+.2f} pp/h"
    over = f"{t.span_s / 60:.0f} min" if t.span_s >= 60 else f"{t.span_s:.0f} s"
    return f"success {t.success_change_pp:+.2f} pp over {over}"


_COLUMNS = (
    "probe",
    "start",
    "width_s",
    "checks",
    "success_pct",
    "avg_ms",
    "max_ms",
    "delta_avg_ms",
)


def _rows(trends: Sequence[Trend]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for t in trends:
        previous: Bucket | None = None
        for b in t.buckets:
            delta = b.latency_avg_ms - previous.latency_avg_ms if previous else 0.0
            rows.append(
                dict(
                    zip(
                        _COLUMNS,
                        (
                            b.probe,
                            b.start,
                            b.width,
                            b.count,
                            round(b.success_rate, 2),
                            round(b.latency_avg_ms, 2),
                            round(b.latency_max_ms, 2),
                            round(delta, 2),
                        ),
                        strict=True,
                    )
                )
            )
            previous = b
    return rows


def render(trends: Sequence[Trend], fmt: str) -> str:
    """``fmt`` is ``table``, ``csv`` or ``json``."""
    if fmt == "json":
        return json.dumps(
            [
                {
                    "probe": t.probe,
                    "latency_ms_per_min": round(t.latency_ms_per_min, 3),
                    "success_pp_per_hour": round(t.success_pp_per_hour, 3),
                    "success_change_pp": round(t.success_change_pp, 3),
                    "span_s": t.span_s,
                    "direction": t.direction,
                    "buckets": [r for r in _rows([t])],
                }
                for t in trends
            ],
            indent=2,
        )
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(_rows(trends))
        return out.getvalue().rstrip("\n")
    lines = []
    for t in trends:
        lines.append(
            f"{t.probe}: {t.direction}; latency {t.latency_ms_per_min:+.2f} ms/min, {_success(t)}"
        )
        lines.append(
            f"  {'bucket':<19} {'checks':>6} {'ok %':>6} {'avg ms':>8} {'max ms':>8} {'Δ ms':>8}"
        )
        for row in _rows([t]):
            start = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(str(row["start"]))))
            lines.append(
                f"  {start:<19} {row['checks']:>6} {row['success_pct']:>6} "
                f"{row['avg_ms']:>8} {row['max_ms']:>8} {row['delta_avg_ms']:>+8}"
            )
    return "\n".join(lines) if lines else "no samples stored in that period"
