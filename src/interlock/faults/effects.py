"""What each toxic does to the bytes of one direction of one connection."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import final

from interlock.faults.toxics import Toxic

__all__ = ["FLOWS", "Emit", "Stage"]

#: hands bytes to the next stage, with the time they would ideally have left this one
Emit = Callable[[bytes, float], Awaitable[None]]
#: bandwidth releases data in pieces this many seconds apart, so the rate is smooth
_PACE = 0.02


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@final
class Stage:
    """One toxic acting on one direction of one connection, with its own state and randomness."""

    def __init__(
        self,
        toxic: Toxic,
        rng: random.Random,
        *,
        finish: Callable[[], None],
        reset: Callable[[], None],
    ) -> None:
        self.toxic = toxic
        self.rng = rng
        self.removed = False
        #: bandwidth: when the pipe is free again; limit_data: bytes let through so far
        self.next_free = 0.0
        self.passed = 0
        self._finish = finish
        self._reset = reset
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def activate(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the clock of ``timeout``: it runs from the moment the toxic applies."""
        ms = self.toxic.attributes.get("timeout", 0)
        if self.toxic.type == "timeout" and ms > 0:
            self._timer = loop.call_later(ms / 1000, self._finish)

    def provoke(self) -> None:
        """Start the clock of ``reset_peer`` at the first data (or end) in its direction.

        As in Toxiproxy: the reset meets a request or a response, not the connect.
        """
        if self.toxic.type == "reset_peer" and self._timer is None and not self.removed:
            delay = self.toxic.attributes["timeout"] / 1000
            self._timer = asyncio.get_running_loop().call_later(delay, self._reset)

    def remove(self) -> None:
        """The toxic is gone: stop its clock and cut short any wait it imposes."""
        self.removed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._waiter is not None:
            _wake(self._waiter)

    async def pause(self, until: float | None) -> float:
        """Wait until the loop time ``until`` (None: forever) or removal; return when it left."""
        loop = asyncio.get_running_loop()
        if not self.removed and (until is None or until > loop.time()):
            self._waiter = waiter = loop.create_future()
            timer = None if until is None else loop.call_at(until, _wake, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        now = loop.time()
        # a late wake-up passes on the ideal time, so lateness does not accumulate downstream
        return now if until is None else min(until, now)

    async def flow(self, data: bytes, t: float, emit: Emit) -> None:
        await FLOWS[self.toxic.type](self, data, t, emit)

    async def settle_eof(self, t: float) -> float:
        """The end of the stream goes through the toxics that delay or hold everything."""
        kind, attributes = self.toxic.type, self.toxic.attributes
        if kind in ("timeout", "reset_peer"):
            self.provoke()
            return await self.pause(None)
        if kind in ("latency", "slow_close"):
            delay = attributes["latency" if kind == "latency" else "delay"]
            return await self.pause(t + delay / 1000)
        return t

    def finish(self) -> None:
        self._finish()


async def _latency(stage: Stage, data: bytes, t: float, emit: Emit) -> None:
    delay, jitter = stage.toxic.attributes["latency"], stage.toxic.attributes["jitter"]
    if jitter:
        delay = max(0.0, delay + stage.rng.uniform(-jitter, jitter))
    # measured from arrival, not from the previous release: latency delays, it does not throttle
    await emit(data, await stage.pause(t + delay / 1000))


async def _bandwidth(stage: Stage, data: bytes, t: float, emit: Emit) -> None:
    rate = stage.toxic.attributes["rate"] * 1000
    piece = max(1, int(rate * _PACE))
    stage.next_free = max(stage.next_free, t)
    for start in range(0, len(data), piece):
        chunk = data[start : start + piece]
        # sleep before sending, so N bytes take N / rate from the first byte to the last
        stage.next_free += len(chunk) / rate
        await emit(chunk, await stage.pause(stage.next_free))


async def _slicer(stage: Stage, data: bytes, t: float, emit: Emit) -> None:
    attributes = stage.toxic.attributes
    average, variation = int(attributes["average_size"]), int(attributes["size_variation"])
    gap = attributes["delay"] / 1_000_000
    start = 0
    while start < len(data):
        size = average + (stage.rng.randint(-variation, variation) if variation else 0)
        await emit(data[start : start + size], t)
        start += size
        if gap and start < len(data):
            t = await stage.pause(asyncio.get_running_loop().time() + gap)


async def _limit_data(stage: Stage, data: bytes, t: float, emit: Emit) -> None:
    left = int(stage.toxic.attributes["bytes"]) - stage.passed
    if left > len(data):
        stage.passed += len(data)
        await emit(data, t)
        return
    if left > 0:
        stage.passed += left
        await emit(data[:left], t)
    stage.finish()


async def _hold(stage: Stage, data: bytes, t: float, emit: Emit) -> None:
    # timeout and reset_peer swallow the stream until their clock ends the connection;
    # removed in time, they let what they held through
    stage.provoke()
    await emit(data, await stage.pause(None))


async def _through(stage: Stage, data: bytes, t: float, emit: Emit) -> None:
    await emit(data, t)


FLOWS: dict[str, Callable[[Stage, bytes, float, Emit], Awaitable[None]]] = {
    "latency": _latency,
    "bandwidth": _bandwidth,
    "slicer": _slicer,
    "limit_data": _limit_data,
    "timeout": _hold,
    "reset_peer": _hold,
    "slow_close": _through,
}
