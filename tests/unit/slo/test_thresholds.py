"""k6-style thresholds: parsing, defaults, and verdicts on recorded runs."""

from __future__ import annotations

import pytest

from interlock.errors import ConfigError
from interlock.slo.record import Recorder
from interlock.slo.report import build_report
from interlock.slo.thresholds import evaluate, parse_threshold, thresholds_for


def runs(name: str, durations: list[float], failures: int = 0) -> Recorder:
    recorder = Recorder()
    for i, duration in enumerate(durations):
        recorder.add(name, 0.0, duration, ok=i >= failures, error=None if i >= failures else "boom")
    return recorder


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


@pytest.mark.parametrize("text", ["p95<1500", "latency<2", "rate>=1.5", "p(0)<1", "rate=>0.9", ""])
def test_malformed_threshold_is_refused_with_an_explanation(text):
    with pytest.raises(ConfigError) as info:
        parse_threshold(text)
    assert "threshold" in str(info.value)


def test_threshold_fails_when_p95_exceeds_limit():
    recorder = runs("checkout", [100.0] * 90 + [900.0] * 10)
    (verdict,) = evaluate("checkout", recorder.samples, [parse_threshold("p(95)<500")])
    assert not verdict.ok
    assert verdict.actual == pytest.approx(900, rel=0.01)


def test_threshold_holds_when_p95_is_under_limit():
    recorder = runs("checkout", [100.0] * 96 + [900.0] * 4)
    (verdict,) = evaluate("checkout", recorder.samples, [parse_threshold("p(95)<500")])
    assert verdict.ok


def test_success_rate_below_the_gate_fails():
    recorder = runs("billing", [10.0] * 100, failures=6)
    report = build_report(recorder, success_rate_pct=95, latency_ms=2000)
    assert not report.ok
    assert [v.threshold for v in report.breaches()] == ["rate>=0.95"]


def test_a_workflow_without_runs_never_passes():
    (verdict,) = evaluate("ghost", [], [parse_threshold("rate>=0.5")])
    assert not verdict.ok


def test_own_latency_threshold_replaces_the_default_but_the_rate_gate_stays():
    rules = thresholds_for(["p(99)<100"], ["rate>=0.95", "p(95)<2000"])
    assert [r.expression for r in rules] == ["p(99)<100", "rate>=0.95"]


def test_own_rate_threshold_replaces_the_default_rate():
    rules = thresholds_for(["rate>=0.999"], ["rate>=0.95", "p(95)<2000"])
    assert [r.expression for r in rules] == ["rate>=0.999", "p(95)<2000"]


def test_recorder_marks_a_run_failed_when_the_block_raises():
    recorder = Recorder()
    with pytest.raises(ValueError, match="nope"), recorder.workflow("w"):
        raise ValueError("nope")
    with recorder.workflow("w"):
        pass
    assert [s.ok for s in recorder.samples] == [False, True]
    assert recorder.samples[0].error == "ValueError: nope"


def test_declaring_a_bad_threshold_fails_at_once():
    with pytest.raises(ConfigError):
        Recorder().declare("w", "p(95)<<3")
