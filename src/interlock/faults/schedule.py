"""When a toxic applies: to which connections (toxicity, every Nth) and until when (duration)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import final

from interlock.faults.toxics import Toxic

__all__ = ["Installed", "connection_rng"]


def connection_rng(seed: int, proxy: str, connection: int, toxic: str) -> random.Random:
    """The random stream of one toxic on one connection.

    Keyed by names and numbers rather than drawn from one shared stream, so the same
    seed makes the same decisions however concurrent connections interleave.
    """
    return random.Random(f"{seed}/{proxy}/{connection}/{toxic}")


@final
class Installed:
    """A toxic on a proxy: counts new connections for ``every`` and holds its expiry timer."""

    def __init__(self, toxic: Toxic) -> None:
        self.toxic = toxic
        self._opened_since = 0
        self._expiry: asyncio.TimerHandle | None = None

    def admits_new(self) -> bool:
        """Called once per new connection, in order: does ``every`` select this one?"""
        self._opened_since += 1
        every = self.toxic.every
        return every is None or self._opened_since % every == 0

    def admits_existing(self) -> bool:
        """A toxic added while connections are open reaches them only if it selects all."""
        return self.toxic.every is None

    def arm(self, loop: asyncio.AbstractEventLoop, expire: Callable[[str], object]) -> None:
        """Start the ``duration`` clock, if the toxic has one and it is not running yet."""
        if self.toxic.duration is not None and self._expiry is None:
            self._expiry = loop.call_later(self.toxic.duration, expire, self.toxic.name)

    def disarm(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
