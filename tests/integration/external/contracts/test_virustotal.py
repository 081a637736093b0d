"""The VirusTotal simulator, driven through the official vt-py client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import vt

from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "virustotal"
KEY = "0123456789abcdef" * 4
BAD = "45.83.64.1"
SEED = {
    "ips": {BAD: {"malicious": True, "score": 95, "tags": ["scanner"]}, "45.83.64.2": None},
    "domains": {"evil.example": {"malicious": True, "score": 80}},
}


@contextmanager
def vt_client(url: str, key: str = KEY) -> Iterator[vt.Client]:
    # vt-py's sync calls run on the thread's event loop: give it one, then close both
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    client = vt.Client(key, host=url)
    try:
        yield client
    finally:
        client.close()
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture
def client(server: ThreadedSimulator, control: SimulatorClient) -> Iterator[vt.Client]:
    with vt_client(server.url) as vt_:
        yield vt_


def test_seeded_ip_comes_back_as_a_malicious_vt_object(client: vt.Client) -> None:
    ip = client.get_object("/ip_addresses/{}", BAD)
    assert (ip.type, ip.id) == ("ip_address", BAD)
    assert ip.last_analysis_stats["malicious"] >= 15
    assert (
        sum(r["category"] == "malicious" for r in ip.last_analysis_results.values())
        == (ip.last_analysis_stats["malicious"])
    )
    assert ip.reputation == -95
    assert ip.tags == ["scanner"]
    assert ip.last_analysis_date.year >= 2024  # vt-py turns *_date into a datetime


def test_unseeded_ip_is_harmless_and_the_same_on_every_server(server: ThreadedSimulator) -> None:
    # one vt client at a time: its sync calls share the thread's event loop
    with vt_client(server.url) as first_client:
        first = first_client.get_object("/ip_addresses/{}", "1.2.3.4").to_dict()
    with ThreadedSimulator(SERVICE) as other, vt_client(other.url) as second_client:
        second = second_client.get_object("/ip_addresses/{}", "1.2.3.4").to_dict()
    assert first["attributes"]["last_analysis_stats"]["malicious"] == 0
    assert first["attributes"] == second["attributes"]


def test_seeded_domain_is_served_as_a_domain_object(client: vt.Client) -> None:
    domain = client.get_object("/domains/{}", "evil.example")
    assert domain.type == "domain"
    assert domain.last_analysis_stats["malicious"] > 0
    assert domain.tld == "example"


def test_ip_seeded_as_null_is_not_found(client: vt.Client) -> None:
    with pytest.raises(vt.APIError) as raised:
        client.get_object("/ip_addresses/{}", "45.83.64.2")
    assert raised.value.code == "NotFoundError"


def test_wrong_key_raises_wrong_credentials_and_is_redacted(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    with (
        vt_client(server.url, key="not-a-virustotal-key") as wrong,
        pytest.raises(vt.APIError) as raised,
    ):
        wrong.get_object("/ip_addresses/{}", BAD)
    assert raised.value.code == "WrongCredentialsError"
    [call] = control.journal()
    assert call["status"] == 401
    assert call["headers"]["X-Apikey"] == "***"


def test_fifth_call_in_a_minute_exceeds_the_default_quota(client: vt.Client) -> None:
    for _ in range(4):
        client.get_object("/ip_addresses/{}", BAD)
    with pytest.raises(vt.APIError) as raised:
        client.get_object("/ip_addresses/{}", BAD)
    assert raised.value.code == "QuotaExceededError"


def test_quota_is_set_by_seed_data(client: vt.Client, control: SimulatorClient) -> None:
    control.seed({"quota": {"per_minute": 1}})
    assert control.state()["quota"] == {"per_minute": 1, "per_day": 500}
    client.get_object("/ip_addresses/{}", BAD)
    with pytest.raises(vt.APIError, match="QuotaExceededError"):
        client.get_object("/ip_addresses/{}", BAD)
    control.seed({"quota": {"per_minute": None}})
    for _ in range(6):
        client.get_object("/ip_addresses/{}", BAD)


def test_injected_500_surfaces_as_a_server_error(
    client: vt.Client, control: SimulatorClient
) -> None:
    with control.failing(500, path="/ip_addresses/"), pytest.raises(vt.APIError) as raised:
        client.get_object("/ip_addresses/{}", BAD)
    assert raised.value.code == "ServerError"
    assert client.get_object("/ip_addresses/{}", BAD).id == BAD
