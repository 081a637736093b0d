"""report.html as a reader sees it, in headless Chromium: SLO table, charts, a failure's log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request

from interlock.report.html import write_html

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false
simulators = ["twilio"]

[tool.interlock.app]
command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
health = "/"
"""

SUITE = """
import httpx

def test_onboarding_and_billing(slo, stack):
    for ms in (12.0, 15.0, 30.0):
        slo.add("onboarding", duration_ms=ms, ok=True)
    slo.add("billing", duration_ms=4000.0, ok=True)

def test_sms_under_a_fault(stack, sims):
    with sims["twilio"].failing(status=503):
        for _ in range(2):
            httpx.get(stack.simulators["twilio"] + "/2010-04-01/Accounts/AC0/Messages.json")

def test_the_deliberate_failure(stack):
    httpx.get(stack.app_url + "/deliberately-missing-page")
    httpx.get(stack.simulators["twilio"] + "/2010-04-01/Accounts/AC0/Messages.json")
    assert False, "the page was missing"
"""


def test_report_shows_the_slo_table_a_chart_per_workflow_and_the_failures_log(
    pytester: pytest.Pytester, browser: Browser
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_suite=SUITE)
    run_dir = pytester.path / "runs" / "the-run"
    result = pytester.runpytest(f"--interlock-run-dir={run_dir}")
    result.assert_outcomes(passed=2, failed=1)
    report = run_dir / "report.html"
    assert report.is_file()

    page = browser.new_page()
    outside: list[str] = []

    def note(request: Request) -> None:
        if not request.url.startswith(("file:", "data:")):
            outside.append(request.url)

    page.on("request", note)
    page.goto(report.as_uri())
    rows = page.locator("table#slo tbody tr")
    assert rows.count() == 2
    billing = page.locator('table#slo tr[data-workflow="billing"]')
    assert "FAIL" in billing.inner_text()
    assert "p(95)<2000" in billing.inner_text()
    assert "PASS" in page.locator('table#slo tr[data-workflow="onboarding"]').inner_text()
    charts = page.locator("#charts figure.chart")
    assert sorted(charts.nth(i).get_attribute("data-workflow") or "" for i in range(2)) == [
        "billing",
        "onboarding",
    ]
    assert charts.count() == 2
    assert page.locator('#charts figure[data-workflow="onboarding"] svg circle').count() == 3
    failures = page.locator("#failures article.failure")
    assert failures.count() == 1
    failure = failures.first.inner_text()
    assert "test_the_deliberate_failure" in failure
    assert "interlock log: app.log" in failure
    assert "GET /deliberately-missing-page" in failure
    assert "the page was missing" in failure
    assert "interlock simulator: twilio" in failure
    assert "GET /2010-04-01/Accounts/AC0/Messages.json -> " in failure
    assert page.locator("#summary").inner_text().startswith("FAIL")
    fired = page.locator('#faults svg rect.fault[data-target="twilio"]')
    assert fired.count() == 1
    assert "test_sms_under_a_fault" in page.locator("#faults table.active").inner_text()
    assert "test_sms_under_a_fault" in page.locator("#faults table.hits").inner_text()
    assert outside == []


def test_a_load_runs_figures_and_seconds_are_shown(tmp_path: Path, browser: Browser) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    figures = {
        "count": 120,
        "failures": 0,
        "rate": 1.0,
        "med": 12.5,
        "p95": 30.0,
        "p99": 41.0,
        "max": 55.0,
    }
    load = {
        "scenario": "checkout",
        "executor": "constant-arrival-rate",
        "elapsed_s": 3.0,
        "ok": True,
        "iterations": {"started": 120, "dropped": 0},
        "workflow": figures,
        "steps": {"GET /cart": figures, "POST /pay": {**figures, "rate": 0.5}},
        "series": [{"t": t, "p95_ms": 20.0 + t} for t in range(3)],
    }
    (run_dir / "load.json").write_text(json.dumps(load))
    page = browser.new_page()
    page.goto(write_html(run_dir).as_uri())
    section = page.locator("#load article.load")
    assert section.count() == 1
    assert "checkout" in section.locator("h3").inner_text()
    assert page.locator("#load tr[data-step]").count() == 3
    assert "50.0%" in page.locator('#load tr[data-step="POST /pay"]').inner_text()
    assert page.locator("#load figure.load-chart svg circle").count() == 3
