"""Progress on the terminal: a line naming a test that has been running a long while.

Runs in the controller (with or without xdist, whose workers report when each test
starts and ends), on a thread of its own: a test that hangs is named every
``interlock_still_running_after`` seconds (ini, default 10), never a silent minute.
Lines go straight to the terminal's file descriptor, past pytest's output capture.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import final

import pytest

from interlock.plugin.run import run_context

__all__ = ["STILL_RUNNING", "StillRunning"]


@final
class StillRunning:
    """Names each test that has been running longer than ``after`` seconds: every ``after``
    seconds for its first minute, then once a minute (a long fuzzing run is not a flood)."""

    NAME = "interlock-still-running"

    def __init__(self, after: float, fd: int) -> None:
        self.after = after
        self._fd = fd
        self._running: dict[str, float] = {}
        #: seconds of running each test was last named at
        self._told: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.NAME, daemon=True)
        self._thread.start()

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        with self._lock:
            self._running[nodeid] = time.monotonic()
            self._told[nodeid] = 0

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        with self._lock:
            self._running.pop(nodeid, None)
            self._told.pop(nodeid, None)

    def _run(self) -> None:
        while not self._stop.wait(min(self.after / 4, 1.0)):
            now = time.monotonic()
            lines = []
            with self._lock:
                for nodeid, began in self._running.items():
                    told = self._told[nodeid]
                    due = told + (self.after if told < 60 else 60)
                    if now - began >= due:
                        self._told[nodeid] = due
                        lines.append(f"\ninterlock: still running: {nodeid} ({due:g} s)\n")
            for line in lines:
                with contextlib.suppress(OSError):
                    os.write(self._fd, line.encode())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        os.close(self._fd)


STILL_RUNNING = pytest.StashKey[StillRunning]()


def pytest_configure(config: pytest.Config) -> None:
    if run_context(config).worker is not None:
        return
    text = str(config.getini("interlock_still_running_after"))
    try:
        after = float(text)
    except ValueError:
        raise pytest.UsageError(
            f"interlock: interlock_still_running_after must be a number of seconds, got {text!r}"
        ) from None
    if not after > 0:
        raise pytest.UsageError(
            f"interlock: interlock_still_running_after must be positive, got {text!r}"
        )
    # output capture is suspended while plugins configure: fd 1 is the terminal now
    watchdog = StillRunning(after, os.dup(1))
    config.stash[STILL_RUNNING] = watchdog
    config.pluginmanager.register(watchdog, StillRunning.NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    watchdog = config.stash.get(STILL_RUNNING, None)
    if watchdog is not None:
        if config.pluginmanager.is_registered(watchdog):
            config.pluginmanager.unregister(watchdog)
        watchdog.close()
