"""--profile leaves a flame graph of the app's process, linked from report.html."""

from __future__ import annotations

import pytest

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false

[tool.interlock.app]
command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
health = "/"
"""

SUITE = """
import httpx

def test_busy_app(stack):
    with httpx.Client() as client:
        for _ in range(100):
            client.get(stack.app_url + "/")
"""


def test_the_apps_flame_graph_is_in_the_run_folder_and_linked(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_busy=SUITE)
    run_dir = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run_dir}", "--profile")
    result.assert_outcomes(passed=1)
    graph = run_dir / "profiles" / "app.svg"
    assert graph.is_file(), (run_dir / "profiles" / "app.py-spy.log").read_text()
    assert "<svg" in graph.read_text()
    result.stdout.fnmatch_lines([f"profile: app: {graph}"])
    assert 'href="profiles/app.svg"' in (run_dir / "report.html").read_text()
