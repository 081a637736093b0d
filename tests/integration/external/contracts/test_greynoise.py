"""The GreyNoise simulator, driven through the official pygreynoise client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests
from greynoise.api import APIConfig, GreyNoise
from greynoise.exceptions import RateLimitError, RequestFailure

from interlock.simulators.client import SimulatorClient
from interlock.simulators.greynoise import NOT_OBSERVED
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "greynoise"
KEY = "interlock-greynoise-key"
BAD = "45.83.64.1"
UNSEEDED = [f"1.2.3.{n}" for n in range(1, 21)]
SEED = {
    "ips": {
        BAD: {"malicious": True, "score": 95, "tags": ["Log4j RCE Attempt"]},
        "8.8.8.8": {"riot": True, "name": "Google Public DNS"},
        "45.83.64.2": None,
    },
    "api_keys": [KEY],
}


@contextmanager
def greynoise(url: str, key: str = KEY) -> Iterator[GreyNoise]:
    client = GreyNoise(
        APIConfig(api_key=key, api_server=url, offering="community", use_cache=False)
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def gn(server: ThreadedSimulator, control: SimulatorClient) -> Iterator[GreyNoise]:
    with greynoise(server.url) as client:
        yield client


def test_ip_lookup_returns_the_seeded_malicious_verdict(gn: GreyNoise) -> None:
    context = gn.ip(BAD)
    scanner = context["internet_scanner_intelligence"]
    assert context["ip"] == BAD
    assert (scanner["found"], scanner["classification"]) == (True, "malicious")
    assert [tag["name"] for tag in scanner["tags"]] == ["Log4j RCE Attempt"]
    assert context["business_service_intelligence"]["found"] is False


def test_community_endpoint_returns_the_documented_shape(gn: GreyNoise) -> None:
    assert gn.request(f"v3/community/{BAD}") == {
        "ip": BAD,
        "noise": True,
        "riot": False,
        "classification": "malicious",
        "name": "unknown",
        "link": f"https://viz.greynoise.io/ip/{BAD}",
        "last_seen": gn.request(f"v3/community/{BAD}")["last_seen"],
        "message": "Success",
    }
    riot = gn.request("v3/community/8.8.8.8")
    assert (riot["riot"], riot["classification"], riot["name"]) == (
        True,
        "benign",
        "Google Public DNS",
    )


def test_not_observed_ip_is_a_404_body_the_sdk_returns(
    gn: GreyNoise, control: SimulatorClient
) -> None:
    assert gn.request("v3/community/45.83.64.2") == {
        "ip": "45.83.64.2",
        "noise": False,
        "riot": False,
        "message": NOT_OBSERVED,
    }
    context = gn.ip("45.83.64.2")
    assert context["internet_scanner_intelligence"] == {"found": False}
    assert [call["status"] for call in control.journal()] == [404, 404]


def test_unseeded_ips_are_never_malicious_and_the_same_on_every_server(
    gn: GreyNoise, control: SimulatorClient
) -> None:
    control.seed({"daily_limit": 0})
    first = [gn.request(f"v3/community/{ip}") for ip in UNSEEDED]
    with ThreadedSimulator(SERVICE) as other, greynoise(other.url) as fresh:
        second = [fresh.request(f"v3/community/{ip}") for ip in UNSEEDED]
    assert first == second
    assert {answer.get("classification") for answer in first} == {None, "benign", "unknown"}


def test_wrong_key_raises_request_failure_401(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    with greynoise(server.url, key="wrong") as wrong, pytest.raises(RequestFailure) as raised:
        wrong.ip(BAD)
    assert raised.value.args[0] == 401
    assert control.journal()[0]["headers"]["key"] == "***"


def test_daily_cap_raises_rate_limit_error_at_once(gn: GreyNoise, control: SimulatorClient) -> None:
    control.seed({"daily_limit": 2})
    gn.ip(BAD)
    gn.ip(BAD)
    with pytest.raises(RateLimitError):
        gn.ip(BAD)
    assert [call["status"] for call in control.journal()] == [200, 200, 429]


def test_seeded_retry_after_is_sent_in_whole_seconds(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    # plain HTTP: the SDK's urllib3 would sleep for it and retry (one reason it is off by default)
    control.seed({"daily_limit": 1, "retry_after": 30})
    answers = [
        requests.get(f"{server.url}/v3/community/{BAD}", headers={"key": KEY}, timeout=5)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 429]
    assert answers[1].headers["Retry-After"] == "30"
    assert answers[1].json()["plan_url"] == "https://greynoise.io/pricing"


def test_one_injected_500_is_retried_by_the_sdk(gn: GreyNoise, control: SimulatorClient) -> None:
    control.add_fault("status", status=500, path="/v3/ip/", times=1)
    assert gn.ip(BAD)["internet_scanner_intelligence"]["classification"] == "malicious"
    assert [call["status"] for call in control.journal(path=f"/v3/ip/{BAD}")] == [500, 200]


def test_injected_400_raises_request_failure(gn: GreyNoise, control: SimulatorClient) -> None:
    with control.failing(400, path="/v3/ip/"), pytest.raises(RequestFailure) as raised:
        gn.ip(BAD)
    assert raised.value.args[0] == 400
