"""Configuration mistakes are caught when the configuration loads, before anything starts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tests.unit.test_cli import interlock
from tests.unit.test_cli_usage import assert_only_line


def project(tmp_path: Path, config: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent(config))
    return tmp_path


APP_TYPO = """\
    [tool.interlock]
    simulators = ["stripe"]
    [tool.interlock.app]
    command = ["{python}", "app.py", "--port", "{prot}"]
    health = "/healthz"
"""
SEED_TYPO = """\
    [tool.interlock]
    simulators = ["stripe"]
    [tool.interlock.seed_data.stripe]
    webhok_endpoints = [{url = "{app_url}/webhooks"}]
"""
SEED_PLACEHOLDER_TYPO = """\
    [tool.interlock]
    simulators = ["stripe"]
    [tool.interlock.seed_data.stripe]
    webhook_endpoints = [{url = "{ap_url}/webhooks"}]
"""
ENV_OF_DISABLED = """\
    [tool.interlock]
    redis = false
    [tool.interlock.services.worker]
    command = ["{python}", "worker.py"]
    env = {QUEUE = "{redis_url}"}
"""


@pytest.mark.parametrize(
    ("config", "fragments"),
    [
        (APP_TYPO, ["[tool.interlock.app] command", "unknown placeholder {prot}", "{port}?"]),
        (
            SEED_TYPO,
            ["seed_data.stripe]", "'webhok_endpoints'", "did you mean 'webhook_endpoints'"],
        ),
        (SEED_PLACEHOLDER_TYPO, ["seed_data.stripe]", "{ap_url}", "did you mean {app_url}"]),
        (ENV_OF_DISABLED, ["services.worker] env QUEUE", "{redis_url}", "Redis is disabled"]),
    ],
)
@pytest.mark.parametrize("command", ["doctor", "run"])
def test_a_config_mistake_is_one_line_before_anything_starts(tmp_path, config, fragments, command):
    root = project(tmp_path, config)
    assert_only_line(interlock(command, cwd=root), *fragments)
    assert sorted(p.name for p in root.iterdir()) == ["pyproject.toml"]  # nothing made


CRASHING_APP = """\
    [tool.interlock]
    postgres = false
    redis = false
    tests = "tests"
    [tool.interlock.app]
    command = ["{python}", "-c", "import sys; sys.exit('app boom: missing SECRET')"]
    health = "/healthz"
"""


def test_an_app_that_dies_at_start_up_is_said_once_without_pytest_internals(tmp_path):
    root = project(tmp_path, CRASHING_APP)
    (root / "tests").mkdir()
    (root / "tests" / "test_app.py").write_text("def test_up(api):\n    assert api\n")
    result = interlock("run", cwd=root)
    assert result.returncode == 2, result.stderr
    output = result.stdout + result.stderr
    assert "_pytest.outcomes.Exit" not in output
    assert output.count("exited with code 1 during start-up") == 1, output
