"""The HTTP control API of a FaultServer, driven the way a monitor or a person would."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from interlock.faults import FaultServer

if TYPE_CHECKING:
    from .conftest import Clients


@pytest.fixture
def faults(echo: tuple[str, int]) -> Iterator[FaultServer]:
    with FaultServer({"echo": echo}) as server:
        yield server


@pytest.fixture
def api(faults: FaultServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=faults.url, timeout=5) as client:
        yield client


def test_toxic_created_over_http_takes_effect(
    faults: FaultServer, api: httpx.Client, clients: Clients
) -> None:
    sock = clients.connect(faults["echo"].address)
    assert clients.round_trip(sock) < 0.1
    created = api.post(
        "/proxies/echo/toxics",
        json={"name": "slow", "type": "latency", "attributes": {"latency": 200}},
    )
    assert created.status_code == 200
    assert created.json() == {
        "name": "slow",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 200, "jitter": 0},
        "every": None,
        "duration": None,
    }
    assert clients.round_trip(sock) >= 0.195
    assert [t["name"] for t in api.get("/proxies/echo/toxics").json()] == ["slow"]
    assert api.delete("/proxies/echo/toxics/slow").status_code == 204
    assert clients.round_trip(sock) < 0.1


def test_bad_json_is_a_400_with_a_clear_error(api: httpx.Client) -> None:
    response = api.post(
        "/proxies/echo/toxics", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("request body is not valid JSON")


def test_refused_toxic_is_a_400_naming_the_field(api: httpx.Client) -> None:
    response = api.post(
        "/proxies/echo/toxics",
        json={"type": "latency", "toxicity": 1.5, "attributes": {"latency": 1}},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "toxicity must be between 0 and 1, got 1.5", "status": 400}
    response = api.post("/proxies/echo/toxics", json={"type": "lag"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("unknown toxic type 'lag' (use one of")


def test_unknown_names_are_404_and_taken_names_409(api: httpx.Client) -> None:
    assert api.get("/proxies/nope").status_code == 404
    assert api.delete("/proxies/echo/toxics/nope").json() == {
        "error": "proxy 'echo' has no toxic named 'nope' (it has: none)",
        "status": 404,
    }
    toxic = {"type": "latency", "attributes": {"latency": 1}}
    assert api.post("/proxies/echo/toxics", json=toxic).status_code == 200
    assert api.post("/proxies/echo/toxics", json=toxic).status_code == 409


def test_proxy_taken_down_and_up_over_http(
    faults: FaultServer, api: httpx.Client, clients: Clients
) -> None:
    down = api.post("/proxies/echo", json={"enabled": False})
    assert down.json()["enabled"] is False
    with pytest.raises(ConnectionRefusedError):
        clients.connect(faults["echo"].address)
    assert api.post("/reset").status_code == 204
    assert clients.round_trip(clients.connect(faults["echo"].address)) < 0.1


def test_proxy_created_and_removed_over_http(
    echo: tuple[str, int], api: httpx.Client, clients: Clients
) -> None:
    created = api.post("/proxies", json={"name": "again", "upstream": "{}:{}".format(*echo)})
    assert created.status_code == 201
    host, port = created.json()["listen"].rsplit(":", 1)
    assert clients.round_trip(clients.connect((host, int(port)))) < 0.1
    assert sorted(api.get("/proxies").json()) == ["again", "echo"]
    assert api.delete("/proxies/again").status_code == 204
    with pytest.raises(ConnectionRefusedError):
        clients.connect((host, int(port)))


def test_proxy_whose_port_was_taken_answers_503_and_reset_brings_it_back(
    faults: FaultServer, api: httpx.Client, clients: Clients
) -> None:
    proxy = faults["echo"]
    assert api.post("/proxies/echo", json={"enabled": False}).json()["enabled"] is False
    squatter = socket.create_server(proxy.address)
    try:
        response = api.post("/proxies/echo", json={"enabled": True})
        assert response.status_code == 503
        assert response.json()["error"].startswith(
            f"fault proxy 'echo' cannot listen on 127.0.0.1:{proxy.port}"
        )
        assert api.get("/proxies/echo").json()["enabled"] is False
        assert api.post("/reset").status_code == 503
    finally:
        squatter.close()
    assert api.post("/reset").status_code == 204
    assert api.get("/proxies/echo").json()["enabled"] is True
    assert clients.round_trip(clients.connect(proxy.address)) < 1
