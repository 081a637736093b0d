"""``--tui``: the terminal dashboard as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.monitor.support import Target, write_project


def test_tui_draws_the_grid_and_alerts_without_stray_alert_lines(
    tmp_path: Path, target: Target
) -> None:
    target.failing["api"] = True
    write_project(
        tmp_path,
        f"""interval = 0.1
[tool.interlock.monitor.probes.api]
type = "http"
url = "{target.url}/health/api"
""",
    )
    command = [sys.executable, "-m", "interlock.monitor", "--project", str(tmp_path)]
    result = subprocess.run(
        [*command, "--tui", "--duration", "1s"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    screens = result.stdout.split("\x1b[H\x1b[2J")
    last = screens[-1]
    assert last.startswith("interlock monitor   1 probes")
    assert "http://127.0.0.1:" in last.splitlines()[0]
    assert any(line.split()[:2] == ["api", "down"] for line in last.splitlines())
    assert any(line.split()[:2] == ["stopped", "down:api"] for line in last.splitlines())
    # alerts are drawn on the screen, never printed over it
    assert "ALERT " not in result.stdout
