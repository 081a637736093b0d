"""k6-style thresholds: parsing, precedence, and verdicts on aggregates."""

from __future__ import annotations

import pytest

from interlock.errors import ConfigError
from interlock.slo.aggregate import Aggregate
from interlock.slo.thresholds import (
    default_thresholds,
    evaluate,
    parse_threshold,
    parse_thresholds,
    resolve,
)


def runs(durations: list[float], failures: int = 0) -> Aggregate:
    figures = Aggregate()
    for i, duration in enumerate(durations):
        figures.record(duration, ok=i >= failures, error=None if i >= failures else "boom")
    return figures


@pytest.mark.parametrize(
    ("text", "metric", "op", "value", "percentile"),
    [
        ("p(95)<1500", "p", "<", 1500, 95),
        ("p(99.9) <= 2000", "p", "<=", 2000, 99.9),
        ("rate>=0.99", "rate", ">=", 0.99, None),
        ("avg<300", "avg", "<", 300, None),
        ("max<5000", "max", "<", 5000, None),
        ("count>=10", "count", ">=", 10, None),
    ],
)
def test_threshold_is_parsed_in_k6_syntax(text, metric, op, value, percentile):
    rule = parse_threshold(text)
    assert (rule.metric, rule.op, rule.value, rule.percentile) == (metric, op, value, percentile)


@pytest.mark.parametrize(
    "text", ["p95<1500", "latency<2", "rate>=1.5", "p(0)<1", "rate=>0.9", "", "p(95)<<2", "avg<-3"]
)
def test_malformed_threshold_is_refused_with_an_explanation(text):
    with pytest.raises(ConfigError) as info:
        parse_threshold(text)
    assert "threshold" in str(info.value)


def test_threshold_fails_when_p95_exceeds_limit():
    (verdict,) = evaluate(
        "checkout", runs([100.0] * 90 + [900.0] * 10), parse_thresholds(["p(95)<500"])
    )
    assert not verdict.ok
    assert verdict.actual == pytest.approx(900, rel=0.01)


def test_threshold_holds_when_p95_is_under_limit():
    (verdict,) = evaluate(
        "checkout", runs([100.0] * 96 + [900.0] * 4), parse_thresholds(["p(95)<500"])
    )
    assert verdict.ok


@pytest.mark.parametrize(
    ("durations", "rule"),
    [([1499.8] * 20, "p(95)<1500"), ([99.99], "p(99.9)<100"), ([99.99], "med<100")],
)
def test_a_percentile_never_exceeds_the_largest_recorded_value(durations, rule):
    (verdict,) = evaluate("w", runs(durations), parse_thresholds([rule]))
    assert verdict.ok, verdict.describe()
    assert verdict.actual == max(durations)


def test_a_workflow_without_runs_breaches_every_threshold_with_no_data():
    verdicts = evaluate("ghost", Aggregate(), parse_thresholds(["rate>=0.5", "count>=0"]))
    assert [v.ok for v in verdicts] == [False, False]
    assert [v.describe() for v in verdicts] == ["rate>=0.5 (no data)", "count>=0 (no data)"]


def test_precedence_is_per_kind_test_over_configuration_over_defaults():
    defaults = default_thresholds(95, 2000)
    configured = parse_thresholds(["p(99)<800", "count>=5"])
    declared = parse_thresholds(["p(95)<1"])
    rules = resolve([defaults, configured, declared])
    assert [r.expression for r in rules] == ["rate>=0.95", "p(95)<1", "count>=5"]


def test_declarations_at_one_level_add_up():
    rules = resolve(
        [default_thresholds(95, 2000), (), parse_thresholds(["rate>=0.99", "rate>=0.9"])]
    )
    assert [r.expression for r in rules] == ["rate>=0.99", "rate>=0.9", "p(95)<2000"]
