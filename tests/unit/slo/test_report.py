"""The SLO report: the table a user reads and the JSON a machine reads, from one verdict."""

from __future__ import annotations

import json

from interlock.report.jsonfile import write_json
from interlock.report.terminal import format_table
from interlock.slo.report import build_report
from interlock.slo.tally import Tally
from interlock.slo.thresholds import default_thresholds, parse_thresholds

DEFAULTS = default_thresholds(95, 2000)


def test_table_names_the_breached_workflow_and_threshold():
    tally = Tally()
    for _ in range(10):
        tally.record("onboarding", 3000.0, ok=True, error=None)
        tally.record("pickup", 50.0, ok=True, error=None)
    table = format_table(build_report(tally, defaults=DEFAULTS))
    onboarding = next(line for line in table.splitlines() if line.startswith("onboarding"))
    pickup = next(line for line in table.splitlines() if line.startswith("pickup"))
    assert "FAIL p(95)<2000 (was 3000 ms)" in onboarding
    assert pickup.endswith("PASS")


def test_the_table_prints_the_value_the_verdict_compared():
    tally = Tally()
    for _ in range(20):
        tally.record("checkout", 1499.8, ok=True, error=None)
    report = build_report(tally, defaults=default_thresholds(95, 1500))
    assert report.ok
    (row,) = format_table(report).splitlines()[1:]
    assert row.split()[3:6] == ["1499.8", "1499.8", "1499.8"]


def test_a_declared_workflow_that_never_ran_is_a_breach_in_table_and_json(tmp_path):
    tally = Tally()
    tally.declare("refunds", parse_thresholds(["rate>=0.99"]))
    report = build_report(
        tally, defaults=DEFAULTS, configured={"billing": parse_thresholds(["p(95)<100"])}
    )
    assert not report.ok
    table = format_table(report)
    assert "FAIL no data (rate>=0.99, p(95)<2000)" in next(
        r for r in table.splitlines() if r.startswith("refunds")
    )
    assert "FAIL no data (rate>=0.95, p(95)<100)" in next(
        r for r in table.splitlines() if r.startswith("billing")
    )
    write_json(report, tmp_path / "slo.json")
    data = json.loads((tmp_path / "slo.json").read_text())
    assert {w["name"]: (w["no_data"], w["ok"]) for w in data["workflows"]} == {
        "billing": (True, False),
        "refunds": (True, False),
    }


def test_json_holds_figures_and_verdicts(tmp_path):
    tally = Tally()
    tally.declare("onboarding", parse_thresholds(["p(95)<100"]))
    tally.record("onboarding", 40.0, ok=True, error=None)
    tally.record("onboarding", 60.0, ok=False, error="HTTP 502")
    report = build_report(tally, defaults=DEFAULTS)
    write_json(report, tmp_path / "slo.json")
    data = json.loads((tmp_path / "slo.json").read_text())
    (workflow,) = data["workflows"]
    assert data["ok"] is False
    assert (workflow["runs"], workflow["failures"]) == (2, 1)
    assert workflow["errors"] == ["HTTP 502"]
    assert {t["threshold"]: t["ok"] for t in workflow["thresholds"]} == {
        "p(95)<100": True,
        "rate>=0.95": False,
    }
    assert not list(tmp_path.glob("*.tmp"))
