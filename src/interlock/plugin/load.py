"""The ``load`` fixture: load scenarios against the stack's app, counted in the SLO gate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from interlock.plugin.slo import GATE

if TYPE_CHECKING:
    from interlock.load.pytest_fixture import LoadFixture
    from interlock.stack import Stack

__all__ = ["load"]


@pytest.fixture
def load(stack: Stack, pytestconfig: pytest.Config) -> LoadFixture:
    """A LoadFixture aimed at the stack's app (``load.run(workflow, executor, ...)``).

    Each run's workflow aggregate is merged into this process's SLO recorder, so the
    run's SLO table and gate count every iteration and its whole-run thresholds.
    """
    # the load engine is imported by the tests that load the app, not by every session
    from interlock.load.pytest_fixture import LoadFixture

    return LoadFixture(base_url=stack.app_url, slo=pytestconfig.stash[GATE].recorder)
