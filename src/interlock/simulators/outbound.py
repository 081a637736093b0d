"""What a simulator needs to call out on its own (webhooks, status callbacks): background
tasks on its loop, one HTTP client session, and a clean stop of both."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, final

import aiohttp

from interlock.aio import Tasks

__all__ = ["Outbound"]


@final
class Outbound:
    """The background tasks and the client session of one simulator's outgoing calls."""

    def __init__(self) -> None:
        self._tasks = Tasks("simulator outbound calls")
        self._session: aiohttp.ClientSession | None = None

    @property
    def tasks(self) -> set[asyncio.Task[None]]:
        """The tasks still running."""
        return self._tasks.live

    @property
    def session(self) -> aiohttp.ClientSession:
        """Made on first use, on the simulator's loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` in the background on the running loop; a failure is logged."""
        return self._tasks.spawn(coro)

    def cancel_all(self) -> None:
        """Cancel every task; safe from a thread other than the loop's (a reset from a test)."""
        self._tasks.cancel_all()

    async def close(self) -> None:
        """On the loop, at the app's cleanup: every task ended, the session closed."""
        await self._tasks.close()
        if self._session is not None:
            await self._session.close()
            self._session = None
