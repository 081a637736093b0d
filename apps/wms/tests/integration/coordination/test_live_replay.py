"""Live events survive a hub that lost Redis: what was relayed while its connection was
cut reaches the subscribed sockets once it is back, in order and once each (issue 14)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll
from wms.db.session import make_engine, make_sessionmaker
from wms.events import live_stream
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


@pytest.fixture
def dashboard(ws, interlock_auth):
    token = interlock_auth("admin")["Authorization"].removeprefix("Bearer ")
    live = ws.connect("/ws", token=token)
    live.send_json({"action": "subscribe", "channels": ["customers"]})
    live.wait_for(lambda f: f["type"] == "subscribed")
    return live


def onboarded(frame) -> str | None:
    """The customer id of a customer.onboarded event frame, else None."""
    if frame["type"] != "event" or frame["event"]["type"] != "customer.onboarded":
        return None
    return str(frame["event"]["data"]["customer_id"])


def heard_in_order(stack, api, dashboard, missed: list[str]) -> None:
    """Every missed event reached the socket once, in order, before one relayed live after."""
    poll(lambda: hub_status(stack) == "up", timeout=10, what="the hub to have Redis again")
    # relayed live by the worker: every frame before it is all the socket gets of the rest
    after = onboard(api.as_role("admin"))
    dashboard.wait_for(lambda f: onboarded(f) == after, what="the event relayed after the cut")
    heard = [onboarded(f) for f in dashboard.received if onboarded(f) in {*missed, after}]
    assert heard == [*missed, after]


def test_events_relayed_while_the_hubs_redis_is_cut_reach_the_socket_in_order_once_back(
    stack, faults, api, dashboard
):
    worker = faults.process("worker")  # the test relays while the hub is cut
    worker.pause()
    try:
        with faults["redis"].down():
            poll(lambda: hub_status(stack) == "down", timeout=10, what="the hub to lose Redis")
            missed = [onboard(api.as_role("admin")) for _ in range(MISSED)]
            # relayed (and published) now, while no hub of the app can hear it
            relayed = asyncio.run(relay_straight_to_redis(stack.postgres_url, stack.redis_url))
            assert relayed >= MISSED
    finally:
        worker.resume()
    heard_in_order(stack, api, dashboard, missed)


def test_a_redis_that_lost_its_data_is_read_from_its_new_streams_start(
    stack, faults, api, dashboard
):
    worker = faults.process("worker")
    worker.pause()
    try:
        with faults["redis"].down():
            poll(lambda: hub_status(stack) == "down", timeout=10, what="the hub to lose Redis")
            redis = faults.process("redis")
            redis.kill()
            redis.restart()
            with SyncRedis.from_url(stack.redis_url) as direct:
                assert direct.exists(live_stream("customers")) == 0  # the streams are gone
            missed = [onboard(api.as_role("admin")) for _ in range(MISSED)]
            # these make the streams anew, before the hub is back to read them
            relayed = asyncio.run(relay_straight_to_redis(stack.postgres_url, stack.redis_url))
            assert relayed >= MISSED
    finally:
        worker.resume()
    heard_in_order(stack, api, dashboard, missed)
