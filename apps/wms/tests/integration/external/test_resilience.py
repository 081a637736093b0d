"""WMS's adapters when external services misbehave: breakers, retries, bulkheads, costs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll

pytestmark = pytest.mark.external

ONBOARD = "/api/v1/customers"


def integration(api, name: str) -> dict:
    listed = api.as_role("admin").get("/api/v1/integrations")
    assert listed.status_code == 200, listed.text
    return next(i for i in listed.json() if i["name"] == name)


def wait_breaker_closed(api, sims) -> None:
    """Let Stripe answer again and wait until a trial call closes its breaker."""
    sims["stripe"].remove_added_faults()

    def closed() -> bool:
        response = api.as_role("admin").post(ONBOARD, json=customer_payload())
        return response.status_code == 201

    poll(closed, timeout=10, what="the Stripe breaker to close again")
    assert integration(api, "stripe")["breaker"] == "closed"


def test_stripe_outage_opens_the_breaker_calls_fail_fast_and_it_recovers(api, sims, slo):
    admin = api.as_role("admin")
    sims["stripe"].add_fault("status", status=500)
    try:
        # every call fails (with its retries) until the breaker opens
        def opened() -> bool:
            response = admin.post(ONBOARD, json=customer_payload())
            assert response.status_code == 503, response.text
            return response.json()["error"]["code"] == "circuit_open"

        poll(opened, timeout=15, what="the Stripe breaker to open")
        assert integration(api, "stripe")["breaker"] == "open"
        calls_before = len(sims["stripe"].journal(path="/v1/customers", method="POST"))
        # failing fast is causal: the answer comes without a call to Stripe, so without its
        # 2 s timeout and retries; how fast is a generous SLO of the run, not this verdict
        slo.declare("open_breaker_answer", "p(95)<2000")
        with slo("open_breaker_answer"):
            response = admin.post(ONBOARD, json=customer_payload())
        assert response.json()["error"]["code"] == "circuit_open"
        assert len(sims["stripe"].journal(path="/v1/customers", method="POST")) == calls_before
        # what does not need Stripe keeps working, and keeps its SLO
        someone = admin.post(
            "/api/v1/plans",
            json={
                "name": f"Open-breaker plan {time.time_ns()}",
                "bin_size_litres": 120,
                "frequency": "monthly",
                "price_cents": 1500,
            },
        )
        assert someone.status_code == 201
        for _ in range(5):
            with slo("plans_during_stripe_outage"):
                assert admin.get("/api/v1/plans").status_code == 200
    finally:
        wait_breaker_closed(api, sims)


def test_rate_limited_call_is_retried_after_retry_after(api, sims):
    journal_before = len(sims["stripe"].journal(path="/v1/customers", method="POST"))
    sims["stripe"].add_fault("rate_limit", retry_after=1, times=1, path="^/v1/customers$")
    response = api.as_role("admin").post(ONBOARD, json=customer_payload())
    assert response.status_code == 201, response.text
    calls = sims["stripe"].journal(path="/v1/customers", method="POST")[journal_before:]
    assert [c["status"] for c in calls] == [429, 200]
    assert calls[1]["time"] - calls[0]["time"] >= 1.0
    # the retry reused the idempotency key, so Stripe could not create two customers
    assert calls[0]["headers"]["Idempotency-Key"] == calls[1]["headers"]["Idempotency-Key"]


def test_a_hung_service_costs_its_timeout_and_does_not_slow_the_others(api, sims, slo):
    admin = api.as_role("admin")
    timeout = 2.0  # WMS_EXTERNAL_TIMEOUT_SECONDS in the stack
    sims["sendgrid"].add_fault("hang")  # held until the caller gives up
    stripe_before, sendgrid_before = integration(api, "stripe"), integration(api, "sendgrid")
    # how long a hung mail costs is an SLO of the run, with room for a busy machine; that
    # every call ends at all is this test's verdict (a hang lasts until the caller gives up)
    slo.declare("onboarding_while_mail_hangs", f"max<{timeout * 3 * 1000:.0f}")

    def onboard(_: int) -> dict:
        with slo("onboarding_while_mail_hangs"):
            response = admin.post(ONBOARD, json=customer_payload())
        assert response.status_code == 201, response.text
        return dict(response.json())

    with ThreadPoolExecutor(max_workers=10) as pool:
        bodies = list(pool.map(onboard, range(10)))
    for body in bodies:
        # the mail gave up at its timeout; the SMS, beside it, was sent all the same
        statuses = {n["channel"]: n["status"] for n in body["notifications"]}
        assert statuses == {"email": "failed", "sms": "sent"}
    # SendGrid's hang filled only SendGrid's own slots: no Stripe call failed or waited
    # for one of them to time out
    stripe = integration(api, "stripe")
    assert stripe["calls"] - stripe_before["calls"] >= 10
    assert stripe["failures"] == stripe_before["failures"]
    assert stripe["p95_ms"] < timeout * 1000, stripe
    sendgrid = integration(api, "sendgrid")
    assert sendgrid["failures"] - sendgrid_before["failures"] >= 10


def test_cost_budget_alert_fires_at_its_thresholds(api, redis, sims):
    for key in redis.client.scan_iter("wms:cost*:twilio:*"):
        redis.client.delete(key)
    with redis.subscribe("wms.events.security") as events:
        for _ in range(3):  # 3 SMS at 0.0079 USD against a 0.02 USD budget
            assert api.as_role("admin").post(ONBOARD, json=customer_payload()).status_code == 201
        seen = set()
        for pct in (50, 80, 100):
            alert = events.wait_for(
                lambda e, pct=pct: (
                    e["type"] == "integration.budget_threshold"
                    and e["data"]["service"] == "twilio"
                    and e["data"]["threshold_pct"] == pct
                ),
                what=f"the {pct} % budget alert",
            )
            seen.add(alert["data"]["threshold_pct"])
    assert seen == {50, 80, 100}
    assert integration(api, "twilio")["cost_today_usd"] == pytest.approx(0.0237, abs=1e-6)


def test_integrations_view_is_for_admins_only(api):
    assert api.as_role("dispatcher").get("/api/v1/integrations").status_code == 403
    names = {i["name"] for i in api.as_role("admin").get("/api/v1/integrations").json()}
    assert {"stripe", "sendgrid", "twilio"} <= names
