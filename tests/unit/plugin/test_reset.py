"""Each test on the stack starts on a fresh stack's state, whatever ran before it."""

from __future__ import annotations

import pytest

PYPROJECT = """
[tool.interlock]
faults = false
simulators = ["samsara"]
"""

#: the order the tests are written in, whatever plugin (pytest-randomly) is installed
IN_ORDER = ("-p", "no:randomly")


def test_the_project_reset_runs_before_each_test_on_the_stack_and_no_other(pytester):
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makeconftest("""
        import pytest

        RESETS = []

        def pytest_interlock_reset(stack, interlock_config):
            assert stack.simulators == {} or "samsara" in stack.simulators
            assert interlock_config.simulators == ("samsara",)
            RESETS.append(len(RESETS))

        @pytest.fixture(scope="session")
        def shared():
            return len(RESETS)  # the resets done when it was built
    """)
    pytester.makepyfile("""
        from conftest import RESETS

        def test_on_the_stack(stack):
            assert len(RESETS) == 1

        def test_without_the_stack():
            assert len(RESETS) == 1

        def test_a_session_fixture_it_is_first_to_use_is_built_after_its_reset(stack, shared):
            assert shared == len(RESETS) == 2

        def test_through_a_fixture_on_the_stack(sims):
            assert len(RESETS) == 3
    """)
    result = pytester.runpytest(*IN_ORDER, f"--interlock-run-dir={pytester.path / 'run'}")
    result.assert_outcomes(passed=4)


def test_a_reset_that_fails_is_an_error_of_the_test_not_a_pass(pytester):
    pytester.makepyprojecttoml(PYPROJECT)
    pytester.makeconftest("""
        def pytest_interlock_reset():
            raise RuntimeError("cannot close the breakers")
    """)
    pytester.makepyfile("""
        def test_on_the_stack(stack):
            pass
    """)
    result = pytester.runpytest(*IN_ORDER, f"--interlock-run-dir={pytester.path / 'run'}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*RuntimeError: cannot close the breakers*"])


@pytest.mark.parametrize(
    ("seed_data", "expected"),
    [
        ("", "time.time()"),  # none configured: real time again
        (
            '[tool.interlock.seed_data.samsara]\nclock = { now = "2030-01-01T00:00:00Z" }',
            "datetime(2030, 1, 1, tzinfo=UTC).timestamp()",
        ),
    ],
    ids=["real-time", "configured-clock"],
)
def test_a_simulator_clock_a_test_moved_is_back_for_the_next_test(pytester, seed_data, expected):
    pytester.makepyprojecttoml(PYPROJECT + seed_data)
    pytester.makepyfile(f"""
        import time
        from datetime import UTC, datetime

        def test_freezes_and_advances_the_clock(sims):
            sims["samsara"].freeze_clock("2024-05-01T08:00:00Z")
            sims["samsara"].advance_clock(60)
            assert sims["samsara"].state()["now"].startswith("2024-05-01T08:01:00")

        def test_that_follows(sims):
            now = datetime.fromisoformat(sims["samsara"].state()["now"]).timestamp()
            assert abs(now - {expected}) < 600  # a generous bound: the clock is not 2024's
    """)
    result = pytester.runpytest(*IN_ORDER, f"--interlock-run-dir={pytester.path / 'run'}")
    result.assert_outcomes(passed=2)
