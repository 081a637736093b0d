"""Interlock's own hooks, which a conftest.py or another plugin may implement."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from interlock.config import Config
    from interlock.slo.report import SloReport
    from interlock.stack import Stack

__all__ = ["pytest_interlock_report", "pytest_interlock_reset"]


@pytest.hookspec
def pytest_interlock_report(report: SloReport, run_dir: Path, config: pytest.Config) -> None:
    """Write the run's SLO outcome somewhere.

    Called once per run, in the controller (never in an xdist worker), after every test
    and after junit.xml is written, whenever a workflow ran, was declared or is
    configured; never after an interrupted session (nothing is judged there).
    ``report`` holds every workflow's figures and verdicts (latencies in ms; a
    workflow's ``not_judged`` says why a partial run left it unjudged); ``run_dir`` is
    the run folder (it exists). The terminal table, ``slo.json`` and the JUnit cases
    are implementations of this hook. Each implementation is called on its own: one
    that raises is reported in one line and fails the run, and the others still run.
    """


@pytest.hookspec
def pytest_interlock_reset(stack: Stack, config: pytest.Config, interlock_config: Config) -> None:
    """Put the system under test's shared state back before a test, as a fresh stack has it.

    Called for each test that uses the ``stack`` fixture (directly or through ``api``,
    ``db``, ...), in the process that runs it and on that process's stack, before the
    first fixture the test sets up, whatever its scope (a session fixture a test is the
    first to use is built on reset state too). What Interlock changes for a test
    (simulator faults and clocks, fault proxies, paused or killed processes) its fixtures
    have already put back when the test before ended. Implement this hook in a
    conftest.py for what a test can leave behind in the app (circuit breakers, throttle
    counters, an active configuration, caches) that a later test would trip over;
    ``interlock_config`` is the project's configuration (the app's environment, its
    credentials). It runs while fixtures are being set up, so it asks for none. An
    implementation that raises is an error of that test's setup, never a pass: a test
    must not run on state it did not expect.
    """
