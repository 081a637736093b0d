"""Live events survive a hub that lost Redis: what was relayed while its connection was
cut reaches the subscribed sockets once it is back, in order and once each (issue 14)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll
from wms.db.session import make_engine, make_sessionmaker
from wms.events.relay import relay_once

pytestmark = pytest.mark.workflow

#: events committed while the hub is cut off
MISSED = 3


def hub_status(stack) -> str:
    health = httpx.get(f"{stack.app_url}/health", timeout=10).json()
    return health["security"]["redis"]["components"]["ws_hub"]["status"]


async def relay_straight_to_redis(database_url: str, redis_url: str) -> int:
    """The outbox relay, run on Redis itself rather than through the proxy the app uses."""
    engine = make_engine(database_url)
    redis = Redis.from_url(redis_url)
    try:
        return await relay_once(make_sessionmaker(engine), redis, batch=1000)
    finally:
        await redis.aclose()
        await engine.dispose()


def onboard(admin) -> str:
    response = admin.post("/api/v1/customers", json=customer_payload())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_events_relayed_while_the_hubs_redis_is_cut_reach_the_socket_in_order_once_back(
    stack, faults, api, ws, interlock_auth
):
    admin = api.as_role("admin")
    token = interlock_auth("admin")["Authorization"].removeprefix("Bearer ")
    live = ws.connect("/ws", token=token)
    live.send_json({"action": "subscribe", "channels": ["customers"]})
    live.wait_for(lambda f: f["type"] == "subscribed")
    worker = faults.process("worker")  # the test relays while the hub is cut
    worker.pause()
    try:
        with faults["redis"].down():
            poll(lambda: hub_status(stack) == "down", timeout=10, what="the hub to lose Redis")
            missed = [onboard(admin) for _ in range(MISSED)]
            # relayed (and published) now, while no hub of the app can hear it
            relayed = asyncio.run(relay_straight_to_redis(stack.postgres_url, stack.redis_url))
            assert relayed >= MISSED
    finally:
        worker.resume()
    poll(lambda: hub_status(stack) == "up", timeout=10, what="the hub to have Redis again")
    # relayed live by the worker: every frame before it is all the socket will get of the rest
    after = onboard(admin)

    def onboarded(frame) -> str | None:
        if frame["type"] != "event" or frame["event"]["type"] != "customer.onboarded":
            return None
        return str(frame["event"]["data"]["customer_id"])

    live.wait_for(lambda f: onboarded(f) == after, what="the event relayed after the cut")
    heard = [onboarded(f) for f in live.received if onboarded(f) in {*missed, after}]
    assert heard == [*missed, after]
