"""A pytest session that uses nothing of Interlock's is left as pytest ends it."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("suite", "status"),
    [
        ("def test_a():\n    pass\n", pytest.ExitCode.OK),
        ("def test_a():\n    assert False\n", pytest.ExitCode.TESTS_FAILED),
        ("def test_a():\n    raise KeyboardInterrupt\n", pytest.ExitCode.INTERRUPTED),
        ("", pytest.ExitCode.NO_TESTS_COLLECTED),
    ],
    ids=["pass", "fail", "interrupted", "no tests"],
)
def test_a_session_without_interlock_keeps_pytests_status_junit_and_folders(
    pytester: pytest.Pytester, suite: str, status: pytest.ExitCode
) -> None:
    pytester.makepyfile(test_plain=suite)
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest_subprocess(f"--junitxml={junit}")
    assert result.ret == status
    assert "interlock" not in junit.read_text()
    assert not (pytester.path / ".interlock").exists()
    assert "interlock: " not in result.stdout.str().replace("interlock: seed", "")
