"""A proxied connection: the client's socket, the upstream socket opened for it, two links.

A connection counts as open from the client's accept until both sockets have reported
``connection_lost``, that is until both are really closed; the tracker holds it and every
task spawned for it, which is how a test proves that nothing leaks.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import socket
import struct
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any, TypeAlias, cast, final

from interlock.aio import Tasks
from interlock.faults.effects import Stage
from interlock.faults.link import Link
from interlock.faults.toxics import Direction, Toxic

__all__ = ["Connection", "Dial", "Side", "Tracker"]

log = logging.getLogger(__name__)
_LINGER_RESET = struct.pack("ii", 1, 0)

#: opens the upstream socket with the given protocol (``loop.create_connection``'s way);
#: raises OSError when no upstream can be reached. A balancing front chooses the upstream here.
Dial: TypeAlias = Callable[[Callable[[], asyncio.Protocol]], Awaitable[object]]


def _discard(data: bytes) -> None:
    """Where a side's writes go before it connects or after it is gone."""


@final
class Tracker:
    """The open connections and live tasks of one proxy."""

    def __init__(self) -> None:
        self.connections: dict[int, Connection] = {}
        self.tasks = Tasks("fault proxy")

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self.tasks.spawn(coro)

    async def settle(self, timeout: float) -> None:
        """Wait (bounded) for every connection and task to be gone."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self.connections or self.tasks) and loop.time() < deadline:
            await asyncio.sleep(0.001)


@final
class Side(asyncio.Protocol):
    """One socket of a connection; what it reads goes into its outgoing link."""

    out: Link
    into: Link

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.write: Callable[[bytes], None] = _discard
        self.gone = False
        self.write_paused = False
        self._holds: set[str] = set()
        self._drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.write = self.transport.write
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        self.out.send(data)

    def eof_received(self) -> bool:
        self.out.send_eof()
        return True  # keep the socket open for writing: half-close passes through

    def pause_writing(self) -> None:
        self.write_paused = True
        self.into.src.hold("drain")

    def resume_writing(self) -> None:
        self.write_paused = False
        self.into.src.release("drain")
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        self.write = _discard
        self._wake()
        self.conn.side_lost()

    async def drained(self) -> None:
        """Return once the socket's write buffer has room (or the socket is gone)."""
        while self.write_paused and not self.gone:
            self._drain = asyncio.get_running_loop().create_future()
            try:
                await self._drain
            finally:
                self._drain = None

    def hold(self, reason: str) -> None:
        """Stop reading for ``reason``; reading resumes once no reason is left."""
        if not self._holds and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
        self._holds.add(reason)

    def release(self, reason: str) -> None:
        if reason not in self._holds:
            return
        self._holds.discard(reason)
        if not self._holds and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _wake(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)


@final
class Connection:
    """A client socket and its upstream socket, joined by an upstream and a downstream link."""

    def __init__(
        self,
        number: int,
        upstream: tuple[str, int] | Dial,
        tracker: Tracker,
        on_open: Callable[[Connection], None],
    ) -> None:
        self.number = number
        self.client = Side(self)
        self.server = Side(self)
        self.links: dict[Direction, Link] = {
            "upstream": Link(self, "upstream", self.client, self.server),
            "downstream": Link(self, "downstream", self.server, self.client),
        }
        self.client.out = self.server.into = self.links["upstream"]
        self.server.out = self.client.into = self.links["downstream"]
        self.closing = False
        #: its toxics are decided: from here on, a toxic added to the proxy reaches it directly
        self.opened = False
        self._upstream = upstream
        self._tracker = tracker
        self._on_open = on_open
        self._connecting: asyncio.Task[None] | None = None
        self._done = False
        # counted from the accept, before asyncio hands the socket over, so a proxy that
        # stops in between still waits for it
        tracker.connections[number] = self

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        return self._tracker.spawn(coro)

    def apply(self, toxic: Toxic, rng: random.Random) -> None:
        """Put ``toxic`` on its direction, once: a second apply of the same name is a bug."""
        link = self.links[toxic.direction]
        if any(stage.toxic.name == toxic.name for stage in link.stages):
            raise AssertionError(f"toxic {toxic.name!r} applied twice to connection {self.number}")
        stage = Stage(
            toxic, rng, finish=self.finish, reset=functools.partial(self.reset, toxic.direction)
        )
        link.add(stage)

    def remove(self, name: str) -> None:
        for link in self.links.values():
            link.remove(name)

    def side_made(self, side: Side) -> None:
        if self.closing:  # shut before this socket was handed over
            side.write = _discard
            cast(asyncio.Transport, side.transport).close()
        elif side is self.client:
            # the proxy's toxics at this moment are applied here, and any added later by the
            # proxy; before this, the proxy leaves it alone, so no toxic is applied twice
            self.opened = True
            self._on_open(self)
            if not self.closing:
                self._connecting = self.spawn(self._connect())
        else:
            for link in self.links.values():
                link.open()

    async def _connect(self) -> None:
        upstream = self._upstream
        try:
            if isinstance(upstream, tuple):
                loop = asyncio.get_running_loop()
                await loop.create_connection(lambda: self.server, *upstream)
            else:
                await upstream(lambda: self.server)
        except OSError as exc:
            # an unreachable upstream shows to the client as a closed connection, as in Toxiproxy
            log.debug("cannot reach the upstream of connection %s: %s", self.number, exc)
            self._connecting = None  # so the shut below knows no upstream socket will come
            self.finish()
        except asyncio.CancelledError:
            if self.server.transport is None:
                self.server.gone = True
                self._check_done()
            raise
        finally:
            self._connecting = None

    def link_ended(self, link: Link) -> None:
        """The end of a stream reached its link's far side: half-close, or close if both ended."""
        other = self.links["upstream" if link.direction == "downstream" else "downstream"]
        transport = link.dst.transport
        if other.ended or transport is None or link.dst.gone or not transport.can_write_eof():
            self.finish()
        else:
            transport.write_eof()

    def side_lost(self) -> None:
        # a socket reset or failed: what was in flight toward the other side goes with it
        self.finish()
        self._check_done()

    def finish(self) -> None:
        """Close both sockets, letting what they already buffered be sent."""
        self._shut(())

    def abort(self) -> None:
        self._shut((self.client, self.server))

    def reset(self, direction: Direction) -> None:
        """Send an RST to the side that receives ``direction``'s bytes; close the other."""
        victim = self.client if direction == "downstream" else self.server
        if victim.transport is not None and not victim.gone:
            sock = victim.transport.get_extra_info("socket")
            if sock is not None:
                # linger 0 turns close into an RST: the peer sees "connection reset"
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self._shut((victim,))

    def _shut(self, abort: Collection[Side]) -> None:
        self.closing = True
        for link in self.links.values():
            link.close()
        if self._connecting is not None:
            self._connecting.cancel()
        elif self.server.transport is None:
            self.server.gone = True  # and never will be connected
        for side in (self.client, self.server):
            if side.transport is not None and not side.gone:
                side.write = _discard
                if side in abort:
                    side.transport.abort()
                else:
                    side.transport.close()
        self._check_done()

    def _check_done(self) -> None:
        if self.client.gone and self.server.gone and not self._done:
            self._done = True
            self._tracker.connections.pop(self.number, None)
