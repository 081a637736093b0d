"""Customer onboarding: account, Stripe customer, welcome e-mail and SMS, event, live push."""

from __future__ import annotations

import pytest
from tests.integration.helpers.factories import customer_payload

pytestmark = pytest.mark.business


def test_onboarding_creates_customer_everywhere_and_announces_it(api, db, redis, ws, sims, slo):
    admin = api.as_role("admin")
    token = admin.headers["Authorization"].removeprefix("Bearer ")
    body = customer_payload()
    dashboard = ws.connect("/ws", token=token)
    dashboard.send_json({"action": "subscribe", "channels": ["customers"]})
    dashboard.wait_for(lambda f: f["type"] == "subscribed")

    with redis.subscribe("wms.events.customers") as events, slo("onboarding"):
        response = admin.post("/api/v1/customers", json=body)
        assert response.status_code == 201, response.text
        customer = response.json()
        event = events.wait_for(
            lambda e: e["data"]["customer_id"] == customer["id"], what="customer.onboarded on Redis"
        )

    # the HTTP answer
    assert customer["email"] == body["email"]
    assert customer["status"] == "active"
    assert customer["stripe_customer_id"].startswith("cus_")
    assert {(n["channel"], n["status"]) for n in customer["notifications"]} == {
        ("email", "sent"),
        ("sms", "sent"),
    }

    # the database
    row = db.one("SELECT * FROM customers WHERE id = %s", (customer["id"],))
    assert row is not None
    assert row["stripe_customer_id"] == customer["stripe_customer_id"]
    assert db.count("service_addresses", "customer_id = %s", (customer["id"],)) == 1
    assert db.count("notifications", "customer_id = %s AND status = 'sent'", (customer["id"],)) == 2

    # the external services, through their simulators
    stripe_calls = sims["stripe"].journal(path="/v1/customers", method="POST")
    mine = [
        c
        for c in stripe_calls
        if f"wms_customer_id%5D={customer['id']}" in c["body"]
        or f"wms_customer_id]={customer['id']}" in c["body"]
    ]
    assert len(mine) == 1
    assert mine[0]["headers"]["Idempotency-Key"].startswith("wms-onboard-")
    stripe_state = sims["stripe"].state()["customers"]
    assert any(
        c["id"] == customer["stripe_customer_id"] and c["email"] == body["email"]
        for c in stripe_state
    )
    outbox = sims["sendgrid"].state()["outbox"]
    assert any(m["personalizations"][0]["to"][0]["email"] == body["email"] for m in outbox)
    texts = sims["twilio"].state()["messages"]
    assert any(m["to"] == body["phone"] for m in texts)

    # the event, on Redis and pushed to the dashboard
    assert event["type"] == "customer.onboarded"
    frame = dashboard.wait_for(
        lambda f: f.get("type") == "event" and f["event"]["data"]["customer_id"] == customer["id"],
        what="customer.onboarded over WebSocket",
    )
    assert frame["channel"] == "customers"
    assert frame["event"]["id"] == event["id"]


def test_onboarding_writes_nothing_when_stripe_fails(api, db, sims, slo):
    body = customer_payload()
    with sims["stripe"].failing(status=500):
        response = api.as_role("admin").post("/api/v1/customers", json=body)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "upstream_unavailable"
    assert error["details"] == {"service": "stripe"}
    assert db.count("customers", "email = %s", (body["email"],)) == 0
    assert not any(
        m["personalizations"][0]["to"][0]["email"] == body["email"]
        for m in sims["sendgrid"].state()["outbox"]
    )


def test_onboarding_survives_a_failed_sms_and_records_it(api, db, sims):
    body = customer_payload()
    with sims["twilio"].failing(status=500):
        response = api.as_role("dispatcher").post("/api/v1/customers", json=body)
    assert response.status_code == 201, response.text
    customer = response.json()
    statuses = {n["channel"]: n["status"] for n in customer["notifications"]}
    assert statuses == {"email": "sent", "sms": "failed"}
    row = db.one(
        "SELECT error FROM notifications WHERE customer_id = %s AND channel = 'sms'",
        (customer["id"],),
    )
    assert row is not None
    assert "twilio" in row["error"]


def test_duplicate_email_is_refused_with_409(api):
    admin = api.as_role("admin")
    body = customer_payload()
    assert admin.post("/api/v1/customers", json=body).status_code == 201
    again = admin.post("/api/v1/customers", json=customer_payload(email=body["email"]))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "customer_exists"


def test_a_driver_may_not_onboard_customers(api):
    response = api.as_role("driver").post("/api/v1/customers", json=customer_payload())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_invalid_customer_is_refused_with_field_paths(api):
    body = customer_payload(phone="555-1234")
    response = api.as_role("admin").post("/api/v1/customers", json=body)
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert "body.phone" in fields
