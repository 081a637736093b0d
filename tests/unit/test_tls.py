"""Interlock's HTTP clients share one TLS context instead of building one each."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest

from interlock.helpers.api import ApiClient
from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator


@pytest.fixture
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> list[ssl.SSLContext]:
    """Every TLS context built from now on (httpx builds them with this call)."""
    made: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counted(*args: object, **kwargs: object) -> ssl.SSLContext:
        made.append(create(*args, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    return made


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedSimulator]:
    with ThreadedSimulator("sendgrid") as simulator:
        yield simulator


def test_simulator_and_api_clients_share_one_tls_context(contexts_made, server):
    for n in range(3):
        with SimulatorClient(f"sim{n}", server.url) as client:
            client.state()  # usable, each one
        api = ApiClient(server.url, timeout=5)
        assert api.get("/__interlock/state").status_code == 200
        api.close()
    assert len(contexts_made) <= 1  # one for the process, unless a client made it before
