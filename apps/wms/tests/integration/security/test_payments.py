"""A signed Stripe event settles an invoice only for the amount it is for."""

from __future__ import annotations

import pytest
from tests.integration.helpers.factories import customer_payload
from tests.integration.helpers.stripe_events import intent_event, signed

pytestmark = pytest.mark.security

WEBHOOK = "/api/v1/webhooks/stripe"


@pytest.fixture
def invoice(api) -> dict:
    customer = api.as_role("admin").post("/api/v1/customers", json=customer_payload())
    assert customer.status_code == 201, customer.text
    created = api.as_role("billing").post(
        "/api/v1/invoices",
        json={
            "customer_id": customer.json()["id"],
            "period_start": "2026-11-01",
            "period_days": 30,
            "amount_cents": 4500,
        },
    )
    assert created.status_code == 201, created.text
    return created.json()


@pytest.mark.parametrize(
    ("amount", "currency"), [(1, "usd"), (4499, "usd"), (4500, "jpy")], ids=str
)
def test_a_payment_of_another_amount_settles_nothing(
    api, interlock_config, invoice, amount, currency
):
    secret = interlock_config.app.env["WMS_STRIPE_WEBHOOK_SECRET"]
    event = intent_event(
        "payment_intent.succeeded", invoice_id=invoice["id"], amount=amount, status="succeeded"
    )
    event["data"]["object"]["currency"] = currency
    body, headers = signed(event, secret)
    assert api.post(WEBHOOK, content=body, headers=headers).status_code == 200
    after = api.as_role("billing").get(f"/api/v1/invoices/{invoice['id']}").json()
    assert after["status"] == "open"


def test_the_full_amount_settles_the_invoice(api, interlock_config, invoice):
    secret = interlock_config.app.env["WMS_STRIPE_WEBHOOK_SECRET"]
    event = intent_event(
        "payment_intent.succeeded", invoice_id=invoice["id"], amount=4500, status="succeeded"
    )
    body, headers = signed(event, secret)
    assert api.post(WEBHOOK, content=body, headers=headers).status_code == 200
    after = api.as_role("billing").get(f"/api/v1/invoices/{invoice['id']}").json()
    assert after["status"] == "paid"
