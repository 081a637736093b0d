"""asyncio plumbing shared by the fault proxies and the simulators.

- :class:`LoopThread`: an event loop in a background thread, so synchronous code (tests,
  the stack) can drive asyncio resources; :func:`on_loop` runs a call on a loop's thread.
- :class:`AppServer`: an aiohttp application served on a port of the running loop.
- :class:`Tasks`: background tasks that are tracked, logged when they fail, and ended.
- :class:`LoopService`: a resource run on the caller's loop (``async with``) or on a
  :class:`LoopThread` of its own (``with``), started and stopped once.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import logging
import socket
import threading
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from typing import Any, Self, TypeVar, final

from aiohttp import web

from interlock.lifecycle import Lifecycle

__all__ = ["AppServer", "LoopService", "LoopThread", "Tasks", "on_loop"]

T = TypeVar("T")
log = logging.getLogger(__name__)


def on_loop(loop: asyncio.AbstractEventLoop | None, fn: Callable[[], T], timeout: float = 10) -> T:
    """Run ``fn`` on ``loop``'s thread and return what it returns (or raise what it raises).

    State owned by a loop is changed only on that loop. Called from that loop (async
    code) or while no loop runs, ``fn`` runs right here; from any other thread it is
    handed over and waited for, at most ``timeout`` seconds (TimeoutError after).
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
        """Run ``coro`` on the loop and wait for its result (TimeoutError after ``timeout`` s)."""
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


@final
class AppServer:
    """An aiohttp ``app`` served on ``host:port`` (0: a port the kernel picks) of the running loop.

    ``await start()`` binds (OSError when the port is taken) and sets ``port`` and ``url``;
    ``await stop()`` closes the listener and the open requests, waiting at most
    ``shutdown_timeout`` seconds for them.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        shutdown_timeout: float = 0.2,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.url = ""
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        # bound here rather than by aiohttp, so the port is known without its internals
        sock = socket.create_server((self.host, self.port))
        try:
            runner = web.AppRunner(
                self.app,
                access_log=None,
                handle_signals=False,
                shutdown_timeout=self._shutdown_timeout,
            )
            await runner.setup()
        except BaseException:
            sock.close()
            raise
        self._runner = runner
        self.port = sock.getsockname()[1]
        await web.SockSite(runner, sock).start()
        self.url = f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> AppServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@final
class Tasks:
    """Background tasks of one owner: spawned on the running loop, tracked until done.

    A task that fails is logged (with ``what`` naming the owner) instead of vanishing.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.live: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self.live)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self.live.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self.live.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: background task failed", self.what, exc_info=task.exception())

    def cancel_all(self) -> None:
        """Cancel every task; safe from a thread other than the loop's."""
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for task in list(self.live):
            loop = task.get_loop()
            if loop is running:
                task.cancel()
            else:
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:  # that loop is closed: its tasks are gone with it
                    self.live.discard(task)

    async def close(self) -> None:
        """On the loop: cancel every task and wait until each has ended."""
        tasks = list(self.live)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class LoopService(abc.ABC):
    """A resource run on an event loop: the caller's (``async with``, ``await start()``) or,
    as ``with``, a :class:`LoopThread` of its own that ends with it.

    A subclass sets ``_life`` (its Lifecycle) and ``_thread`` (the thread's name) and
    defines ``_start`` and ``stop``. Starting twice, or after stop, raises StateError.
    """

    _life: Lifecycle
    _thread: str
    _owned: ExitStack | None = None

    async def start(self) -> None:
        """Start on the running loop; StateError when started twice or after stop."""
        self._life.open()
        await self._start()

    @abc.abstractmethod
    async def _start(self) -> None:
        """On the loop, the lifecycle opened: start what the resource runs."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """On the loop: stop what it runs and wait until it has; idempotent."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> Self:
        self._life.open()
        with ExitStack() as stack:
            thread = stack.enter_context(LoopThread(self._thread))
            # registered first: a start that fails half-way is stopped, then the thread ends
            stack.callback(lambda: thread.run(self.stop()))
            thread.run(self._start())
            self._owned = stack.pop_all()
        return self

    def __exit__(self, *exc: object) -> None:
        owned, self._owned = self._owned, None
        if owned is not None:
            owned.close()
