"""The pytest plugin as users run it: SLO verdicts, exit status, JUnit, time limit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

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
    result = pytester.runpytest()
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["*interlock: [[]tool.interlock[]] latency_threshold must be a number*"]
    )
