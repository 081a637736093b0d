"""WMS when its dependencies degrade or die: through the fault proxies and process faults."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll

pytestmark = pytest.mark.workflow


def ready(stack) -> int:
    return httpx.get(f"{stack.app_url}/health/ready", timeout=5).status_code


def test_database_latency_reaches_the_app_not_the_tests(stack, faults, db, api):
    latency = 0.25  # s, added to every answer of the database the app sees
    admin = api.as_role("admin")

    def timed() -> float:
        began = time.perf_counter()
        # reads the database, with no deadline of its own (readiness gives up after 1 s)
        assert admin.get(f"/api/v1/vehicles/{uuid.uuid4()}").status_code == 404
        return time.perf_counter() - began

    # the tests' own connection goes to the database itself, the app's through the proxy
    assert db.url == stack.postgres_url != stack.service_urls["postgres"]
    with faults["postgres"].latency(ms=latency * 1000):
        slowed = timed()
        assert db.query("SELECT 1 AS one") == [{"one": 1}]
    # a lower bound, so a busy machine cannot break it: the answer waited for the database
    assert slowed >= latency
    # removed with the block: answers no longer all wait that long (the fastest of five)
    assert min(timed() for _ in range(5)) < latency


def test_redis_down_makes_the_app_unready_and_it_recovers_alone(stack, faults):
    with faults["redis"].down():
        poll(lambda: ready(stack) == 503, timeout=10, what="readiness to go false")
    poll(lambda: ready(stack) == 200, timeout=10, what="readiness to come back")


def test_killing_redis_loses_no_event_and_wms_recovers_without_restart(
    stack, faults, api, db, redis
):
    app_pid = stack.processes["app"].pid
    faults.process("redis").kill()
    poll(lambda: ready(stack) == 503, timeout=10, what="readiness to go false")
    # work goes on while Redis is dead; the event waits in the outbox
    response = api.as_role("admin").post("/api/v1/customers", json=customer_payload())
    assert response.status_code == 201, response.text
    customer_id = response.json()["id"]
    outbox = db.one(
        "SELECT id, published_at FROM outbox WHERE type = 'customer.onboarded' "
        "AND payload->'data'->>'customer_id' = %s",
        (customer_id,),
    )
    assert outbox is not None
    assert outbox["published_at"] is None
    # hold the worker while Redis comes back, so our subscription is in place first
    worker = faults.process("worker")
    worker.pause()
    faults.process("redis").restart()
    with redis.subscribe("wms.events.customers") as events:
        worker.resume()
        event = events.wait_for(
            lambda e: e["data"]["customer_id"] == customer_id,
            what="the event held while Redis was down",
        )
    assert event["id"] == str(outbox["id"])
    poll(lambda: ready(stack) == 200, timeout=10, what="readiness to come back")
    assert stack.processes["app"].pid == app_pid  # WMS itself was never restarted


def test_a_paused_database_is_waited_for_and_the_app_carries_on(stack, faults, api):
    postgres = faults.process("postgres")
    postgres.pause()
    poll(lambda: ready(stack) == 503, timeout=10, what="readiness to go false")
    postgres.resume()
    poll(lambda: ready(stack) == 200, timeout=10, what="readiness to come back")
    assert api.as_role("admin").get("/api/v1/plans").status_code == 200
