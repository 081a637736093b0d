"""WMS's background loops, one helper for all: run a job every N seconds, or when woken.

The API (WebSocket hub, outbox relay in a single-process deployment) and the worker
(outbox listener and relay, dunning, GPS polling, ETA refresh, Airtable sync) start their
loops with ``start``, which hands their cancellation to the process's composition root.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from typing import Any

from wms.coordination.errors import report_error, request_scope

__all__ = ["every", "start"]

log = logging.getLogger("wms.loops")


async def every(
    name: str,
    seconds: float,
    job: Callable[[], Awaitable[int]],
    stop: asyncio.Event,
    *,
    wake: asyncio.Event | None = None,
    then: asyncio.Event | None = None,
) -> None:
    """Run ``job`` every ``seconds`` (or as soon as ``wake`` is set) until ``stop``;
    set ``then`` when a run did something (returned non-zero). A failed run is logged
    and tried again at the next turn: a loop never dies of one failure."""
    while not stop.is_set():
        try:
            with request_scope():  # the errors of one turn share an id
                if await job() and then is not None:
                    then.set()
        except Exception as exc:
            log.warning("%s failed: %s", name, exc)
            report_error("job_failed", name, f"{type(exc).__name__}: {exc}")
        waits = [asyncio.ensure_future(stop.wait())]
        if wake is not None:
            waits.append(asyncio.ensure_future(wake.wait()))
        _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter
        if wake is not None:
            wake.clear()


async def start(stack: AsyncExitStack, *loops: Coroutine[Any, Any, None]) -> None:
    """Run ``loops`` as tasks until ``stack`` closes, which cancels and awaits them all
    before it undoes anything registered earlier (the connections they use)."""
    tasks = [asyncio.create_task(loop) for loop in loops]

    async def cancel() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    stack.push_async_callback(cancel)
