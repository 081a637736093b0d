"""Fault rules of the simulators: specs, matching, counts and seeded rates."""

from __future__ import annotations

import random
import statistics

import pytest

from interlock.errors import ConfigError
from interlock.simulators.faults import FaultPlan, FaultRule, parse_fault_spec


def test_spec_with_status_and_options_is_parsed():
    service, rule = parse_fault_spec("stripe:status=503,rate=0.5,times=3,path=^/v1/customers")
    assert service == "stripe"
    assert (rule.kind, rule.status, rule.rate, rule.times, rule.path) == (
        "status",
        503,
        0.5,
        3,
        "^/v1/customers",
    )


def test_spec_kinds_take_their_main_value():
    assert parse_fault_spec("twilio:latency=250")[1].ms == 250
    assert parse_fault_spec("airtable:rate_limit=2")[1].retry_after == 2
    assert parse_fault_spec("sendgrid:hang")[1].kind == "hang"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("stripe", "bad fault"),
        ("stripe:explode", "unknown fault kind 'explode'"),
        ("stripe:status=abc", "status must be a number"),
        ("stripe:status=500,rate=2", "rate must be between 0 and 1"),
        ("stripe:latency=-5", "must not be negative"),
        ("stripe:hang=3", "takes no value"),
        ("stripe:status=500,colour=red", "unknown fault field(s) colour"),
        ("stripe:latency=100,distribution=zipf", "unknown latency distribution 'zipf'"),
    ],
)
def test_bad_spec_is_refused_clearly(spec, message):
    with pytest.raises(ConfigError) as info:
        parse_fault_spec(spec)
    assert message in str(info.value)


def test_counted_rule_fires_n_times_then_goes_away():
    plan = FaultPlan()
    plan.add(FaultRule(kind="status", times=2))
    fired = [plan.pick("GET", "/x") is not None for _ in range(4)]
    assert fired == [True, True, False, False]
    assert plan.rules == []


def test_rule_applies_only_to_matching_method_and_path():
    plan = FaultPlan()
    plan.add(FaultRule(kind="status", method="POST", path="^/v1/payment"))
    assert plan.pick("GET", "/v1/payment_intents") is None
    assert plan.pick("POST", "/v1/customers") is None
    assert plan.pick("POST", "/v1/payment_intents") is not None


def test_partial_rate_is_seeded_so_a_run_replays_identically():
    def pattern(seed: int) -> list[bool]:
        plan = FaultPlan(seed)
        plan.add(FaultRule(kind="status", rate=0.3))
        return [plan.pick("GET", "/") is not None for _ in range(200)]

    first = pattern(7)
    assert first == pattern(7)
    assert first != pattern(8)
    assert 40 <= sum(first) <= 80  # about 30 %


def draws(spec: str, n: int = 4000, seed: int = 3) -> list[float]:
    rule = parse_fault_spec(spec)[1]
    rng = random.Random(seed)
    return sorted(rule.delay_seconds(rng) * 1000 for _ in range(n))


def test_latency_distributions_have_the_shape_they_promise():
    uniform = draws("s:latency=200,jitter_ms=50")
    assert uniform[0] >= 150
    assert uniform[-1] <= 250
    normal = draws("s:latency=200,jitter_ms=50,distribution=normal")
    assert statistics.mean(normal) == pytest.approx(200, rel=0.05)
    assert statistics.stdev(normal) == pytest.approx(50, rel=0.1)
    assert normal[-1] > 300  # unlike uniform, past two spreads now and then
    exponential = draws("s:latency=200,distribution=exponential")
    assert statistics.mean(exponential) == pytest.approx(200, rel=0.1)
    # the long tail: p99 is about 4.6 times the mean
    assert exponential[int(0.99 * len(exponential))] > 3.5 * 200
    lognormal = draws("s:latency=200,jitter_ms=100,distribution=lognormal")
    assert statistics.median(lognormal) == pytest.approx(200, rel=0.1)
    assert min(normal + exponential + lognormal) >= 0


def test_latency_draws_replay_with_the_same_seed():
    spec = "s:latency=100,jitter_ms=30,distribution=normal"
    assert draws(spec, n=50, seed=9) == draws(spec, n=50, seed=9)
    assert draws(spec, n=50, seed=9) != draws(spec, n=50, seed=10)


def test_a_tests_own_rule_takes_the_calls_it_matches_from_run_wide_rules():
    plan = FaultPlan()
    plan.add(parse_fault_spec("twilio:latency=300,jitter_ms=50,rate=0.5")[1], run_wide=True)
    own = plan.add(FaultRule(kind="status", status=503, path="^/Messages"))
    assert [plan.pick("POST", "/Messages") for _ in range(20)] == [own] * 20
    # elsewhere the run-wide fault still acts, at its rate
    assert {getattr(plan.pick("GET", "/Calls"), "kind", None) for _ in range(40)} == {
        "latency",
        None,
    }


def test_a_tests_own_rule_governs_its_calls_even_when_its_rate_skips_one():
    plan = FaultPlan(seed=1)
    plan.add(FaultRule(kind="status", status=500), run_wide=True)
    plan.add(FaultRule(kind="status", status=503, rate=0.5))
    picked = [plan.pick("GET", "/") for _ in range(40)]
    assert {rule.status for rule in picked if rule is not None} == {503}
    assert None in picked


def test_clear_keeps_run_wide_rules_and_remove_takes_either():
    plan = FaultPlan()
    run_wide = plan.add(FaultRule(kind="hang"), run_wide=True)
    added = plan.add(FaultRule(kind="drop"))
    assert plan.rules == [added, run_wide]
    plan.clear()
    assert plan.rules == [run_wide]
    assert plan.remove(run_wide.id)
    assert plan.rules == []
