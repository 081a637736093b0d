"""Alerts end to end: the database probe's alert is sent, the app's that depends on it is not."""

from __future__ import annotations

from pathlib import Path

from tests.integration.monitor.support import MonitorProcess, Target, jsonl, write_project

from interlock.helpers.deadline import poll


def test_dependency_down_raises_one_alert_and_suppresses_the_dependent(
    tmp_path: Path, target: Target
) -> None:
    project = write_project(
        tmp_path,
        f"""interval = 0.1
alerts = {{ webhook = "{target.url}/hook", jsonl = "alerts.jsonl" }}
[tool.interlock.monitor.probes.db]
type = "http"
url = "{target.url}/health/db"
[tool.interlock.monitor.probes.app]
type = "http"
url = "{target.url}/health/app"
depends_on = ["db"]
""",
    )
    with MonitorProcess(project) as monitor:
        monitor.wait_status("app", "up")
        monitor.wait_status("db", "up")
        target.failing.update(db=True, app=True)
        monitor.wait_status("db", "down")
        monitor.wait_status("app", "down")
        poll(lambda: target.notices(), timeout=10, what="an alert at the webhook")
        poll(
            lambda: any(
                a["key"] == "down:app" and a["state"] == "suppressed"
                for a in monitor.state()["alerts"]["open"]
            ),
            timeout=10,
            what="the app's alert suppressed",
        )
        target.failing.update(db=False, app=False)
        poll(lambda: len(target.notices()) >= 2, timeout=10, what="the resolve notice")
        monitor.wait_status("app", "up")
        assert monitor.stop() == 0
    assert target.notices() == [("firing", "down:db"), ("resolved", "down:db")]
    logged = [(e["event"], e["alert"]["key"]) for e in jsonl(project / "alerts.jsonl")]
    assert logged == target.notices()
    suppressed = [line for line in monitor.lines if "down:app" in line]
    assert suppressed == [], suppressed  # never printed either


def test_retries_before_down_ride_out_a_single_failure(tmp_path: Path, target: Target) -> None:
    project = write_project(
        tmp_path,
        f"""interval = 0.1
[tool.interlock.monitor.probes.web]
type = "http"
url = "{target.url}/health/web"
failure_threshold = 3
""",
    )
    with MonitorProcess(project) as monitor:
        monitor.wait_status("web", "up")
        target.fail_next["web"] = 2
        start = target.hits["web"]
        poll(lambda: target.hits["web"] >= start + 4, timeout=10, what="four more checks")
        # the failures count against the success rate, but the probe never went down
        assert "down:web" not in {a["key"] for a in monitor.state()["alerts"]["open"]}
        probe = monitor.probe("web")
        assert probe["status"] == "up"
        assert monitor.stop() == 0
    failed = [p for p in probe["points"] if not p[2]]
    assert len(failed) == 2
    assert not any("down:web" in line for line in monitor.lines)
