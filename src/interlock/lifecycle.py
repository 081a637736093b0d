"""The state of a resource used as a context manager: unopened, opened, closed, as httpx's.

A proxy, a fault server or a client is entered once and closed once; using one after it
closed, or entering it twice, is a mistake a sentence can name, not a silent no-op.
"""

from __future__ import annotations

import enum
from typing import final

from interlock.errors import InterlockError

__all__ = ["Lifecycle", "State", "StateError"]


class State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class StateError(InterlockError):
    """A resource was used in a state that does not allow it (entered twice, used closed)."""


@final
class Lifecycle:
    """``UNOPENED → OPENED → CLOSED``, once; ``what`` names the resource in the errors."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.state = State.UNOPENED

    def open(self) -> None:
        """Move to OPENED; raises StateError if it was opened (or closed) before."""
        if self.state is State.OPENED:
            raise StateError(f"{self.what} is already open: enter it (or start it) once")
        if self.state is State.CLOSED:
            raise StateError(f"{self.what} was closed and cannot be opened again: make a new one")
        self.state = State.OPENED

    def close(self) -> bool:
        """Move to CLOSED; False when it already was (closing twice is harmless)."""
        if self.state is State.CLOSED:
            return False
        self.state = State.CLOSED
        return True

    def check_usable(self) -> None:
        """Raise StateError once closed; an unopened resource may still be configured."""
        if self.state is State.CLOSED:
            raise StateError(f"{self.what} is closed: it cannot be used any more")

    def check_open(self) -> None:
        """Raise StateError unless opened."""
        self.check_usable()
        if self.state is not State.OPENED:
            raise StateError(f"{self.what} is not open yet: enter it (or start it) first")
