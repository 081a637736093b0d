"""Serve one simulator from a background thread of this process, for fast tests of adapters.

The stack runs simulators in their own process; this runs the same app in a thread on a
real socket, so an SDK under test still speaks HTTP to it. The simulator object is at
hand for direct inspection (``server.sim.journal``, ``server.sim.faults``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import Any, TypeVar, final

from interlock.aio import AppServer, LoopThread
from interlock.lifecycle import Lifecycle
from interlock.simulators import load_simulator
from interlock.simulators.base import Simulator

__all__ = ["ThreadedSimulator"]

T = TypeVar("T")


@final
class ThreadedSimulator:
    """``with ThreadedSimulator("stripe") as server: stripe.api_base = server.url``.

    Entered once; entering it again, or calling ``call`` once it closed, raises StateError.
    """

    def __init__(self, name: str, *, seed: int = 0, **options: Any) -> None:
        self.sim: Simulator = load_simulator(name)(seed=seed, **options)
        self.url = ""
        self._name = name
        self._thread: LoopThread | None = None
        self._owned: ExitStack | None = None
        self._life = Lifecycle(f"threaded simulator {name!r}")

    def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run a coroutine function on the simulator's loop (state is not thread-safe)."""
        self._life.check_open()
        assert self._thread is not None

        async def run() -> T:
            return await fn()

        return self._thread.run(run(), timeout=10)

    def __enter__(self) -> ThreadedSimulator:
        self._life.open()
        with ExitStack() as stack:
            thread = stack.enter_context(LoopThread(f"simulator-{self._name}"))
            # the app is built on the loop that serves it, as aiohttp expects
            server = thread.run(self._serve())
            stack.callback(lambda: thread.run(server.stop()))
            self._thread = thread
            self.url = server.url
            self._owned = stack.pop_all()
        return self

    async def _serve(self) -> AppServer:
        server = AppServer(self.sim.build_app(), shutdown_timeout=0.2)
        await server.start()
        return server

    def __exit__(self, *exc: object) -> None:
        self._life.close()
        owned, self._owned = self._owned, None
        if owned is not None:
            owned.close()
