"""k6-style thresholds (``p(95)<1500``, ``rate>=0.99``, ``avg<300``), parsed once, and verdicts.

Latencies are in milliseconds; ``rate`` is the success rate between 0 and 1; ``count``
the number of runs.

Which thresholds judge a workflow (one rule, with or without xdist): the rules of each
*kind* — latency (``p(N)``, ``avg``, ``min``, ``med``, ``max``), ``rate``, ``count`` —
come from the highest level that sets that kind: a test's ``slo.declare`` >
``[tool.interlock.slo]`` > the defaults (``rate >= PERFORMANCE_THRESHOLD``,
``p(95) < LATENCY_THRESHOLD``). Declarations at one level add up: two tests that
declare the same workflow are both held.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, final

from interlock.errors import ConfigError
from interlock.slo.aggregate import Aggregate

__all__ = [
    "Threshold",
    "Verdict",
    "default_thresholds",
    "evaluate",
    "format_ms",
    "parse_threshold",
    "parse_thresholds",
    "resolve",
]

_OPS: Final[dict[str, Callable[[float, float], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
_PATTERN = re.compile(
    r"^\s*(?P<metric>p\(\s*(?P<p>\d+(?:\.\d+)?)\s*\)|avg|min|med|max|rate|count)"
    r"\s*(?P<op><=|>=|==|<|>)\s*(?P<value>-?\d+(?:\.\d+)?)\s*$"
)
LATENCY_METRICS: Final = ("p", "avg", "min", "med", "max")


@final
@dataclass(frozen=True)
class Threshold:
    """One parsed threshold; ``expression`` is its canonical text (no spaces)."""

    expression: str
    metric: str  # "p", "avg", "min", "med", "max", "rate" or "count"
    op: str
    value: float
    percentile: float | None = None

    @property
    def kind(self) -> str:
        """``"latency"``, ``"rate"`` or ``"count"``: what a higher level replaces."""
        return "latency" if self.metric in LATENCY_METRICS else self.metric

    def measure(self, figures: Aggregate) -> float:
        """The figure this threshold compares, exactly as the table prints it.

        Latencies are rounded to the microsecond, the resolution they are recorded at.
        """
        if self.metric == "count":
            return float(figures.runs)
        if self.metric == "rate":
            return figures.rate
        if self.metric == "p":
            assert self.percentile is not None
            latency = figures.percentile(self.percentile)
        elif self.metric == "med":
            latency = figures.percentile(50)
        elif self.metric == "avg":
            latency = figures.avg
        else:
            latency = figures.min_ms if self.metric == "min" else figures.max_ms
        return round(latency, 3)

    def holds(self, actual: float) -> bool:
        return _OPS[self.op](actual, self.value)

    def __str__(self) -> str:
        return self.expression


@final
@dataclass(frozen=True, kw_only=True)
class Verdict:
    """A threshold judged on a workflow's figures; ``actual`` is None when it never ran."""

    workflow: str
    threshold: Threshold
    actual: float | None
    ok: bool

    @property
    def no_data(self) -> bool:
        return self.actual is None

    def describe(self) -> str:
        """``p(95)<1500 (was 1720 ms)`` or ``rate>=0.95 (no data)``."""
        if self.actual is None:
            return f"{self.threshold} (no data)"
        metric = self.threshold.metric
        if metric == "rate":
            shown = f"{self.actual:.3f}"
        elif metric == "count":
            shown = f"{self.actual:.0f}"
        else:
            shown = f"{format_ms(self.actual)} ms"
        return f"{self.threshold} (was {shown})"


def format_ms(value: float) -> str:
    """A latency as the table and the verdicts print it: to the microsecond, no trailing 0s."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def parse_threshold(text: str) -> Threshold:
    """Parse one k6-style rule; raises ConfigError with the accepted syntax."""
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if not match:
        raise ConfigError(
            f"bad threshold {text!r}",
            hint="write METRIC OP VALUE with METRIC one of p(N), avg, min, med, max, rate, count "
            "and OP one of < <= > >= ==, e.g. p(95)<1500 or rate>=0.99",
        )
    metric = "p" if match.group("p") else match.group("metric")
    percentile = float(match.group("p")) if match.group("p") else None
    value = float(match.group("value"))
    if percentile is not None and not 0 < percentile <= 100:
        raise ConfigError(f"bad threshold {text!r}: the percentile must be in (0, 100]")
    if metric == "rate" and not 0 <= value <= 1:
        raise ConfigError(f"bad threshold {text!r}: rate is a fraction between 0 and 1")
    if metric != "rate" and value < 0:
        raise ConfigError(f"bad threshold {text!r}: a {metric} is never negative")
    return Threshold(re.sub(r"\s+", "", text), metric, match.group("op"), value, percentile)


def parse_thresholds(rules: Iterable[str]) -> tuple[Threshold, ...]:
    return tuple(parse_threshold(rule) for rule in rules)


def default_thresholds(success_rate_pct: float, latency_ms: float) -> tuple[Threshold, ...]:
    """The seed's gates: success rate in percent, p95 latency in ms."""
    return parse_thresholds((f"rate>={success_rate_pct / 100:g}", f"p(95)<{latency_ms:g}"))


def resolve(levels: Sequence[Iterable[Threshold]]) -> list[Threshold]:
    """The rules that judge a workflow, from ``levels`` ordered lowest first.

    A kind set at a level replaces that kind's rules of every lower level.
    """
    chosen: dict[str, list[Threshold]] = {}
    for rules in levels:
        by_kind: dict[str, list[Threshold]] = {}
        for rule in rules:
            if rule not in by_kind.setdefault(rule.kind, []):
                by_kind[rule.kind].append(rule)
        chosen.update(by_kind)
    return [rule for rules in chosen.values() for rule in rules]


def evaluate(name: str, figures: Aggregate, rules: Iterable[Threshold]) -> list[Verdict]:
    """One verdict per rule; a workflow with no runs breaches every rule ("no data")."""
    if figures.runs == 0:
        return [Verdict(workflow=name, threshold=r, actual=None, ok=False) for r in rules]
    verdicts = []
    for rule in rules:
        actual = rule.measure(figures)
        verdicts.append(
            Verdict(workflow=name, threshold=rule, actual=actual, ok=rule.holds(actual))
        )
    return verdicts
