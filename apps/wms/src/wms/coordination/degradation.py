"""Database degradation: detected by the worker, announced, and low-priority work shed.

The worker probes PostgreSQL (``SELECT 1`` through its own pool, so through whatever the
API's connections go through too) every ``interval`` seconds. ``Detector`` turns the
probe latencies into a state with hysteresis: degraded when the median of the last
``window`` probes exceeds ``degraded_ms`` (a probe with no answer within the timeout
counts as the timeout), recovered when that median is below half of it. Each transition
is announced through the outbox (``performance.degraded`` / ``performance.recovered`` on
channel ``performance``), and while degraded the worker keeps the Redis key
``wms:performance:degraded`` alive (it expires by itself if the worker dies, so a dead
worker cannot leave the API shedding forever).

``LowPriorityShedding`` (ASGI middleware in the API) answers requests to the endpoints in
``LOW_PRIORITY`` with 503 ``degraded_shed`` and ``Retry-After`` while the key exists, so
the slowed database serves the work that matters (payments, pickups, health) first. The
error orchestrator sets the same key when requests find the database unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from wms.events import emit

__all__ = ["DEGRADED_KEY", "LOW_PRIORITY", "Detector", "LowPriorityShedding", "Prober"]

log = logging.getLogger("wms.coordination.degradation")

DEGRADED_KEY = "wms:performance:degraded"
PERFORMANCE_CHANNEL = "performance"
#: path prefixes of work that can wait while the database is slow: analysis (EXPLAINs);
#: what operators need during the incident (recoveries, integrations) is kept
LOW_PRIORITY = ("/api/v1/coordination/recommendations", "/api/v1/coordination/timings")

State = Literal["normal", "degraded"]


class Detector:
    """Probe latencies in, state transitions out (see the module's docstring)."""

    def __init__(self, *, degraded_ms: float, window: int = 4) -> None:
        self.degraded_ms = degraded_ms
        self.state: State = "normal"
        self._recent: deque[float] = deque(maxlen=window)

    @property
    def median_ms(self) -> float:
        return statistics.median(self._recent) if self._recent else 0.0

    def observe(self, ms: float) -> State | None:
        """Take one probe's latency; return the new state when it changed."""
        self._recent.append(ms)
        if len(self._recent) < (self._recent.maxlen or 1):
            return None
        if self.state == "normal" and self.median_ms > self.degraded_ms:
            self.state = "degraded"
            return self.state
        if self.state == "degraded" and self.median_ms < self.degraded_ms / 2:
            self.state = "normal"
            return self.state
        return None


class Prober:
    """The worker's probe loop; ``run`` until ``stop``."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        *,
        degraded_ms: float,
        interval: float = 0.25,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.redis = redis
        self.detector = Detector(degraded_ms=degraded_ms)
        self.interval = interval
        self.clock = clock
        #: probes give up after this long: slow enough to be degraded, whatever the cause
        self.timeout = max(1.0, 4 * degraded_ms / 1000)
        self._unannounced: list[tuple[str, dict[str, Any]]] = []

    async def probe(self) -> float:
        """One probe's latency in ms (the timeout's, if no answer came in time)."""
        began = self.clock()

        async def ask() -> None:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        task = asyncio.ensure_future(ask())
        # asyncio.wait, not wait_for: cancelling a query on a frozen server can hang too
        await asyncio.wait([task], timeout=self.timeout)
        if not task.done():
            task.cancel()
            return self.timeout * 1000
        if task.exception() is not None:
            return self.timeout * 1000
        return (self.clock() - began) * 1000

    async def turn(self) -> State | None:
        """Probe once; announce and share a change of state; return it."""
        ms = await self.probe()
        changed = self.detector.observe(ms)
        detail: dict[str, Any] = {
            "median_probe_ms": round(self.detector.median_ms, 1),
            "threshold_ms": self.detector.degraded_ms,
        }
        if self.detector.state == "degraded":
            await self.redis.set(DEGRADED_KEY, json.dumps(detail), ex=max(2, int(self.timeout * 3)))
        elif changed == "normal" or ms < self.detector.degraded_ms / 2:
            # this probe found the database well: whoever marked it degraded (also the
            # error orchestrator, on requests it refused) is proved wrong now
            await self.redis.delete(DEGRADED_KEY)
        if changed is not None:
            type_ = "performance.degraded" if changed == "degraded" else "performance.recovered"
            log.warning("database %s: %s", changed, detail)
            self._unannounced.append((type_, {"dependency": "postgres", **detail}))
        await self._announce()
        return changed

    async def _announce(self) -> None:
        """Announce the transitions not yet announced, in order: the outbox cannot take
        them while the database is unreachable, so they wait here until it can."""
        while self._unannounced:
            type_, data = self._unannounced[0]
            async with self.sessions() as session, session.begin():
                await emit(session, PERFORMANCE_CHANNEL, type_, data)
            self._unannounced.pop(0)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            began = self.clock()
            try:
                await self.turn()
            except Exception as exc:
                log.warning("database probe turn failed: %s", exc)
            rest = self.interval - (self.clock() - began)
            if rest > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), rest)


class LowPriorityShedding:
    """ASGI middleware: 503 to low-priority endpoints while the database is degraded.

    The Redis key is read at most every ``refresh`` seconds per process; Redis being
    unreachable counts as not degraded (shedding is an optimisation, not a safety rule).
    """

    def __init__(
        self, app: ASGIApp, *, redis: Callable[[], Redis | None], refresh: float = 0.25
    ) -> None:
        self.app = app
        self.redis = redis
        self.refresh = refresh
        self._checked = 0.0
        self._degraded = False

    async def _is_degraded(self) -> bool:
        now = time.monotonic()
        if now - self._checked >= self.refresh:
            self._checked = now
            client = self.redis()
            try:
                self._degraded = client is not None and bool(await client.exists(DEGRADED_KEY))
            except Exception:
                self._degraded = False
        return self._degraded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        low = scope["type"] == "http" and str(scope["path"]).startswith(LOW_PRIORITY)
        if low and await self._is_degraded():
            body = json.dumps(
                {
                    "error": {
                        "code": "degraded_shed",
                        "message": "the database is slow; low-priority work is paused",
                        "details": None,
                    }
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", b"2"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
