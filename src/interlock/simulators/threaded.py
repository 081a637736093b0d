"""Serve one simulator from a background thread of this process, for fast tests of adapters.

The stack runs simulators in their own process; this runs the same app in a thread on a
real socket, so an SDK under test still speaks HTTP to it. The simulator object is at
hand for direct inspection (``server.sim.journal``, ``server.sim.faults``).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web

from interlock.simulators import load_simulator
from interlock.simulators.base import Simulator

__all__ = ["ThreadedSimulator"]


class ThreadedSimulator:
    """``with ThreadedSimulator("stripe") as server: stripe.api_base = server.url``."""

    def __init__(self, name: str, *, seed: int = 0, **options: Any) -> None:
        self.sim: Simulator = load_simulator(name)(seed=seed, **options)
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name=f"simulator-{name}"
        )
        self._runner: web.AppRunner | None = None

    def call(self, fn: Any) -> Any:
        """Run a coroutine function on the simulator's loop (state is not thread-safe)."""
        return asyncio.run_coroutine_threadsafe(fn(), self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._runner = web.AppRunner(
            self.sim.build_app(), access_log=None, handle_signals=False, shutdown_timeout=0.2
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only through the server
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> ThreadedSimulator:
        self._thread.start()
        self.call(self._start)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.call(self._stop)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            self._loop.close()
