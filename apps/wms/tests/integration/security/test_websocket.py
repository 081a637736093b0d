"""The WebSocket handshake refuses foreign origins, and a customer hears only of its own
affairs on a shared channel."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

pytestmark = pytest.mark.security


def test_a_foreign_origin_is_refused_even_with_a_valid_token(ws, interlock_auth):
    token = interlock_auth("admin")["Authorization"].removeprefix("Bearer ")
    with pytest.raises(InvalidStatus):
        ws.connect("/ws", token=token, origin="https://attacker.example")


def test_no_token_is_refused(ws):
    with pytest.raises(InvalidStatus):
        ws.connect("/ws")


def test_a_customer_hears_nothing_of_another_customers_invoices(ws, api, callers):
    token = callers.headers["customer"]["Authorization"].removeprefix("Bearer ")
    live = ws.connect("/ws", token=token)
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
