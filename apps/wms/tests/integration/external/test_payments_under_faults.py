"""Charging exactly once when the connection to Stripe keeps breaking."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from tests.integration.helpers.factories import customer_payload

from interlock.helpers.deadline import poll

pytestmark = pytest.mark.external

CUSTOMERS, INVOICES_EACH = 10, 20  # 200 payments


# 200 payments, a third of them retried: long by nature, about 30 s on an idle machine
@pytest.mark.integration_timeout(180_000)
def test_200_payments_under_30_percent_connection_drops_charge_once_each(api, sims):
    admin, billing = api.as_role("admin"), api.as_role("billing")
    invoices: list[str] = []
    for _ in range(CUSTOMERS):
        customer = admin.post("/api/v1/customers", json=customer_payload()).json()
        swap = billing.put(
            f"/api/v1/customers/{customer['id']}/payment-method",
            json={"payment_method": "pm_card_visa"},
        )
        assert swap.status_code == 204, swap.text
        for n in range(INVOICES_EACH):
            invoice = billing.post(
                "/api/v1/invoices",
                json={
                    "customer_id": customer["id"],
                    "period_start": str(date(2026, 1, 1 + n)),
                    "period_days": 1,
                    "amount_cents": 1000 + n,
                },
            )
            assert invoice.status_code == 201, invoice.text
            invoices.append(invoice.json()["id"])
    before = len(sims["stripe"].journal(path="/v1/payment_intents", method="POST"))

    # Stripe does the work, then the connection drops and the answer is lost: the
    # hardest case for exactly-once
    with sims["stripe"].fault("drop", after=True, rate=0.3):
        for invoice_id in invoices:
            key = secrets.token_hex(8)

            def paid(invoice_id: str = invoice_id, key: str = key) -> bool:
                response = billing.post(
                    f"/api/v1/invoices/{invoice_id}/pay", headers={"Idempotency-Key": key}
                )
                assert response.status_code in (200, 503), response.text
                return response.status_code == 200 and response.json()["status"] == "succeeded"

            poll(paid, timeout=30, what=f"invoice {invoice_id} to be paid")

    intents = sims["stripe"].state()["payment_intents"]
    by_invoice: dict[str, list[dict]] = {}
    for intent in intents:
        by_invoice.setdefault(intent["metadata"].get("invoice_id"), []).append(intent)
    for invoice_id in invoices:
        charged = [pi for pi in by_invoice.get(invoice_id, []) if pi["status"] == "succeeded"]
        assert len(charged) == 1, f"invoice {invoice_id} charged {len(charged)} times"
    calls = sims["stripe"].journal(path="/v1/payment_intents", method="POST")[before:]
    # the faults really bit: many attempts were repeated under the same key
    assert len(calls) > len(invoices) * 1.15
    assert len({c["headers"]["Idempotency-Key"] for c in calls}) <= len(calls)
