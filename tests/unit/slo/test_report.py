"""The SLO report: the table a user reads and the JSON a machine reads."""

from __future__ import annotations

import json

from interlock.slo.record import Recorder
from interlock.slo.report import build_report


def test_table_names_the_breached_workflow_and_threshold():
    recorder = Recorder()
    for _ in range(10):
        recorder.add("onboarding", 0.0, 3000.0, ok=True)
        recorder.add("pickup", 0.0, 50.0, ok=True)
    table = build_report(recorder, success_rate_pct=95, latency_ms=2000).table()
    onboarding = next(line for line in table.splitlines() if line.startswith("onboarding"))
    pickup = next(line for line in table.splitlines() if line.startswith("pickup"))
    assert "FAIL p(95)<2000 (was 3000 ms)" in onboarding
    assert pickup.endswith("PASS")


def test_json_holds_figures_and_verdicts(tmp_path):
    recorder = Recorder()
    recorder.declare("onboarding", "p(95)<100")
    recorder.add("onboarding", 0.0, 40.0, ok=True)
    recorder.add("onboarding", 0.0, 60.0, ok=False, error="HTTP 502")
    report = build_report(recorder, success_rate_pct=95, latency_ms=2000)
    report.write_json(tmp_path / "slo.json")
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
