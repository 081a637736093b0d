"""One direction of a proxied connection: bytes from a source socket to a destination socket.

With no toxic on the direction, bytes go straight from ``data_received`` to the other
socket's ``write``: no queue, no task, no copy. With toxics, they queue (time-stamped,
so latency measures from arrival) and one pump task walks each chunk through the
stages in the order the toxics were added.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from typing import TYPE_CHECKING, final

from interlock.faults.effects import Stage
from interlock.faults.toxics import Direction

if TYPE_CHECKING:
    from interlock.faults.connection import Connection, Side

__all__ = ["Link"]

#: queued bytes above which the source stops being read, and below which it resumes
_HIGH_WATER = 1 << 20
_LOW_WATER = 1 << 18
#: scheduling leeway before bytes held by a latency toxic count as a backlog, seconds
_GRACE = 0.05


@final
class Link:
    """Bytes of one direction, through the stages of the toxics active on it."""

    def __init__(self, conn: Connection, direction: Direction, src: Side, dst: Side) -> None:
        self.conn = conn
        self.direction = direction
        self.src = src
        self.dst = dst
        self.stages: list[Stage] = []
        #: the fast path is on: no toxic, nothing queued, the destination connected
        self.direct = False
        #: the end of the stream reached the destination (or never will)
        self.ended = False
        self._ready = False
        self._closed = False
        self._eof = False
        self._queue: deque[tuple[float, bytes | None]] = deque()
        self._queued = 0
        #: seconds the stages hold bytes on purpose (latency + jitter): bytes queued for
        #: less than this are in flight, not a backlog, so they do not stop the source
        self._slack = 0.0
        self._pump: asyncio.Task[None] | None = None

    def open(self) -> None:
        """The destination is connected: deliver what waited for it."""
        self._ready = True
        self._kick()

    def send(self, data: bytes) -> None:
        if self.direct:
            self.dst.write(data)
            return
        if self._eof or self._closed:
            return
        now = asyncio.get_running_loop().time()
        self._queue.append((now, data))
        self._queued += len(data)
        # a latency toxic delays, it does not throttle: the source is held only when the
        # oldest bytes waited past what the toxics impose (a slow receiver, a bandwidth cap)
        if self._queued > _HIGH_WATER and now - self._queue[0][0] > self._slack + _GRACE:
            self.src.hold("queue")
        self._kick()

    def send_eof(self) -> None:
        if self._eof or self._closed:
            return
        self._eof = True
        if self.direct:
            self.direct = False
            self._end()
            return
        self._queue.append((asyncio.get_running_loop().time(), None))
        self._kick()

    def add(self, stage: Stage) -> None:
        self.stages.append(stage)
        self.direct = False
        self._slack = _slack(self.stages)
        stage.activate(asyncio.get_running_loop())

    def remove(self, name: str) -> None:
        for stage in self.stages:
            if stage.toxic.name == name:
                self.stages.remove(stage)
                stage.remove()
                self._slack = _slack(self.stages)
                self._refresh()
                return

    def close(self) -> None:
        """Nothing more will be delivered: stop the pump, the stages and their clocks."""
        self._closed = True
        self.direct = False
        if self._pump is not None:
            self._pump.cancel()
        for stage in self.stages:
            stage.remove()
        self.stages.clear()
        self._queue.clear()
        self._queued = 0

    def _refresh(self) -> None:
        self.direct = (
            self._ready
            and not self._closed
            and not self._eof
            and not self.stages
            and self._pump is None
            and not self._queue
        )

    def _kick(self) -> None:
        if self._pump is None and self._ready and self._queue and not self._closed:
            self._pump = self.conn.spawn(self._run())
        self._refresh()

    async def _run(self) -> None:
        try:
            while self._queue:
                t, data = self._queue.popleft()
                if data is None:
                    for stage in list(self.stages):
                        if not stage.removed:
                            t = await stage.settle_eof(t)
                    self._end()
                    return
                self._queued -= len(data)
                if self._queued <= _LOW_WATER:
                    self.src.release("queue")
                await self._through(list(self.stages), 0, data, t)
        finally:
            self._pump = None
            self._refresh()

    async def _through(self, stages: list[Stage], index: int, data: bytes, t: float) -> None:
        while index < len(stages) and stages[index].removed:
            index += 1
        if index == len(stages):
            await self.dst.drained()
            self.dst.write(data)
        else:
            await stages[index].flow(data, t, functools.partial(self._through, stages, index + 1))

    def _end(self) -> None:
        self.ended = True
        self.conn.link_ended(self)


def _slack(stages: list[Stage]) -> float:
    """The longest the stages can hold a chunk on purpose, in seconds."""
    return sum(
        (stage.toxic.attributes["latency"] + stage.toxic.attributes["jitter"]) / 1000
        for stage in stages
        if stage.toxic.type == "latency"
    )
