"""``--profile``: the app and its services are sampled by py-spy while the suites run, and
leave flame graphs (``profiles/<process>.svg``) in the run folder, linked from the HTML.

Sampling starts when the first test that uses the stack runs (the processes are up) and
ends when the stack stops them: py-spy writes its graph when its target exits. A
sampler still running when the session ends (a process that outlived its stack) is
interrupted, which also makes it write its graph; it is waited for with a deadline.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Generator
from typing import Any, Final, final

import pytest

from interlock.plugin.run import RunContext, run_context

__all__ = ["PROFILES", "RATE", "Profiler"]

PROFILES: Final = "profiles"
#: samples per second: low enough to leave a 2-core machine to the system under test
RATE: Final = 49
_STOP_S: Final = 15.0


@final
class Profiler:
    """Starts one py-spy per process of the system under test; collects them at the end."""

    NAME = "interlock-profile"

    def __init__(self, run: RunContext, py_spy: str) -> None:
        self.run = run
        self.py_spy = py_spy
        self.names = ([run.config.app.name] if run.config.app else []) + [
            s.name for s in run.config.services
        ]
        self.samplers: dict[str, subprocess.Popen[bytes]] = {}
        self.started = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        if self.started:
            return
        stack: Any = getattr(item, "funcargs", {}).get("stack")
        processes = getattr(stack, "processes", None)
        if not isinstance(processes, dict):
            return
        self.started = True
        folder = self.run.stack_dir / PROFILES
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            pid = getattr(processes.get(name), "pid", None)
            if not isinstance(pid, int):
                continue
            log = (folder / f"{name}.py-spy.log").open("wb")
            self.samplers[name] = subprocess.Popen(
                [
                    self.py_spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--subprocesses",
                    "--rate",
                    str(RATE),
                    "--format",
                    "flamegraph",
                    "--output",
                    str(folder / f"{name}.svg"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            log.close()

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        yield  # the stack has stopped its processes: each sampler writes its graph
        for sampler in self.samplers.values():
            if sampler.poll() is None:
                sampler.send_signal(signal.SIGINT)
        for sampler in self.samplers.values():
            try:
                sampler.wait(timeout=_STOP_S)
            except subprocess.TimeoutExpired:
                sampler.kill()
                sampler.wait()

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        folder = self.run.stack_dir / PROFILES
        for name in self.samplers:
            graph = folder / f"{name}.svg"
            if graph.is_file():
                terminalreporter.write_line(f"profile: {name}: {graph}")
            else:
                terminalreporter.write_line(
                    f"profile: {name}: no flame graph (see {folder / (name + '.py-spy.log')})",
                    red=True,
                )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("interlock").addoption(
        "--profile",
        action="store_true",
        default=False,
        help="sample the app and its services with py-spy; flame graphs in <run>/profiles/",
    )


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("profile"):
        return
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise pytest.UsageError("interlock: --profile needs py-spy: pip install py-spy")
    profiler = Profiler(run_context(config), py_spy)
    config.pluginmanager.register(profiler, Profiler.NAME)
