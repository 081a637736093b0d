"""The pytest plugin as users run it: SLO verdicts, exit status, JUnit, time limit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from interlock.plugin import USAGE_EXIT

SLOW_AND_FAILING = """
import pytest

def test_runs(slo):
    for i in range(20):
        try:
            with slo("checkout"):
                if i < 3:
                    raise RuntimeError("gateway said no")
        except RuntimeError:
            pass
"""


def test_slo_breach_fails_a_green_session_and_names_the_workflow(pytester):
    pytester.makepyfile(SLOW_AND_FAILING)
    result = pytester.runpytest(f"--interlock-run-dir={pytester.path / 'run'}")
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*service-level objectives*",
            "checkout *FAIL rate>=0.95*",
            "SLO breach: checkout: rate>=0.95*",
        ]
    )
    data = json.loads((pytester.path / "run" / "slo.json").read_text())
    assert data["ok"] is False
    assert data["workflows"][0]["errors"] == ["RuntimeError: gateway said no"]


def test_a_lower_success_gate_lets_the_same_runs_pass(pytester):
    pytester.makepyfile(SLOW_AND_FAILING)
    result = pytester.runpytest("--performance-threshold=80")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["checkout *85.0%*PASS"])


def test_declared_latency_threshold_is_judged(pytester):
    pytester.makepyfile("""
        def test_fast(slo):
            slo.declare("report", "p(95)<0.001")
            slo.add("report", start=0, duration_ms=5, ok=True)
    """)
    result = pytester.runpytest()
    assert result.ret == 1
    result.stdout.fnmatch_lines(["SLO breach: report: p(95)<0.001*"])


def test_junit_gets_one_case_per_workflow(pytester):
    pytester.makepyfile("""
        def test_runs(slo):
            slo.add("good", start=0, duration_ms=5, ok=True)
            slo.add("bad", start=0, duration_ms=5, ok=False, error="boom")
    """)
    pytester.runpytest("--junitxml=junit.xml")
    root = ET.parse(pytester.path / "junit.xml").getroot()
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "interlock.slo")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"good", "bad"}
    assert cases["bad"].find("failure") is not None
    assert cases["good"].find("failure") is None


def test_no_recorded_workflow_means_no_verdict(pytester):
    pytester.makepyfile('def test_plain():\n    assert "a".upper() == "A"\n')
    result = pytester.runpytest()
    assert result.ret == 0
    assert "service-level objectives" not in result.stdout.str()


def test_a_test_over_the_integration_timeout_fails(pytester):
    pytester.makepyfile("""
        import threading
        def test_hangs():
            threading.Event().wait(30)
    """)
    result = pytester.runpytest("--integration-timeout=300")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*IntegrationTimeout: test exceeded INTEGRATION_TIMEOUT of 300 ms*"]
    )


def test_a_test_marked_with_its_own_timeout_gets_that_limit(pytester):
    pytester.makepyfile("""
        import threading
        import pytest

        @pytest.mark.integration_timeout(2000)
        def test_long_by_nature():
            threading.Event().wait(0.5)

        @pytest.mark.integration_timeout(300)
        def test_hangs():
            threading.Event().wait(30)
    """)
    result = pytester.runpytest("--integration-timeout=100", "--strict-markers")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*IntegrationTimeout: test exceeded its integration_timeout mark of 300 ms*"]
    )


def test_suite_markers_are_registered_for_strict_markers(pytester):
    pytester.makepyfile("""
        import pytest
        @pytest.mark.business
        def test_b(): pass
        @pytest.mark.performance
        def test_p(): pass
    """)
    result = pytester.runpytest("--strict-markers", "-m", "business")
    result.assert_outcomes(passed=1, deselected=1)


def test_malformed_configuration_is_a_usage_error(pytester):
    pytester.makepyprojecttoml("[tool.interlock]\nlatency_threshold = 'soon'\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess()
    assert result.ret == USAGE_EXIT
    result.stderr.fnmatch_lines(
        ["*interlock: [[]tool.interlock[]] latency_threshold must be a number*"]
    )


# -- one verdict, whatever the process layout ---------------------------------------------
OWN_THRESHOLD = """
def test_fast(slo):
    slo.declare("report", "p(95)<1")
    slo.add("report", start=0, duration_ms=5, ok=True)
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_tests_own_threshold_beats_the_configured_one_with_and_without_xdist(pytester, workers):
    pytester.makepyprojecttoml('[tool.interlock.slo]\nreport = "p(95)<5000"\n')
    pytester.makepyfile(OWN_THRESHOLD)
    result = pytester.runpytest(*workers)
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["SLO breach: report: p(95)<1 (was 5 ms)"])


def test_a_declared_workflow_that_never_ran_fails_the_run_everywhere(pytester):
    pytester.makepyfile("""
        def test_declares_only(slo):
            slo.declare("refunds", "rate>=0.99")
    """)
    run = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run}", "--junitxml=junit.xml")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["refunds *0 *FAIL no data (rate>=0.99, p(95)<2000)"])
    (workflow,) = json.loads((run / "slo.json").read_text())["workflows"]
    assert (workflow["name"], workflow["no_data"], workflow["ok"]) == ("refunds", True, False)
    root = ET.parse(pytester.path / "junit.xml").getroot()
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "interlock.slo")
    (case,) = suite.iter("testcase")
    assert "no data" in case.find("failure").get("message")


def test_runs_just_under_the_limit_pass_and_the_table_shows_what_was_compared(pytester):
    pytester.makepyfile("""
        def test_runs(slo):
            slo.declare("checkout", "p(95)<1500")
            for _ in range(20):
                slo.add("checkout", start=0, duration_ms=1499.8, ok=True)
    """)
    result = pytester.runpytest()
    assert result.ret == 0
    result.stdout.fnmatch_lines(["checkout *20 *100.0% *1499.8 *1499.8 *1499.8 *1499.8 *PASS"])


@pytest.mark.parametrize(
    ("args", "pyproject", "says"),
    [
        (["--performance-threshold=150"], "", "--performance-threshold*between 0 and 100*150"),
        (["--latency-threshold=-3"], "", "--latency-threshold*positive*-3"),
        (["--integration-timeout=soon"], "", "--integration-timeout*must be a number*soon"),
        ([], '[tool.interlock.slo]\ncheckout = ["p(95)<<2"]\n', "*tool.interlock.slo*checkout*"),
    ],
    ids=["rate-over-100", "negative-latency", "timeout-not-a-number", "configured-rule"],
)
def test_a_bad_threshold_is_one_line_and_a_usage_error(pytester, args, pyproject, says):
    if pyproject:
        pytester.makepyprojecttoml(pyproject)
    pytester.makepyfile("""
        def test_runs(slo):
            slo.add("checkout", start=0, duration_ms=5, ok=True)
    """)
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == USAGE_EXIT
    errors = [line for line in result.stderr.lines if line.strip()]
    assert len(errors) == 1, result.stderr.str()
    result.stderr.fnmatch_lines([f"*interlock: {says}*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_a_conftest_writer_receives_the_report_and_the_run_folder(pytester):
    pytester.makeconftest("""
        import json

        def pytest_interlock_report(report, run_dir, config):
            (run_dir / "mine.json").write_text(json.dumps({
                "ok": report.ok,
                "workflows": [w.name for w in report.workflows],
                "runs": report.workflows[0].figures.runs,
                "run_dir_exists": run_dir.is_dir(),
            }))
    """)
    pytester.makepyfile("""
        def test_runs(slo):
            for _ in range(3):
                slo.add("checkout", start=0, duration_ms=5, ok=True)
    """)
    run = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run}")
    assert result.ret == 0
    assert json.loads((run / "mine.json").read_text()) == {
        "ok": True,
        "workflows": ["checkout"],
        "runs": 3,
        "run_dir_exists": True,
    }


def test_failed_runs_of_a_worker_killed_mid_run_reach_the_verdict(pytester):
    pytester.makepyfile("""
        import os
        import signal

        def test_dies_after_recording_failures(slo):
            for _ in range(5):
                slo.add("checkout", start=0, duration_ms=5, ok=False, error="gateway said no")
            os.kill(os.getpid(), signal.SIGKILL)

        def test_records_successes(slo):
            for _ in range(5):
                slo.add("checkout", start=0, duration_ms=5, ok=True)
    """)
    run = pytester.path / "run"
    result = pytester.runpytest("-n", "2", f"--interlock-run-dir={run}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["checkout *10 *50.0%*FAIL rate>=0.95 (was 0.500)"])
    (workflow,) = json.loads((run / "slo.json").read_text())["workflows"]
    assert (workflow["runs"], workflow["failures"]) == (10, 5)


def test_a_journal_the_gate_cannot_read_is_an_error_never_a_green_run(pytester):
    pytester.makepyfile("""
        def test_runs(slo, interlock_run_dir):
            slo.add("checkout", duration_ms=5, ok=True)
            (folder,) = (interlock_run_dir / "slo-journal").iterdir()
            (folder / "gw9.json").write_text("{")
    """)
    run = pytester.path / "run"
    result = pytester.runpytest(f"--interlock-run-dir={run}", "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stderr.fnmatch_lines(["interlock: cannot judge the SLOs: *gw9.json: not JSON*"])
    root = ET.parse(pytester.path / "junit.xml").getroot()
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "interlock.slo")
    assert suite.get("errors") == "1"


def test_slo_called_as_a_statement_fails_the_test_instead_of_recording_nothing(pytester):
    pytester.makepyfile(
        """
        def test_forgot_with(slo):
            slo("checkout")

        def test_used_as_a_block(slo):
            with slo("checkout"):
                pass
        """
    )
    result = pytester.runpytest(f"--interlock-run-dir={pytester.path / 'run'}")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*slo('checkout') timed nothing*"])
