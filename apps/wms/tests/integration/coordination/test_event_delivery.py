"""Events survive a worker crash between the database commit and the Redis publish."""

from __future__ import annotations

import pytest
from tests.integration.helpers.factories import customer_payload

pytestmark = pytest.mark.workflow


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
            worker.restart()
            event = events.wait_for(
                lambda e: e["data"]["customer_id"] == customer_id,
                what="the event relayed after the restart",
            )
        assert event["id"] == str(pending["id"])
        db.wait_for_row(
            "SELECT 1 FROM outbox WHERE id = %s AND published_at IS NOT NULL",
            (pending["id"],),
            what="the event marked published",
        )
    finally:
        if not worker.running():
            worker.restart()
