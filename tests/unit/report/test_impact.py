"""A weighted workflow's breach is stated with what it puts at risk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.test_cli import assert_one_line_error, interlock

from interlock.config import load_config
from interlock.errors import ConfigError
from interlock.plugin import USAGE_EXIT
from interlock.plugin.impact import parse_weights

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false

[tool.pytest.ini_options]
interlock_impact = ["billing = 1200 USD/h", "search = 50 USD/h", "healthy = 10 USD/h"]
"""

SUITE = """
def test_records(slo):
    for i in range(10):
        slo.add("billing", duration_ms=10.0, ok=i >= 2)  # 20 % fail
        slo.add("search", duration_ms=5000.0, ok=True)   # p95 over 2000 ms
        slo.add("healthy", duration_ms=5.0, ok=True)
"""


def test_each_weighted_breach_states_its_impact(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_records=SUITE)
    run_dir = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run_dir}")
    result.stdout.fnmatch_lines(
        [
            "impact: billing: 20.0% of runs fail: about 240.00 USD/h at risk (of 1200 USD/h)",
            "impact: search: p(95)<2000 (was 5000 ms): up to 50.00 USD/h at risk while it lasts",
        ]
    )
    lines = json.loads((run_dir / "impact.json").read_text())["lines"]
    assert len(lines) == 2  # the healthy workflow has no impact line
    assert "Business impact of the breaches" in (run_dir / "report.html").read_text()


def test_a_malformed_weight_is_one_usage_line(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT.replace("1200 USD/h", "lots"))
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess()
    assert result.ret == USAGE_EXIT
    result.stderr.fnmatch_lines(["*interlock: interlock_impact billing must be a weight *"])


def test_weights_parse_with_and_without_a_unit() -> None:
    weights = parse_weights(["a = 1200 USD/h", "b=3.5/h"])
    assert (weights["a"].amount, weights["a"].unit) == (1200, "USD")
    assert (weights["b"].amount, weights["b"].unit) == (3.5, "")


CONFIGURED = """
[tool.interlock]
tests = "."
faults = false
postgres = false
redis = false

[tool.interlock.slo]
billing = "rate>=0.95"

[tool.interlock.impact]
billing = "1200 USD/h"
search = "50 USD/h"
healthy = "10/h"
biling = "5 USD/h"
"""


def test_weights_in_tool_interlock_impact_state_each_breach_and_name_a_typo(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml(CONFIGURED)
    pytester.makepyfile(test_records=SUITE)
    run_dir = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run_dir}")
    result.stdout.fnmatch_lines(
        [
            "impact: billing: 20.0% of runs fail: about 240.00 USD/h at risk (of 1200 USD/h)",
            "impact: search: p(95)<2000 (was 5000 ms): up to 50.00 USD/h at risk while it lasts",
            "impact: the weight of 'biling' names no workflow of this run "
            "(did you mean 'billing'?)",
        ]
    )
    assert len(json.loads((run_dir / "impact.json").read_text())["lines"]) == 3


def test_the_configured_weight_wins_over_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        CONFIGURED + '\n[tool.pytest.ini_options]\ninterlock_impact = ["billing = 1 EUR/h"]\n'
    )
    pytester.makepyfile(test_records=SUITE)
    result = pytester.runpytest(f"--interlock-run-dir={pytester.path / 'run'}")
    result.stdout.fnmatch_lines(["impact: billing: * (of 1200 USD/h)"])


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (
            '[tool.interlock.impact]\nbilling = "lots"\n',
            ("[tool.interlock.impact] billing must be a weight per hour", "'lots'"),
        ),
        ("[tool.interlock.impact]\nbilling = 1200\n", ("[tool.interlock.impact] billing",)),
        ('[tool.interlock.impcat]\nbilling = "1 USD/h"\n', ("impcat", "did you mean 'impact'")),
        ('[tool.interlock]\nimpact = "1 USD/h"\n', ("[tool.interlock.impact] must be a table",)),
    ],
)
def test_a_bad_weight_in_the_configuration_is_one_line_and_exit_2(
    tmp_path: Path, extra: str, fragments: tuple[str, ...]
) -> None:
    config = "[tool.interlock]\npostgres = false\nredis = false\n"
    if extra.startswith("[tool.interlock]\n"):
        config += extra.removeprefix("[tool.interlock]\n")
    else:
        config += extra
    (tmp_path / "pyproject.toml").write_text(config)
    with pytest.raises(ConfigError):
        load_config(tmp_path)
    assert_one_line_error(interlock("run", cwd=tmp_path), *fragments)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]
