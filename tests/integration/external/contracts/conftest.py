"""Fixtures shared by the contract tests: one simulator on a real socket, and its control API.

A contract module tests one service's official SDK (or plain HTTP) against that service's
simulator. It names the service in a module-level constant and, if its tests need seed
data, gives that in another::

    SERVICE = "abuseipdb"
    SEED = {"ips": {BAD: {"malicious": True, "score": 95}}}

Its tests then ask for ``server`` (the running simulator: ``server.url`` for the SDK,
``server.sim`` for direct inspection) and ``control`` (its control API, seeded with
``SEED``). Each test gets a fresh simulator, so nothing leaks between tests. A test that
needs a second server of its own (say, to compare two fresh ones) starts it in place with
``ThreadedSimulator(SERVICE)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator


def _service(request: pytest.FixtureRequest) -> str:
    service = getattr(request.module, "SERVICE", None)
    if not isinstance(service, str):
        pytest.fail(
            f"{request.module.__name__} uses the contract fixtures but names no simulator: "
            'set a module-level SERVICE = "<name>"',
            pytrace=False,
        )
    return service


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[ThreadedSimulator]:
    """The simulator of the module's ``SERVICE``, running in a thread until the test ends."""
    with ThreadedSimulator(_service(request)) as running:
        yield running


@pytest.fixture
def control(request: pytest.FixtureRequest, server: ThreadedSimulator) -> Iterator[SimulatorClient]:
    """The simulator's control API, over HTTP as a stack's test would use it.

    Going through HTTP rather than ``server.sim`` also means reads never race the
    simulator's loop. Seeded with the module's ``SEED`` dict, when it has one, before the
    test starts; closed after.
    """
    client = SimulatorClient(_service(request), server.url)
    try:
        seed = getattr(request.module, "SEED", None)
        if seed is not None:
            client.seed(seed)
        yield client
    finally:
        client.close()
