"""The ``load`` fixture: load scenarios against the stack's app, counted in the SLO gate."""

from __future__ import annotations

import pytest

from interlock.load.pytest_fixture import LoadFixture
from interlock.plugin.slo import GATE
from interlock.stack import Stack

__all__ = ["load"]


@pytest.fixture
def load(stack: Stack, pytestconfig: pytest.Config) -> LoadFixture:
    """A LoadFixture aimed at the stack's app (``load.run(workflow, executor, ...)``).

    Each run's workflow aggregate is merged into this process's SLO recorder, so the
    run's SLO table and gate count every iteration and its whole-run thresholds.
    """
    return LoadFixture(base_url=stack.app_url, slo=pytestconfig.stash[GATE].recorder)
