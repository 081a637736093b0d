"""The per-test reset: each test that uses the stack starts on the state a fresh stack has.

Tests share a stack (one per xdist worker), so whatever one test leaves behind, a later
test on the same worker meets, and which test that is depends on the order and on how
tests are spread over workers. What Interlock changes for a test it undoes at the end of
that test: the ``sims`` fixture removes the test's simulator faults and puts back every
simulator clock the test froze or moved, the ``faults`` fixture the proxies and the
processes. What the system under test keeps (its circuit breakers, throttle counters,
an active configuration, caches) only the project knows: before each such test,
``pytest_interlock_reset(stack, config, interlock_config)`` is called, which a project's
conftest.py implements (see :mod:`interlock.plugin.hookspec`).

"Before" means before the first fixture the test sets up, whatever its scope: a
session-scoped fixture a test is the first to use (a customer shared by a module's
tests) must be built on reset state too. The autouse ``interlock_reset`` makes sure
every test sets up at least one fixture.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, final

import pytest

from interlock.plugin.run import run_context

__all__ = ["interlock_reset"]


@final
class ResetPlugin:
    """Runs the project's reset once per test, as the test's first fixture is set up."""

    NAME = "interlock-reset"

    def __init__(self) -> None:
        #: the test being set up uses the stack and its reset has not run yet
        self.pending = False
        #: the reset is running (the fixtures it asks for are set up meanwhile)
        self.running = False

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self.pending = "stack" in getattr(item, "fixturenames", ())
        try:
            return (yield)
        finally:
            self.pending = False

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        if self.pending and not self.running and fixturedef.argname not in _STACK_ITSELF:
            self.pending = False
            self.running = True
            try:
                stack = request.getfixturevalue("stack")
                request.config.hook.pytest_interlock_reset(
                    stack=stack,
                    config=request.config,
                    interlock_config=run_context(request.config).config,
                )
            finally:
                self.running = False
        return (yield)


#: the stack fixture and what it is built from: set up before any reset can run
_STACK_ITSELF = frozenset({"stack", "pytestconfig", "interlock_config"})


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(ResetPlugin(), ResetPlugin.NAME)


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = config.pluginmanager.get_plugin(ResetPlugin.NAME)
    if plugin is not None:
        config.pluginmanager.unregister(plugin)


@pytest.fixture(autouse=True)
def interlock_reset() -> None:
    """Set up for every test, so that even a test whose other fixtures are all built
    already has one set up, before which the project's reset runs (see the module)."""
