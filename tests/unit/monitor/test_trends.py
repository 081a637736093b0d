"""``monitor history``: trends are rates of change, exports are CSV and JSON."""

from __future__ import annotations

import json

import pytest

from interlock.errors import UsageError
from interlock.monitor.history import Bucket
from interlock.monitor.trends import parse_duration, render, slope, trend


def _buckets() -> list[Bucket]:
    return [Bucket("web", 60.0 * i, 60, 10, 10 - i, 100 + 20 * i, 200) for i in range(4)]


def test_trend_reports_latency_per_minute_and_success_per_hour() -> None:
    t = trend("web", _buckets())
    assert t.latency_ms_per_min == pytest.approx(20)
    assert t.success_pp_per_hour == pytest.approx(-600)
    assert t.direction == "worsening"


def test_csv_and_json_exports_carry_every_bucket_with_its_change() -> None:
    t = trend("web", _buckets())
    lines = render([t], "csv").splitlines()
    assert lines[0] == "probe,start,width_s,checks,success_pct,avg_ms,max_ms,delta_avg_ms"
    assert lines[2] == "web,60.0,60,10,90.0,120,200,20"
    data = json.loads(render([t], "json"))
    assert data[0]["direction"] == "worsening"
    assert len(data[0]["buckets"]) == 4


def test_slope_of_flat_or_single_points_is_zero() -> None:
    assert slope([(1, 5)]) == 0
    assert slope([(1, 5), (2, 5)]) == 0


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1h", 3600)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text, "--since") == seconds


def test_bad_duration_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--since: 'soon' is not a duration"):
        parse_duration("soon", "--since")
