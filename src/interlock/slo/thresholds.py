"""k6-style thresholds (``p(95)<1500``, ``rate>=0.99``, ``avg<300``) and their verdicts.

Latencies are in milliseconds; ``rate`` is the success rate between 0 and 1.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from interlock.errors import ConfigError
from interlock.slo.record import Sample
from interlock.slo.stats import histogram, percentile_ms, summarize

__all__ = ["Threshold", "Verdict", "default_thresholds", "evaluate", "parse_threshold"]

_OPS: dict[str, Callable[[float, float], bool]] = {
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
LATENCY_METRICS = ("p", "avg", "min", "med", "max")


@dataclass(frozen=True)
class Threshold:
    expression: str
    metric: str  # "p", "avg", "min", "med", "max", "rate" or "count"
    op: str
    value: float
    percentile: float | None = None

    @property
    def is_latency(self) -> bool:
        return self.metric in LATENCY_METRICS


@dataclass(frozen=True, kw_only=True)
class Verdict:
    workflow: str
    threshold: str
    actual: float
    ok: bool


def parse_threshold(text: str) -> Threshold:
    match = _PATTERN.match(text)
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
    return Threshold(text.replace(" ", ""), metric, match.group("op"), value, percentile)


def default_thresholds(success_rate_pct: float, latency_ms: float) -> tuple[str, ...]:
    return (f"rate>={success_rate_pct / 100:g}", f"p(95)<{latency_ms:g}")


def thresholds_for(declared: Iterable[str], defaults: Iterable[str]) -> list[Threshold]:
    """A workflow's own thresholds, plus each default whose kind (rate / latency) it leaves open."""
    own = [parse_threshold(rule) for rule in declared]
    result = list(own)
    for rule in map(parse_threshold, defaults):
        if rule.is_latency and any(t.is_latency for t in own):
            continue
        if not rule.is_latency and any(t.metric == rule.metric for t in own):
            continue
        result.append(rule)
    return result


def evaluate(name: str, samples: list[Sample], rules: Iterable[Threshold]) -> list[Verdict]:
    stats = summarize(name, samples)
    hist = histogram(s.duration_ms for s in samples if s.name == name)
    verdicts = []
    for rule in rules:
        if rule.metric == "p":
            assert rule.percentile is not None
            actual = percentile_ms(hist, rule.percentile)
        elif rule.metric == "count":
            actual = float(stats.runs)
        else:
            actual = float(getattr(stats, rule.metric))
        ok = stats.runs > 0 and _OPS[rule.op](actual, rule.value)
        verdicts.append(Verdict(workflow=name, threshold=rule.expression, actual=actual, ok=ok))
    return verdicts
