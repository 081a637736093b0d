"""The SLO gate: the ``slo`` fixture records, the controller judges once at the end.

Each process streams what it records to the run folder (see ``interlock.slo.journal``);
the controller merges every process's journal, builds the report, fails a green
session on a breach, and hands the report to each ``pytest_interlock_report`` writer.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, final

import pytest

from interlock.plugin.run import RunContext, run_context
from interlock.report.junit import Case, append_suite, junit_path
from interlock.slo.journal import Journal, collect
from interlock.slo.record import Recorder
from interlock.slo.report import SloReport, build_report

__all__ = ["GATE", "SloGate", "SloRecorder", "UnusedTimer"]


@final
class SloGate:
    """Holds this process's recorder; in the controller, judges the whole run."""

    NAME = "interlock-slo-gate"

    def __init__(self, run: RunContext, config: pytest.Config) -> None:
        self.run = run
        self.config = config
        self.recorder = Recorder(Journal(run.journal_dir, run.worker or "main"))
        self.report: SloReport | None = None

    @pytest.hookimpl(trylast=True)  # after junitxml has written its file: writers add to it
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.recorder.finish()
        if self.run.worker is not None:
            return
        try:
            tally = collect(self.run.journal_dir)
        except ValueError as exc:
            # no verdict is not a green one: say so on stderr, in the exit status and in JUnit
            message = f"interlock: cannot judge the SLOs: {exc}"
            print(message, file=sys.stderr, flush=True)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            path = junit_path(self.config)
            if path is not None:
                case = Case(name="verdict", outcome="error", message=message, text=message)
                append_suite(path, "interlock.slo", [case])
            return
        if not (tally.figures or tally.declared or self.run.configured):
            return
        report = build_report(tally, defaults=self.run.defaults, configured=self.run.configured)
        self.report = report
        if not report.ok and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.config.hook.pytest_interlock_report(
            report=report, run_dir=self.run.ensure_run_dir(), config=self.config
        )


GATE = pytest.StashKey[SloGate]()


def pytest_configure(config: pytest.Config) -> None:
    gate = SloGate(run_context(config), config)
    config.stash[GATE] = gate
    config.pluginmanager.register(gate, SloGate.NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    gate = config.stash.get(GATE, None)
    if gate is not None and config.pluginmanager.is_registered(gate):
        config.pluginmanager.unregister(gate)


@final
class _Timed:
    """One run of a workflow, timed by a ``with`` block; it records only when entered."""

    def __init__(self, recorder: Recorder, name: str, pending: set[_Timed]) -> None:
        self.name = name
        self._block = recorder.workflow(name)
        self._pending = pending
        pending.add(self)

    def __enter__(self) -> None:
        self._pending.discard(self)
        self._block.__enter__()

    def __exit__(self, *exc: Any) -> bool | None:
        return self._block.__exit__(*exc)


@final
class SloRecorder:
    """``with slo("onboarding"): ...`` records one run; ``slo.declare(name, "p(95)<1500")``.

    ``slo(name)`` times the ``with`` block it opens; called as a plain statement it could
    time nothing, so the test fails at its end (``UnusedTimer``) instead of passing
    with a run silently unrecorded.
    """

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._pending: set[_Timed] = set()

    def __call__(self, name: str) -> AbstractContextManager[None]:
        return _Timed(self._recorder, name, self._pending)

    def unused(self) -> list[str]:
        """Names of the ``slo(name)`` calls never used as a ``with`` block."""
        return sorted(timed.name for timed in self._pending)

    def declare(self, name: str, *rules: str) -> None:
        """Hold ``name`` to these thresholds; raises ConfigError on a malformed one.

        They replace the configured and default thresholds of the same kind (latency,
        rate, count). A declared workflow that never runs is a breach ("no data").
        """
        self._recorder.declare(name, *rules)

    def add(
        self,
        name: str,
        *,
        duration_ms: float,
        ok: bool,
        error: str | None = None,
        start: float | None = None,
    ) -> None:
        """Record a run timed elsewhere. ``start`` is accepted for compatibility and unused:
        the figures are an aggregate, which keeps no timestamps."""
        self._recorder.add(name, duration_ms, ok=ok, error=error)


class UnusedTimer(Exception):
    """``slo(name)`` was called but never entered: write ``with slo(name): ...``."""


@pytest.fixture
def slo(pytestconfig: pytest.Config) -> Iterator[SloRecorder]:
    """Record workflow runs for the run's SLO verdicts."""
    recorder = SloRecorder(pytestconfig.stash[GATE].recorder)
    yield recorder
    unused = recorder.unused()
    if unused:
        raise UnusedTimer(
            f"slo({', '.join(map(repr, unused))}) timed nothing: it times the block of "
            f"'with slo(name): ...', and was called as a plain statement"
        )
