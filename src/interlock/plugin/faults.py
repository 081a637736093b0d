"""The ``faults`` fixture: network faults through the stack's proxies, and process faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the proxies come with the stack: a session without faults never loads them
    from interlock.faults import Proxy
    from interlock.stack import ManagedProcess, Stack

__all__ = ["Faults"]


class Faults:
    """Network faults between the system and its dependencies, and process faults.

    ``faults["postgres"].latency(ms=200)`` (any proxy: postgres, redis, each simulator);
    ``faults.process("redis").kill()`` / ``.pause()`` / ``.resume()`` / ``.restart()``.
    Whatever a test changes is undone when it ends, pass or fail.
    """

    def __init__(self, stack: Stack) -> None:
        if stack.faults is None:
            raise pytest.UsageError("interlock: fault proxies are off ([tool.interlock] faults)")
        self._server = stack.faults
        self._stack = stack
        self._touched: dict[str, ManagedProcess] = {}

    def __getitem__(self, name: str) -> Proxy:
        return self._server[name]

    @property
    def url(self) -> str:
        """The HTTP control API of the proxies."""
        return self._server.url

    @property
    def touched(self) -> tuple[str, ...]:
        """Names of the processes this test has taken in hand through ``process``."""
        return tuple(self._touched)

    def process(self, name: str) -> ManagedProcess:
        try:
            process = self._stack.processes[name]
        except KeyError:
            raise pytest.UsageError(
                f"interlock: no process {name!r}; have {', '.join(self._stack.processes)}"
            ) from None
        self._touched[name] = process
        return process

    def restore(self) -> None:
        """Proxies back to no fault, and every process the test touched running again.

        The processes are restored even when a proxy cannot be (its port was taken):
        the proxy's error is raised after them.
        """
        touched, self._touched = dict(self._touched), {}
        try:
            self._server.reset()
        finally:
            for process in touched.values():
                process.resume()
                if not process.running():
                    process.restart()


@pytest.fixture
def faults(stack: Stack) -> Iterator[Faults]:
    """Degrade what the system under test depends on; everything is restored afterwards."""
    controller = Faults(stack)
    try:
        yield controller
    finally:
        controller.restore()
