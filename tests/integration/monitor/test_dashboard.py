"""The live dashboard in headless Chromium: it loads offline, and a failing probe turns red."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route
from tests.integration.monitor.support import MonitorProcess, Target, write_project


def _screenshots(config: pytest.Config) -> Path:
    """The run folder when the run names one, else the project's artifacts folder."""
    chosen = config.getoption("interlock_run_dir", default=None)
    folder = Path(chosen) if chosen else config.rootpath / ".interlock" / "runs" / "monitor"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_failing_probe_turns_its_tile_red_within_one_interval(
    tmp_path: Path, target: Target, browser: Browser, pytestconfig: pytest.Config
) -> None:
    interval = 0.5
    project = write_project(
        tmp_path,
        f"""interval = {interval}
[tool.interlock.monitor.probes.api]
type = "http"
url = "{target.url}/health/api"
[tool.interlock.monitor.probes.db]
type = "http"
url = "{target.url}/health/db"
""",
    )
    with MonitorProcess(project) as monitor:
        page = browser.new_page()
        outside: list[str] = []

        def offline(route: Route) -> None:
            # the page must need nothing but the monitor: anything else is refused and noted
            if route.request.url.startswith(monitor.url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", offline)
        page.goto(monitor.url)
        tile = page.locator('.tile[data-probe="api"]')
        tile.wait_for(timeout=10_000)
        page.wait_for_selector('.tile[data-probe="api"][data-status="up"]', timeout=10_000)
        page.wait_for_selector('#connection[data-state="live"]', timeout=10_000)

        target.failing["api"] = True
        seen = target.hits["api"]
        # red once the next check has failed: at most one interval, plus the push
        page.wait_for_selector(
            '.tile[data-probe="api"][data-status="down"]', timeout=int(interval * 1000 * 2 + 3000)
        )
        assert target.hits["api"] <= seen + 2
        page.wait_for_selector('.alerts li[data-state="firing"][data-key="down:api"]')
        assert page.locator('.tile[data-probe="db"]').get_attribute("data-status") == "up"
        page.screenshot(
            path=str(_screenshots(pytestconfig) / "monitor-dashboard.png"), full_page=True
        )
        page.close()
        assert monitor.stop() == 0
    assert outside == []
