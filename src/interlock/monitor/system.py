"""CPU and memory of the host and of the watched process trees (psutil)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import final

import psutil

__all__ = ["SystemSampler", "Usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """``source`` is ``host`` or a watched process name; cpu and memory in percent."""

    source: str
    cpu: float
    memory: float
    #: resident memory, MiB (the host: used)
    rss_mb: float


@final
class SystemSampler:
    """``sample()`` -> one Usage for the host and one per watched process tree.

    CPU percentages are since the previous call (psutil's way); the first call primes
    them, so it reports 0.
    """

    def __init__(self, processes: Mapping[str, int]) -> None:
        self.roots = dict(processes)
        self._known: dict[int, psutil.Process] = {}
        psutil.cpu_percent(None)

    def sample(self) -> list[Usage]:
        memory = psutil.virtual_memory()
        usages = [Usage("host", psutil.cpu_percent(None), memory.percent, memory.used / 2**20)]
        for name, pid in self.roots.items():
            usage = self._tree(name, pid)
            if usage is not None:
                usages.append(usage)
        return usages

    def _process(self, pid: int) -> psutil.Process:
        process = self._known.get(pid)
        if process is None:
            process = self._known[pid] = psutil.Process(pid)
            process.cpu_percent(None)
        return process

    def _tree(self, name: str, pid: int) -> Usage | None:
        try:
            root = self._process(pid)
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        cpu = rss = mem = 0.0
        for member in members:
            try:
                process = self._process(member.pid)
                cpu += process.cpu_percent(None)
                rss += process.memory_info().rss
                mem += process.memory_percent()
            except psutil.Error:  # exited between listing and reading: it uses nothing now
                self._known.pop(member.pid, None)
        return Usage(name, cpu / (psutil.cpu_count() or 1), mem, rss / 2**20)
