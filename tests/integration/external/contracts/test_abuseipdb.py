"""The AbuseIPDB simulator, called with plain requests as a client would (there is no SDK)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "abuseipdb"
KEY = "0123456789abcdef" * 5
BAD = "45.83.64.1"
SEED = {"ips": {BAD: {"malicious": True, "score": 95, "totalReports": 40, "countryCode": "RU"}}}


@pytest.fixture
def api(control: SimulatorClient) -> Iterator[requests.Session]:
    session = requests.Session()
    session.headers.update({"Key": KEY, "Accept": "application/json"})
    yield session
    session.close()


def check(api: requests.Session, url: str, ip: str, **params: Any) -> requests.Response:
    return api.get(
        f"{url}/api/v2/check", params={"ipAddress": ip, "maxAgeInDays": 90, **params}, timeout=5
    )


def test_check_returns_the_seeded_score(api: requests.Session, server: ThreadedSimulator) -> None:
    response = check(api, server.url, BAD)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["ipAddress"] == BAD
    assert (data["abuseConfidenceScore"], data["totalReports"], data["countryCode"]) == (
        95,
        40,
        "RU",
    )
    assert data["isPublic"] is True
    assert data["lastReportedAt"] is not None
    assert "reports" not in data


def test_unseeded_ip_is_clean_and_the_same_on_every_server(
    api: requests.Session, server: ThreadedSimulator
) -> None:
    first = check(api, server.url, "1.2.3.4").json()["data"]
    with ThreadedSimulator(SERVICE) as other:
        second = check(api, other.url, "1.2.3.4").json()["data"]
    assert (first["abuseConfidenceScore"], first["totalReports"]) == (0, 0)
    assert first == second


def test_report_raises_score_and_shows_in_verbose_check(
    api: requests.Session, server: ThreadedSimulator
) -> None:
    before = check(api, server.url, "1.2.3.4").json()["data"]
    reported = api.post(
        f"{server.url}/api/v2/report",
        timeout=5,
        params={"ip": "1.2.3.4", "categories": "18,22", "comment": "SSH brute force"},
    )
    assert reported.status_code == 200
    assert reported.json() == {"data": {"ipAddress": "1.2.3.4", "abuseConfidenceScore": 15}}
    after = check(api, server.url, "1.2.3.4", verbose="").json()["data"]
    assert after["abuseConfidenceScore"] > before["abuseConfidenceScore"]
    assert (after["totalReports"], after["numDistinctUsers"]) == (1, 1)
    assert after["reports"][0]["categories"] == [18, 22]
    assert after["reports"][0]["comment"] == "SSH brute force"


def test_blacklist_lists_ips_above_the_confidence_minimum(
    api: requests.Session, server: ThreadedSimulator
) -> None:
    api.post(f"{server.url}/api/v2/report", data={"ip": "1.2.3.4", "categories": "18"}, timeout=5)
    listed = api.get(f"{server.url}/api/v2/blacklist", params={"confidenceMinimum": 95}, timeout=5)
    assert [entry["ipAddress"] for entry in listed.json()["data"]] == [BAD]
    plain = api.get(
        f"{server.url}/api/v2/blacklist",
        params={"confidenceMinimum": 25},
        headers={"Accept": "text/plain"},
        timeout=5,
    )
    assert plain.text.splitlines() == [BAD]


def test_bad_ip_is_a_422_naming_the_parameter(
    api: requests.Session, server: ThreadedSimulator
) -> None:
    response = check(api, server.url, "999.1.1.1")
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["status"] == 422
    assert error["source"] == {"parameter": "ipAddress"}
    assert error["detail"].startswith("The ip address must be a valid IPv4 or IPv6 address")


def test_wrong_key_is_a_401_in_the_errors_shape(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    response = requests.get(
        f"{server.url}/api/v2/check",
        params={"ipAddress": BAD},
        headers={"Key": "wrong", "Accept": "application/json"},
        timeout=5,
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["detail"].startswith("Authentication failed.")
    assert control.journal()[0]["headers"]["Key"] == "***"


def test_daily_limit_counts_down_then_answers_429(
    api: requests.Session, server: ThreadedSimulator, control: SimulatorClient
) -> None:
    control.seed({"daily_limits": {"check": 2}})
    remaining = [check(api, server.url, BAD).headers["X-RateLimit-Remaining"] for _ in range(2)]
    assert remaining == ["1", "0"]
    limited = check(api, server.url, BAD)
    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert 0 < int(limited.headers["Retry-After"]) <= 86_400
    assert int(limited.headers["X-RateLimit-Reset"]) % 86_400 == 0  # next 00:00 UTC
    assert "Daily rate limit of 2 requests" in limited.json()["errors"][0]["detail"]
    # limits are per endpoint
    assert api.get(f"{server.url}/api/v2/blacklist", timeout=5).status_code == 200


def test_injected_500_keeps_the_errors_shape(
    api: requests.Session, server: ThreadedSimulator, control: SimulatorClient
) -> None:
    with control.failing(500, path="/api/v2/check"):
        response = check(api, server.url, BAD)
    assert response.status_code == 500
    assert response.json()["errors"][0]["status"] == 500
    assert check(api, server.url, BAD).status_code == 200


def test_the_same_ip_reported_twice_within_15_minutes_is_refused_with_429(
    api: requests.Session, server: ThreadedSimulator
) -> None:
    # AbuseIPDB API v2 reference, "REPORT Endpoint": one report of an address per user
    # per 15 minutes, else 429 with errors[].detail naming the address
    report = {"ip": "203.0.113.9", "categories": "18,22", "comment": "ssh brute force"}
    first = api.post(f"{server.url}/api/v2/report", data=report, timeout=5)
    assert first.status_code == 200
    again = api.post(f"{server.url}/api/v2/report", data=report, timeout=5)
    assert again.status_code == 429
    [error] = again.json()["errors"]
    assert error["detail"] == (
        "You can only report the same IP address (`203.0.113.9`) once in 15 minutes."
    )
    assert check(api, server.url, "203.0.113.9").json()["data"]["totalReports"] == 1
    other = api.post(
        f"{server.url}/api/v2/report",
        data=report,
        headers={"Key": "f" * 80},
        timeout=5,
    )
    assert other.status_code == 200
