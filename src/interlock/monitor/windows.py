"""Per-probe state and figures over windows, and the rules they break.

A probe is ``up`` or ``down`` after ``failure_threshold`` consecutive failures (retries
before "down") and up again after ``success_threshold`` consecutive successes. Samples
taken while the probe is down are marked ``outage``: the down alert already speaks for
them, so the windowed success and error rates count only the others (failures that did
not take the probe down: flapping). Burn rates count every sample: an outage does burn
the error budget.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from interlock.monitor.alerts import Breach, ProbeView
from interlock.monitor.config import MonitorConfig, ProbeSpec
from interlock.monitor.probes import Sample
from interlock.monitor.system import Usage

__all__ = ["ProbeState", "breaches", "percentile"]

Status = Literal["unknown", "up", "down"]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0-100) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class ProbeState:
    """What the monitor knows of one probe."""

    spec: ProbeSpec
    #: how far back samples are kept in memory, s
    keep: float
    status: Status = "unknown"
    last: Sample | None = None
    checked_at: float = 0.0
    failures: int = 0
    successes: int = 0
    samples: deque[tuple[Sample, bool]] = field(default_factory=deque)
    #: checks since the monitor started, by result
    ok_total: int = 0
    failed_total: int = 0

    def apply(self, sample: Sample) -> bool:
        """Take ``sample`` into account; returns whether it was taken during an outage."""
        if sample.ok:
            self.ok_total += 1
            self.successes, self.failures = self.successes + 1, 0
            if self.status != "up" and (
                self.status == "unknown" or self.successes >= self.spec.success_threshold
            ):
                self.status = "up"
        else:
            self.failed_total += 1
            self.failures, self.successes = self.failures + 1, 0
            if self.failures >= self.spec.failure_threshold:
                self.status = "down"
        self.last = sample
        self.checked_at = sample.at + sample.latency_ms / 1000
        outage = self.status == "down"
        self.samples.append((sample, outage))
        while self.samples and self.samples[0][0].at < sample.at - self.keep:
            self.samples.popleft()
        return outage

    def view(self) -> ProbeView:
        return ProbeView(
            down=self.status == "down", checked_at=self.checked_at, depends_on=self.spec.depends_on
        )

    def window(self, now: float, seconds: float, *, outages: bool) -> list[Sample]:
        """Samples of the last ``seconds``, newest first (the cost is the window's size,
        not the whole ``keep``)."""
        found = []
        for sample, outage in reversed(self.samples):
            if sample.at < now - seconds:
                break
            if outages or not outage:
                found.append(sample)
        return found

    def success_rate(self, now: float, seconds: float, *, outages: bool = False) -> float | None:
        """Percent of successful checks in the last ``seconds`` (None: none); checks made
        during an outage count only with ``outages``."""
        window = self.window(now, seconds, outages=outages)
        return 100.0 * sum(s.ok for s in window) / len(window) if window else None

    def p95(self, now: float, seconds: float) -> float | None:
        """p95 response time (ms) of successful checks in the last ``seconds``."""
        values = [s.latency_ms for s in self.window(now, seconds, outages=True) if s.ok]
        return percentile(values, 95) if values else None


def breaches(
    now: float, config: MonitorConfig, probes: Iterable[ProbeState], system: Iterable[Usage]
) -> list[Breach]:
    """Every rule broken at ``now``."""
    limits = config.thresholds
    found: list[Breach] = []
    for state in probes:
        name = state.spec.name
        if state.status == "down":
            why = state.last.error if state.last is not None else "no answer"
            found.append(Breach("down", name, f"{name} is down: {why}"))
        rate = state.success_rate(now, config.window)
        if rate is not None and rate < limits.success_rate:
            found.append(
                Breach(
                    "success_rate",
                    name,
                    f"{name} success rate {rate:.1f}% < {limits.success_rate:g}% "
                    f"over {config.window:g} s",
                )
            )
        error_rate = state.success_rate(now, config.error_window)
        if error_rate is not None and 100 - error_rate > limits.error_rate:
            found.append(
                Breach(
                    "error_rate",
                    name,
                    f"{name} error rate {100 - error_rate:.1f}% > {limits.error_rate:g}% "
                    f"over {config.error_window:g} s",
                )
            )
        p95 = state.p95(now, config.window)
        if p95 is not None and p95 > limits.response_time:
            found.append(
                Breach(
                    "response_time",
                    name,
                    f"{name} p95 response time {p95:.0f} ms > {limits.response_time:g} ms",
                )
            )
        burn = _burning(now, state, config)
        if burn:
            found.append(Breach("burn_rate", name, burn))
    for usage in system:
        if usage.source != "host":
            continue
        if usage.cpu > limits.cpu:
            found.append(Breach("cpu", "host", f"host CPU {usage.cpu:.0f}% > {limits.cpu:g}%"))
        if usage.memory > limits.memory:
            found.append(
                Breach("memory", "host", f"host memory {usage.memory:.0f}% > {limits.memory:g}%")
            )
    return found


def _burning(now: float, state: ProbeState, config: MonitorConfig) -> str:
    """Google SRE multi-window burn rate: both windows of a pair spend budget too fast."""
    budget = 1 - state.spec.slo / 100
    if budget <= 0:
        return ""
    if not state.samples:
        return ""
    oldest = state.samples[0][0].at
    for long_s, short_s, factor in config.burn_rate:
        if oldest > now - long_s + state.spec.interval:
            # a monitor younger than the long window cannot say what it burned over it
            continue
        rates = []
        for seconds in (long_s, short_s):
            window = state.window(now, seconds, outages=True)
            errors = sum(not s.ok for s in window)
            rates.append(errors / len(window) / budget if window else 0.0)
        if min(rates) > factor:
            return (
                f"{state.spec.name} burns its {state.spec.slo:g}% objective {rates[0]:.1f}x "
                f"over {long_s:g} s and {rates[1]:.1f}x over {short_s:g} s (limit {factor:g}x)"
            )
    return ""
