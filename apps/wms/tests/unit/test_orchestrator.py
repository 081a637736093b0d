"""How the error orchestrator classifies an error event (pure decisions, no I/O)."""

from __future__ import annotations

import pytest

from wms.coordination.orchestrator import DEPENDENCY_BURST, classify, dependency_of


@pytest.mark.parametrize(
    ("source", "kind", "details", "dependency"),
    [
        ("stripe", "upstream_unavailable", {}, "stripe"),
        ("api", "circuit_open", {"service": "twilio"}, "twilio"),
        ("api", "database_unavailable", {}, "postgres"),
        ("api", "internal_error", {}, None),
        ("GPS polling", "job_failed", {}, None),
    ],
)
def test_an_error_names_the_dependency_it_is_about(source, kind, details, dependency):
    assert dependency_of(source, kind, details) == dependency


def test_a_dependency_refusing_outright_is_a_dependency_failure_at_once():
    assert classify("circuit_open", "stripe", 1, source="api") == "dependency"
    assert classify("database_unavailable", "postgres", 1, source="api") == "dependency"


def test_one_failure_after_retries_is_transient_and_a_burst_of_them_a_dependency_failure():
    burst = DEPENDENCY_BURST
    assert classify("upstream_unavailable", "twilio", burst - 1, source="twilio") == "transient"
    assert classify("upstream_unavailable", "twilio", burst, source="twilio") == "dependency"


def test_only_the_adapter_s_own_failures_make_a_burst():
    # the API's event of the same failure does not say how many attempts failed
    assert classify("upstream_unavailable", "stripe", 50, source="api") == "transient"


def test_a_burst_of_wms_own_failures_or_of_shed_calls_is_never_a_dependency_failure():
    # a loop has no breaker to open; shedding is our own load, not the service's fault
    assert classify("job_failed", None, 50, source="GPS polling") == "transient"
    assert classify("shed", "airtable", 50, source="airtable") == "transient"


@pytest.mark.parametrize("kind", ["internal_error", "upstream_error", "duplicate_charge"])
def test_a_bug_or_a_refusal_no_retry_can_change_is_permanent(kind):
    assert classify(kind, "stripe", 50, source="stripe") == "permanent"
