"""A simulator's clock, which the test owns: real time, or frozen, and moved on at will.

Seeded as ``{"clock": {"now": "2024-05-01T08:00:00Z"}}`` (frozen at that instant; ``null``
follows real time again) and ``{"clock": {"advance_s": 60}}`` (moved on by 60 s). What
the simulator schedules on it (``await clock.sleep(s)``) wakes when the clock reaches
the deadline, by real time passing or by an advance: a test drives a schedule instead of
waiting it out.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

__all__ = ["SimClock", "instant"]


def instant(value: Any, what: str) -> float:
    """Seconds since the epoch from a number or an ISO 8601 text; ValueError otherwise."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise ValueError(
            f"{what} must be epoch seconds or an ISO 8601 time, got {value!r}"
        ) from None


class SimClock:
    """Simulated time in epoch seconds: the real clock, or a frozen instant, plus advances."""

    def __init__(self) -> None:
        self.frozen_at: float | None = None
        self.offset_s = 0.0
        #: set (and replaced) on every seed, waking each sleep to look at the clock again
        self._moved = asyncio.Event()

    def now(self) -> float:
        return (time.time() if self.frozen_at is None else self.frozen_at) + self.offset_s

    def seed(self, clock: dict[str, Any]) -> None:
        """Apply a seed's ``clock`` table (``now``, ``advance_s``); ValueError when bad."""
        unknown = set(clock) - {"now", "advance_s"}
        if unknown:
            raise ValueError(f"clock takes now and advance_s, not {', '.join(sorted(unknown))}")
        if "now" in clock:
            self.frozen_at = None if clock["now"] is None else instant(clock["now"], "now")
            self.offset_s = 0.0
        advance = float(clock.get("advance_s", 0))
        if advance < 0:
            raise ValueError(f"advance_s must not be negative (time runs one way), got {advance:g}")
        self.offset_s += advance
        self._wake()

    async def sleep(self, seconds: float) -> None:
        """Return once the clock has moved ``seconds`` on, by real time or by advances."""
        await self.sleep_until(self.now() + seconds)

    async def sleep_until(self, deadline: float) -> None:
        """Return once the clock reads ``deadline`` (epoch seconds) or later."""
        while (left := deadline - self.now()) > 0:
            moved = self._moved
            try:
                # frozen: only an advance moves it; else real time does too
                timeout = None if self.frozen_at is not None else left
                await asyncio.wait_for(moved.wait(), timeout)
            except TimeoutError:
                pass

    def _wake(self) -> None:
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
