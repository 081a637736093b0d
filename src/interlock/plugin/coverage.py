"""``--coverage``: the app and its services run under coverage.py; the run is gated at
COVERAGE_THRESHOLD (85 % by default) and fails below it. A partial run (``-k``, ``-m``,
a node id, ``--shard``, a stop after failures) or an interrupted one shows its figure
but is not judged: part of the suite covers part of the code (``interlock report merge``
judges a sharded run's whole).

The coverage variables go to the stack (``STACK_ENV``), which gives them to the app and
its services only: the pytest process's own environment is never changed, so neither
it nor anything else it starts measures itself. Only a process that starts a stack
(each xdist worker, or the lone pytest process) sets them; the controller combines the
data once every stack has stopped. A run attached to an ``env up`` cannot measure
processes already running: ``--coverage`` with ``--interlock-attach`` is a usage error.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import final

import pytest

from interlock.errors import DependencyError
from interlock.plugin.run import RunContext, run_context
from interlock.plugin.slo import GATE
from interlock.plugin.stack import STACK_ENV
from interlock.report.coverage import CoverageResult, combine, coverage_env
from interlock.report.verdict import Reason, ledger

__all__ = ["CoverageGate"]


@final
class CoverageGate:
    """In the controller (or the lone process): combines the data and judges it."""

    NAME = "interlock-coverage"

    def __init__(self, run: RunContext, *, controller: bool) -> None:
        self.run = run
        self.controller = controller
        self.result: CoverageResult | None = None

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        yield  # the stack has stopped: its processes wrote their data
        if not self.controller:
            return
        threshold = self.run.config.thresholds.coverage_threshold
        self.result = combine(
            self.run.ensure_run_dir(),
            threshold,
            self.run.config.root,
            not_judged=self._not_judged(session),
        )
        if self.result.failed:
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            # the terminal summary shows the figure, before the verdict's line says why
            ledger(session.config).add(Reason(gate="coverage", text=self.result.describe()))

    @staticmethod
    def _not_judged(session: pytest.Session) -> str | None:
        """Why the threshold does not apply: part of the suite covers part of the code."""
        if session.exitstatus == pytest.ExitCode.INTERRUPTED:
            return "interrupted run"
        gate = session.config.stash.get(GATE, None)
        return gate.partial(session) if gate is not None else None

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.result is not None:
            terminalreporter.write_line(self.result.describe(), red=self.result.failed)


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


def pytest_cmdline_main(config: pytest.Config) -> None:
    # before configure, where the run would attach to an env it could not measure
    if config.getoption("coverage") and config.getoption("interlock_attach", None) is not None:
        raise pytest.UsageError(
            "interlock: --coverage measures processes the run starts; an attached env's "
            "processes already run (drop --interlock-attach / --attach)"
        )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("coverage"):
        return
    run = run_context(config)
    xdist_controller = run.worker is None and bool(getattr(config.option, "numprocesses", None))
    if not xdist_controller:
        try:
            env = coverage_env(run.ensure_run_dir(), config.getoption("coverage_source"))
        except DependencyError as exc:
            raise pytest.UsageError(f"interlock: {exc}") from None
        config.stash.setdefault(STACK_ENV, {}).update(env)
    gate = CoverageGate(run, controller=run.worker is None)
    config.pluginmanager.register(gate, CoverageGate.NAME)
