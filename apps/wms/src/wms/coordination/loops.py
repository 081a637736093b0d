"""The worker's coordination loops (Streams A and B): the error orchestrator, the database probe."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pybreaker
import redis as sync_redis

from wms.coordination.compensation import compensator
from wms.coordination.degradation import Prober
from wms.coordination.orchestrator import Orchestrator
from wms.settings import Settings

if TYPE_CHECKING:
    from wms.runtime import Core

__all__ = ["breaker_opener", "coordination_loops"]


def breaker_opener(redis_url: str) -> Callable[[str, int], Awaitable[str]]:
    """``open_breaker(service, attempts)`` for the orchestrator: opens the breaker that
    every process shares in Redis (``wms.integrations.resilience``) and returns what it
    did: ``breaker_opened``; ``breaker_already_open``; or ``not_consecutive`` when the
    breaker counted fewer consecutive failures than the ``attempts`` the failing call
    made, so a call succeeded after them: a service already back is left to the breaker
    itself."""

    def open_now(service: str, attempts: int) -> str:
        client = sync_redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        try:
            storage = pybreaker.CircuitRedisStorage(
                pybreaker.STATE_CLOSED, client, namespace=f"wms:breaker:{service}"
            )
            if storage.state == pybreaker.STATE_OPEN:
                return "breaker_already_open"
            if storage.counter == 0 or storage.counter < attempts:
                return "not_consecutive"
            storage.state = pybreaker.STATE_OPEN
            storage.opened_at = datetime.now(UTC)
            return "breaker_opened"
        finally:
            client.close()

    async def open_breaker(service: str, attempts: int) -> str:
        return await asyncio.to_thread(open_now, service, attempts)

    return open_breaker


def coordination_loops(
    settings: Settings, core: Core, stop: asyncio.Event
) -> list[Coroutine[Any, Any, None]]:
    """The loops to start with the worker's others (``wms.loops.start``)."""
    orchestrator = Orchestrator(
        core.redis,
        core.sessions,
        open_breaker=breaker_opener(settings.redis_url),
        breach_per_second=settings.error_breach_per_second,
        consumer=f"{socket.gethostname()}:{os.getpid()}",
        compensate=compensator(core.sessions, core.payments),
    )
    prober = Prober(
        core.engine, core.sessions, core.redis, degraded_ms=settings.database_degraded_ms
    )
    return [orchestrator.run(stop), prober.run(stop)]
