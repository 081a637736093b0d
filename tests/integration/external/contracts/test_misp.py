"""The MISP simulator, driven through the official PyMISP client."""

from __future__ import annotations

import pytest
from pymisp import MISPAttribute, MISPEvent, MISPServerError, PyMISP, PyMISPError

from interlock.simulators.client import SimulatorClient
from interlock.simulators.misp import AUTH_FAILED
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "misp"
KEY = "Interlock0Misp0Key0" * 2 + "ab"
BAD = "45.83.64.1"
SEED = {
    "ips": {
        BAD: {
            "malicious": True,
            "score": 95,
            "event": "Log4Shell scanners",
            "tags": ["tlp:white"],
        },
        "45.83.64.2": {"malicious": True, "score": 60, "event": "Log4Shell scanners"},
        "8.8.8.8": {"malicious": False, "event": "Known resolvers"},
    }
}


@pytest.fixture
def misp(server: ThreadedSimulator, control: SimulatorClient) -> PyMISP:
    return PyMISP(server.url + "/", KEY, ssl=False)


def test_constructor_calls_what_a_real_server_answers(
    misp: PyMISP, control: SimulatorClient
) -> None:
    calls = [(call["path"], call["status"]) for call in control.journal()]
    assert calls == [
        ("/servers/getVersion", 200),
        ("/users/view/me", 200),
        ("/attributes/describeTypes.json", 200),
    ]
    assert "ip-dst" in misp.types
    assert control.journal()[0]["headers"]["Authorization"] == "***"


def test_attribute_search_returns_the_seeded_ip(misp: PyMISP) -> None:
    found = misp.search(
        controller="attributes",
        value=BAD,
        type_attribute=["ip-src", "ip-dst"],
        to_ids=1,
        pythonify=True,
    )
    assert [type(a) for a in found] == [MISPAttribute]
    [attribute] = found
    assert (attribute.value, attribute.type, attribute.to_ids) == (BAD, "ip-dst", True)
    assert attribute.Event.info == "Log4Shell scanners"
    assert [tag.name for tag in attribute.tags] == ["tlp:white"]


def test_only_malicious_ips_are_flagged_for_ids(misp: PyMISP) -> None:
    flagged = misp.search(controller="attributes", to_ids=1)["Attribute"]
    assert sorted(a["value"] for a in flagged) == [BAD, "45.83.64.2"]
    [benign] = misp.search(controller="attributes", value="8.8.8.8")["Attribute"]
    assert benign["to_ids"] is False


def test_unseeded_ip_finds_nothing(misp: PyMISP) -> None:
    assert misp.search(controller="attributes", value="1.2.3.4") == {"Attribute": []}
    assert misp.search(controller="events", value="1.2.3.4") == []


def test_event_search_returns_whole_events_with_threat_level(misp: PyMISP) -> None:
    [event] = misp.search(controller="events", value="45.83.64.%", pythonify=True)
    assert isinstance(event, MISPEvent)
    assert event.info == "Log4Shell scanners"
    assert event.threat_level_id == 1  # high: the worst score in it is 95
    assert sorted(a.value for a in event.attributes) == [BAD, "45.83.64.2"]


def test_search_pages_with_page_and_limit(misp: PyMISP) -> None:
    pages = [
        misp.search(controller="attributes", limit=2, page=page)["Attribute"] for page in (1, 2, 3)
    ]
    assert [[a["value"] for a in page] for page in pages] == [[BAD, "45.83.64.2"], ["8.8.8.8"], []]


def test_wrong_key_fails_construction_with_pymisp_error(
    server: ThreadedSimulator, control: SimulatorClient
) -> None:
    with pytest.raises(PyMISPError, match="Unable to get the user settings"):
        PyMISP(server.url + "/", "wrong-key", ssl=False)


def test_revoked_key_gets_the_documented_403_body(misp: PyMISP, control: SimulatorClient) -> None:
    control.seed({"api_keys": ["another" * 5 + "abcde"]})
    result = misp.search(controller="attributes", value=BAD)
    assert result == {
        "errors": (
            403,
            {"name": AUTH_FAILED, "message": AUTH_FAILED, "url": "/attributes/restSearch"},
        )
    }


def test_injected_500_raises_misp_server_error(misp: PyMISP, control: SimulatorClient) -> None:
    with control.failing(500, path="restSearch"), pytest.raises(MISPServerError):
        misp.search(controller="attributes", value=BAD)


def test_injected_429_is_returned_as_errors(misp: PyMISP, control: SimulatorClient) -> None:
    with control.fault("rate_limit", retry_after=1, path="restSearch"):
        result = misp.search(controller="attributes", value=BAD)
    assert result["errors"][0] == 429


def test_rest_search_applies_its_time_filters(misp: PyMISP, control: SimulatorClient) -> None:
    # MISP OpenAPI (github.com/MISP/MISP app/webroot/doc/openapi.yaml), restSearch filters
    # timestamp, publish_timestamp, last, from/to: only what falls inside is returned
    import time

    day = 86_400
    old = int(time.time()) - 30 * day
    control.seed({"ips": {"198.51.100.7": {"malicious": True, "event": "Old", "timestamp": old}}})

    def values(**filters: object) -> set[str]:
        found = misp.search(controller="attributes", pythonify=True, **filters)
        return {a.value for a in found}

    everything = values()
    assert {"198.51.100.7", BAD} <= everything
    assert values(timestamp="7d") == everything - {"198.51.100.7"}
    assert values(timestamp=[old - 1, old + 1]) == {"198.51.100.7"}
    assert values(publish_timestamp="7d") == everything - {"198.51.100.7"}
    assert values(date_to=time.strftime("%Y-%m-%d", time.gmtime(old))) == {"198.51.100.7"}
    events = misp.search(controller="events", last="7d", pythonify=True)
    assert "Old" not in {e.info for e in events}


def test_a_search_filter_the_simulator_does_not_apply_is_refused(misp: PyMISP) -> None:
    # restSearch's threat_level_id filter would narrow MISP's answer; answered as if absent
    # it would return more than MISP does
    with pytest.raises(MISPServerError, match="not simulated: restSearch filter threat_level_id"):
        misp.search(controller="events", threat_level_id=1)
    assert misp.search(controller="attributes", value=BAD, include_context=False)
