"""The WebSocket hub: dashboards subscribe to event channels and receive events live.

One reader per API process feeds every local socket: it reads each channel's live Redis
stream (``wms:live:<channel>``, written by the outbox relay) on from the last entry it
handled, so after losing Redis it first forwards what was relayed meanwhile, in order, then
what comes next. Events are delivered at least once upstream, so the hub drops ids it has
already forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.asyncio import Redis

from wms.errors import Unauthorized
from wms.events import LIVE_STREAM_PREFIX, live_stream
from wms.events.live import resume_from
from wms.security import Principal

__all__ = ["CHANNELS", "CHANNEL_ROLES", "SCOPES", "Hub", "router"]

CHANNELS = ("customers", "notifications", "pickups", "routes", "vehicles", "billing", "security")

log = logging.getLogger("wms.ws")

#: how long one read waits for new entries, ms; below the Redis client's socket timeout
#: (5 s), which would otherwise end a quiet wait as a lost connection
READ_BLOCK_MS = 2000
#: entries one read takes at most, per stream
READ_COUNT = 500

Visibility = Callable[[Principal, dict[str, Any]], bool]


def _everything(principal: Principal, data: dict[str, Any]) -> bool:
    return True


def _own_customer(principal: Principal, data: dict[str, Any]) -> bool:
    return principal.customer_id is not None and str(principal.customer_id) == str(
        data.get("customer_id")
    )


def _own_route(principal: Principal, data: dict[str, Any]) -> bool:
    return str(principal.user_id) == str(data.get("driver_id"))


#: (role, channel) -> which of the channel's events that role hears. A pair without a
#: rule is closed: the role may not subscribe, and hears nothing.
SCOPES: dict[tuple[str, str], Visibility] = {
    **{("admin", c): _everything for c in CHANNELS},
    **{("dispatcher", c): _everything for c in CHANNELS if c != "security"},
    ("billing", "customers"): _everything,
    ("billing", "billing"): _everything,
    ("customer", "customers"): _own_customer,
    ("customer", "notifications"): _own_customer,
    ("customer", "pickups"): _own_customer,
    ("customer", "billing"): _own_customer,
    # a driver's stops come with their routes; the pickups channel names every customer
    ("driver", "routes"): _own_route,
    ("driver", "vehicles"): _everything,
}
#: which roles may subscribe to which channel (derived from SCOPES)
CHANNEL_ROLES: dict[str, frozenset[str]] = {
    c: frozenset(role for role, channel in SCOPES if channel == c) for c in CHANNELS
}


@dataclass(eq=False)
class Client:
    socket: WebSocket
    principal: Principal
    channels: set[str] = field(default_factory=set)
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(1000))


class Hub:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.clients: set[Client] = set()
        self._seen: OrderedDict[str, None] = OrderedDict()
        #: the pattern subscription is in place; times it was lost and made again
        self.subscribed = False
        self.resubscribed = 0

    async def run(self) -> None:
        """Forward Redis events to subscribed sockets until cancelled; reconnect on loss.

        Reads on from the last entry handled per channel, so events relayed while Redis
        was unreachable arrive (in order) once it is back; a Redis that lost its data is
        read from its streams' start.
        """
        # live stream -> id of the last entry handled (none yet: read what comes next)
        positions: dict[str, str] = {}
        while True:
            try:
                await self._resume(positions)
                self.subscribed = True
                while True:
                    streams: dict[Any, Any] = dict(positions)  # redis-py's key type
                    read: Any = await self.redis.xread(
                        streams,
                        count=READ_COUNT,
                        block=READ_BLOCK_MS,
                    )
                    if not read:
                        # quiet: check that the streams are still the ones we read
                        await self._resume(positions)
                        continue
                    for stream, entries in read:
                        name = _text(stream)
                        for entry_id, fields in entries:
                            positions[name] = _text(entry_id)
                            self._dispatch(name.removeprefix(LIVE_STREAM_PREFIX), fields)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed = False
                self.resubscribed += 1
                log.warning("event subscription lost (%s); retrying", exc)
                await asyncio.sleep(0.5)

    async def _resume(self, positions: dict[str, str]) -> None:
        """Set each stream's position from its newest entry in Redis now (see resume_from)."""
        streams = [live_stream(c) for c in CHANNELS]
        pipe = self.redis.pipeline(transaction=False)
        for stream in streams:
            pipe.xrevrange(stream, count=1)
        newest: list[Any] = await pipe.execute()
        for stream, entries in zip(streams, newest, strict=True):
            last = _text(entries[0][0]) if entries else None
            positions[stream] = resume_from(positions.get(stream), last)

    def _dispatch(self, channel: str, fields: dict[Any, Any]) -> None:
        try:
            # the field name is bytes unless the client decodes responses
            event = json.loads(fields.get(b"event") or fields["event"])
            event_id = str(event["id"])
        except (ValueError, KeyError, TypeError):
            return
        if event_id in self._seen:
            return
        self._seen[event_id] = None
        if len(self._seen) > 10_000:
            self._seen.popitem(last=False)
        for client in list(self.clients):
            if channel not in client.channels:
                continue
            if not _visible(client.principal, channel, event.get("data") or {}):
                continue
            with contextlib.suppress(asyncio.QueueFull):  # a stalled client loses, not us
                client.queue.put_nowait({"type": "event", "channel": channel, "event": event})


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _visible(principal: Principal, channel: str, data: dict[str, Any]) -> bool:
    rule = SCOPES.get((principal.role, channel))
    return rule is not None and rule(principal, data)


router = APIRouter()


@router.websocket("/ws")
async def websocket_endpoint(socket: WebSocket) -> None:
    from wms.api.deps import authenticate
    from wms.api.security_events import report_refusal

    services = socket.app.state.services
    origin = socket.headers.get("origin")
    address = socket.client.host if socket.client else "unknown"
    if origin is not None and origin not in services.settings.ws_allowed_origins:
        await socket.close(code=1008, reason="origin not allowed")
        report_refusal(services, "websocket_origin", client=address, path="/ws")
        return
    token = (
        socket.query_params.get("token")
        or socket.headers.get("authorization", "").removeprefix("Bearer ").strip()
    )
    try:
        principal = await authenticate(token, services)
    except Unauthorized:
        await socket.close(code=1008, reason="invalid or missing token")
        report_refusal(services, "websocket_token", client=address, path="/ws")
        return
    await socket.accept()
    hub: Hub = socket.app.state.hub
    client = Client(socket=socket, principal=principal)
    hub.clients.add(client)
    sender = asyncio.create_task(_pump(client))
    expiry = asyncio.create_task(_close_at_expiry(socket, principal))
    try:
        while True:
            try:
                request = json.loads(await socket.receive_text())
                action, channels = request["action"], list(request["channels"])
                if not all(isinstance(c, str) for c in channels):
                    raise TypeError("channel names are strings")
            except (ValueError, KeyError, TypeError):
                await socket.send_json(
                    {
                        "type": "error",
                        "message": 'expected {"action": "subscribe", "channels": [...]}',
                    }
                )
                continue
            if action != "subscribe":
                await socket.send_json({"type": "error", "message": f"unknown action {action!r}"})
                continue
            denied = [c for c in channels if principal.role not in CHANNEL_ROLES.get(c, ())]
            if denied:
                await socket.send_json(
                    {"type": "error", "message": "not allowed", "channels": denied}
                )
                continue
            client.channels.update(channels)
            await socket.send_json({"type": "subscribed", "channels": sorted(client.channels)})
    except WebSocketDisconnect:
        pass
    finally:
        hub.clients.discard(client)
        sender.cancel()
        expiry.cancel()


async def _close_at_expiry(socket: WebSocket, principal: Principal) -> None:
    """A session ends with its token: the socket closes when the token expires."""
    if principal.expires_at is None:
        return
    await asyncio.sleep(max(0.0, principal.expires_at - time.time()))
    with contextlib.suppress(Exception):
        await socket.close(code=1008, reason="token expired")


async def _pump(client: Client) -> None:
    with contextlib.suppress(Exception):
        while True:
            await client.socket.send_json(await client.queue.get())
