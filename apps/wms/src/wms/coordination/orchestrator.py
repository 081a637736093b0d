"""The error orchestrator (in the worker): classify each error event, recover, record.

It reads ``wms:errors`` as the consumer group ``orchestrator`` (so an event is handled
once by one worker even when several run, and one left unacknowledged by a worker that
died is claimed by another after ``CLAIM_IDLE_MS``), dedupes by event id (delivery is at
least once), and for each event:

- classifies it: **dependency** (a dependency is unavailable: an open breaker, the
  database refusing, or one external service failing after its retries
  ``DEPENDENCY_BURST`` times within ``BURST_SECONDS``), **permanent** (a bug or a refusal
  that no retry can fix), or **transient** (anything else: one timeout, one shed call, a
  failed turn of one of WMS's own loops);
- runs the class's strategy: transient → ``retry_later`` (the component that failed owns
  the retry: the resilience layer's backoff, the loop's next turn, the client's
  Retry-After; the record says when it is due, and a source that keeps failing turns into
  a dependency failure); dependency → ``fall_back`` (an external service's shared breaker
  is opened for every process, so callers take their fallback paths at once instead of
  each waiting out its timeouts, but only when no call succeeded among or after the
  failures (the breaker's count of consecutive failures covers every attempt they
  made): an intermittent fault is left to the breaker, and late news of an outage never
  cuts off a service that is back; for PostgreSQL the API sheds its low-priority endpoints,
  as when the database probe finds it slow: ``wms.coordination.degradation``);
  permanent → ``escalate`` (an ``error.escalated`` event for operators), unless the event
  carries the undo of what a provider did and WMS cannot keep (``details["compensation"]``,
  e.g. a second charge of a settled invoice): then ``compensate`` runs that undo
  (``wms.coordination.compensation``: the charge is refunded) and records its outcome;
- records what it did on the stream ``wms:coordination:recoveries`` (queryable through
  ``GET /api/v1/coordination/recoveries``).

Once a second it feeds each source's error rate (errors per second) to a trend forecaster
and emits ``error.breach_predicted`` with the expected seconds to breach.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.coordination.compensation import DUPLICATE_CHARGE, Compensate
from wms.coordination.degradation import DEGRADED_KEY
from wms.coordination.forecast import TrendForecaster
from wms.events import ERROR_STREAM, emit
from wms.integrations.resilience import PRIORITIES

__all__ = [
    "COORDINATION_CHANNEL",
    "RECOVERIES",
    "ErrorClass",
    "Orchestrator",
    "classify",
    "recoveries",
]

log = logging.getLogger("wms.coordination.orchestrator")

ErrorClass = Literal["transient", "dependency", "permanent"]

#: outbox channel of what coordination announces (published on ``wms.events.coordination``)
COORDINATION_CHANNEL = "coordination"
GROUP = "orchestrator"
RECOVERIES = "wms:coordination:recoveries"
CLAIM_IDLE_MS = 30_000
DEPENDENCY_BURST = 3
BURST_SECONDS = 10.0
STRATEGIES: dict[ErrorClass, str] = {
    "transient": "retry_later",
    "dependency": "fall_back",
    "permanent": "escalate",
}
#: the dependency is down whatever the count
_DEPENDENCY_KINDS = frozenset({"circuit_open", "database_unavailable"})
#: a dependency that failed after its retries: down if it keeps doing so (a shed call is
#: our own load, never the dependency's fault)
_BURST_KINDS = frozenset({"upstream_unavailable"})
#: a bug of ours, a refusal retrying cannot change, or a provider's act to undo
_PERMANENT_KINDS = frozenset({"internal_error", "upstream_error", DUPLICATE_CHARGE})

#: opens the shared breaker of a service whose last N attempts all failed; returns the
#: action taken (``wms.coordination.loops.breaker_opener``)
OpenBreaker = Callable[[str, int], Awaitable[str]]


def dependency_of(source: str, kind: str, details: dict[str, Any]) -> str | None:
    """The dependency an error is about: PostgreSQL, or an external service (the source,
    or the service an API error names); None for WMS's own code (a request, a loop)."""
    if kind == "database_unavailable":
        return "postgres"
    for name in (source, details.get("service")):
        if name in PRIORITIES:
            return str(name)
    return None


def classify(
    kind: str, dependency: str | None, recent_of_source: int, *, source: str
) -> ErrorClass:
    """The class of an error of ``kind`` about ``dependency`` (see ``dependency_of``) whose
    ``source`` failed ``recent_of_source`` times (this one included) within
    ``BURST_SECONDS``. Only the adapter's own events count towards a burst: they say how
    many attempts failed, which the API's event of the same failure does not."""
    if kind in _PERMANENT_KINDS:
        return "permanent"
    if dependency is None:
        return "transient"
    if kind in _DEPENDENCY_KINDS:
        return "dependency"
    burst = kind in _BURST_KINDS and source == dependency
    return "dependency" if burst and recent_of_source >= DEPENDENCY_BURST else "transient"


class Orchestrator:
    """See the module's docstring. ``clock`` gives seconds (monotonic or simulated)."""

    def __init__(
        self,
        redis: Redis,
        sessions: async_sessionmaker[AsyncSession],
        *,
        open_breaker: OpenBreaker,
        breach_per_second: float,
        consumer: str,
        clock: Callable[[], float] = time.monotonic,
        compensate: Compensate | None = None,
    ) -> None:
        self.redis = redis
        #: runs an event's ``compensation``; without one such events are escalated
        self.compensate = compensate
        self.sessions = sessions
        self.open_breaker = open_breaker
        self.breach_per_second = breach_per_second
        self.consumer = consumer
        self.clock = clock
        #: per source: (when, attempts the breaker counted) of its recent errors
        self._recent: dict[str, deque[tuple[float, int]]] = defaultdict(deque)
        self._counts: dict[str, int] = defaultdict(int)
        self._forecasters: dict[str, TrendForecaster] = {}
        self._ready = False

    async def _ensure_group(self) -> None:
        if self._ready:
            return
        try:
            # from the stream's start: events written before any worker ran are handled too
            await self.redis.xgroup_create(ERROR_STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._ready = True

    async def handle_pending(self, *, block_ms: int = 500) -> int:
        """Handle what is waiting on the stream (blocking up to ``block_ms`` for it);
        return how many events were handled."""
        await self._ensure_group()
        claimed: Any = await self.redis.xautoclaim(
            ERROR_STREAM, GROUP, self.consumer, min_idle_time=CLAIM_IDLE_MS, count=100
        )
        entries: list[Any] = list(claimed[1]) if claimed else []
        read: Any = await self.redis.xreadgroup(
            GROUP, self.consumer, {ERROR_STREAM: ">"}, count=100, block=block_ms
        )
        for _, batch in read or []:
            entries.extend(batch)
        for entry_id, fields in entries:
            await self._handle_entry(entry_id, fields)
        return len(entries)

    async def _handle_entry(self, entry_id: Any, fields: dict[Any, Any]) -> None:
        raw = fields.get(b"event") or fields.get("event")
        try:
            event = json.loads(raw) if raw is not None else None
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
            log.error("unreadable error event %s dropped: %r", entry_id, raw)
        elif not await self.redis.exists(seen := f"wms:errors:seen:{event['id']}"):
            await self.recover(event)
            # marked once done: a worker dying in between has the event handled again
            # (at least once), never lost
            await self.redis.set(seen, 1, ex=86_400)
        await self.redis.xack(ERROR_STREAM, GROUP, entry_id)

    async def recover(self, event: dict[str, Any]) -> dict[str, Any]:
        """Classify one error event, run its strategy and record it; return the record."""
        data = event["data"]
        source, kind = str(data.get("source", "unknown")), str(data.get("kind", "unknown"))
        now = self.clock()
        details = data.get("details") or {}
        recent = self._recent[source]
        recent.append((now, int(details.get("attempts") or 0)))
        while recent and recent[0][0] < now - BURST_SECONDS:
            recent.popleft()
        self.count_error(source)
        dependency = dependency_of(source, kind, details)
        error_class = classify(kind, dependency, len(recent), source=source)
        strategy = STRATEGIES[error_class]
        if error_class == "permanent" and isinstance(details.get("compensation"), dict):
            strategy = "compensate"
        record: dict[str, Any] = {
            "event_id": event["id"],
            "request_id": data.get("request_id"),
            "process": details.get("process"),
            "source": source,
            "kind": kind,
            "class": error_class,
            "strategy": strategy,
            "decided_at": datetime.now(UTC).isoformat(),
        }
        # this event's own attempts, not the burst's sum: the burst is this process's memory,
        # while the breaker's count is shared and may have been reset since (a success, or
        # a reset of transient state), so a sum could call consecutive failures intermittent
        attempts = recent[-1][1]
        record.update(await self._run(strategy, dependency, data, len(recent), attempts))
        await self.redis.xadd(RECOVERIES, {"record": json.dumps(record)}, maxlen=10_000)
        return record

    async def _run(
        self,
        strategy: str,
        dependency: str | None,
        data: dict[str, Any],
        recent: int,
        attempts: int,
    ) -> dict[str, Any]:
        if strategy == "retry_later":
            delay = min(60.0, 2.0 ** (recent - 1))
            return {"action": "retry_by_owner", "retry_after_s": delay}
        if strategy == "fall_back" and dependency == "postgres":
            # the API sheds its low-priority endpoints while this lasts (or the probe
            # says the database is back)
            detail = {"by": "orchestrator", "kind": data.get("kind")}
            await self.redis.set(DEGRADED_KEY, json.dumps(detail), ex=int(BURST_SECONDS * 3))
            return {"action": "low_priority_shed", "dependency": dependency}
        if strategy == "fall_back" and dependency is not None:
            action = await self.open_breaker(dependency, attempts)
            return {"action": action, "dependency": dependency}
        if strategy == "compensate" and self.compensate is not None:
            # raises when the provider or the database fails: the event stays pending
            # and is handled again (the undo is idempotent)
            return await self.compensate(data["details"]["compensation"])
        await self._announce("error.escalated", data)
        if strategy == "compensate":
            return {"action": "escalated", "reason": "no compensation in this process"}
        return {"action": "escalated"}

    async def _announce(self, type_: str, data: dict[str, Any]) -> None:
        async with self.sessions() as session, session.begin():
            await emit(session, COORDINATION_CHANNEL, type_, data)

    def count_error(self, source: str) -> None:
        """Count one error of ``source`` towards its error rate (``recover`` does)."""
        self._counts[source] += 1

    async def forecast(self) -> int:
        """Feed each source's errors of the last turn to its forecaster, announce the
        breaches it predicts; return how many were announced. Call once a second."""
        now = self.clock()
        announced = 0
        for source in list(self._counts):
            count, self._counts[source] = self._counts[source], 0
            forecaster = self._forecasters.setdefault(
                source, TrendForecaster(threshold=self.breach_per_second)
            )
            prediction = forecaster.observe(now, float(count))
            if prediction is None:
                continue
            await self._announce(
                "error.breach_predicted",
                {
                    "source": source,
                    "errors_per_second": round(prediction.level, 3),
                    "threshold_per_second": prediction.threshold,
                    "seconds_to_breach": round(prediction.seconds_to_breach, 1),
                },
            )
            announced += 1
        return announced

    async def run(self, stop: asyncio.Event) -> None:
        """Handle events and forecast once a second until ``stop``; a failed turn is
        logged and the next one tried (Redis or PostgreSQL may be down for a while)."""
        next_forecast = self.clock() + 1.0
        while not stop.is_set():
            try:
                await self.handle_pending()
                if self.clock() >= next_forecast:
                    next_forecast = self.clock() + 1.0
                    await self.forecast()
            except Exception as exc:
                log.warning("error orchestration turn failed: %s", exc)
                self._ready = False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)


async def recoveries(
    redis: Redis, *, request_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The latest recovery records, newest first (only those of ``request_id`` if given)."""
    found: list[dict[str, Any]] = []
    last: str = "+"
    while len(found) < limit:
        entries: Any = await redis.xrevrange(RECOVERIES, max=last, count=500)
        if not entries:
            break
        for _, fields in entries:
            record = json.loads(fields.get(b"record") or fields.get("record"))
            if request_id is None or record.get("request_id") == request_id:
                found.append(record)
        oldest = entries[-1][0]
        last = "(" + (oldest.decode() if isinstance(oldest, bytes) else str(oldest))
        if len(entries) < 500:
            break
    return found[:limit]
