"""Bad input to Interlock under plain pytest: one line and exit 2, as under `interlock run`."""

from __future__ import annotations

import pytest

from interlock.plugin import USAGE_EXIT

CONFIG = "[tool.interlock]\npostgres = false\nredis = false\n"


@pytest.mark.parametrize(
    ("args", "pyproject", "says"),
    [
        (
            ("--performance-threshold=150",),
            CONFIG,
            "*interlock: --performance-threshold: performance_threshold must be a percentage*",
        ),
        (
            (),
            CONFIG + "latncy_threshold = 100\n",
            "*interlock: *latncy_threshold*did you mean*latency_threshold*",
        ),
    ],
    ids=["threshold-out-of-range", "misspelled-key"],
)
def test_bad_input_is_one_line_and_exit_2(pytester, args, pyproject, says):
    pytester.makepyprojecttoml(pyproject)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == USAGE_EXIT == 2
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, result.stderr.str()
    result.stderr.fnmatch_lines([says])


def test_under_the_cli_the_child_keeps_pytests_usage_status(pytester):
    # `interlock run` passes --interlock-run-dir and maps pytest's 4 to its own 2;
    # a child's 2 means an interrupted session to it
    pytester.makepyprojecttoml(CONFIG)
    pytester.makepyfile("def test_x(): pass")
    run_dir = pytester.path / "run"
    result = pytester.runpytest_subprocess(
        "--performance-threshold=150", f"--interlock-run-dir={run_dir}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_pytests_own_usage_errors_keep_pytests_status(pytester):
    pytester.makepyprojecttoml(CONFIG)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--no-such-option")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
