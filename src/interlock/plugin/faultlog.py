"""Every fault that was active during a run, for the HTML report's timeline.

The faults are recorded where they act: the stack's fault proxies (toxics, ``down``),
its processes (stop, kill, pause, restart) and the simulator clients of ``sims`` (fault
rules) tell this plugin's observer when each fault begins and ends, as it happens; a
run-wide ``--sim-fault`` is recorded as active from the stack's start to the end. Each
event carries the test running at the time. After each test, the calls each simulator
answered with a fault (its journal since the last look) are added as "hits". All of it
goes to ``<run>/faults/<process>.jsonl`` (``main`` or the xdist worker's id), read back
by :func:`interlock.report.faultlog.read_fault_log`.

A run attached to an ``env up`` (``--interlock-attach``) drives the env's proxies from
another process: those faults are not seen here.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Generator
from typing import IO, Any, final

import httpx
import pytest

from interlock.faults import FaultServer
from interlock.faults.events import FaultEvent
from interlock.plugin.run import RunContext, run_context
from interlock.report.faultlog import FAULTS_DIR
from interlock.simulators import parse_fault_spec
from interlock.simulators.client import SimulatorClient
from interlock.stack import ManagedProcess
from interlock.tls import shared_tls

__all__ = ["FaultLog"]


@final
class FaultLog:
    """Writes this process's fault log: the observer of the stack's faults, and the hits."""

    NAME = "interlock-fault-log"

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self._seen: dict[str, int] = {}
        self._file: IO[str] | None = None
        # proxies report from their loop thread, the rest from the test's thread
        self._lock = threading.Lock()
        #: the test running now ("" between tests)
        self.current = ""
        # one client for the run: a new one per call costs an SSL context each time
        self._http: httpx.Client | None = None

    def _write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if self._file is None:
                folder = self.run.ensure_run_dir() / FAULTS_DIR
                folder.mkdir(exist_ok=True)
                self._file = (folder / f"{self.run.worker or 'main'}.jsonl").open("a")
            self._file.write(json.dumps(entry) + "\n")
            self._file.flush()

    def observe(self, event: FaultEvent, *, test: str | None = None) -> None:
        """The observer given to every proxy, process and simulator client of the stack;
        ``test`` is the one that set the fault (default: the test running now)."""
        self._write(
            {
                "type": "event",
                "phase": event.phase,
                "source": event.source,
                "target": event.target,
                "fault": event.fault,
                "key": event.key,
                "time": event.time,
                "test": self.current if test is None else test,
            }
        )

    # -- watching the faults where they act ------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        value = yield
        if fixturedef.argname == "stack":
            self._watch_stack(value)
        elif fixturedef.argname == "sims" and isinstance(value, dict):
            for client in value.values():
                if isinstance(client, SimulatorClient):
                    client.observer = self.observe
        return value

    def _watch_stack(self, stack: Any) -> None:
        self._write({"type": "begin", "time": time.time()})
        server = getattr(stack, "faults", None)
        if isinstance(server, FaultServer):
            server.observer = self.observe
        for process in getattr(stack, "processes", {}).values():
            if isinstance(process, ManagedProcess):
                process.observer = self.observe
        for index, spec in enumerate(getattr(stack, "sim_faults", ())):
            name, _ = parse_fault_spec(spec)
            self.observe(
                FaultEvent(
                    phase="start",
                    source="simulator",
                    target=name,
                    fault=f"--sim-fault {spec.partition(':')[2]}",
                    key=f"run:{index}",
                ),
                test="",  # set by the run, not by the test whose setup started the stack
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.current = item.nodeid

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
            self.current = ""

    # -- the calls a simulator fault hit --------------------------------------------
    def _collect(self, nodeid: str, simulators: dict[str, str]) -> None:
        for name, url in sorted(simulators.items()):
            since = self._seen.get(name, 0)
            try:
                if self._http is None:
                    self._http = httpx.Client(timeout=2.0, verify=shared_tls())
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
                        "type": "hits",
                        "test": nodeid,
                        "service": name,
                        "fault": kind,
                        "calls": len(hit),
                        "first": min(times),
                        "last": max(times),
                    }
                )

    def close(self) -> None:
        """Record the end of this process's run (faults still open lasted until it)."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._file is not None:
            self._write({"type": "end", "time": time.time()})
            with self._lock:
                self._file.close()
                self._file = None


def pytest_configure(config: pytest.Config) -> None:
    log = FaultLog(run_context(config))
    config.pluginmanager.register(log, FaultLog.NAME)
    config.add_cleanup(log.close)
