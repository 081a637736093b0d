"""The state of a resource used as a context manager: unopened, opened, closed, as httpx's.

A proxy, a fault server, a simulator client or a test helper (``api``, ``db``, ``redis``,
``ws``) is entered once and closed once, for good; using one after it closed, entering
it twice or reopening it is a mistake a sentence can name, never a silent no-op nor a
new connection that nobody will close.

    StateError (InterlockError, RuntimeError)   used in a state that does not allow it
    └── ClientClosed                           used, entered or reopened once closed
"""

from __future__ import annotations

import abc
import enum
import threading
from types import TracebackType
from typing import Self, final

from interlock.errors import InterlockError

__all__ = ["ClientClosed", "Closing", "Lifecycle", "State", "StateError"]


class State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class StateError(InterlockError, RuntimeError):
    """A resource was used in a state that does not allow it (entered twice, used closed)."""


class ClientClosed(StateError):
    """A resource was used, entered or reopened after it was closed."""


@final
class Lifecycle:
    """``UNOPENED → OPENED → CLOSED``, once; ``what`` names the resource in the errors.

    Thread-safe: a helper may be closed by its fixture while a test's thread uses it.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self.state = State.UNOPENED
        self._lock = threading.Lock()

    def open(self) -> None:
        """For ``__enter__`` / ``start``: raises StateError if opened before, ClientClosed
        if closed."""
        with self._lock:
            if self.state is State.OPENED:
                raise StateError(f"{self.what} is already open: enter it (or start it) once")
            if self.state is State.CLOSED:
                raise ClientClosed(
                    f"{self.what} was closed and cannot be opened again: make a new one"
                )
            self.state = State.OPENED

    #: the name the test helpers use in ``__enter__``
    enter = open

    def use(self) -> None:
        """Before an operation of a resource that opens on first use: raises ClientClosed
        once closed, and otherwise counts as opened."""
        with self._lock:
            self._check_usable()
            self.state = State.OPENED

    def close(self) -> bool:
        """Move to CLOSED; True the first time (when its resources are to be freed)."""
        with self._lock:
            first = self.state is not State.CLOSED
            self.state = State.CLOSED
            return first

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    def check_usable(self) -> None:
        """Raise ClientClosed once closed; an unopened resource may still be configured."""
        with self._lock:
            self._check_usable()

    def check_open(self) -> None:
        """Raise ClientClosed once closed, StateError before it is opened."""
        with self._lock:
            self._check_usable()
            if self.state is not State.OPENED:
                raise StateError(f"{self.what} is not open yet: enter it (or start it) first")

    def _check_usable(self) -> None:
        if self.state is State.CLOSED:
            raise ClientClosed(f"{self.what} is closed and cannot be used or reopened")


class Closing(abc.ABC):
    """A resource that is a ``with`` block once: entering it opens its ``_lifecycle``
    (StateError if entered twice, ClientClosed once closed) and leaving it calls
    ``close()``, which the resource defines and makes idempotent."""

    _lifecycle: Lifecycle

    @abc.abstractmethod
    def close(self) -> None:
        """Free what the resource holds; idempotent, and it cannot be used again."""

    def __enter__(self) -> Self:
        self._lifecycle.enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
