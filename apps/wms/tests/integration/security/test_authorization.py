"""Every (role, endpoint) of [tool.interlock.security.authz] answers as configured, and
the WebSocket channels hold the same line: a pair without a rule is closed."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.config import load_config
from interlock.security import parse_authz

pytestmark = pytest.mark.security

CASES = parse_authz(load_config(Path(__file__).parents[3]).security)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_role_gets_the_configured_answer(api, callers, case):
    path = case.path.format_map(callers.places)
    body = {} if case.method in ("POST", "PUT", "PATCH") else None
    answer = api.request(case.method, path, headers=dict(callers.headers[case.role]), json=body)
    assert answer.status_code == case.status, answer.text[:300]


def test_a_driver_may_not_subscribe_to_every_customers_pickups(ws, callers):
    token = callers.headers["driver"]["Authorization"].removeprefix("Bearer ")
    live = ws.connect("/ws", token=token)
    live.send_json({"action": "subscribe", "channels": ["pickups"]})
    refused = live.wait_for(lambda f: f["type"] in ("error", "subscribed"))
    assert refused == {"type": "error", "message": "not allowed", "channels": ["pickups"]}


@pytest.mark.parametrize(
    "message",
    [
        {"action": "subscribe", "channels": [["pickups"]]},
        {"action": "subscribe", "channels": [{"a": 1}]},
        ["subscribe"],
        {"action": 1, "channels": []},
    ],
    ids=["nested-list", "object", "array", "number-action"],
)
def test_a_malformed_message_is_answered_and_the_socket_stays_open(ws, callers, message):
    token = callers.headers["admin"]["Authorization"].removeprefix("Bearer ")
    live = ws.connect("/ws", token=token)
    live.send_json(message)
    assert live.wait_for(lambda f: True)["type"] == "error"
    live.send_json({"action": "subscribe", "channels": ["customers"]})
    assert live.wait_for(lambda f: f["type"] == "subscribed")["channels"] == ["customers"]
