"""The outbox relay: publish unpublished events to Redis, mark them published.

Each event goes to its channel's pub/sub channel (``wms.events.<channel>``, heard by
whoever listens at that moment) and to its capped live stream (``wms:live:<channel>``,
read by the WebSocket hub, which reads on from its last id after losing Redis); error
events go to the orchestrator's stream only. Delivery is at least once: an event is
marked only after Redis took it, so a crash in between publishes it again on the next
pass, and consumers dedupe by event id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.asyncio import Redis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from wms.db.models import OutboxEvent
from wms.events import LIVE_STREAM_MAXLEN, STREAM_MAXLEN, STREAMS, live_stream, redis_channel

__all__ = ["relay_all", "relay_once"]

log = logging.getLogger("wms.events")


async def relay_once(
    sessions: async_sessionmaker,  # type: ignore[type-arg]
    redis: Redis,
    *,
    batch: int = 100,
    live_maxlen: int = LIVE_STREAM_MAXLEN,
) -> int:
    """Publish up to ``batch`` pending events in order; return how many were published.

    ``live_maxlen``: entries each live stream keeps (roughly). Raises redis' errors when
    Redis did not take the batch; its events stay pending then.
    """
    async with sessions() as session, session.begin():
        rows = (
            (
                await session.execute(
                    select(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                    .order_by(OutboxEvent.created_at, OutboxEvent.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
        # one round trip per batch; MULTI makes an event's stream entry and its publish
        # one act, so pub/sub listeners and live readers see the same events
        pipe = redis.pipeline(transaction=True)
        for event in rows:
            body = json.dumps(event.payload)
            stream = STREAMS.get(event.channel)
            if stream is not None:
                pipe.xadd(stream, {"event": body}, maxlen=STREAM_MAXLEN, approximate=True)
                continue
            pipe.xadd(
                live_stream(event.channel), {"event": body}, maxlen=live_maxlen, approximate=True
            )
            pipe.publish(redis_channel(event.channel), body)
        if rows:
            await pipe.execute()
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([e.id for e in rows]))
                .values(published_at=datetime.now(UTC))
            )
    return len(rows)


def relay_all(
    sessions: async_sessionmaker,  # type: ignore[type-arg]
    redis: Redis,
    *,
    live_maxlen: int = LIVE_STREAM_MAXLEN,
) -> Callable[[], Awaitable[int]]:
    """A job for ``wms.loops.every``: publishes every pending event; returns how many."""

    async def job() -> int:
        published = 0
        while (batch := await relay_once(sessions, redis, live_maxlen=live_maxlen)) > 0:
            published += batch
        return published

    return job
