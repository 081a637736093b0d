"""The states of a helper client, after httpx's ``ClientState``: using a closed one is an error.

A helper (``api``, ``db``, ``redis``, ``ws``) starts UNOPENED, is OPENED by ``with`` or by
its first use, and is CLOSED by ``close()`` or the end of its ``with`` block, for good:
entering it twice, reopening it or calling it once closed raises ``ClientClosed`` (or
``RuntimeError`` for a second ``with``) with a sentence that says so, instead of quietly
opening a new connection that nobody will close.
"""

from __future__ import annotations

import enum
import threading
from typing import final

__all__ = ["ClientClosed", "ClientState", "Lifecycle"]


class ClientState(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


class ClientClosed(RuntimeError):
    """A helper client was used after it was closed."""


@final
class Lifecycle:
    """The state of one client, ``what`` naming it in errors (e.g. "the api client")."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.state = ClientState.UNOPENED
        self._lock = threading.Lock()

    def enter(self) -> None:
        """For ``__enter__``: raises RuntimeError if already entered or closed."""
        with self._lock:
            if self.state is ClientState.OPENED:
                raise RuntimeError(f"{self.what} is already open: a client is entered once")
            self._check_open()
            self.state = ClientState.OPENED

    def use(self) -> None:
        """Before every operation: raises ClientClosed once closed."""
        with self._lock:
            self._check_open()
            self.state = ClientState.OPENED

    def close(self) -> bool:
        """Marks the client closed; True the first time (when its resources are to be freed)."""
        with self._lock:
            first = self.state is not ClientState.CLOSED
            self.state = ClientState.CLOSED
            return first

    @property
    def closed(self) -> bool:
        return self.state is ClientState.CLOSED

    def _check_open(self) -> None:
        if self.state is ClientState.CLOSED:
            raise ClientClosed(f"{self.what} is closed and cannot be used or reopened")
