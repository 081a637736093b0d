"""Domain events: written to the outbox with the change that causes them, published on Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from wms.db.models import OutboxEvent

__all__ = [
    "CHANNEL_PREFIX",
    "ERROR_STREAM",
    "LIVE_STREAM_MAXLEN",
    "OUTBOX_NOTIFY",
    "STREAMS",
    "STREAM_MAXLEN",
    "emit",
    "live_stream",
    "new_event",
    "redis_channel",
]

#: PostgreSQL NOTIFY channel; delivered on commit, so the relay wakes for committed events only
OUTBOX_NOTIFY = "wms_outbox"

#: Redis channel of a WMS event channel: ``wms.events.<channel>``
CHANNEL_PREFIX = "wms.events."


#: Redis stream the error orchestrator reads (wms.coordination.orchestrator)
ERROR_STREAM = "wms:errors"
#: outbox channels relayed to a Redis stream (kept until read and acknowledged) instead of
#: published (heard only by whoever listens at that moment)
STREAMS = {"errors": ERROR_STREAM}
#: entries a stream keeps at most (roughly: trimmed lazily by Redis)
STREAM_MAXLEN = 100_000


#: Redis stream that keeps a WMS event channel's recent events for live readers (the
#: WebSocket hub), so a reader that lost Redis for a while reads on from where it was
LIVE_STREAM_PREFIX = "wms:live:"
#: entries a live stream keeps by default (roughly); ``Settings.live_stream_maxlen``
LIVE_STREAM_MAXLEN = 10_000


def redis_channel(channel: str) -> str:
    return CHANNEL_PREFIX + channel


def live_stream(channel: str) -> str:
    """The live stream of a WMS event channel: ``wms:live:<channel>``."""
    return LIVE_STREAM_PREFIX + channel


def new_event(channel: str, type_: str, data: dict[str, Any]) -> OutboxEvent:
    """An outbox row; add it to the session of the change it describes."""
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": type_,
        "channel": channel,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": data,
    }
    return OutboxEvent(id=event_id, channel=channel, type=type_, payload=payload)


async def emit(
    session: AsyncSession, channel: str, type_: str, data: dict[str, Any]
) -> OutboxEvent:
    """Write an event into the outbox within the session's transaction, and wake the relay."""
    event = new_event(channel, type_, data)
    session.add(event)
    await session.execute(text(f"NOTIFY {OUTBOX_NOTIFY}"))
    return event
