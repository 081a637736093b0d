"""A stack that cannot start: one line, a usage error, and an error case in junit.xml."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

USES_THE_STACK = """
def test_one(stack):
    pass

def test_two(stack):
    pass
"""


@pytest.fixture
def unreachable_database(pytester, monkeypatch):
    """A project whose PostgreSQL is a server nobody listens at: the stack cannot start."""
    monkeypatch.setenv("INTERLOCK_DATABASE_URL", "postgresql://interlock@127.0.0.1:1/nowhere")
    pytester.makepyprojecttoml("[tool.interlock]\nfaults = false\n")
    pytester.makepyfile(USES_THE_STACK)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_stack_that_cannot_start_is_one_line_and_never_a_green_junit(
    pytester, unreachable_database, workers
):
    result = pytester.runpytest(*workers, "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, result.stderr.str()
    assert errors[0].startswith("interlock: ")
    assert "INTERLOCK_DATABASE_URL" in errors[0]
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    root = ET.parse(pytester.path / "junit.xml").getroot()
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "interlock.stack")
    assert suite.get("errors") == "1"
    (error,) = suite.iter("error")
    assert error.get("message") == errors[0]
