"""Interlock's pytest plugin: the stack and its clients as fixtures, suite markers, SLO gates.

Fixtures: ``stack`` (session; one per xdist worker), ``api``, ``db``, ``redis``, ``ws``,
``sims``, ``faults``, ``slo`` and ``interlock_config``. A project teaches
``api.as_role(...)`` to log in by defining ``interlock_auth`` (role -> headers) in its
conftest.py.

At the end of a session every recorded workflow is judged against its thresholds; the
table is printed, ``slo.json`` written, a JUnit test case added per workflow, and a
breach fails the session (exit status 1).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import xml.etree.ElementTree as ET
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from interlock.config import Config, load_config
from interlock.errors import ConfigError, InterlockError
from interlock.faults import Proxy
from interlock.helpers import ApiClient, DatabaseHelper, EventListener, WebSocketFactory
from interlock.helpers.api import TokenProvider
from interlock.runs import new_run_dir
from interlock.simulators.client import SimulatorClient
from interlock.slo.record import Recorder
from interlock.slo.report import SloReport, build_report
from interlock.stack import ManagedProcess, Stack

SUITE_MARKERS = {
    "workflow": "cross-system coordination workflows (streams A-D)",
    "business": "revenue-critical business workflows",
    "external": "external service coordination (simulated APIs)",
    "performance": "performance, load and SLO validation",
}


@dataclass
class _State:
    config: Config
    run_dir: Path
    worker: str | None
    recorder: Recorder = field(default_factory=Recorder)
    report: SloReport | None = None
    sim_clients: dict[str, SimulatorClient] = field(default_factory=dict)

    @property
    def stack_dir(self) -> Path:
        return self.run_dir / self.worker if self.worker else self.run_dir


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    return config.stash[_STATE]


# -- options and configuration ----------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("interlock", "Interlock integration testing")
    group.addoption(
        "--interlock-run-dir",
        metavar="DIR",
        help="artifact folder of this run (default: a new one under the "
        "configured artifacts folder)",
    )
    group.addoption(
        "--sim-fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="a simulator fault active for the whole run, e.g. stripe:status=500 "
        "(SERVICE:KIND[=VALUE][,key=value...]); repeatable",
    )
    group.addoption(
        "--interlock-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the simulators' randomness, to replay a run",
    )
    group.addoption(
        "--performance-threshold",
        type=float,
        metavar="PCT",
        help="minimum workflow success rate in percent (default 95; env PERFORMANCE_THRESHOLD)",
    )
    group.addoption(
        "--latency-threshold",
        type=float,
        metavar="MS",
        help="maximum workflow p95 latency in ms (default 2000; env LATENCY_THRESHOLD)",
    )
    group.addoption(
        "--integration-timeout",
        type=float,
        metavar="MS",
        help="time limit of one test in ms, and of each wait inside it "
        "(default 60000; env INTEGRATION_TIMEOUT)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, text in SUITE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.addinivalue_line(
        "markers",
        "integration_timeout(ms): this test's own time limit, for one that is long by "
        "nature (a fuzzing run, a soak); replaces INTEGRATION_TIMEOUT for it",
    )
    try:
        settings = load_config(Path(str(config.rootpath)))
    except ConfigError as exc:
        raise pytest.UsageError(f"interlock: {exc}") from None
    overrides = {
        key: getattr(config.option, key)
        for key in ("performance_threshold", "latency_threshold", "integration_timeout")
        if getattr(config.option, key, None) is not None
    }
    if overrides:
        settings = replace(settings, thresholds=replace(settings.thresholds, **overrides))
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None:
        run_dir = Path(workerinput["interlock_run_dir"])
        worker: str | None = str(workerinput.get("workerid", "gw"))
    else:
        chosen = config.option.interlock_run_dir
        run_dir = Path(chosen) if chosen else new_run_dir(settings.artifacts, create=False)
        worker = None
    state = _State(config=settings, run_dir=run_dir, worker=worker)
    for name, rules in settings.slo.items():
        state.recorder.declare(name, *rules)
    config.stash[_STATE] = state
    if config.pluginmanager.hasplugin("xdist") and workerinput is None:
        config.pluginmanager.register(_XdistController(state), "interlock-xdist")


class _XdistController:
    """Hands each worker the run folder and gathers the workers' SLO samples."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["interlock_run_dir"] = str(self.state.run_dir)

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        data = getattr(node, "workeroutput", {}).get("interlock_slo")
        if data:
            self.state.recorder.merge(json.loads(data))


# -- the per-test time limit ----------------------------------------------------------
class IntegrationTimeout(Exception):
    """A test ran longer than INTEGRATION_TIMEOUT."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    limit_ms = _state(item.config).config.thresholds.integration_timeout
    own = item.get_closest_marker("integration_timeout")
    if own is not None:
        if len(own.args) != 1 or not isinstance(own.args[0], int | float) or own.args[0] <= 0:
            raise pytest.UsageError(
                f"{item.nodeid}: integration_timeout takes one positive number of ms"
            )
        limit_ms = float(own.args[0])
    source = "INTEGRATION_TIMEOUT" if own is None else "its integration_timeout mark"
    usable = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
    if not usable:
        return (yield)

    def expire(signum: int, frame: object) -> None:
        raise IntegrationTimeout(f"test exceeded {source} of {limit_ms:g} ms")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit_ms / 1000)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- SLO verdicts at the end of the session -------------------------------------------
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = _state(config)
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["interlock_slo"] = json.dumps(state.recorder.export())
        return
    if not state.recorder.samples:
        return
    thresholds = state.config.thresholds
    report = build_report(
        state.recorder,
        success_rate_pct=thresholds.performance_threshold,
        latency_ms=thresholds.latency_threshold,
    )
    state.report = report
    report.write_json(state.run_dir / "slo.json")
    if not report.ok and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report = _state(config).report
    if report is None:
        return
    terminalreporter.write_sep("=", "service-level objectives")
    for line in report.table().splitlines():
        terminalreporter.write_line(line)
    for verdict in report.breaches():
        terminalreporter.write_line(
            f"SLO breach: {verdict.workflow}: {verdict.threshold} (actual {verdict.actual:g})",
            red=True,
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    xmlpath = getattr(config.option, "xmlpath", None)
    if state is None or state.report is None or not xmlpath or not Path(xmlpath).is_file():
        return
    _append_junit(Path(xmlpath), state.report)
    for client in state.sim_clients.values():
        client.close()


def _append_junit(path: Path, report: SloReport) -> None:
    """One test case per workflow in a testsuite of its own, so CI shows SLO breaches."""
    tree = ET.parse(path)
    root = tree.getroot()
    if root.tag != "testsuites":
        wrapper = ET.Element("testsuites")
        wrapper.append(root)
        root = wrapper
        tree = ET.ElementTree(root)
    failures = [
        w
        for w in report.workflows
        if any(not v.ok for v in report.verdicts if v.workflow == w.name)
    ]
    suite = ET.SubElement(
        root,
        "testsuite",
        name="interlock.slo",
        tests=str(len(report.workflows)),
        failures=str(len(failures)),
        errors="0",
        skipped="0",
    )
    for workflow in report.workflows:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="interlock.slo",
            name=workflow.name,
            time=f"{workflow.avg / 1000:.3f}",
        )
        broken = [v for v in report.verdicts if v.workflow == workflow.name and not v.ok]
        if broken:
            failure = ET.SubElement(
                case,
                "failure",
                message="SLO breach: "
                + ", ".join(f"{v.threshold} (actual {v.actual:g})" for v in broken),
            )
            failure.text = (
                f"{workflow.runs} runs, success {workflow.rate:.3f}, "
                f"p95 {workflow.p95:.0f} ms; errors: {'; '.join(workflow.errors)}"
            )
    tmp = path.with_suffix(".tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    tmp.replace(path)


# -- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def interlock_config(pytestconfig: pytest.Config) -> Config:
    """The project's Interlock configuration, with environment and command-line overrides."""
    return _state(pytestconfig).config


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Iterator[Stack]:
    """PostgreSQL, Redis, the simulators and the system under test, up for the session."""
    state = _state(pytestconfig)
    faults = tuple(pytestconfig.option.sim_fault or ()) + tuple(
        spec for spec in os.environ.get("INTERLOCK_SIM_FAULTS", "").split() if spec
    )
    seed = pytestconfig.option.interlock_seed
    if seed is None:
        seed = int(os.environ.get("INTERLOCK_SEED", "0") or 0)
    running = Stack(state.config, run_dir=state.stack_dir, sim_faults=faults, seed=seed)
    try:
        running.__enter__()
    except InterlockError as exc:
        # a usage error, not INTERRUPTED (also 2): `interlock run` maps it to its exit 2
        pytest.exit(f"interlock: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    try:
        yield running
    finally:
        running.close()


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
    helper = DatabaseHelper(stack.postgres_url, timeout=min(_timeout_s(interlock_config), 10))
    yield helper
    helper.close()


@pytest.fixture
def redis(stack: Stack, interlock_config: Config) -> Iterator[EventListener]:
    """Redis pub/sub: ``with redis.subscribe("chan") as sub: ...; sub.wait_for(pred)``."""
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
    """Each simulator's journal, state and faults; faults a test adds end with the test."""
    clients = _state(pytestconfig).sim_clients
    for name, url in stack.simulators.items():
        clients.setdefault(name, SimulatorClient(name, url))
    yield clients
    for client in clients.values():
        client.remove_added_faults()


class Faults:
    """Network faults between the system and its dependencies, and process faults.

    ``faults["postgres"].latency(ms=200)`` (any proxy: postgres, redis, each simulator);
    ``faults.process("redis").kill()`` / ``.pause()`` / ``.resume()`` / ``.restart()``.
    Whatever a test changes is undone when it ends, pass or fail.
    """

    def __init__(self, stack: Stack) -> None:
        if stack.faults is None:
            raise pytest.UsageError("interlock: fault proxies are off ([tool.interlock] faults)")
        self._server = stack.faults
        self._stack = stack
        self._touched: dict[str, ManagedProcess] = {}

    def __getitem__(self, name: str) -> Proxy:
        return self._server[name]

    @property
    def url(self) -> str:
        """The HTTP control API of the proxies."""
        return self._server.url

    def process(self, name: str) -> ManagedProcess:
        try:
            process = self._stack.processes[name]
        except KeyError:
            raise pytest.UsageError(
                f"interlock: no process {name!r}; have {', '.join(self._stack.processes)}"
            ) from None
        self._touched[name] = process
        return process

    def restore(self) -> None:
        self._server.reset()
        for process in self._touched.values():
            process.resume()
            if not process.running():
                process.restart()
        self._touched.clear()


@pytest.fixture
def faults(stack: Stack) -> Iterator[Faults]:
    """Degrade what the system under test depends on; everything is restored afterwards."""
    controller = Faults(stack)
    try:
        yield controller
    finally:
        controller.restore()


class SloRecorder:
    """``with slo("onboarding"): ...`` records one run; ``slo.declare(name, "p(95)<1500")``."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def __call__(self, name: str) -> AbstractContextManager[None]:
        return self._recorder.workflow(name)

    def declare(self, name: str, *rules: str) -> None:
        self._recorder.declare(name, *rules)

    def add(
        self, name: str, *, start: float, duration_ms: float, ok: bool, error: str | None = None
    ) -> None:
        self._recorder.add(name, start, duration_ms, ok, error)


@pytest.fixture
def slo(pytestconfig: pytest.Config) -> SloRecorder:
    """Record workflow runs for the session's SLO verdicts."""
    return SloRecorder(_state(pytestconfig).recorder)
