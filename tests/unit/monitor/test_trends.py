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
    hours = [Bucket("web", 3600.0 * i, 3600, 10, 10 - i, 100 + 20 * i, 200) for i in range(4)]
    t = trend("web", hours)
    assert t.latency_ms_per_min == pytest.approx(20 / 60)
    assert t.success_pp_per_hour == pytest.approx(-10)
    assert t.direction == "worsening"
    assert "success -10.00 pp/h" in render([t], "table")


def test_a_success_trend_never_passes_100_points_and_a_short_window_shows_its_change() -> None:
    # 100 % to 70 % in three minutes: -600 pp/h as a rate, which no success rate can do
    t = trend("web", _buckets())
    assert t.success_pp_per_hour == -100
    assert t.success_change_pp == pytest.approx(-30)
    assert t.direction == "worsening"
    assert "web: worsening; latency +20.00 ms/min, success -30.00 pp over 3 min" in render(
        [t], "table"
    )
    steep = [Bucket("web", 10.0 * i, 10, 10, 10 if i < 2 else 0, 100, 100) for i in range(4)]
    fitted = trend("web", steep)  # a step: the least-squares line overshoots the 100 points
    assert (fitted.success_pp_per_hour, fitted.success_change_pp) == (-100, -100)
    assert json.loads(render([fitted], "json"))[0]["success_change_pp"] == -100


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
