"""The SLO gate: the ``slo`` fixture records, the controller judges once at the end.

Each process streams what it records to the run folder (see ``interlock.slo.journal``);
the controller merges every process's journal, builds the report, fails a green
session on a breach, and hands the report to each ``pytest_interlock_report`` writer.

A run is *partial* when it selected or ran only part of its tests (see ``partial_reason``):
then a workflow that is only configured (``[tool.interlock.slo]``) and has no data is
shown as "not run (partial run)" and not judged, since the tests that run it may not
have been selected. A complete run judges it a breach. An interrupted session judges
nothing. Each writer runs on its own: one that raises is one line on stderr and an
internal-error exit, and the other writers still write.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, final

import pytest

from interlock.errors import ConfigError
from interlock.plugin.run import RunContext, run_context
from interlock.report.junit import Case, append_suite, junit_path
from interlock.report.verdict import Reason, ledger, say
from interlock.slo.journal import Journal, collect
from interlock.slo.record import Recorder
from interlock.slo.report import SloReport, build_report

__all__ = ["GATE", "SloGate", "SloRecorder", "partial_reason"]

#: key of an xdist worker's output holding how many tests it deselected
_DESELECTED = "interlock_deselected"


def _covers(arg: str, invocation: Path, suite: Path) -> bool:
    """Whether the command-line argument ``arg`` selects every test under ``suite``."""
    if "::" in arg:
        return False  # a node id: one test, class or parametrisation
    return suite.is_relative_to((invocation / arg).resolve())


def partial_reason(
    *,
    deselected: int,
    args: Sequence[str] | None,
    invocation: Path,
    suite: Path,
    stopped: str | None,
) -> str | None:
    """Why a run is partial, or None when it is complete.

    A run is partial when ``deselected`` > 0 (``-k``, ``-m``, ``--deselect`` or
    ``--shard`` left tests out), when no argument in ``args`` (paths relative to
    ``invocation``) is the suite folder ``suite`` (``[tool.interlock] tests``) or a
    folder above it, or when ``stopped`` says the session stopped early (``-x``,
    ``--maxfail``). ``args`` None means pytest's own default (``testpaths``): the
    project's whole selection, never narrower.
    """
    if deselected:
        return f"partial run: {deselected} tests deselected"
    if args is not None and not any(_covers(arg, invocation, suite.resolve()) for arg in args):
        return f"partial run: {' '.join(args)} is narrower than the suite {suite}"
    if stopped:
        return f"partial run: {stopped}"
    return None


@final
class SloGate:
    """Holds this process's recorder; in the controller, judges the whole run."""

    NAME = "interlock-slo-gate"

    def __init__(self, run: RunContext, config: pytest.Config) -> None:
        self.run = run
        self.config = config
        self.recorder = Recorder(Journal(run.journal_dir, run.worker or "main"))
        self.report: SloReport | None = None
        #: tests deselected here and, under xdist, in the workers (each collects all)
        self.deselected = 0
        #: what the run's verdict hears from this gate
        self.reasons = ledger(config)

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        self.deselected += len(items)
        workeroutput: dict[str, Any] | None = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: the controller reads it at the end
            workeroutput[_DESELECTED] = self.deselected

    @pytest.hookimpl(optionalhook=True)  # xdist's hook: absent under -p no:xdist
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", None) or {}
        self.deselected = max(self.deselected, int(output.get(_DESELECTED, 0)))

    @pytest.hookimpl(trylast=True)  # after junitxml has written its file: writers add to it
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.recorder.finish()
        if self.run.worker is not None:
            return
        if session.exitstatus == pytest.ExitCode.INTERRUPTED:
            stack = self.config.pluginmanager.get_plugin("interlock-stack")
            if getattr(stack, "failures", None):
                return  # a stack that could not start stopped the run: that line says why
            # what an interrupted run recorded says nothing about the workflows it never reached
            self._say("interlock: interrupted: SLOs not judged")
            return
        try:
            tally = collect(self.run.journal_dir)
        except ValueError as exc:
            # no verdict is not a green one: say so on stderr, in the exit status and in JUnit
            message = f"interlock: cannot judge the SLOs: {exc}"
            self._say(message)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
            path = junit_path(self.config)
            if path is not None:
                case = Case(name="verdict", outcome="error", message=message, text=message)
                append_suite(path, "interlock.slo", [case])
            text = message.removeprefix("interlock: ")
            self.reasons.add(Reason(gate="slo", text=text, kind="error", said=True, cased=True))
            return
        if not (tally.figures or tally.declared or self.run.configured):
            return
        partial = self.partial(session)
        report = build_report(
            tally, defaults=self.run.defaults, configured=self.run.configured, partial=partial
        )
        self.report = report
        if not report.ok and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if not report.ok:
            breached = [w.name for w in report.workflows if not w.ok]
            text = f"SLO breached: {', '.join(breached)}"
            self.reasons.add(Reason(gate="slo", text=text, said=True, cased=True))
        failures = self._write(report, self.run.ensure_run_dir())
        for line in failures:
            self._say(line)
            text = line.removeprefix("interlock: ")
            self.reasons.add(Reason(gate="report", text=text, kind="error", said=True))
        if failures and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def partial(self, session: pytest.Session) -> str | None:
        """Why this session ran only part of the suite (see ``partial_reason``), or None.

        Valid in the controller (or the lone process) once the session has finished.
        """
        stopped = session.shouldfail or session.shouldstop
        return partial_reason(
            deselected=self.deselected,
            args=None
            if self.config.args_source == pytest.Config.ArgsSource.TESTPATHS
            else self.config.args,
            invocation=self.config.invocation_params.dir,
            suite=self.run.config.tests,
            stopped=str(stopped) if stopped else None,
        )

    def _say(self, line: str) -> None:
        say(self.config, line)

    def _write(self, report: SloReport, run_dir: Path) -> list[str]:
        """Call each ``pytest_interlock_report`` writer on its own; one line per failure.

        A writer that raises must not take the others' reports with it, nor the
        report.html written after this hook.
        """
        manager = self.config.pluginmanager
        impls = self.config.hook.pytest_interlock_report.get_hookimpls()
        failures = []
        for impl in reversed(impls):  # pluggy's own order: the last registered first
            others = [other.plugin for other in impls if other.plugin is not impl.plugin]
            caller = manager.subset_hook_caller("pytest_interlock_report", others)
            try:
                caller(report=report, run_dir=run_dir, config=self.config)
            except Exception as exc:
                code = getattr(impl.function, "__code__", None)  # None: a callable object
                where = impl.plugin_name
                if code is not None:
                    source = _short(Path(code.co_filename), self.config.rootpath)
                    where = f"{source}:{code.co_firstlineno}"
                first = next(iter(str(exc).splitlines()), "")  # one line, whatever it raised
                failures.append(
                    f"interlock: report writer pytest_interlock_report at {where} failed: "
                    f"{type(exc).__name__}: {first} (the other reports were written)"
                )
        return failures


def _short(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


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
    time nothing, so the test fails at its end, with one line, instead of passing
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
        """Hold ``name`` to these thresholds.

        They replace the configured and default thresholds of the same kind (latency,
        rate, count). A declared workflow that never runs is a breach ("no data").
        A malformed threshold fails the test with one line (``pytest.fail``), no
        traceback: it is the test's input that is wrong, not the code under test.
        """
        try:
            self._recorder.declare(name, *rules)
            return
        except ConfigError as exc:
            problem = str(exc)
        # outside the except block, so pytest shows no chained ConfigError above the line
        pytest.fail(f"slo.declare({name!r}, ...): {problem}", pytrace=False)

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


@pytest.fixture
def slo(pytestconfig: pytest.Config) -> Iterator[SloRecorder]:
    """Record workflow runs for the run's SLO verdicts."""
    recorder = SloRecorder(pytestconfig.stash[GATE].recorder)
    yield recorder
    unused = recorder.unused()
    if unused:
        message = (
            f"slo({', '.join(map(repr, unused))}) timed nothing: it times the block of "
            f"'with slo(name): ...', and was called as a plain statement"
        )
        pytest.fail(message, pytrace=False)
