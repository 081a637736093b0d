"""Security monitoring in real time: how the security components see Redis, and a quiet
window that keeps reporting while Redis is gone.

Security events (failed and throttled logins, refused tokens, WebSockets and webhooks,
keys a provider refused, threats from the reputation feeds) are written to the outbox
with the change that causes them, relayed to Redis by the worker and forwarded by the
WebSocket hub on channel ``security`` to the roles in ``SECURITY_ROLES`` (admins only:
the events name clients, accounts, keys and addresses). While Redis is down they wait
in the outbox, and are counted here as ``pending_events``; they are published once it is
back.

Every component that depends on Redis for security (refusal reports, login throttling,
the feeds' verdict cache, the hub's subscription) is reported on ``/health`` with what it
sees: the shared client's ping latency, losses and reconnects, and for the hub, whether
its subscription is in place and how often it was made again.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.coordination.dependencies import Dependencies
from wms.db.models import AuditEntry, OutboxEvent
from wms.events import emit
from wms.integrations.keys import REFUSED_KEYS

__all__ = [
    "SECURITY_ROLES",
    "SHARED_CLIENT",
    "SecurityRedisHealth",
    "first_in_window",
    "report_refused_keys",
]

#: the roles that hear the ``security`` channel (see ``wms.api.ws.SCOPES``)
SECURITY_ROLES = ("admin",)
#: the security components that use the process's shared Redis client, and what for
SHARED_CLIENT = {
    "security_events": "once-a-minute keys of refusal reports",
    "login_throttle": "failed-login counters",
    "ip_reputation": "the threat feeds' answers and cool-downs",
}
# key -> monotonic expiry, used only while Redis cannot answer
_local_windows: dict[str, float] = {}


class Subscriber(Protocol):
    """The hub as seen here: whether its pattern subscription is live, times re-made."""

    subscribed: bool
    resubscribed: int


async def first_in_window(redis: Redis, key: str, seconds: int) -> bool:
    """Whether this is the first ``key`` within ``seconds``: shared by every process in
    Redis, or, while Redis cannot answer, within this process alone (a refusal must be
    reported even then: once per process is better than never)."""
    try:
        return bool(await redis.set(key, 1, ex=seconds, nx=True))
    except RedisError:
        now = time.monotonic()
        for stale in [k for k, until in _local_windows.items() if until <= now]:
            del _local_windows[stale]
        if key in _local_windows:
            return False
        _local_windows[key] = now + seconds
        return True


#: seconds during which the refusal of one key by its provider is reported once
KEY_QUIET_SECONDS = 60


def report_refused_keys(
    sessions: async_sessionmaker[AsyncSession], redis: Redis
) -> Callable[[], Awaitable[int]]:
    """A job for ``wms.loops.every``: each key a provider refused (``REFUSED_KEYS``)
    becomes ``security.key_refused`` ``{service, fingerprint}``, audited and published,
    once per key per KEY_QUIET_SECONDS. Returns how many were reported."""

    async def job() -> int:
        seen: set[tuple[str, str]] = set()
        while True:
            try:
                seen.add(REFUSED_KEYS.get_nowait())
            except queue.Empty:
                break
        reported = 0
        for service, print_ in sorted(seen):
            key = f"wms:security-reported:key_refused:{service}:{print_}"
            if not await first_in_window(redis, key, KEY_QUIET_SECONDS):
                continue
            details = {"service": service, "fingerprint": print_}
            try:
                async with sessions() as session, session.begin():
                    session.add(AuditEntry(actor="wms", action="key_refused", details=details))
                    await emit(session, "security", "security.key_refused", details)
            except BaseException:
                REFUSED_KEYS.put((service, print_))  # reported at the next turn instead
                with contextlib.suppress(RedisError):
                    await redis.delete(key)
                raise
            reported += 1
        return reported

    return job


class SecurityRedisHealth:
    """The ``security`` section of the API's health document."""

    def __init__(
        self,
        deps: Dependencies,
        sessions: async_sessionmaker[AsyncSession],
        hub: Subscriber | None = None,
    ) -> None:
        self.deps = deps
        self.sessions = sessions
        self.hub = hub

    async def section(self) -> dict[str, Any]:
        """``{"channel_roles", "pending_events", "redis": {"status", "ping_ms", "losses",
        "reconnects", "components": {name: {...}}}}``; call after ``deps.check()``.
        ``pending_events`` is null when PostgreSQL cannot be read."""
        redis = self.deps.states["redis"]
        shared = {"status": redis.status, "ping_ms": redis.latency_ms, "error": redis.error}
        components: dict[str, dict[str, Any]] = {
            name: {"client": "shared", "uses": uses, **shared}
            for name, uses in SHARED_CLIENT.items()
        }
        if self.hub is not None:
            components["ws_hub"] = {
                "client": "subscription",
                "uses": "forwarding security events to WebSockets",
                "status": "up" if self.hub.subscribed else "down",
                "reconnects": self.hub.resubscribed,
            }
        return {
            "channel_roles": list(SECURITY_ROLES),
            "pending_events": await self._pending(),
            "redis": {
                "status": redis.status,
                "ping_ms": redis.latency_ms,
                "losses": redis.losses,
                "reconnects": redis.recoveries,
                "components": components,
            },
        }

    async def _pending(self) -> int | None:
        if self.deps.states["postgres"].status != "up":
            return None
        try:
            async with self.sessions() as session:
                found = await session.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(OutboxEvent.channel == "security", OutboxEvent.published_at.is_(None))
                )
        except Exception:
            return None
        return int(found or 0)
