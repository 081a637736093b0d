"""Stream A, error orchestration: errors become events, are classified, recovered, recorded.

The seed's scenarios: cross-stream error coordination (an adapter's failure and the
request it broke arrive at one orchestrator under one request id), error recovery
strategies (each class gets its strategy, and what was done is queryable), and cascade
failure prevention (a failing dependency's breaker is opened for every process, so the
workflows that need it fail fast and the others keep their latency). Prediction of a
breach is tested on simulated time in ``tests/unit/test_forecast.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio import Redis
from tests.integration.helpers.factories import customer_payload
from tests.integration.helpers.operations import new_depot, new_vehicle

from interlock.helpers.deadline import poll
from wms.coordination.loops import breaker_opener
from wms.coordination.orchestrator import Orchestrator
from wms.db.session import make_engine, make_sessionmaker

pytestmark = pytest.mark.workflow

STRATEGIES = {"transient": "retry_later", "dependency": "fall_back", "permanent": "escalate"}


@contextlib.contextmanager
def untracked_after(db: Any, vehicle_id: str) -> Iterator[None]:
    """Stop tracking the truck when the block ends: the worker would ask Samsara about it
    every second for the rest of the session."""
    try:
        yield
    finally:
        db.query("UPDATE vehicles SET samsara_vehicle_id = NULL WHERE id = %s", (vehicle_id,))


def onboard_until_served_by(admin: Any, service: str) -> None:
    """Onboard customers until ``service`` serves them again: an earlier test may have
    left its breaker open (it closes on the first call after the reset time)."""

    def served() -> bool:
        response = admin.post("/api/v1/customers", json=customer_payload())
        if service == "stripe":
            return response.status_code == 201
        assert response.status_code == 201, response.text
        statuses = {n["channel"]: n["status"] for n in response.json()["notifications"]}
        return statuses[{"twilio": "sms", "sendgrid": "email"}[service]] == "sent"

    poll(served, timeout=20, interval=0.5, what=f"{service} to serve WMS again")


def recoveries(admin: Any, request_id: str) -> list[dict[str, Any]]:
    response = admin.get("/api/v1/coordination/recoveries", params={"request_id": request_id})
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()
    return records


def wait_for_recoveries(admin: Any, request_id: str, sources: set[str]) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]] | None:
        records = recoveries(admin, request_id)
        return records if sources <= {r["source"] for r in records} else None

    return poll(found, timeout=20, what=f"recoveries of {sorted(sources)} for {request_id}")


def test_an_adapter_failure_and_its_request_reach_the_orchestrator_as_one_story(api, sims, slo):
    admin = api.as_role("admin")
    request_id = f"stream-a-{uuid.uuid4().hex[:12]}"
    slo.declare("error_orchestration", "p(95)<5000", "rate>=0.95")
    onboard_until_served_by(admin, "stripe")
    with slo("error_orchestration"):
        with sims["stripe"].failing(status=500):
            response = admin.post(
                "/api/v1/customers",
                json=customer_payload(),
                headers={"X-Request-ID": request_id},
            )
        assert response.status_code == 503, response.text
        assert response.headers["X-Request-ID"] == request_id
        # the adapter's failure (why) and the request's (what the caller saw), one id
        records = wait_for_recoveries(admin, request_id, {"stripe", "api"})
    by_source = {r["source"]: r for r in records}
    assert by_source["stripe"]["kind"] == "upstream_unavailable"
    assert by_source["api"]["kind"] == "upstream_unavailable"
    for record in records:
        assert record["class"] in STRATEGIES
        assert record["strategy"] == STRATEGIES[record["class"]]
        assert record["action"]
        assert record["process"].startswith("api:")


def test_a_permanent_refusal_is_escalated_to_operators(api, sims, redis, slo):
    admin = api.as_role("admin")
    request_id = f"stream-a-{uuid.uuid4().hex[:12]}"
    onboard_until_served_by(admin, "stripe")
    with redis.subscribe("wms.events.coordination") as events, slo("error_orchestration"):
        # a 400 WMS did not expect: a refusal no retry can change, and no fault of the caller's
        with sims["stripe"].failing(status=400):
            response = admin.post(
                "/api/v1/customers",
                json=customer_payload(),
                headers={"X-Request-ID": request_id},
            )
        assert response.status_code == 502, response.text
        escalated = events.wait_for(
            lambda e: (
                e["type"] == "error.escalated"
                and e["data"]["request_id"] == request_id
                and e["data"]["source"] == "stripe"
            ),
            what="the escalation of Stripe's refusal",
        )
    assert escalated["data"]["kind"] == "upstream_error"
    records = wait_for_recoveries(admin, request_id, {"stripe"})
    stripe = next(r for r in records if r["source"] == "stripe")
    assert (stripe["class"], stripe["strategy"], stripe["action"]) == (
        "permanent",
        "escalate",
        "escalated",
    )


def test_a_worker_failure_reaches_the_orchestrator_too(api, db, sims, slo):
    admin = api.as_role("admin")
    # with a tracked truck, the worker asks Samsara where it is every second
    truck = new_vehicle(api, new_depot(api), samsara_id=f"stream-a-{uuid.uuid4().hex[:8]}")
    with (
        sims["samsara"].failing(status=500),
        slo("error_orchestration"),
        untracked_after(db, truck["id"]),
    ):

        def from_the_worker() -> dict[str, Any] | None:
            response = admin.get("/api/v1/coordination/recoveries", params={"limit": 200})
            assert response.status_code == 200, response.text
            return next(
                (
                    r
                    for r in response.json()
                    if r["source"] == "samsara" and r["process"].startswith("worker:")
                ),
                None,
            )

        record = poll(
            from_the_worker, timeout=20, what="a recovery of the worker's Samsara failure"
        )
    assert record["strategy"] == STRATEGIES[record["class"]]


def test_a_failing_dependency_is_cut_off_for_every_process_and_the_rest_keeps_its_slo(
    api, sims, slo
):
    """Three failed SMS in a burst are below the breaker's own limit (5) and are not
    retried (a send is not idempotent): only the orchestrator's classification opens
    Twilio's breaker, for the API and the worker alike."""
    admin = api.as_role("admin")
    request_ids = [f"stream-a-{uuid.uuid4().hex[:12]}" for _ in range(3)]
    slo.declare("reads_during_outage", "p(95)<1000", "rate>=0.99")
    onboard_until_served_by(admin, "twilio")
    with sims["twilio"].failing(status=500):
        for request_id in request_ids:
            response = admin.post(
                "/api/v1/customers", json=customer_payload(), headers={"X-Request-ID": request_id}
            )
            assert response.status_code == 201, response.text  # onboarding degrades, not fails

        def fell_back() -> dict[str, Any] | None:
            for request_id in request_ids:
                for record in recoveries(admin, request_id):
                    if record["source"] == "twilio" and record["class"] == "dependency":
                        return record
            return None

        record = poll(fell_back, timeout=20, what="Twilio classified as a failed dependency")
        assert (record["strategy"], record["action"]) == ("fall_back", "breaker_opened")
        # opened in Redis, where every process's breaker of Twilio keeps its state (it
        # stays open until the next call after the reset time tries Twilio again)
        integrations = admin.get("/api/v1/integrations")
        assert integrations.status_code == 200, integrations.text
        assert {i["name"]: i["breaker"] for i in integrations.json()}["twilio"] == "open"
        # the other workflows keep their latency while Twilio is out
        for _ in range(10):
            with slo("reads_during_outage"):
                assert admin.get("/api/v1/plans").status_code == 200

    # Twilio is back: after the breaker's reset time a trial call closes it again
    onboard_until_served_by(admin, "twilio")


def test_a_ramping_error_rate_is_announced_as_a_predicted_breach(stack, redis, slo):
    """The orchestrator's forecasting on the real Redis and PostgreSQL, on a driven clock:
    ten simulated minutes cannot wait for wall-clock time. The announcement travels the
    real way (outbox, the worker's relay, Redis)."""
    source = f"stream-a-ramp-{uuid.uuid4().hex[:8]}"
    clock = [0.0]
    rng = random.Random(7)

    async def ramp() -> int:
        engine = make_engine(stack.postgres_url)
        client = Redis.from_url(stack.redis_url)
        try:
            orchestrator = Orchestrator(
                client,
                make_sessionmaker(engine),
                open_breaker=breaker_opener(stack.redis_url),
                breach_per_second=5.0,
                consumer="stream-a-test",
                clock=lambda: clock[0],
            )
            # one error a second for two minutes, then one more every minute: the rate
            # crosses 5 a second at 360 s
            for second in range(1, 361):
                rate = 1.0 + max(0, second - 120) / 60
                for _ in range(sum(rng.random() < rate / 10 for _ in range(10))):
                    orchestrator.count_error(source)
                clock[0] = float(second)
                if await orchestrator.forecast():
                    return second
            return 0
        finally:
            await client.aclose()
            await engine.dispose()

    with redis.subscribe("wms.events.coordination") as events, slo("error_orchestration"):
        announced_at = asyncio.run(ramp())
        assert 120 < announced_at < 360, "no prediction before the breach"
        prediction = events.wait_for(
            lambda e: e["type"] == "error.breach_predicted" and e["data"]["source"] == source,
            what="error.breach_predicted on Redis",
        )
    data = prediction["data"]
    assert data["threshold_per_second"] == 5.0
    assert data["errors_per_second"] < 5.0
    assert 0 < data["seconds_to_breach"] <= 120


def test_errors_of_an_unreachable_database_still_reach_the_orchestrator_which_sheds_load(
    api, faults, slo
):
    """The outbox cannot take the events when PostgreSQL is what failed: they go straight
    to the Redis stream, and the orchestrator's fallback for the database is to have the
    API shed its low-priority work."""
    admin = api.as_role("admin")
    request_id = f"stream-a-{uuid.uuid4().hex[:12]}"
    assert admin.get("/api/v1/plans").status_code == 200  # who the admin is, now cached
    with faults["postgres"].down(), slo("error_orchestration"):
        response = admin.get("/api/v1/plans", headers={"X-Request-ID": request_id})
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "database_unavailable"
        records = wait_for_recoveries(admin, request_id, {"api"})
        assert (records[0]["class"], records[0]["strategy"]) == ("dependency", "fall_back")
        assert records[0]["action"] == "low_priority_shed"
        shed = admin.get("/api/v1/coordination/timings")
        assert shed.status_code == 503, shed.text
        assert shed.json()["error"]["code"] == "degraded_shed"
    # the database is back: the worker's probe finds it well and the shedding ends
    poll(
        lambda: admin.get("/api/v1/coordination/timings").status_code == 200,
        timeout=10,
        what="low-priority work to be served again",
    )
