"""Every fault campaign of the coordination suite ends with WMS's invariants checked on the
real database: a test that put a dependency, a process or a simulator under a fault is red
when it left a payment settled twice, an orphan row or an event never delivered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.helpers.invariants import violations, wait_until_delivered

#: fixtures through which a test injects faults
FAULT_FIXTURES = frozenset({"faults", "sims"})


@pytest.fixture(autouse=True)
def invariants_hold_after_each_fault_campaign(
    request: pytest.FixtureRequest, db: Any
) -> Iterator[None]:
    # autouse, so set up before the test's own fixtures and torn down after them: the
    # check runs once every fault has been undone and every process is back
    yield
    if not FAULT_FIXTURES & set(request.fixturenames):
        return
    delivered = wait_until_delivered(lambda: db.connection)
    assert violations(db.connection, delivered_before=delivered) == []
