"""Stream A's ``compensate`` strategy: what a provider did and WMS cannot keep is undone.

A second charge of an invoice WMS already settled reaches WMS the way Stripe reports it
(its webhook), becomes an error event carrying the undo, and the orchestrator in the
worker refunds that charge at Stripe and records what it did, end to end.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll

pytestmark = pytest.mark.workflow


def paying_customer(api: Any) -> str:
    customer = api.as_role("admin").post("/api/v1/customers", json=customer_payload()).json()
    swap = api.as_role("billing").put(
        f"/api/v1/customers/{customer['id']}/payment-method",
        json={"payment_method": "pm_card_visa"},
    )
    assert swap.status_code == 204, swap.text
    return str(customer["id"])


def charge_outside_wms(stripe_url: str, customer: dict[str, Any], invoice_id: str) -> str:
    """A PaymentIntent made at Stripe directly (its dashboard, a script): succeeded."""
    response = httpx.post(
        f"{stripe_url}/v1/payment_intents",
        auth=("sk_test_interlock", ""),
        data={
            "amount": "1500",
            "currency": "usd",
            "customer": customer["stripe_customer_id"],
            "payment_method": customer["default_payment_method"],
            "confirm": "true",
            "off_session": "true",
            "metadata[invoice_id]": invoice_id,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    intent: dict[str, Any] = response.json()
    assert intent["status"] == "succeeded", intent
    return str(intent["id"])


def test_a_second_charge_of_a_settled_invoice_is_refunded_and_recorded(api, db, sims, slo):
    admin, billing = api.as_role("admin"), api.as_role("billing")
    customer_id = paying_customer(api)
    day = date.fromordinal(date(2031, 1, 1).toordinal() + uuid.uuid4().int % 3000)
    invoice = billing.post(
        "/api/v1/invoices",
        json={
            "customer_id": customer_id,
            "period_start": str(day),
            "period_days": 1,
            "amount_cents": 1500,
        },
    )
    assert invoice.status_code == 201, invoice.text
    invoice_id = str(invoice.json()["id"])
    paid = billing.post(f"/api/v1/invoices/{invoice_id}/pay").json()
    assert paid["status"] == "succeeded", paid
    customer = db.one(
        "SELECT stripe_customer_id, default_payment_method FROM customers WHERE id = %s",
        (customer_id,),
    )
    assert customer is not None

    with slo("error_orchestration"):
        # Stripe's webhook tells WMS of the second charge; nothing else does
        second = charge_outside_wms(sims["stripe"].url, customer, invoice_id)

        def compensated() -> dict[str, Any] | None:
            response = admin.get("/api/v1/coordination/recoveries", params={"limit": 1000})
            assert response.status_code == 200, response.text
            mine = [r for r in response.json() if r.get("payment_intent") == second]
            return mine[0] if mine else None

        record = poll(compensated, timeout=30, what=f"the orchestrator to compensate {second}")
    assert (record["kind"], record["class"], record["strategy"]) == (
        "duplicate_charge",
        "permanent",
        "compensate",
    )
    assert (record["action"], record["amount_cents"]) == ("refunded", 1500)
    refunds = sims["stripe"].state()["refunds"]
    # the second charge refunded in full, once; the one that settled the invoice untouched
    assert [
        (r["id"], r["amount"], r["reason"]) for r in refunds if r["payment_intent"] == second
    ] == [(record["refund_id"], 1500, "duplicate")]
    assert [r for r in refunds if r["payment_intent"] == paid["payment_intent_id"]] == []
    settled = billing.get(f"/api/v1/invoices/{invoice_id}").json()
    assert (settled["status"], settled["payment_intent_id"]) == (
        "paid",
        paid["payment_intent_id"],
    )
    announced = db.one(
        "SELECT payload FROM outbox WHERE type = 'payment.compensated' "
        "AND payload -> 'data' ->> 'payment_intent' = %s",
        (second,),
    )
    assert announced is not None
