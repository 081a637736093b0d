"""Options, markers, the run context (config, run folder, seed) and the fixtures that expose it."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, final

import pytest

from interlock.config import Config
from interlock.plugin.run import RUN, RunContext, build_run_context, run_context
from interlock.runs import hold_run_dir, release_run_dir

__all__ = ["SUITE_MARKERS"]

SUITE_MARKERS = {
    "workflow": "cross-system coordination workflows (streams A-D)",
    "business": "revenue-critical business workflows",
    "external": "external service coordination (simulated APIs)",
    "performance": "performance, load and SLO validation",
}


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
        help="seed of the simulators' randomness, to replay a run (default: $INTERLOCK_SEED, "
        "else a random one, printed in the header)",
    )
    # no type=: the values are validated with the file's and the environment's, one way
    group.addoption(
        "--performance-threshold",
        metavar="PCT",
        help="minimum workflow success rate in percent (default 95; env PERFORMANCE_THRESHOLD)",
    )
    group.addoption(
        "--latency-threshold",
        metavar="MS",
        help="maximum workflow p95 latency in ms (default 2000; env LATENCY_THRESHOLD)",
    )
    group.addoption(
        "--integration-timeout",
        metavar="MS",
        help="time limit of one test in ms, and of each wait inside it "
        "(default 60000; env INTEGRATION_TIMEOUT)",
    )
    parser.addini(
        "interlock_still_running_after",
        "seconds after which a running test is named on the terminal, and again as often",
        default="10",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, text in SUITE_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    run = build_run_context(config)
    config.stash[RUN] = run
    _check_sim_faults(config, run)
    # the run folder is in use until this session ends (one process may run several);
    # one an `interlock run` made is held from the start, so it outlives that command
    if not run.ours:
        hold_run_dir(run.run_dir)
    config.add_cleanup(partial(release_run_dir, run.run_dir))
    if config.pluginmanager.hasplugin("xdist") and run.worker is None:
        config.pluginmanager.register(_HandOver(run), _HandOver.NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    handover = config.pluginmanager.get_plugin(_HandOver.NAME)
    if handover is not None:
        config.pluginmanager.unregister(handover)


@final
class _HandOver:
    """Gives each xdist worker the controller's run folder, seed and session."""

    NAME = "interlock-handover"

    def __init__(self, run: RunContext) -> None:
        self.run = run

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput.update(self.run.to_workerinput())


def pytest_report_header(config: pytest.Config) -> str:
    seed = run_context(config).seed
    # `interlock run` passes its run folder; its option is --seed, pytest's --interlock-seed
    option = "--seed" if config.getoption("interlock_run_dir") else "--interlock-seed"
    return f"interlock: seed {seed} — replay with {option} {seed}"


@pytest.fixture(scope="session")
def interlock_config(pytestconfig: pytest.Config) -> Config:
    """The project's Interlock configuration, with environment and command-line overrides."""
    return run_context(pytestconfig).config


@pytest.fixture(scope="session")
def interlock_seed(pytestconfig: pytest.Config) -> int:
    """This run's seed (the same in every xdist worker): seed Hypothesis, Schemathesis, ..."""
    return run_context(pytestconfig).seed


@pytest.fixture(scope="session")
def interlock_run_dir(pytestconfig: pytest.Config) -> Path:
    """This run's folder (created, with its ``seed`` file): keep a run's own artifacts here."""
    return run_context(pytestconfig).ensure_run_dir()


def _check_sim_faults(config: pytest.Config, run: RunContext) -> None:
    """Each ``--sim-fault`` names a configured simulator: checked before collection, as
    ``interlock run`` does, not when the first stack starts."""
    from interlock.errors import UsageError
    from interlock.simulators.faults import check_sim_faults

    try:
        check_sim_faults(config.getoption("sim_fault") or [], run.config.simulators)
    except UsageError as exc:
        raise pytest.UsageError(f"interlock: {exc}") from None
