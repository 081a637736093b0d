"""Login throttling per account and per client, with counters in Redis so that every
API process shares them: past the limit a login is refused with 429 and Retry-After
before any password is hashed."""

from __future__ import annotations

import hashlib
import math

from redis.asyncio import Redis
from starlette.exceptions import HTTPException

__all__ = ["LoginThrottle"]

_PREFIX = "wms:login-failures:"


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
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys.values():
                pipe.get(key)
                pipe.pttl(key)
            counts_and_ttls = await pipe.execute()
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
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in self._keys(email, client).values():
                # the window starts with the first failure (SET NX, not PEXPIRE NX: that
                # needs Redis 7); INCR keeps the expiry
                pipe.set(key, 0, px=self.window_ms, nx=True)
                pipe.incr(key)
            await pipe.execute()

    async def succeeded(self, email: str) -> None:
        """A correct password clears the account's count (not the client's)."""
        await self.redis.delete(self._keys(email, "")["account"])
