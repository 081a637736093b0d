"""A listening socket served by the loop, opened and closed synchronously so "down" is immediate.

asyncio's own Server hands each accepted socket to a task; closing the server before
such a task has run makes it fail and leak the socket. Accepting here and giving each
socket to its owner (a fault proxy or the balancing front, which adopts it in a task it
tracks) keeps every socket accounted for.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import final

__all__ = ["Listener"]

log = logging.getLogger(__name__)
#: accepts per wake-up, as asyncio does, so a burst of clients does not starve the rest
_BATCH = 100
#: pause after accept() fails for lack of resources, rather than spin on a readable socket
_BACKOFF = 0.1


@final
class Listener:
    """Listen on ``host:port`` and pass every accepted socket to ``adopt``; OSError if taken."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        adopt: Callable[[socket.socket], None],
    ) -> None:
        self._sock = socket.create_server((host, port))  # OSError: the proxy says why
        self._sock.setblocking(False)
        self.port: int = self._sock.getsockname()[1]
        self._loop = loop
        self._adopt = adopt
        self._resume: asyncio.TimerHandle | None = None
        loop.add_reader(self._sock.fileno(), self._ready)

    def _ready(self) -> None:
        for _ in range(_BATCH):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up while queued: nothing to adopt
            except OSError as exc:
                log.warning("listener on port %s cannot accept: %s", self.port, exc)
                self._loop.remove_reader(self._sock.fileno())
                self._resume = self._loop.call_later(
                    _BACKOFF, self._loop.add_reader, self._sock.fileno(), self._ready
                )
                return
            conn.setblocking(False)
            self._adopt(conn)

    def close(self) -> None:
        """Stop listening now: from here on, connecting is refused."""
        if self._resume is not None:
            self._resume.cancel()
        if self._sock.fileno() != -1:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
