"""Interlock's own hooks, which a conftest.py or another plugin may implement."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from interlock.slo.report import SloReport

__all__ = ["pytest_interlock_report"]


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
