"""The AlienVault OTX simulator, driven through the official OTXv2 client."""

from __future__ import annotations

import IndicatorTypes
import pytest
from OTXv2 import BadRequest, InvalidAPIKey, OTXv2

from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "otx"
KEY = "0123456789abcdef" * 4
BAD = "45.83.64.1"
IPV4 = IndicatorTypes.IPv4
SEED = {
    "ips": {
        BAD: {
            "malicious": True,
            "score": 95,
            "pulses": [
                {
                    "name": "Log4Shell scanners",
                    "tags": ["log4j", "scanner"],
                    "malware_families": ["Mirai"],
                    "attack_ids": ["T1190"],
                    "TLP": "green",
                },
            ],
        },
        "45.83.64.2": {"malicious": True},
    }
}


@pytest.fixture
def otx(server: ThreadedSimulator, control: SimulatorClient) -> OTXv2:
    return OTXv2(KEY, server=server.url)


def test_general_section_lists_the_seeded_pulses(otx: OTXv2) -> None:
    general = otx.get_indicator_details_by_section(IPV4, BAD, "general")
    assert (general["indicator"], general["type"]) == (BAD, "IPv4")
    info = general["pulse_info"]
    assert info["count"] == 1
    [pulse] = info["pulses"]
    assert (pulse["name"], pulse["tags"], pulse["TLP"]) == (
        "Log4Shell scanners",
        ["log4j", "scanner"],
        "green",
    )
    assert pulse["malware_families"][0]["display_name"] == "Mirai"
    assert info["related"]["other"]["malware_families"] == ["Mirai"]


def test_malicious_ip_without_pulses_gets_one(otx: OTXv2) -> None:
    general = otx.get_indicator_details_by_section(IPV4, "45.83.64.2", "general")
    assert general["pulse_info"]["count"] == 1


def test_reputation_section_carries_the_score(otx: OTXv2) -> None:
    reputation = otx.get_indicator_details_by_section(IPV4, BAD, "reputation")["reputation"]
    assert reputation["threat_score"] == 95
    assert [a["name"] for a in reputation["activities"]] == ["Malicious Host"]


def test_unseeded_ip_is_in_no_pulse_and_the_same_on_every_server(otx: OTXv2) -> None:
    first = otx.get_indicator_details_full(IPV4, "1.2.3.4")
    with ThreadedSimulator(SERVICE) as other:
        second = OTXv2(KEY, server=other.url).get_indicator_details_full(IPV4, "1.2.3.4")
    assert sorted(first) == sorted(IPV4.sections)
    assert first["general"]["pulse_info"]["count"] == 0
    assert first["reputation"] == {"reputation": None}
    assert first == second


def test_wrong_key_raises_invalid_api_key(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    with pytest.raises(InvalidAPIKey):
        OTXv2("wrong", server=server.url).get_indicator_details_by_section(IPV4, BAD, "general")
    [call] = control.journal()
    assert (call["status"], call["headers"]["X-OTX-API-KEY"]) == (403, "***")


def test_malformed_ip_raises_bad_request(otx: OTXv2) -> None:
    with pytest.raises(BadRequest):
        otx.get_indicator_details_by_section(IPV4, "1.2.3.999", "general")


def test_injected_500_raises_the_sdk_generic_error(otx: OTXv2, control: SimulatorClient) -> None:
    # OTXv2 raises a bare Exception for statuses it has no class for
    with (
        control.failing(500, path="/indicators/"),
        pytest.raises(Exception, match="Unexpected http code") as raised,
    ):
        otx.get_indicator_details_by_section(IPV4, BAD, "general")
    assert raised.value.args[:2] == ("Unexpected http code: %r, response=%r", 500)


def test_injected_429_is_not_retried_over_http(otx: OTXv2, control: SimulatorClient) -> None:
    with (
        control.fault("rate_limit", retry_after=1, path="/indicators/"),
        pytest.raises(Exception, match="Unexpected http code") as raised,
    ):
        otx.get_indicator_details_by_section(IPV4, BAD, "general")
    assert raised.value.args[1] == 429
    assert len(control.journal()) == 1  # OTXv2 mounts its Retry on https:// only
