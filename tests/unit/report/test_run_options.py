"""``interlock run`` hands --shard, --repeat and --fail-on-regression to pytest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.unit.test_cli import assert_one_line_error, interlock

from interlock.report.outcomes import Outcome, write_outcomes

PROJECT = """\
[tool.interlock]
tests = "tests"
artifacts = "runs"
postgres = false
redis = false
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_few.py").write_text(
        "import pytest\n\n@pytest.mark.parametrize('i', range(4))\ndef test_few(i):\n    pass\n"
    )
    return tmp_path


def test_run_shard_and_repeat_reach_pytest(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = interlock("run", "--shard", "1/2", "--repeat", "2", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = (root / "runs").iterdir()
    ran = [t["nodeid"] for t in json.loads((run / "tests.json").read_text())["tests"]]
    assert len(ran) == 4  # 2 of the 4 tests, twice
    assert len(set(ran)) == 2
    assert json.loads((run / "flaky.json").read_text())["flaky"] == []
    assert (run / "report.html").is_file()


def test_run_shard_durations_reach_pytest_and_balance_the_split(tmp_path: Path) -> None:
    root = _project(tmp_path)
    long, *short = [f"tests/test_few.py::test_few[{i}]" for i in range(4)]
    write_outcomes(
        [Outcome(nodeid=long, outcome="passed", duration_s=10.0)]
        + [Outcome(nodeid=n, outcome="passed", duration_s=0.1) for n in short],
        root / "past.json",
    )
    result = interlock("run", "--shard", "1/2", "--shard-durations", "past.json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = (root / "runs").iterdir()
    ran = [t["nodeid"] for t in json.loads((run / "tests.json").read_text())["tests"]]
    assert ran == [long]  # the 10 s test has shard 1 to itself


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--shard", "3/2"), "I must be between 1 and N"),
        (("--repeat", "0"), "1 or more"),
        (("--shard", "1/2", "--shard-durations", "/nonexistent"), "not an Interlock tests.json"),
        (("--shard-durations", "/nonexistent"), "not an Interlock tests.json"),
        (("--shard", "1/2", "--shard-durations", "pyproject.toml"), "not an Interlock tests.json"),
    ],
)
def test_a_bad_value_is_one_line_and_makes_no_run_folder(
    tmp_path: Path, args: tuple[str, ...], fragment: str
) -> None:
    root = _project(tmp_path)
    assert_one_line_error(interlock("run", *args, cwd=root), fragment)
    assert not (root / "runs").exists()


def test_shard_durations_without_a_shard_is_one_line_and_makes_no_run_folder(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    write_outcomes(
        [Outcome(nodeid="tests/test_few.py::test_few[0]", outcome="passed")], root / "past.json"
    )
    result = interlock("run", "--shard-durations", "past.json", cwd=root)
    assert_one_line_error(result, "--shard-durations needs --shard")
    assert not (root / "runs").exists()


def test_fail_on_regression_without_a_baseline_is_refused_before_anything_runs(
    tmp_path: Path,
) -> None:
    root = _project(tmp_path)
    result = interlock("run", "--fail-on-regression", cwd=root)
    assert_one_line_error(result, "--fail-on-regression: no baseline at runs/baseline/slo.json")
    assert not (root / "runs").exists()


def test_fail_on_regression_without_a_baseline_under_pytest_is_refused_before_collection(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyprojecttoml(PROJECT)
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_x.py").write_text(
        "from pathlib import Path\nPath('collected').touch()\ndef test_x():\n    pass\n"
    )
    result = pytester.runpytest_subprocess("--fail-on-regression")
    assert result.ret == 2
    result.stderr.fnmatch_lines(["*--fail-on-regression: no baseline at *baseline/slo.json*"])
    assert not (pytester.path / "collected").exists()
