"""What a simulator needs to call out on its own (webhooks, status callbacks): background
tasks on its loop, one HTTP client session, and a clean stop of both."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import aiohttp

__all__ = ["Outbound"]


class Outbound:
    """The background tasks and the client session of one simulator's outgoing calls."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """Made on first use, on the simulator's loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def cancel_all(self) -> None:
        """Cancel every task; safe from a thread other than the loop's (a reset from a test)."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for task in list(self.tasks):
            loop = task.get_loop()
            if loop is running:
                task.cancel()
            else:
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:  # that loop is closed: its tasks are gone with it
                    self.tasks.discard(task)

    async def close(self) -> None:
        """On the loop, at the app's cleanup: every task ended, the session closed."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
