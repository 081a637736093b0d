"""Adapters to external services, each behind a capacity limit and a timeout.

The official SDKs are synchronous, so calls run on worker threads. Each service has its
own limiter: a slow service can take its own slots, never the others' (a bulkhead).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio

from wms.errors import UpstreamUnavailable

__all__ = ["ExternalService"]

T = TypeVar("T")


class ExternalService:
    """Runs blocking SDK calls for one service off the event loop, bounded and timed."""

    def __init__(self, name: str, *, capacity: int = 8, timeout: float = 5.0) -> None:
        self.name = name
        self.timeout = timeout
        self._limiter = anyio.CapacityLimiter(capacity)

    async def call(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.wait_for(
                anyio.to_thread.run_sync(fn, limiter=self._limiter), self.timeout
            )
        except TimeoutError:
            raise UpstreamUnavailable(
                self.name, f"no answer within {self.timeout:g} s", code="upstream_timeout"
            ) from None
