"""Structured error events: what failed, where, for which request, and when.

Every failure WMS answers or swallows (an API request's 5xx, a worker loop's failed turn,
an external service's refusal, timeout or open breaker) becomes an ``ErrorEvent``. The
process's ``ErrorReporter`` collects them without blocking the code that failed, and
writes them in batches into the outbox (channel ``errors``), which the relay appends to
the Redis stream ``wms:errors`` that the orchestrator reads: delivery is at least once and
survives a Redis outage. When PostgreSQL itself is what failed, the outbox cannot take
them, so the batch goes straight to the stream; only when both are unreachable is it lost,
and that loss is logged with its size.

A process installs its reporter once (``open_core`` does); code that fails calls
``report_error``, which does nothing in a process without one (a unit test, a script).
Events of one request share its request id (``X-Request-ID``, or one WMS makes up), kept
in a context variable so an adapter's failure names the request that called it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.events import ERROR_STREAM, emit, new_event

__all__ = [
    "ERRORS_CHANNEL",
    "ErrorEvent",
    "ErrorReporter",
    "current_request_id",
    "installed",
    "report_error",
    "request_scope",
]

log = logging.getLogger("wms.coordination.errors")

#: outbox channel of error events (the relay appends it to ``ERROR_STREAM``)
ERRORS_CHANNEL = "errors"
#: type of every error event in the outbox and on the stream
ERROR_TYPE = "error.occurred"

_request_id: ContextVar[str | None] = ContextVar("wms_request_id", default=None)
_reporter: ErrorReporter | None = None


def current_request_id() -> str | None:
    """The id of the request (or worker turn) this code runs for, if any."""
    return _request_id.get()


@contextlib.contextmanager
def request_scope(request_id: str | None = None) -> Iterator[str]:
    """Run the block as part of one request: errors reported inside carry its id."""
    rid = request_id or uuid.uuid4().hex
    token = _request_id.set(rid)
    try:
        yield rid
    finally:
        _request_id.reset(token)


@dataclass(frozen=True, kw_only=True)
class ErrorEvent:
    """One failure. ``kind`` is WMS's error code (``upstream_unavailable``,
    ``circuit_open``, ``database_unavailable``, ``internal_error``, ``job_failed``...);
    ``source`` is where it happened: ``api``, ``worker``, or an external service's name."""

    kind: str
    source: str
    message: str
    request_id: str | None = field(default_factory=current_request_id)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: the HTTP status the failure was answered with, when it was answered
    status: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "message": self.message[:500],
            "request_id": self.request_id,
            "occurred_at": self.occurred_at.isoformat(),
            "status": self.status,
            "details": self.details,
        }


class ErrorReporter:
    """Collects one process's error events and delivers them (see the module's docstring).

    ``report`` never blocks and never raises; past ``capacity`` waiting events the oldest
    are dropped (and counted in ``dropped``), so a storm of failures cannot eat the
    process's memory.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        *,
        process: str,
        capacity: int = 10_000,
    ) -> None:
        self.sessions = sessions
        self.redis = redis
        self.process = process
        self.dropped = 0
        self.lost = 0
        self._queue: asyncio.Queue[ErrorEvent] = asyncio.Queue(capacity)

    def report(self, event: ErrorEvent) -> None:
        event = dataclasses.replace(event, details={"process": self.process, **event.details})
        while True:
            try:
                self._queue.put_nowait(event)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self.dropped += 1

    async def flush(self, *, first: ErrorEvent | None = None) -> int:
        """Deliver every waiting event (after ``first``); return how many were delivered."""
        batch: list[ErrorEvent] = [first] if first is not None else []
        while not self._queue.empty():
            batch.append(self._queue.get_nowait())
        if not batch:
            return 0
        try:
            async with self.sessions() as session, session.begin():
                for event in batch[:-1]:
                    session.add(new_event(ERRORS_CHANNEL, ERROR_TYPE, event.data()))
                await emit(session, ERRORS_CHANNEL, ERROR_TYPE, batch[-1].data())
            return len(batch)
        except Exception as exc:
            log.warning("error events not written to the outbox (%s); straight to Redis", exc)
        try:
            for event in batch:
                payload = new_event(ERRORS_CHANNEL, ERROR_TYPE, event.data()).payload
                await self.redis.xadd(ERROR_STREAM, {"event": json.dumps(payload)})
            return len(batch)
        except Exception as exc:
            self.lost += len(batch)
            log.error(
                "%d error event(s) lost: neither PostgreSQL nor Redis took them (%s)",
                len(batch),
                exc,
            )
            return 0

    async def run(self) -> None:
        """Deliver events as they come, until cancelled (then deliver what is left)."""
        try:
            while True:
                await self.flush(first=await self._queue.get())
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())


@contextlib.contextmanager
def installed(reporter: ErrorReporter) -> Iterator[ErrorReporter]:
    """Make ``reporter`` the one ``report_error`` uses in this process, for the block."""
    global _reporter
    previous, _reporter = _reporter, reporter
    try:
        yield reporter
    finally:
        _reporter = previous


def report_error(
    kind: str,
    source: str,
    message: str,
    *,
    status: int | None = None,
    **details: Any,
) -> None:
    """Report a failure to this process's reporter (none installed: nothing to do).

    Call it on the event loop's thread (the reporter's queue is an asyncio one); an SDK
    call running in a worker thread reports through ``ExternalService.call``, which does."""
    if _reporter is not None:
        _reporter.report(
            ErrorEvent(kind=kind, source=source, message=message, status=status, details=details)
        )
