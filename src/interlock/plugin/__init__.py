"""Interlock's pytest plugin: a package of feature plugins, and Interlock's own hooks.

    run        the run context: configuration with overrides, run folder, seed
    options    command-line options, markers, header; interlock_config, interlock_seed,
               interlock_run_dir
    timeout    INTEGRATION_TIMEOUT and the integration_timeout mark
    durations  start-up phases and the slowest tests: durations.json, terminal summary
    attach     --interlock-attach: run on the stack of a running `interlock env up`
    groups     xdist_group marks kept on one worker under --dist loadgroup
    stack      the stack (start failures, watched processes) and api, db, redis, ws, sims
    faults     the faults fixture
    reset      before each test on the stack, the project's pytest_interlock_reset
    slo        the slo fixture and the gate that judges the run in the controller
    load       the load fixture: load runs against the stack, their figures to the gate
    progress   a line naming a test that runs long
    evidence, faultlog
               what a failure's report shows: log lines, simulator calls, faults fired
    shard, repeat, baseline, coverage, apicoverage, impact, profile
               the options of the reports (see interlock.report)
    hookspec   pytest_interlock_report, implemented by the writers in interlock.report;
               pytest_interlock_reset, by a project's conftest.py

Bad input to Interlock (an option, a configuration key, a threshold) is one line on
stderr and exit 2 under plain ``pytest`` too, as under ``interlock run``; pytest's own
usage errors keep pytest's 4.

A project teaches ``api.as_role(...)`` to log in by defining ``interlock_auth``
(role -> headers) in its conftest.py, and adds a writer of the run's results by
implementing ``pytest_interlock_report(report, run_dir, config)``.
"""

from __future__ import annotations

import sys
from collections.abc import Generator

import pytest

from interlock.plugin import hookspec
from interlock.plugin.faults import Faults
from interlock.plugin.slo import SloRecorder
from interlock.plugin.timeout import IntegrationTimeout

__all__ = ["Faults", "IntegrationTimeout", "SloRecorder"]

pytest_plugins = [
    "interlock.plugin.options",
    "interlock.plugin.timeout",
    "interlock.plugin.durations",
    "interlock.plugin.attach",
    "interlock.plugin.groups",
    "interlock.plugin.stack",
    "interlock.plugin.faults",
    "interlock.plugin.reset",
    "interlock.plugin.slo",
    "interlock.plugin.load",
    "interlock.plugin.progress",
    "interlock.plugin.evidence",
    "interlock.plugin.faultlog",
    "interlock.plugin.shard",
    "interlock.plugin.repeat",
    "interlock.plugin.baseline",
    "interlock.plugin.coverage",
    "interlock.plugin.apicoverage",
    "interlock.plugin.impact",
    "interlock.plugin.profile",
    "interlock.report.terminal",
    "interlock.report.jsonfile",
    "interlock.report.junit",
    "interlock.report.html",
]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


# the exit status of Interlock's usage errors, as the CLI's (2 = usage, configuration)
USAGE_EXIT = 2


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Generator[None, object, object]:
    """Turn Interlock's usage errors (messages starting ``interlock:``) into exit 2.

    Under ``interlock run`` (``--interlock-run-dir`` given) pytest's 4 is kept: the CLI
    maps it to 2, and a child's 2 means an interrupted session there.
    """
    try:
        return (yield)
    except pytest.UsageError as exc:
        message = str(exc)
        if not message.startswith("interlock:") or config.option.interlock_run_dir:
            raise
        print(f"ERROR: {message}", file=sys.stderr, flush=True)
        return USAGE_EXIT
