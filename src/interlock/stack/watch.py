"""Watching a stack's processes during a run, so a dependency that dies is named.

A background thread polls each process; one that exits on its own (not through
``stop``, ``kill`` or a restart) is noted with its exit code, the time it was seen
gone and the last lines of its log. Tests that fail afterwards can say so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import final

from interlock.stack.process import ManagedProcess

__all__ = ["Exit", "ProcessWatch"]


@final
@dataclass(frozen=True, kw_only=True)
class Exit:
    """A process that exited on its own while the stack was up."""

    name: str
    code: int
    #: when it was seen gone (seconds since the epoch)
    at: float
    log_tail: str
    log_path: str

    def describe(self) -> str:
        """``redis exited with code -9 at 22:31:05.120; last log lines: ...``"""
        how = (
            f"was killed by signal {-self.code}"
            if self.code < 0
            else f"exited with code {self.code}"
        )
        stamp = (
            time.strftime("%H:%M:%S", time.localtime(self.at)) + f".{int(self.at % 1 * 1000):03d}"
        )
        tail = "\n".join(f"    {line}" for line in self.log_tail.splitlines()) or "    (no output)"
        return f"{self.name} {how} at {stamp}; last log lines ({self.log_path}):\n{tail}"


@final
class ProcessWatch:
    """Context manager: polls ``processes`` every ``interval`` seconds until it exits."""

    def __init__(self, processes: Mapping[str, ManagedProcess], *, interval: float = 0.2) -> None:
        self._processes = processes
        self._interval = interval
        self._exits: dict[str, Exit] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ProcessWatch:
        if self._thread is not None:
            raise RuntimeError("ProcessWatch is already watching")
        self._thread = threading.Thread(target=self._run, name="interlock-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.check()

    def check(self) -> list[Exit]:
        """Look at every process now; return those that are down after exiting on their own.

        A process that is running again (restarted) is no longer reported.
        """
        with self._lock:
            # a copy: a scaled app adds and removes processes while the watch runs
            for name, process in list(self._processes.items()):
                code = process.exit_code()
                if code is None:
                    if process.running():
                        self._exits.pop(name, None)
                    continue
                if name not in self._exits:
                    self._exits[name] = Exit(
                        name=name,
                        code=code,
                        at=time.time(),
                        log_tail=process.log_tail(10),
                        log_path=str(process.log_path),
                    )
            return list(self._exits.values())
