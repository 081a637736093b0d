"""What the SLO gate judges when a run is partial, interrupted, or a writer breaks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

#: "checkout" runs in test_a; "refunds" is configured and runs in test_b only
PYPROJECT = """
[tool.interlock]
tests = "tests"

[tool.interlock.slo]
checkout = ["rate>=0.99"]
refunds = ["rate>=0.99"]
"""

SUITE = """
import pytest

@pytest.mark.fast
def test_a(slo):
    slo.add("checkout", duration_ms=5.0, ok=True)

def test_b(slo):
    slo.add("refunds", duration_ms=5.0, ok=True)

def test_c():
    assert {fail}
"""


def _project(pytester: pytest.Pytester, *, fail: bool = False) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makeini("[pytest]\nmarkers =\n    fast: a quick test\n")
    tests = pytester.mkdir("tests")
    (tests / "test_suite.py").write_text(SUITE.format(fail=not fail), encoding="utf-8")


def _slo_json(run: Path) -> dict[str, dict[str, object]]:
    data = json.loads((run / "slo.json").read_text(encoding="utf-8"))
    return {w["name"]: w for w in data["workflows"]}


@pytest.mark.parametrize(
    "select",
    [
        ["-k", "test_a or test_c"],
        ["-m", "fast"],
        ["--deselect", "tests/test_suite.py::test_b"],
        ["tests/test_suite.py::test_a"],
        ["--shard", "1/2"],
    ],
    ids=["-k", "-m", "--deselect", "node-id", "--shard"],
)
def test_a_partial_run_leaves_an_unselected_configured_workflow_not_judged(
    pytester: pytest.Pytester, select: list[str]
) -> None:
    _project(pytester)
    run = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run}", *select)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["refunds *0 *not run (partial run)"])
    assert "SLO breach" not in result.stdout.str()
    refunds = _slo_json(run)["refunds"]
    assert refunds["ok"] is True
    assert str(refunds["not_judged"]).startswith("partial run")
    assert {t["ok"] for t in refunds["thresholds"]} == {None}  # type: ignore[union-attr]


def test_a_narrower_path_than_the_suite_is_a_partial_run(pytester: pytest.Pytester) -> None:
    _project(pytester)
    other = pytester.path / "tests" / "more"
    other.mkdir()
    (other / "test_more.py").write_text("def test_more():\n    pass\n", encoding="utf-8")
    result = pytester.runpytest("tests/more")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["checkout *not run (partial run)", "refunds *not run (partial run)"]
    )


def test_a_run_stopped_early_by_x_is_partial(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    tests = pytester.mkdir("tests")
    (tests / "test_early.py").write_text(
        "def test_fails():\n    assert False\n\n"
        "def test_b(slo):\n    slo.add('refunds', duration_ms=5.0, ok=True)\n",
        encoding="utf-8",
    )
    result = pytester.runpytest("-x")
    assert result.ret == 1  # the failing test, not the gate
    result.stdout.fnmatch_lines(["refunds *not run (partial run)"])
    assert "SLO breach" not in result.stdout.str()


@pytest.mark.parametrize("args", [[], ["tests"], ["."]], ids=["no-args", "suite", "root"])
def test_a_complete_run_still_fails_on_a_configured_workflow_with_no_data(
    pytester: pytest.Pytester, args: list[str]
) -> None:
    _project(pytester)
    pytester.path.joinpath("tests", "test_suite.py").write_text(
        "def test_a(slo):\n    slo.add('checkout', duration_ms=5.0, ok=True)\n", encoding="utf-8"
    )
    result = pytester.runpytest(*args)
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines(["refunds *FAIL no data (rate>=0.99*", "SLO breach: refunds*"])


def test_pytests_own_testpaths_are_a_complete_run(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makeini("[pytest]\ntestpaths = tests/more\n")
    more = pytester.path / "tests" / "more"
    more.mkdir()
    (more / "test_more.py").write_text("def test_more():\n    pass\n", encoding="utf-8")
    result = pytester.runpytest()
    assert result.ret == 1, result.stdout.str()
    result.stdout.fnmatch_lines(["SLO breach: checkout*", "SLO breach: refunds*"])


def test_a_partial_run_still_judges_recorded_and_declared_workflows(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    tests = pytester.mkdir("tests")
    (tests / "test_judged.py").write_text(
        "def test_a(slo):\n"
        "    slo.add('checkout', duration_ms=5.0, ok=False, error='no')\n"
        "    slo.declare('payouts', 'rate>=0.5')\n\n"
        "def test_b(slo):\n    slo.add('refunds', duration_ms=5.0, ok=True)\n",
        encoding="utf-8",
    )
    result = pytester.runpytest("-k", "test_a")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "checkout *FAIL rate>=0.99*",
            "payouts *FAIL no data*",
            "refunds *not run (partial run)",
        ]
    )


def test_a_partial_run_under_xdist_is_partial_too(pytester: pytest.Pytester) -> None:
    _project(pytester)
    result = pytester.runpytest("-n", "2", "-k", "test_a or test_c")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["refunds *not run (partial run)"])


def test_an_interrupted_run_judges_nothing_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    tests = pytester.mkdir("tests")
    (tests / "test_stop.py").write_text(
        "def test_stop(slo):\n"
        "    slo.add('checkout', duration_ms=5.0, ok=True)\n"
        "    raise KeyboardInterrupt\n",
        encoding="utf-8",
    )
    run = pytester.path / "run"
    result = pytester.runpytest_subprocess(f"--interlock-run-dir={run}")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stderr.fnmatch_lines(["interlock: interrupted: SLOs not judged"])
    assert "SLO breach" not in result.stdout.str()
    assert "service-level objectives" not in result.stdout.str()
    assert not (run / "slo.json").exists()


def test_a_writer_that_raises_is_one_line_and_the_other_reports_are_written(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest("""
        def pytest_interlock_report(report, run_dir, config):
            raise AttributeError("'SloReport' object has no attribute 'table'")
    """)
    pytester.makepyfile("def test_a(slo):\n    slo.add('checkout', duration_ms=5.0, ok=True)\n")
    run = pytester.path / "run"
    result = pytester.runpytest_subprocess(
        f"--interlock-run-dir={run}", f"--junitxml={run / 'junit.xml'}"
    )
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    errors = [line for line in result.stderr.lines if "report writer" in line]
    assert errors == [
        "interlock: report writer pytest_interlock_report at conftest.py:1 failed: "
        "AttributeError: 'SloReport' object has no attribute 'table' "
        "(the other reports were written)"
    ]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["checkout *PASS"])
    assert _slo_json(run)["checkout"]["ok"] is True
    assert (run / "report.html").is_file()
    assert 'name="interlock.slo"' in (run / "junit.xml").read_text(encoding="utf-8")


def test_the_readme_writer_example_runs(pytester: pytest.Pytester) -> None:
    readme = Path(__file__).resolve().parents[3] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(encoding="utf-8"), re.S)
    (example,) = [b for b in blocks if "def pytest_interlock_report" in b]
    pytester.makeconftest(example)
    pytester.makepyfile("def test_a(slo):\n    slo.add('checkout', duration_ms=5.0, ok=True)\n")
    run = pytester.path / "run"
    result = pytester.runpytest_subprocess(f"--interlock-run-dir={run}")
    assert result.ret == 0, result.stderr.str()
    assert "report writer" not in result.stderr.str()


def test_a_malformed_declared_threshold_fails_the_test_with_one_line(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("""
        def test_declares(slo):
            slo.declare("w", "p(95)<<2")
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "slo.declare('w', ...): " in out
    assert "ConfigError" not in out
    assert "During handling" not in out
    assert "bad threshold" in out
    # one line in the failure's report (the short summary repeats it whole when CI is set)
    report = [line for line in result.outlines if not line.startswith("FAILED ")]
    assert sum("bad threshold" in line for line in report) == 1
    assert "def test_declares" not in out  # no traceback of the test's source
