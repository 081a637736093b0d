"""The WebSocket handshake refuses a missing or expired token and foreign origins, each
role reaches only the channels [tool.interlock.security.websocket] opens to it, a
malformed message never closes the socket, and a customer hears only of its own affairs
on a shared channel."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from interlock.config import load_config
from interlock.security import (
    FOREIGN_ORIGIN,
    check_channel,
    check_handshake_refused,
    check_malformed_messages_answered,
    parse_security,
    resigned,
    signing_key,
)
from wms.api.ws import CHANNELS as HUB_CHANNELS

pytestmark = pytest.mark.security

_CONFIG = load_config(Path(__file__).parents[3])
_WS = parse_security(_CONFIG.security).websocket
assert _WS is not None, "[tool.interlock.security.websocket] describes WMS's hub"
ROLES = ("admin", "dispatcher", "driver", "billing", "customer")
CHANNELS = [(channel, role) for channel in sorted(_WS.channels) for role in ROLES]


def test_the_matrix_names_every_channel_of_the_hub():
    # a channel added to the hub without a line here would go unchecked
    assert set(_WS.channels) == set(HUB_CHANNELS)


def test_no_token_is_refused(stack, security):
    check_handshake_refused(stack.app_url, security.websocket, token=None)


def test_an_expired_token_is_refused(stack, security, callers, interlock_config):
    key, algorithm = signing_key(interlock_config)
    now = int(time.time())
    expired = resigned(
        callers.token("admin"),
        key=key,
        algorithm=algorithm,
        changes={"iat": now - 7200, "exp": now - 3600},
    )
    check_handshake_refused(stack.app_url, security.websocket, token=expired)


def test_a_foreign_origin_is_refused_even_with_a_valid_token(stack, security, callers):
    check_handshake_refused(
        stack.app_url, security.websocket, token=callers.token("admin"), origin=FOREIGN_ORIGIN
    )


@pytest.mark.parametrize(("channel", "role"), CHANNELS, ids=[f"{c}-{r}" for c, r in CHANNELS])
def test_each_role_reaches_only_its_channels(stack, security, callers, channel, role):
    check_channel(
        stack.app_url,
        security.websocket,
        token=callers.token(role),
        channel=channel,
        expected=security.websocket.verdict(channel, role),
    )


def test_a_malformed_message_is_answered_and_the_socket_stays_open(stack, security, callers):
    check_malformed_messages_answered(
        stack.app_url, security.websocket, token=callers.token("admin"), channel="customers"
    )


def test_a_customer_hears_nothing_of_another_customers_invoices(ws, api, callers):
    live = ws.connect("/ws", token=callers.token("customer"))
    live.send_json({"action": "subscribe", "channels": ["billing"]})
    live.wait_for(lambda f: f["type"] == "subscribed")
    billing = api.as_role("billing")
    ids = {}
    # the other customer's invoice first: had it been delivered, it would arrive first
    for owner in ("other_customer", "own_customer"):
        created = billing.post(
            "/api/v1/invoices",
            json={
                "customer_id": callers.places[owner],
                "period_start": "2026-11-01",
                "period_days": 30,
                "amount_cents": 1200,
            },
        )
        assert created.status_code == 201, created.text
        ids[owner] = created.json()["id"]
    live.wait_for(
        lambda f: (
            f["type"] == "event" and f["event"]["data"].get("invoice_id") == ids["own_customer"]
        ),
        what="the customer's own invoice event",
    )
    heard = {f["event"]["data"].get("customer_id") for f in live.received if f["type"] == "event"}
    assert heard == {callers.places["own_customer"]}
