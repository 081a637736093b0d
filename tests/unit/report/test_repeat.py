"""--repeat N runs every test N times in a new order each round and names the flaky ones."""

from __future__ import annotations

import json

import pytest

from interlock.plugin import USAGE_EXIT

PYPROJECT = """
[tool.interlock]
faults = false
postgres = false
redis = false
"""

SUITE = """
import pytest

calls = []

def test_flaky():
    calls.append(1)
    assert len(calls) % 2 == 1, "fails every other run"

def test_always_fails():
    assert False

@pytest.mark.parametrize("i", range(8))
def test_steady(i):
    pass
"""


def test_repeat_3_reports_the_flaky_test_and_no_other(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_suite=SUITE)
    run_dir = pytester.path / "run"
    result = pytester.runpytest(
        "--repeat", "3", "--interlock-seed", "7", f"--interlock-run-dir={run_dir}"
    )
    # flaky: passed, failed, passed; always_fails: 3 failures
    result.assert_outcomes(passed=2 + 3 * 8, failed=1 + 3)
    result.stdout.fnmatch_lines(
        [
            "*= flakiness =*",
            "FLAKY test_suite.py::test_flaky: passed failed passed",
            "1 of 10 tests flaky over 3 rounds: 10.00% (ABOVE the 1% target)",
        ]
    )
    flaky = json.loads((run_dir / "flaky.json").read_text())
    assert flaky["flaky"] == ["test_suite.py::test_flaky"]
    assert flaky["tests"] == 10
    assert "Flaky tests" in (run_dir / "report.html").read_text()


def test_each_round_runs_every_test_once_in_a_new_order(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(test_suite=SUITE)
    run_dir = pytester.path / "run"
    pytester.runpytest("--repeat", "3", "--interlock-seed", "7", f"--interlock-run-dir={run_dir}")
    ran = [t["nodeid"] for t in json.loads((run_dir / "tests.json").read_text())["tests"]]
    rounds = [ran[i : i + 10] for i in range(0, len(ran), 10)]
    assert len(rounds) == 3
    assert all(sorted(r) == sorted(rounds[0]) and len(set(r)) == 10 for r in rounds)
    assert len({tuple(r) for r in rounds}) == 3  # seed 7 gives three distinct orders


def test_repeat_refuses_zero_rounds(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--repeat", "0")
    assert result.ret == USAGE_EXIT
    result.stderr.fnmatch_lines(["*interlock: --repeat 0: expected 1 or more rounds*"])


@pytest.mark.parametrize("count", [1, 2])
def test_a_round_may_start_with_the_test_the_last_one_ended_with(
    pytester: pytest.Pytester, count: int
) -> None:
    """Parametrized tests run again in a fresh setup, whichever order the rounds draw."""
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile(
        f"import pytest\n\n@pytest.mark.parametrize('i', range({count}))\n"
        "def test_param(i):\n    assert i in range(2)\n"
    )
    for seed in range(6):  # with two tests, about half the seeds repeat one across rounds
        result = pytester.runpytest("--repeat", "3", "--interlock-seed", str(seed))
        result.assert_outcomes(passed=3 * count)
