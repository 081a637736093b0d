"""The per-test reset: each test that uses the stack starts on the state a fresh stack has.

Tests share a stack (one per xdist worker), so whatever one test leaves behind, a later
test on the same worker meets, and which test that is depends on the order and on how
tests are spread over workers. What Interlock changes for a test it undoes at the end of
that test: the ``sims`` fixture removes the test's simulator faults and puts back every
simulator clock the test froze or moved, the ``faults`` fixture the proxies and the
processes. What the system under test keeps (its circuit breakers, throttle counters,
an active configuration, caches) only the project knows: before each such test,
``pytest_interlock_reset(stack, config, request)`` is called, which a project's conftest.py
implements (see :mod:`interlock.plugin.hookspec`).
"""

from __future__ import annotations

import pytest

__all__ = ["interlock_reset"]


@pytest.fixture(autouse=True)
def interlock_reset(request: pytest.FixtureRequest) -> None:
    """Before a test that uses ``stack``: the project's ``pytest_interlock_reset`` hooks.

    Autouse, so it is set up before the test's own function fixtures; a test that does
    not use the stack starts none here. A hook that raises is an error of this test's
    setup, never a pass on unexpected state.
    """
    if "stack" in request.fixturenames:
        stack = request.getfixturevalue("stack")
        request.config.hook.pytest_interlock_reset(
            stack=stack, config=request.config, request=request
        )
