"""Waiting on a condition with a deadline: the only synchronisation tests need."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar, final

__all__ = ["SEEN_CHARS", "Deadline", "WaitTimeout", "poll", "seen_instead"]

T = TypeVar("T")


#: how many characters of one thing seen instead a timeout's message quotes
SEEN_CHARS = 200


class WaitTimeout(AssertionError):
    """The awaited condition did not come true in time (a test failure, not an error).

    Every wait words it the same way (``WaitTimeout.after``): "timed out after 10 s
    waiting for the invoice paid; received 2 other message(s): ...", so ``what`` is
    always a noun phrase naming the awaited thing, whichever helper waited.
    """

    @classmethod
    def after(cls, timeout: float, what: str, *, seen: str | None = None) -> WaitTimeout:
        """The failure of a wait of ``timeout`` seconds for ``what``; ``seen`` (optional)
        says what came instead."""
        message = f"timed out after {timeout:g} s waiting for {what}"
        return cls(f"{message}; {seen}" if seen else message)


def seen_instead(received: Sequence[object], noun: str) -> str:
    """``"received 3 other message(s), the last: [...]"`` for a timeout's ``seen``: how
    many came that did not match, and the last three of them, each cut short."""
    last = ", ".join(repr(item)[:SEEN_CHARS] for item in received[-3:])
    return f"received {len(received)} other {noun}(s)" + (f", the last: [{last}]" if last else "")


@final
class Deadline:
    """``timeout`` seconds from now, on the monotonic clock: for a wait that blocks on a
    receive (a socket, a pub/sub channel) rather than sleeping between checks as ``poll``
    does. ``remaining()`` is how long the next receive may block."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._end = time.monotonic() + timeout

    def remaining(self) -> float:
        """Seconds left, 0.0 once the deadline has passed."""
        return max(0.0, self._end - time.monotonic())

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self._end


def poll(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.01) -> T:
    """Call ``probe`` until it returns something other than None/False; fail after ``timeout``
    seconds with WaitTimeout ("timed out after ... waiting for ``what``")."""
    deadline = Deadline(timeout)
    while True:
        result = probe()
        if result is not None and result is not False:
            return result
        if deadline.passed:
            raise WaitTimeout.after(timeout, what)
        time.sleep(interval)
        interval = min(interval * 1.5, 0.1)
