"""An event loop in a background thread, so synchronous tests can drive asyncio resources."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, final

__all__ = ["LoopThread", "on_loop"]

T = TypeVar("T")


def on_loop(loop: asyncio.AbstractEventLoop | None, fn: Callable[[], T], timeout: float = 10) -> T:
    """Run ``fn`` on ``loop``'s thread and return what it returns.

    The state of a proxy belongs to its loop. Called from that loop (async code) or
    while no loop runs the proxy, ``fn`` runs right here; from any other thread it is
    handed over and waited for. This is what lets one set of methods serve both.
    """
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is None or running is loop or not loop.is_running():
        return fn()
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def call() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn())
            except BaseException as exc:  # delivered to the caller's thread
                future.set_exception(exc)

    loop.call_soon_threadsafe(call)
    return future.result(timeout)


@final
class LoopThread:
    """``with LoopThread("name") as thread: thread.run(coro)``; closing cancels what is left."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._thread.is_alive():
                self.run(self._drain(), timeout=10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
            self.loop.close()

    @staticmethod
    async def _drain() -> None:
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # a cancelled task may have closed a transport, whose socket is released by a
        # callback on the next iteration; stopping before it runs would leak the socket
        await asyncio.sleep(0)
        await asyncio.get_running_loop().shutdown_asyncgens()
