"""What a fault call returns: the fault acts already; a ``with`` block ends it at its end.

proxy.latency(ms=200)              # acts now, until the test's reset (or ``.undo()``)
with proxy.latency(ms=200) as t:   # acts now, undone when the block ends, pass or fail
    ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar, final

from interlock.lifecycle import StateError

__all__ = ["Applied"]

T = TypeVar("T")


@final
class Applied(Generic[T]):
    """A fault in effect since the call that made it; ``value`` is what it is (a toxic, an id).

    Entering it hands back ``value``; leaving the block undoes the fault. ``undo()`` ends
    it outside a block; undoing twice does nothing the second time.
    """

    def __init__(self, value: T, undo: Callable[[], None], *, what: str) -> None:
        self.value = value
        self.what = what
        self._undo: Callable[[], None] | None = undo
        self._entered = False

    @property
    def active(self) -> bool:
        """False once undone (by ``undo()`` or the end of its block)."""
        return self._undo is not None

    def undo(self) -> None:
        undo, self._undo = self._undo, None
        if undo is not None:
            undo()

    def __enter__(self) -> T:
        if self._undo is None:
            raise StateError(f"{self.what} was already undone: make the fault again")
        if self._entered:
            raise StateError(f"{self.what} was already entered: a fault scopes one block")
        self._entered = True
        return self.value

    def __exit__(self, *exc: object) -> None:
        self.undo()

    def __repr__(self) -> str:
        return f"<Applied {self.what} {'active' if self.active else 'undone'}>"
