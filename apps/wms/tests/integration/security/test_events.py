"""Refused tokens, WebSockets and webhooks reach the admins' security channel.

Each refusal comes from its own loopback address: refusals are reported once a minute
per kind and client, and the other tests' refusals come from 127.0.0.1.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from interlock.security import check_client_throttled

pytestmark = pytest.mark.security


@pytest.fixture
def dashboard(ws, interlock_auth):
    token = interlock_auth("admin")["Authorization"].removeprefix("Bearer ")
    live = ws.connect("/ws", token=token)
    live.send_json({"action": "subscribe", "channels": ["security"]})
    live.wait_for(lambda f: f["type"] == "subscribed")
    return live


def heard(dashboard, type_: str, client: str) -> dict:
    frame = dashboard.wait_for(
        lambda f: (
            f["type"] == "event"
            and f["event"]["type"] == type_
            and f["event"]["data"].get("client") == client
        ),
        what=f"{type_} from {client}",
    )
    return frame["event"]["data"]


def http_from(stack, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.app_url, timeout=30, transport=httpx.HTTPTransport(local_address=address)
    )


def test_a_forged_token_is_reported(stack, dashboard):
    with http_from(stack, "127.0.0.9") as http:
        answer = http.get("/api/v1/plans", headers={"Authorization": "Bearer e30.e30.e30"})
    assert answer.status_code == 401
    assert heard(dashboard, "security.token_refused", "127.0.0.9")["path"] == "/api/v1/plans"


def test_an_unsigned_webhook_is_reported(stack, dashboard):
    with http_from(stack, "127.0.0.10") as http:
        answer = http.post("/api/v1/webhooks/stripe", content=b"{}")
    assert answer.status_code == 400
    heard(dashboard, "security.webhook_refused", "127.0.0.10")


def test_a_refused_websocket_is_reported(stack, dashboard):
    where = urlsplit(stack.app_url)
    raw = socket.create_connection((where.hostname, where.port), source_address=("127.0.0.11", 0))
    with pytest.raises(InvalidStatus):
        connect(f"ws://{where.netloc}/ws?token=nope", sock=raw, open_timeout=10)
    raw.close()
    heard(dashboard, "security.websocket_refused", "127.0.0.11")


def test_a_throttled_client_is_reported_once_not_per_attempt(stack, security, dashboard, db):
    throttled = check_client_throttled(stack.app_url, security.login, source_address="127.0.0.12")
    assert throttled.status == 429
    heard(dashboard, "security.login_throttled", "127.0.0.12")
    with http_from(stack, "127.0.0.12") as http:
        for _ in range(3):
            again = http.post(
                security.login.path, json={"email": "nobody@example.com", "password": "x"}
            )
            assert again.status_code == 429
    # a refusal of another kind from the same client, reported after the throttled ones
    with http_from(stack, "127.0.0.12") as http:
        assert (
            http.get("/api/v1/plans", headers={"Authorization": "Bearer e30.e30.e30"}).status_code
            == 401
        )
    heard(dashboard, "security.token_refused", "127.0.0.12")
    reported = db.count(
        "audit_log", "action = %s AND details->>'client' = %s", ("login_throttled", "127.0.0.12")
    )
    assert reported == 1
