"""Events survive a worker crash between the database commit and the Redis publish."""

from __future__ import annotations

import pytest
from tests.integration.helpers.factories import customer_payload

pytestmark = pytest.mark.workflow

#: how long a restarted worker may take to relay what was left, s: its ready_timeout
RELAY_BOUND_S = 30


def test_event_committed_while_the_worker_is_dead_is_delivered_after_restart(api, db, redis, stack):
    worker = stack.processes["worker"]
    worker.kill()
    try:
        with redis.subscribe("wms.events.customers") as events:
            response = api.as_role("admin").post("/api/v1/customers", json=customer_payload())
            assert response.status_code == 201, response.text
            customer_id = response.json()["id"]
            # committed with the customer, not yet published: nobody relays it
            pending = db.one(
                "SELECT id, published_at FROM outbox WHERE type = 'customer.onboarded' "
                "AND payload->'data'->>'customer_id' = %s",
                (customer_id,),
            )
            assert pending is not None
            assert pending["published_at"] is None
            worker.restart()  # returns once the worker answers ready
            # The relay commits published_at only after Redis took the event, so once the
            # mark is visible the event is already on its way to this subscription. How
            # soon a restarted worker reaches its first pass depends on the machine's
            # load, which WMS promises nothing about: that wait is bounded generously (the
            # worker's own start-up bound), and the delivery is then checked on its own.
            db.wait_for_row(
                "SELECT 1 FROM outbox WHERE id = %s AND published_at IS NOT NULL",
                (pending["id"],),
                timeout=RELAY_BOUND_S,
                what="the restarted worker to mark the event published",
            )
            event = events.wait_for(
                lambda e: e["data"]["customer_id"] == customer_id,
                what="the event the relay marked published",
            )
        assert event["id"] == str(pending["id"])
    finally:
        if not worker.running():
            worker.restart()
