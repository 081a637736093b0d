"""report.html's fault timeline, as a reader sees it in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

PYPROJECT = """
[tool.interlock]
postgres = false
redis = false
simulators = ["twilio"]

[tool.interlock.app]
command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
health = "/"
"""

SUITE = """
import httpx

def test_slow_twilio_then_the_app_killed(stack, faults):
    with faults["twilio"].latency(ms=300):
        pass
    faults.process("app").kill()  # restarted when the test ends

def test_after_the_faults(stack):
    assert httpx.get(stack.app_url + "/").status_code == 200
"""


def _bar(page: Page, source: str, target: str) -> dict[str, str]:
    bars = page.locator(f'#faults svg rect.fault[data-source="{source}"][data-target="{target}"]')
    assert bars.count() == 1, f"{source} {target}: {bars.count()} bars"
    return {
        name: bars.first.get_attribute(name) or ""
        for name in ("x", "width", "data-fault", "data-until-end")
    }


def test_the_timeline_shows_a_proxy_latency_a_process_kill_and_a_run_wide_fault(
    pytester: pytest.Pytester, browser: Browser
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_suite=SUITE)
    run_dir = pytester.path / "runs" / "the-run"
    result = pytester.runpytest(f"--interlock-run-dir={run_dir}", "--sim-fault", "twilio:latency=5")
    result.assert_outcomes(passed=2)

    page = browser.new_page()
    page.goto((run_dir / "report.html").as_uri())
    latency = _bar(page, "proxy", "twilio")
    assert latency["data-fault"].startswith("latency downstream latency=300")
    assert latency["data-until-end"] == "false"
    kill = _bar(page, "process", "app")
    assert kill["data-fault"] == "kill"
    assert kill["data-until-end"] == "false"  # the faults fixture restarted it
    run_wide = _bar(page, "simulator", "twilio")
    assert run_wide["data-fault"] == "--sim-fault latency=5"
    assert run_wide["data-until-end"] == "true"
    # the latency was over before the kill: its bar ends where the kill's begins, or before
    assert float(latency["x"]) + float(latency["width"]) <= float(kill["x"]) + 3.0
    table = page.locator("#faults table.active")
    setter = "test_suite.py::test_slow_twilio_then_the_app_killed"
    assert setter in table.locator('tr[data-target="proxy twilio"]').inner_text()
    assert setter in table.locator('tr[data-target="process app"]').inner_text()
    whole = table.locator('tr[data-target="simulator twilio"]').inner_text()
    assert "until the end" in whole
    assert "the whole run" in whole
