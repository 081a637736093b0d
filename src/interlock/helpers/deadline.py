"""Waiting on a condition with a deadline: the only synchronisation tests need."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["WaitTimeout", "poll"]

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """The awaited condition did not come true in time (a test failure, not an error)."""


def poll(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.01) -> T:
    """Call ``probe`` until it returns something other than None/False; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 1.5, 0.1)
