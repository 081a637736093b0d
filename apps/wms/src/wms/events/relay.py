"""The outbox relay: publish unpublished events to Redis, mark them published.

Delivery is at least once: an event is marked only after Redis took it, so a crash in
between publishes it again on the next pass, and consumers dedupe by event id.
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
from wms.events import STREAM_MAXLEN, STREAMS, redis_channel

__all__ = ["relay_once"]

log = logging.getLogger("wms.events")


async def relay_once(sessions: async_sessionmaker, redis: Redis, *, batch: int = 100) -> int:  # type: ignore[type-arg]
    """Publish up to ``batch`` pending events in order; return how many were published."""
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
        for event in rows:
            stream = STREAMS.get(event.channel)
            if stream is not None:
                await redis.xadd(
                    stream,
                    {"event": json.dumps(event.payload)},
                    maxlen=STREAM_MAXLEN,
                    approximate=True,
                )
                continue
            await redis.publish(redis_channel(event.channel), json.dumps(event.payload))
        if rows:
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_([e.id for e in rows]))
                .values(published_at=datetime.now(UTC))
            )
    return len(rows)


def relay_all(
    sessions: async_sessionmaker,  # type: ignore[type-arg]
    redis: Redis,
) -> Callable[[], Awaitable[int]]:
    """A job for ``wms.loops.every``: publishes every pending event; returns how many."""

    async def job() -> int:
        published = 0
        while (batch := await relay_once(sessions, redis)) > 0:
            published += batch
        return published

    return job
