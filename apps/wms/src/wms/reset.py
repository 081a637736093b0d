"""WMS's protective state back to a fresh start: what a test suite does between its tests.

Every process of WMS keeps, in the Redis they share, state that outlives one request and
changes how the next ones are answered:

    wms:breaker:*          each external service's circuit breaker (open: fail fast)
    wms:login-failures:*   failed logins per account and client (past the limit: 429)
    wms:cost:*             each service's spend today, and the budget alerts sent
    wms:cost-alert:*
    wms:security:*         threat-feed answers cached per address, feed cool-downs after
                           a 429, addresses already alerted on
    wms:security-reported:*  security refusals already reported in their quiet window

All of it is rebuilt on demand from nothing (a breaker with no state is closed, a
counter with none is zero, a cache miss asks the feed), as after a flush of Redis.
What is *not* here stays: sessions and token revocations (``wms:auth:*``), the event
and error streams, the coordination's recoveries; and nothing in PostgreSQL.
"""

from __future__ import annotations

import redis

__all__ = ["TRANSIENT_PREFIXES", "forget_transient_state"]

#: key prefixes of the state listed above
TRANSIENT_PREFIXES = (
    "wms:breaker:",
    "wms:login-failures:",
    "wms:cost:",
    "wms:cost-alert:",
    "wms:security:",
    "wms:security-reported:",
)


def forget_transient_state(client: redis.Redis) -> int:
    """Delete every key under ``TRANSIENT_PREFIXES``; returns how many were deleted.

    Raises ``redis.RedisError`` when Redis cannot be reached: a reset that did not
    happen must not pass for one.
    """
    # one pass over WMS's keys, not one a prefix: this runs before every test
    keys = [
        key
        for key in client.scan_iter(match="wms:*", count=1000)
        if _text(key).startswith(TRANSIENT_PREFIXES)
    ]
    return int(client.delete(*keys)) if keys else 0


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key
