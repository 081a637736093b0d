"""``--coverage``: the app and its services run under coverage.py; the run is gated at
COVERAGE_THRESHOLD (85 % by default) and fails below it.

The stack starts its processes with this process's environment, so the coverage
variables are set here, in the process that starts the stack (each xdist worker, or the
lone pytest process; never an xdist controller, whose workers would measure
themselves), and removed when pytest ends. The controller combines the data once every
stack has stopped.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import final

import pytest

from interlock.errors import DependencyError
from interlock.plugin.run import RunContext, run_context
from interlock.report.coverage import CoverageResult, combine, coverage_env

__all__ = ["CoverageGate"]


@final
class CoverageGate:
    """Sets the coverage environment for the stack; in the controller, combines and judges."""

    NAME = "interlock-coverage"

    def __init__(self, run: RunContext, env: dict[str, str], *, controller: bool) -> None:
        self.run = run
        self.controller = controller
        self.result: CoverageResult | None = None
        self._saved = {key: os.environ.get(key) for key in env}
        os.environ.update(env)

    def restore(self) -> None:
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        yield  # the stack has stopped: its processes wrote their data
        if not self.controller:
            return
        threshold = self.run.config.thresholds.coverage_threshold
        self.result = combine(self.run.ensure_run_dir(), threshold, self.run.config.root)
        if not self.result.ok and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.result is not None:
            terminalreporter.write_line(self.result.describe(), red=not self.result.ok)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interlock")
    group.addoption(
        "--coverage",
        action="store_true",
        default=False,
        help="measure the app and its services with coverage.py; fail below COVERAGE_THRESHOLD",
    )
    group.addoption(
        "--coverage-source",
        action="append",
        default=[],
        metavar="PKG_OR_DIR",
        help="what to measure (repeatable; default: code outside installed packages)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("coverage"):
        return
    run = run_context(config)
    xdist_controller = run.worker is None and bool(getattr(config.option, "numprocesses", None))
    env: dict[str, str] = {}
    if not xdist_controller:
        try:
            env = coverage_env(run.ensure_run_dir(), config.getoption("coverage_source"))
        except DependencyError as exc:
            raise pytest.UsageError(f"interlock: {exc}") from None
    gate = CoverageGate(run, env, controller=run.worker is None)
    config.pluginmanager.register(gate, CoverageGate.NAME)
    config.add_cleanup(gate.restore)
