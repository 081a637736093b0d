"""The faults that fired during a run, for the HTML report's timeline.

After each test that used the stack, the calls each simulator answered with a fault
since the last look (its journal from the last sequence number seen) are grouped by
simulator and fault kind and appended to ``<run>/faults/<process>.jsonl``: the test,
the simulator, the kind, how many calls, and the first and last call's time (epoch s).
Network faults between the app and its dependencies are not in the simulators'
journals and so not in this timeline, nor are calls a test cleared from a journal.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any, Final, final

import httpx
import pytest

from interlock.plugin.run import RunContext, run_context

__all__ = ["FAULTS_DIR", "FaultLog"]

FAULTS_DIR: Final = "faults"


@final
class FaultLog:
    """Reads the simulators' new journal entries after each test; keeps those a fault hit."""

    NAME = "interlock-fault-log"

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self._seen: dict[str, int] = {}
        self._file: IO[str] | None = None
        # one client for the run: a new one per call costs an SSL context each time
        self._http: httpx.Client | None = None

    def _write(self, entry: dict[str, Any]) -> None:
        if self._file is None:
            folder = self.run.ensure_run_dir() / FAULTS_DIR
            folder.mkdir(exist_ok=True)
            self._file = (folder / f"{self.run.worker or 'main'}.jsonl").open("a")
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, None, None]:
        stack: Any = getattr(item, "funcargs", {}).get("stack")
        simulators = getattr(stack, "simulators", None)
        try:
            yield
        finally:
            if isinstance(simulators, dict):
                self._collect(item.nodeid, simulators)

    def _collect(self, nodeid: str, simulators: dict[str, str]) -> None:
        for name, url in sorted(simulators.items()):
            since = self._seen.get(name, 0)
            try:
                if self._http is None:
                    self._http = httpx.Client(timeout=2.0)
                entries = self._http.get(
                    f"{url}/__interlock/journal", params={"since": since}
                ).json()
            except Exception:  # a simulator the test stopped: best effort, never a crash
                continue
            groups: dict[str, list[dict[str, Any]]] = {}
            for entry in entries if isinstance(entries, list) else []:
                self._seen[name] = max(self._seen.get(name, 0), int(entry.get("seq", 0)))
                if entry.get("fault"):
                    groups.setdefault(str(entry["fault"]), []).append(entry)
            for kind, hit in groups.items():
                times = [float(e.get("time", 0.0)) for e in hit]
                self._write(
                    {
                        "test": nodeid,
                        "service": name,
                        "fault": kind,
                        "calls": len(hit),
                        "first": min(times),
                        "last": max(times),
                    }
                )

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._file is not None:
            self._file.close()
            self._file = None


def read_fault_log(run_dir: Path) -> list[dict[str, Any]]:
    """Every entry under ``run_dir/faults``, by time; torn lines skipped."""
    entries = []
    for path in sorted((run_dir / FAULTS_DIR).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and {"service", "fault", "first", "last"} <= set(entry):
                entries.append(entry)
    return sorted(entries, key=lambda e: (e["first"], e["service"]))


def pytest_configure(config: pytest.Config) -> None:
    log = FaultLog(run_context(config))
    config.pluginmanager.register(log, FaultLog.NAME)
    config.add_cleanup(log.close)
