"""The ``stack`` fixture and the clients built on it: ``api``, ``db``, ``redis``, ``ws``, ``sims``.

A stack that cannot start ends the run with one line (stderr) and exit status 4 (a
usage error; ``interlock run`` maps it to 2), with or without xdist, and leaves an
error case in junit.xml. While the stack is up its processes are watched: a test that
fails after a dependency died says which one, when, and the end of its log.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Generator, Iterator
from contextlib import ExitStack
from typing import Any, NoReturn, final

import pytest

from interlock.config import Config
from interlock.errors import InterlockError
from interlock.helpers import ApiClient, DatabaseHelper, EventListener, WebSocketFactory
from interlock.helpers.api import TokenProvider
from interlock.plugin.attach import attached
from interlock.plugin.durations import record_phase
from interlock.plugin.run import RunContext, run_context
from interlock.report.junit import Case, append_suite, junit_path
from interlock.simulators.client import SimulatorClient
from interlock.stack import Stack
from interlock.stack.attach import AttachedStack, reset_state
from interlock.stack.watch import ProcessWatch

__all__ = ["STACK", "STACK_ENV", "StackPlugin"]

_WORKEROUTPUT_KEY = "interlock_stack_error"
#: environment a feature (``--coverage``) adds to the system under test's processes;
#: set at configure time, read when the stack starts
STACK_ENV = pytest.StashKey[dict[str, str]]()


@final
class StackPlugin:
    """State of the stack feature: start failures (own and workers'), the process watch."""

    NAME = "interlock-stack"

    def __init__(self, run: RunContext, config: pytest.Config) -> None:
        self.run = run
        self.config = config
        #: why a stack could not start, one line each (this process's and its workers')
        self.failures: list[str] = []
        self.watch: ProcessWatch | None = None
        self.sim_clients: dict[str, SimulatorClient] = {}
        self.session: pytest.Session | None = None

    def say(self, message: str) -> None:
        """One line on the terminal, even while a test's output is captured.

        An xdist worker has no terminal of its own: it writes the line, naming itself, to
        the stderr it shares with the controller, so a parallel run says which servers
        each stack uses as a serial one does.
        """
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if self.run.worker is not None:
            line = f"interlock: [{self.run.worker}] {message}"
            if capture is None:
                print(line, file=sys.stderr, flush=True)
                return
            with capture.global_and_fixture_disabled():  # the real stderr, not a capture
                print(line, file=sys.stderr, flush=True)
            return
        if terminal is None:
            return
        if capture is None:
            terminal.write_line(f"interlock: {message}")
            return
        with capture.global_and_fixture_disabled():
            terminal.write_line(f"interlock: {message}")

    # -- a failed start ---------------------------------------------------------------
    def start_failed(self, error: InterlockError) -> NoReturn:
        message = f"interlock: {error}"
        self.failures.append(message)
        if self.run.worker is not None and self.session is not None:
            # stop this worker cleanly (no crash for xdist to report); the controller
            # hears the reason through workeroutput and says it once
            self.session.shouldstop = message
        # a usage error, not INTERRUPTED (also 2): `interlock run` maps it to its exit 2
        pytest.exit(message, returncode=pytest.ExitCode.USAGE_ERROR)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(trylast=True)  # after the terminal reporter has kept the exception
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # start_failed's pytest.exit is said once, as one line, by pytest_sessionfinish;
        # the terminal reporter would repeat it as "! _pytest.outcomes.Exit: ..." lines,
        # or, when a worker stopped the session with it, "! xdist.dsession.Interrupted: ..."
        error = excinfo.value
        terminal: Any = self.config.pluginmanager.get_plugin("terminalreporter")
        memo: Any = getattr(terminal, "_keyboardinterrupt_memo", None)
        if isinstance(error, pytest.exit.Exception) and error.msg in self.failures:
            terminal._keyboardinterrupt_memo = None
        elif (
            type(error).__name__ == "Interrupted"  # xdist's; its reporter needs the memo
            and str(error).startswith("interlock: ")
            and getattr(memo, "reprcrash", None) is not None
        ):
            memo.reprcrash.message = "interlock: a stack could not start (see below)"

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        reason = getattr(node, "workeroutput", {}).get(_WORKEROUTPUT_KEY)
        if reason and reason not in self.failures:
            self.failures.append(reason)

    @pytest.hookimpl(trylast=True)  # after junitxml has written its file
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.failures:
            return
        workeroutput: dict[str, Any] | None = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[_WORKEROUTPUT_KEY] = self.failures[0]
            return
        print(self.failures[0], file=sys.stderr, flush=True)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR
        path = junit_path(self.config)
        if path is not None:
            case = Case(
                name="start", outcome="error", message=self.failures[0], text=self.failures[0]
            )
            append_suite(path, "interlock.stack", [case])

    # -- dependencies that die during the run -----------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.failed and self.watch is not None:
            note = self._dependency_note(item)
            if note:
                # a traceback's repr prints its sections (terminal, JUnit, across xdist)
                addsection = getattr(report.longrepr, "addsection", None)
                if callable(addsection):
                    addsection("interlock: dependencies", note)
                else:
                    report.sections.append(("interlock: dependencies", note))
        return report

    def _dependency_note(self, item: pytest.Item) -> str:
        assert self.watch is not None
        lines = [exit.describe() for exit in self.watch.check()]
        faults = getattr(item, "funcargs", {}).get("faults")
        for name in getattr(faults, "touched", ()):
            lines.append(
                f"{name} was put under a process fault by this test "
                f"(faults.process({name!r})), not a crash"
            )
        return "\n".join(lines)


STACK = pytest.StashKey[StackPlugin]()


def pytest_configure(config: pytest.Config) -> None:
    plugin = StackPlugin(run_context(config), config)
    config.stash[STACK] = plugin
    config.pluginmanager.register(plugin, StackPlugin.NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.stash.get(STACK, None)
    if plugin is None:
        return
    for client in plugin.sim_clients.values():
        client.close()
    if config.pluginmanager.is_registered(plugin):
        config.pluginmanager.unregister(plugin)


def _plugin(config: pytest.Config) -> StackPlugin:
    return config.stash[STACK]


# -- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Iterator[Stack | AttachedStack]:
    """PostgreSQL, Redis, the simulators and the system under test, up for the session.

    Under ``--interlock-attach`` it is the env's stack instead, its state reset first.
    """
    plugin = _plugin(pytestconfig)
    run = plugin.run
    env = attached(pytestconfig)
    if env is not None:  # a warm stack: reset its state, never start or stop it
        began = time.perf_counter()
        try:
            reset_state(env, plugin.say)
        except InterlockError as exc:
            plugin.start_failed(exc)
        record_phase(pytestconfig, "attach: reset", time.perf_counter() - began)
        yield env
        return
    faults = tuple(pytestconfig.option.sim_fault or ()) + tuple(
        spec for spec in os.environ.get("INTERLOCK_SIM_FAULTS", "").split() if spec
    )
    run.ensure_run_dir()
    running = Stack(
        run.config,
        run_dir=run.stack_dir,
        sim_faults=faults,
        seed=run.seed,
        progress=plugin.say,  # which servers it uses, and when it is up (with the time)
        service_env=pytestconfig.stash.get(STACK_ENV, {}),
    )
    began = time.perf_counter()
    try:
        running.__enter__()
    except InterlockError as exc:
        plugin.start_failed(exc)
    record_phase(pytestconfig, "stack: start", time.perf_counter() - began)
    with ExitStack() as cleanup:
        cleanup.callback(running.close)
        plugin.watch = cleanup.enter_context(ProcessWatch(running.processes))
        cleanup.callback(setattr, plugin, "watch", None)
        yield running


def _timeout_s(config: Config) -> float:
    return config.thresholds.integration_timeout / 1000


@pytest.fixture
def interlock_auth() -> TokenProvider | None:
    """Override in conftest.py: a function role -> headers that authenticate as that role."""
    return None


@pytest.fixture
def api(
    stack: Stack, interlock_auth: TokenProvider | None, interlock_config: Config
) -> Iterator[ApiClient]:
    """HTTP client of the system under test; ``api.as_role("admin")`` logs in."""
    if stack.app_url is None:
        raise pytest.UsageError("interlock: no [tool.interlock.app] is configured")
    client = ApiClient(
        stack.app_url, timeout=min(_timeout_s(interlock_config), 30), auth=interlock_auth
    )
    yield client
    client.close()


@pytest.fixture
def db(stack: Stack, interlock_config: Config) -> Iterator[DatabaseHelper]:
    """Query the real database: ``db.query``, ``db.one``, ``db.count``, ``db.wait_for_row``."""
    if not stack.postgres_url:
        raise pytest.UsageError(
            "interlock: the stack has no PostgreSQL ([tool.interlock.postgres])"
        )
    helper = DatabaseHelper(stack.postgres_url, timeout=min(_timeout_s(interlock_config), 10))
    yield helper
    helper.close()


@pytest.fixture
def redis(stack: Stack, interlock_config: Config) -> Iterator[EventListener]:
    """Redis pub/sub: ``with redis.subscribe("chan") as sub: ...; sub.wait_for(pred)``."""
    if not stack.redis_url:
        raise pytest.UsageError("interlock: the stack has no Redis ([tool.interlock.redis])")
    listener = EventListener(stack.redis_url, timeout=min(_timeout_s(interlock_config), 10))
    yield listener
    listener.close()


@pytest.fixture
def ws(stack: Stack, interlock_config: Config) -> Iterator[WebSocketFactory]:
    """WebSocket connections to the system under test: ``ws.connect("/ws", token=...)``."""
    if stack.app_url is None:
        raise pytest.UsageError("interlock: no [tool.interlock.app] is configured")
    factory = WebSocketFactory(stack.app_url, timeout=min(_timeout_s(interlock_config), 10))
    yield factory
    factory.close_all()


@pytest.fixture
def sims(stack: Stack, pytestconfig: pytest.Config) -> Iterator[dict[str, SimulatorClient]]:
    """Each simulator's journal, state, faults and clock; what a test changes of the faults
    and clocks ends with the test (a clock goes back to real time, or to the ``clock`` of
    the simulator's configured seed data)."""
    plugin = _plugin(pytestconfig)
    clients = plugin.sim_clients
    for name, url in stack.simulators.items():
        if name not in clients:  # one client a session: each holds a connection pool
            clients[name] = SimulatorClient(name, url)
    yield clients
    for name, client in clients.items():
        client.remove_added_faults()
        if client.clock_moved:
            client.restore_clock(plugin.run.config.seed_data.get(name, {}).get("clock"))
