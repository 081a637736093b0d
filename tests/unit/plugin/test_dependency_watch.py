"""A dependency that dies during a run is named in the failures that follow."""

from __future__ import annotations

PYPROJECT = """
[tool.interlock]
faults = false

[tool.interlock.app]
command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
health = "/"
"""


def test_failures_after_the_app_died_name_it_with_its_signal_and_log(pytester):
    """Also: the stack says when it is up and how long it took."""
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makepyfile("""
        import os
        import signal

        from interlock.helpers.deadline import poll

        def test_the_app_dies(stack):
            app = stack.processes["app"]
            os.kill(app.pid, signal.SIGKILL)
            poll(lambda: app.exit_code() is not None, timeout=10, what="the app's exit")

        def test_that_follows(stack):
            assert False, "the app did not answer"
    """)
    result = pytester.runpytest(f"--interlock-run-dir={pytester.path / 'run'}")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "interlock: stack up in * s*",
            "*interlock: dependencies*",
            "app was killed by signal 9 at *; last log lines (*app.log):",
        ]
    )


def test_a_process_the_test_killed_through_faults_is_described_as_such(pytester):
    pytester.makepyprojecttoml(PYPROJECT.replace("faults = false", "faults = true"))
    pytester.makepyfile("""
        def test_kills_the_app_on_purpose(faults):
            faults.process("app").kill()
            assert False, "the app did not answer"
    """)
    result = pytester.runpytest(f"--interlock-run-dir={pytester.path / 'run'}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*interlock: dependencies*", "app was put under a process fault by this test*"]
    )
    assert "killed by signal" not in result.stdout.str()
