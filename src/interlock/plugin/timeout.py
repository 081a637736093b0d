"""The per-test time limit: INTEGRATION_TIMEOUT, or a test's own ``integration_timeout`` mark."""

from __future__ import annotations

import signal
import threading
from collections.abc import Generator

import pytest

from interlock.plugin.run import run_context

__all__ = ["IntegrationTimeout"]


class IntegrationTimeout(Exception):
    """A test ran longer than INTEGRATION_TIMEOUT."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "integration_timeout(ms): this test's own time limit, for one that is long by "
        "nature (a fuzzing run, a soak); replaces INTEGRATION_TIMEOUT for it",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    limit_ms = run_context(item.config).config.thresholds.integration_timeout
    own = item.get_closest_marker("integration_timeout")
    if own is not None:
        if len(own.args) != 1 or not isinstance(own.args[0], int | float) or own.args[0] <= 0:
            raise pytest.UsageError(
                f"{item.nodeid}: integration_timeout takes one positive number of ms"
            )
        limit_ms = float(own.args[0])
    source = "INTEGRATION_TIMEOUT" if own is None else "its integration_timeout mark"
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
    if not usable:
        return (yield)

    def expire(signum: int, frame: object) -> None:
        raise IntegrationTimeout(f"test exceeded {source} of {limit_ms:g} ms")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit_ms / 1000)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
