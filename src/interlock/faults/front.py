"""What a fault proxy and the balancing front share: a TCP listener whose accepted sockets
are each joined to an upstream through a tracked :class:`Connection`, run on a loop.

``with front:`` runs it on its own loop in a background thread; ``async with front:``
(or ``await start()``) on the caller's loop (see :class:`interlock.aio.LoopService`);
starting raises ProxyUnavailable when the port cannot be bound. A subclass says where a
connection goes (``_target``), what starting and stopping add (``_begin``, ``_quiet``)
and what an opened connection gets (``_admit``); the rest (adopting sockets, dropping
every connection on stop) is here, once.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from abc import abstractmethod

from interlock.aio import LoopService
from interlock.faults.connection import Connection, Dial, Tracker
from interlock.faults.errors import ProxyUnavailable
from interlock.faults.listener import Listener
from interlock.lifecycle import Lifecycle

__all__ = ["TcpFront"]

#: seconds stop waits for the dropped connections to close, then for cancelled tasks
_SETTLE = 5.0
_SETTLE_CANCELLED = 1.0


class TcpFront(LoopService):
    """A listener on ``host:port`` (0: the subclass picks) that joins each client to
    ``_target``. Raises StateError when started twice or used after stop."""

    def __init__(self, *, what: str, thread: str, host: str, port: int) -> None:
        #: the address it listens on
        self.host = host
        self._port = port
        self._thread = thread
        self._life = Lifecycle(what)
        self._tracker = Tracker()
        self._numbers = itertools.count(1)
        #: client connections accepted since it was created
        self._accepted = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: Listener | None = None

    @property
    def port(self) -> int:
        """The port clients connect to: the one asked for, or (asked for 0) the one picked
        when it first listened; 0 until then."""
        return self._port

    # -- lifecycle (start and the with blocks are LoopService's) ----------------------
    async def stop(self) -> None:
        """Stop listening, drop every connection, and wait until all is closed; idempotent."""
        if self._life.close():
            await self._stop()

    async def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            await self._begin()
        except BaseException:
            await self._stop()
            raise

    async def _stop(self) -> None:
        self._life.close()
        self._unlisten()
        await self._quiet()
        # sockets accepted just before are still being adopted; once adopted they find
        # it not listening and close themselves, so waiting covers them too
        for conn in list(self._tracker.connections.values()):
            conn.abort()
        await self._tracker.settle(timeout=_SETTLE)
        self._tracker.tasks.cancel_all()
        await self._tracker.settle(timeout=_SETTLE_CANCELLED)
        self._loop = None

    # -- what a subclass adds ---------------------------------------------------------
    @abstractmethod
    async def _begin(self) -> None:
        """On the loop, once started: listen (``_bind``) and start what runs beside."""

    @abstractmethod
    async def _quiet(self) -> None:
        """On the loop, once no longer listening: end what ``_begin`` started."""

    @property
    @abstractmethod
    def _target(self) -> tuple[str, int] | Dial:
        """Where a new client connection goes: an address, or a dial that picks one."""

    @abstractmethod
    def _admit(self, conn: Connection) -> None:
        """A client connection is open, its upstream connected, and it is listening."""

    # -- listening and connections (on the loop) ----------------------------------------
    def _bind(self, port: int, *, hint: str) -> Listener:
        """Listen on ``port``; ProxyUnavailable (with ``hint``) when it cannot be bound."""
        assert self._loop is not None
        try:
            return Listener(self._loop, self.host, port, self._adopt)
        except OSError as exc:
            raise ProxyUnavailable(
                f"{self._life.what} cannot listen on {self.host}:{port}: {exc.strerror}",
                hint=hint,
            ) from None

    def _unlisten(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _adopt(self, sock: socket.socket) -> None:
        self._tracker.spawn(self._join(sock))

    async def _join(self, sock: socket.socket) -> None:
        self._accepted += 1
        conn = Connection(next(self._numbers), self._target, self._tracker, self._opened)
        await asyncio.get_running_loop().connect_accepted_socket(lambda: conn.client, sock=sock)

    def _opened(self, conn: Connection) -> None:
        if self._listener is None:  # accepted just before it went down or stopped
            conn.finish()
            return
        self._admit(conn)
