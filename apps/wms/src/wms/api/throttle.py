"""Login throttling per account and per client, with counters in Redis so that every
API process shares them: past the limit a login is refused with 429 and Retry-After
before any password is hashed.

While Redis cannot be reached the counters live in the process (same limits, same
windows, but each API process counts alone): logins go on, guessing stays bounded, and
no login answers a 500 because the throttle's store is down."""

from __future__ import annotations

import hashlib
import logging
import math
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

__all__ = ["LoginThrottle"]

log = logging.getLogger(__name__)

_PREFIX = "wms:login-failures:"


class _LocalCounts:
    """Fixed-window failure counts in this process, for while Redis is unreachable.

    ``get(key)`` -> (count, ms left) or None; expired windows are dropped as they are met
    and all at once past ``_PRUNE_AT`` keys, so a guesser cycling addresses cannot grow it
    without bound for longer than one window.
    """

    _PRUNE_AT = 10_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, expiry, monotonic s)

    def get(self, key: str) -> tuple[int, int] | None:
        entry = self._counts.get(key)
        if entry is None:
            return None
        left = entry[1] - time.monotonic()
        if left <= 0:
            del self._counts[key]
            return None
        return entry[0], math.ceil(left * 1000)

    def incr(self, key: str, window_ms: int) -> None:
        now = time.monotonic()
        if len(self._counts) >= self._PRUNE_AT:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        current = self.get(key)
        if current is None:
            self._counts[key] = (1, now + window_ms / 1000)
        else:
            self._counts[key] = (current[0] + 1, self._counts[key][1])

    def delete(self, key: str) -> None:
        self._counts.pop(key, None)


#: one per process: throttles are made per request
_LOCAL = _LocalCounts()


def _redis_down(exc: Exception) -> None:
    log.warning("login throttle counting in this process: Redis unreachable (%s)", exc)


class LoginThrottle:
    """Failed logins counted in a fixed window: at most ``per_account`` against one
    e-mail and ``per_client`` from one address within ``window_s`` seconds. Addresses in
    ``unthrottled_clients`` (a trusted gateway, a test runner) have no client limit; their
    accounts keep theirs."""

    def __init__(
        self,
        redis: Redis,
        *,
        per_account: int,
        per_client: int,
        window_s: float,
        unthrottled_clients: frozenset[str] = frozenset(),
    ):
        self.redis = redis
        self.limits = {"account": per_account, "client": per_client}
        self.window_ms = max(1, int(window_s * 1000))
        self.unthrottled_clients = unthrottled_clients

    def _keys(self, email: str, client: str) -> dict[str, str]:
        # hashed: the keys hold no e-mail address in the clear
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        keys = {"account": _PREFIX + "a:" + account}
        if client and client not in self.unthrottled_clients:
            keys["client"] = _PREFIX + "c:" + client
        return keys

    async def check(self, email: str, client: str) -> None:
        """Raises HTTPException 429 (with Retry-After, seconds) when either limit is spent."""
        keys = self._keys(email, client)
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in keys.values():
                    pipe.get(key)
                    pipe.pttl(key)
                counts_and_ttls = await pipe.execute()
        except (RedisError, OSError) as exc:
            _redis_down(exc)
            counts_and_ttls = []
            for key in keys.values():
                count, ttl = _LOCAL.get(key) or (None, 0)
                counts_and_ttls += [count, ttl]
        for index, kind in enumerate(keys):
            count, ttl = counts_and_ttls[2 * index], counts_and_ttls[2 * index + 1]
            if count is not None and int(count) >= self.limits[kind]:
                retry = max(1, math.ceil(max(ttl, 0) / 1000))
                raise HTTPException(
                    429,
                    detail=f"too many failed logins from this {kind}; try again later",
                    headers={"Retry-After": str(retry)},
                )

    async def failed(self, email: str, client: str) -> None:
        """Count one failed login against the account and the client."""
        keys = self._keys(email, client).values()
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in keys:
                    # the window starts with the first failure (SET NX, not PEXPIRE NX:
                    # that needs Redis 7); INCR keeps the expiry
                    pipe.set(key, 0, px=self.window_ms, nx=True)
                    pipe.incr(key)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            _redis_down(exc)
            for key in keys:
                _LOCAL.incr(key, self.window_ms)

    async def succeeded(self, email: str) -> None:
        """A correct password clears the account's count (not the client's)."""
        key = self._keys(email, "")["account"]
        _LOCAL.delete(key)  # a count made while Redis was down ends here too
        try:
            await self.redis.delete(key)
        except (RedisError, OSError) as exc:
            _redis_down(exc)
