"""Where a run's time went: start-up phases and the slowest tests.

Written to ``<run dir>/durations.json`` and summed up at the end of the terminal report::

    {"startup": [{"phase": "stack: start", "worker": "gw0" | null, "seconds": 4.2}, ...],
     "tests": [{"nodeid": "...", "seconds": 12.5}, ...],      # slowest first, all of them
     "total_test_seconds": 181.0}

A test's seconds are its setup, call and teardown together, so the test that first asks
for the ``stack`` carries the start-up too; the ``startup`` list says how much of it that
was. xdist workers send their phases to the controller, which writes the file once.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, final

import pytest

from interlock.plugin.run import run_context

__all__ = ["DurationsPlugin", "record_phase"]

#: tests listed in the terminal summary
SHOWN = 10
_WORKEROUTPUT_KEY = "interlock_startup"


@final
class DurationsPlugin:
    NAME = "interlock-durations"

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.worker: str | None = run_context(config).worker
        self.phases: list[dict[str, Any]] = []
        self.tests: dict[str, float] = defaultdict(float)

    def record(self, phase: str, seconds: float) -> None:
        self.phases.append({"phase": phase, "worker": self.worker, "seconds": round(seconds, 3)})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.tests[report.nodeid] += report.duration

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        self.phases.extend(getattr(node, "workeroutput", {}).get(_WORKEROUTPUT_KEY, ()))

    def summary(self) -> dict[str, Any]:
        ranked = sorted(self.tests.items(), key=lambda item: item[1], reverse=True)
        return {
            "startup": self.phases,
            "tests": [{"nodeid": nodeid, "seconds": round(s, 3)} for nodeid, s in ranked],
            "total_test_seconds": round(sum(self.tests.values()), 3),
        }

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput: dict[str, Any] | None = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[_WORKEROUTPUT_KEY] = self.phases
            return
        run_dir = run_context(self.config).run_dir
        if run_dir.is_dir():  # made by the run; a session without a stack makes none
            (run_dir / "durations.json").write_text(json.dumps(self.summary(), indent=1) + "\n")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.worker is not None or not (self.phases or self.tests):
            return
        if not run_context(self.config).run_dir.is_dir():
            return  # nothing of Interlock's ran: pytest's own --durations is the user's
        summary = self.summary()
        terminalreporter.section("interlock: durations")
        for phase in summary["startup"]:
            where = f" ({phase['worker']})" if phase["worker"] else ""
            terminalreporter.write_line(f"{phase['seconds']:8.2f} s  {phase['phase']}{where}")
        for test in summary["tests"][:SHOWN]:
            terminalreporter.write_line(f"{test['seconds']:8.2f} s  {test['nodeid']}")
        terminalreporter.write_line(
            f"{summary['total_test_seconds']:8.2f} s  all {len(summary['tests'])} tests "
            "(setup, call, teardown; durations.json lists each)"
        )


_PLUGIN = pytest.StashKey[DurationsPlugin]()


def record_phase(config: pytest.Config, phase: str, seconds: float) -> None:
    """Note a start-up phase (``phase`` names it, ``seconds`` its wall time) of this process."""
    plugin = config.stash.get(_PLUGIN, None)
    if plugin is not None:
        plugin.record(phase, seconds)


def pytest_configure(config: pytest.Config) -> None:
    plugin = DurationsPlugin(config)
    config.stash[_PLUGIN] = plugin
    config.pluginmanager.register(plugin, DurationsPlugin.NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(_PLUGIN, None)
    if plugin is not None and config.pluginmanager.is_registered(plugin):
        config.pluginmanager.unregister(plugin)
