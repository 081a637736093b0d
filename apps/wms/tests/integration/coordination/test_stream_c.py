"""Stream C: security events reach the admins' WebSocket in real time, only theirs; the
security components' view of Redis is on /health; events made while Redis is down are
kept and delivered after.

Every caller here comes from its own loopback address (127.0.0.40 and up): refusals are
reported once a minute per kind and client, and other suites use 127.0.0.1 and .7-.11.
"""

from __future__ import annotations

import socket
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from tests.integration.helpers.factories import customer_payload
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from interlock.helpers.deadline import poll
from wms.coordination.security_stream import SECURITY_ROLES, SHARED_CLIENT

pytestmark = pytest.mark.workflow

#: a security event is on the admins' screens this soon after the act that caused it, ms
DELIVERY_MS = 2000
FEEDS = ("virustotal", "abuseipdb", "misp", "greynoise", "otx")


def client_address() -> str:
    """A loopback address no other test of this run uses."""
    return f"127.0.{uuid.uuid4().int % 200 + 40}.{uuid.uuid4().int % 250 + 2}"


def http_from(stack, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.app_url, timeout=30, transport=httpx.HTTPTransport(local_address=address)
    )


def health(stack) -> dict:
    return httpx.get(f"{stack.app_url}/health", timeout=10).json()


@pytest.fixture
def dashboard(ws, interlock_auth):
    token = interlock_auth("admin")["Authorization"].removeprefix("Bearer ")
    live = ws.connect("/ws", token=token)
    live.send_json({"action": "subscribe", "channels": ["security"]})
    live.wait_for(lambda f: f["type"] == "subscribed")
    return live


def heard(dashboard, type_: str, match) -> dict:
    frame = dashboard.wait_for(
        lambda f: (
            f["type"] == "event" and f["event"]["type"] == type_ and match(f["event"]["data"])
        ),
        what=type_,
    )
    return frame["event"]["data"]


def failed_login(stack, address: str) -> None:
    with http_from(stack, address) as http:
        answer = http.post(
            "/api/v1/auth/token", json={"email": "nobody@example.com", "password": "x"}
        )
    assert answer.status_code == 401


def throttled_login(stack, address: str) -> None:
    email = f"guess-{uuid.uuid4().hex[:8]}@example.com"
    with http_from(stack, address) as http:
        codes = [
            http.post("/api/v1/auth/token", json={"email": email, "password": "x"}).status_code
            for _ in range(6)
        ]
    assert codes == [401] * 5 + [429]


def forged_token(stack, address: str) -> None:
    with http_from(stack, address) as http:
        answer = http.get("/api/v1/plans", headers={"Authorization": "Bearer e30.e30.e30"})
    assert answer.status_code == 401


def unsigned_webhook(stack, address: str) -> None:
    with http_from(stack, address) as http:
        answer = http.post("/api/v1/webhooks/stripe", content=b"{}")
    assert answer.status_code == 400


def refused_websocket(stack, address: str) -> None:
    where = urlsplit(stack.app_url)
    raw = socket.create_connection((where.hostname, where.port), source_address=(address, 0))
    with pytest.raises(InvalidStatus):
        connect(f"ws://{where.netloc}/ws?token=nope", sock=raw, open_timeout=10)
    raw.close()


#: act -> (how to provoke it from an address, the event it raises)
ACTS = {
    "failed_login": (failed_login, "security.login_failed"),
    "throttled_login": (throttled_login, "security.login_throttled"),
    "forged_token": (forged_token, "security.token_refused"),
    "unsigned_webhook": (unsigned_webhook, "security.webhook_refused"),
    "refused_websocket": (refused_websocket, "security.websocket_refused"),
}


@pytest.mark.parametrize("act", list(ACTS))
def test_each_refusal_reaches_the_admins_security_channel(stack, dashboard, slo, act):
    provoke, type_ = ACTS[act]
    address = client_address()
    slo.declare("security.event_delivery", f"p(95)<{DELIVERY_MS}")
    with slo("security.event_delivery"):
        provoke(stack, address)
        data = heard(dashboard, type_, lambda d: d.get("client") == address)
    assert data["client"] == address


def test_a_suspicious_ip_reaches_the_admins_security_channel(api, sims, dashboard, slo):
    bits = uuid.uuid4().int
    ip = f"45.{bits >> 16 & 255}.{bits >> 8 & 255}.{(bits & 253) + 1}"
    bad = {"malicious": True, "score": 95}
    # three feeds flagging it is a block whatever the other two say (or their quotas)
    for feed in ("abuseipdb", "misp", "otx"):
        sims[feed].seed({"ips": {ip: bad}})
    slo.declare("security.event_delivery", f"p(95)<{DELIVERY_MS}")
    with slo("security.event_delivery"):
        verdict = api.as_role("admin").get(f"/api/v1/security/ips/{ip}")
        assert verdict.status_code == 200, verdict.text
        assert verdict.json()["decision"] == "block"
        threat = heard(dashboard, "security.threat_detected", lambda d: d.get("ip") == ip)
    assert {"abuseipdb", "misp", "otx"} <= set(threat["flagged_by"])


def test_a_key_its_provider_refuses_reaches_the_admins_security_channel(api, dashboard, slo):
    admin = api.as_role("admin")
    # Stripe refuses every key that is not a test key (or not among those a test seeded)
    added = admin.post(
        "/api/v1/integrations/stripe/keys",
        json={"secret": f"sk_live_not_ours_{uuid.uuid4().hex}"},
    )
    assert added.status_code == 201, added.text
    key = added.json()
    try:
        # timed from the start of an onboarding, which calls three providers on its own
        slo.declare("security.key_refused", f"p(95)<{2 * DELIVERY_MS}")
        with slo("security.key_refused"):
            # the new key is tried first and refused; the one it replaces carries the call
            onboarded = admin.post("/api/v1/customers", json=customer_payload())
            assert onboarded.status_code == 201, onboarded.text
            refused = heard(
                dashboard,
                "security.key_refused",
                lambda d: d.get("fingerprint") == key["fingerprint"],
            )
    finally:
        revoked = admin.delete(f"/api/v1/integrations/stripe/keys/{key['id']}")
        assert revoked.status_code == 204, revoked.text
    assert refused == {"service": "stripe", "fingerprint": key["fingerprint"]}


def test_only_admins_may_hear_the_security_channel(ws, interlock_auth, stack):
    assert SECURITY_ROLES == ("admin",)
    assert health(stack)["security"]["channel_roles"] == ["admin"]
    for role in ("dispatcher", "driver", "billing"):
        token = interlock_auth(role)["Authorization"].removeprefix("Bearer ")
        live = ws.connect("/ws", token=token)
        live.send_json({"action": "subscribe", "channels": ["security"]})
        refused = live.wait_for(lambda f: f["type"] in ("error", "subscribed"), what=role)
        assert refused == {"type": "error", "message": "not allowed", "channels": ["security"]}


def test_every_security_component_reports_its_view_of_redis(stack):
    redis = health(stack)["security"]["redis"]
    assert redis["status"] == "up"
    assert redis["ping_ms"] is not None
    assert redis["ping_ms"] >= 0
    assert set(redis["components"]) == {*SHARED_CLIENT, "ws_hub"}
    for name, seen in redis["components"].items():
        assert seen["status"] == "up", name


def test_events_made_while_redis_is_down_are_kept_and_delivered_after(
    stack, faults, db, dashboard, slo
):
    address = client_address()
    reconnects = health(stack)["security"]["redis"]["components"]["ws_hub"]["reconnects"]
    faults.process("redis").kill()
    poll(
        lambda: health(stack)["security"]["redis"]["status"] == "down",
        timeout=10,
        what="/health to see Redis down",
    )
    forged_token(stack, address)  # still refused, and still reported
    kept = db.wait_for_row(
        "SELECT id, published_at FROM outbox WHERE channel = 'security' "
        "AND type = 'security.token_refused' AND payload->'data'->>'client' = %s",
        (address,),
        what="the refusal kept in the outbox",
    )
    assert kept["published_at"] is None
    assert health(stack)["security"]["pending_events"] >= 1
    # hold the relay until the hub has subscribed again: a publish before that reaches no one
    worker = faults.process("worker")
    worker.pause()
    faults.process("redis").restart()

    def resubscribed() -> bool:
        hub = health(stack)["security"]["redis"]["components"]["ws_hub"]
        return hub["status"] == "up" and hub["reconnects"] > reconnects

    poll(resubscribed, timeout=10, what="the hub's subscription made again")
    slo.declare("security.delivery_after_outage", f"max<{DELIVERY_MS}")
    with slo("security.delivery_after_outage"):
        worker.resume()
        data = heard(dashboard, "security.token_refused", lambda d: d.get("client") == address)
    assert data["path"] == "/api/v1/plans"
    after = health(stack)["security"]["redis"]
    assert after["status"] == "up"
    assert after["reconnects"] >= 1
