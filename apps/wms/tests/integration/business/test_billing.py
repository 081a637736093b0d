"""Billing and payment: invoices charged exactly once, webhooks settled once, refunds, dunning."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from tests.integration.helpers.factories import customer_payload
from tests.integration.helpers.stripe_events import intent_event, signed

from interlock.helpers.deadline import poll

pytestmark = pytest.mark.business

WEBHOOK = "/api/v1/webhooks/stripe"


@pytest.fixture
def webhook_secret(interlock_config) -> str:
    return interlock_config.app.env["WMS_STRIPE_WEBHOOK_SECRET"]


@pytest.fixture
def billing(api):
    return api.as_role("billing")


@pytest.fixture
def customer(api) -> dict:
    response = api.as_role("admin").post("/api/v1/customers", json=customer_payload())
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def plan(api) -> dict:
    body = {
        "name": f"Weekly 240 L {secrets.token_hex(3)}",
        "bin_size_litres": 240,
        "frequency": "weekly",
        "price_cents": 2999,
    }
    response = api.as_role("admin").post("/api/v1/plans", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def subscribe(api, customer: dict, plan: dict, card: str = "pm_card_visa") -> dict:
    response = api.as_role("billing").post(
        f"/api/v1/customers/{customer['id']}/subscription",
        json={"plan_id": plan["id"], "payment_method": card},
    )
    assert response.status_code == 201, response.text
    return response.json()


def intents_for(sims, invoice_id: str) -> list[dict]:
    return [
        pi
        for pi in sims["stripe"].state().get("payment_intents", [])
        if pi["metadata"].get("invoice_id") == invoice_id
    ]


def test_subscription_invoice_is_charged_and_settled(
    api, billing, customer, plan, db, redis, sims, slo
):
    subscription = subscribe(api, customer, plan)
    invoice_id = subscription["first_invoice_id"]
    with redis.subscribe("wms.events.billing") as events, slo("billing"):
        paid = billing.post(
            f"/api/v1/invoices/{invoice_id}/pay", headers={"Idempotency-Key": "first-charge"}
        )
        assert paid.status_code == 200, paid.text
        events.wait_for(
            lambda e: e["type"] == "invoice.paid" and e["data"]["invoice_id"] == invoice_id,
            what="invoice.paid",
        )
    payment = paid.json()
    assert payment["status"] == "succeeded"
    assert payment["invoice"]["status"] == "paid"
    assert payment["invoice"]["amount_cents"] == plan["price_cents"]
    row = db.one("SELECT status, payment_intent_id FROM invoices WHERE id = %s", (invoice_id,))
    assert row == {"status": "paid", "payment_intent_id": payment["payment_intent_id"]}
    (intent,) = intents_for(sims, invoice_id)
    assert intent["status"] == "succeeded"
    assert intent["amount"] == plan["price_cents"]
    assert intent["customer"] == customer["stripe_customer_id"]


def test_paying_twice_with_the_same_key_charges_once(api, billing, customer, plan, db, sims):
    invoice_id = subscribe(api, customer, plan)["first_invoice_id"]
    first = billing.post(f"/api/v1/invoices/{invoice_id}/pay", headers={"Idempotency-Key": "k"})
    again = billing.post(f"/api/v1/invoices/{invoice_id}/pay", headers={"Idempotency-Key": "k"})
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert len(intents_for(sims, invoice_id)) == 1
    assert db.count("payments", "invoice_id = %s", (invoice_id,)) == 1
    other_key = billing.post(
        f"/api/v1/invoices/{invoice_id}/pay", headers={"Idempotency-Key": "another"}
    )
    assert other_key.status_code == 409
    assert other_key.json()["error"]["code"] == "invoice_paid"
    assert len(intents_for(sims, invoice_id)) == 1


def test_a_charge_whose_answer_is_lost_is_settled_by_stripes_webhook(
    api, billing, customer, plan, db, sims
):
    invoice_id = subscribe(api, customer, plan)["first_invoice_id"]
    # Stripe charges the card, but every answer about it is lost on the way back
    sims["stripe"].add_fault("drop", after=True, method="POST", path="^/v1/payment_intents")
    paid = billing.post(f"/api/v1/invoices/{invoice_id}/pay")
    assert paid.status_code == 503, paid.text
    (intent,) = intents_for(sims, invoice_id)
    assert intent["status"] == "succeeded"  # charged once, whatever WMS heard

    # the simulator delivers payment_intent.succeeded, signed, to WMS's webhook
    invoice = poll(
        lambda: (
            (i := billing.get(f"/api/v1/invoices/{invoice_id}").json())["status"] == "paid" and i
        ),
        timeout=15,
        what="the webhook to settle the invoice",
    )
    assert invoice["payment_intent_id"] == intent["id"]
    stripe = sims["stripe"].state()
    (event,) = [
        e
        for e in stripe["events"]
        if e["type"] == "payment_intent.succeeded" and e["data"]["object"]["id"] == intent["id"]
    ]
    attempts = [d for d in stripe["webhook_deliveries"] if d["event"] == event["id"]]
    assert [d["status"] for d in attempts] == [200]
    assert db.count("webhook_events", "id = %s", (event["id"],)) == 1
    # and a second attempt to pay finds it paid, charging nothing more
    again = billing.post(f"/api/v1/invoices/{invoice_id}/pay")
    assert again.status_code == 409
    assert len(intents_for(sims, invoice_id)) == 1


def make_invoice(billing, customer: dict, amount: int = 4500) -> dict:
    response = billing.post(
        "/api/v1/invoices",
        json={
            "customer_id": customer["id"],
            "period_start": str(date(2026, 11, 1)),
            "period_days": 30,
            "amount_cents": amount,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_webhook_delivered_three_times_out_of_order_settles_once(
    api, billing, customer, webhook_secret, db, redis
):
    invoice = make_invoice(billing, customer)
    succeeded = intent_event(
        "payment_intent.succeeded", invoice_id=invoice["id"], amount=4500, status="succeeded"
    )
    failed = intent_event(
        "payment_intent.payment_failed",
        invoice_id=invoice["id"],
        amount=4500,
        status="requires_payment_method",
    )
    answers = []
    with redis.subscribe("wms.events.billing") as events:
        # the failure was sent first but arrives last; each delivery is repeated
        for event in (succeeded, succeeded, failed, succeeded, failed, failed):
            body, headers = signed(event, webhook_secret)
            response = api.post(WEBHOOK, content=body, headers=headers)
            assert response.status_code == 200, response.text
            answers.append(response.json()["duplicate"])
        events.wait_for(
            lambda e: e["type"] == "invoice.paid" and e["data"]["invoice_id"] == invoice["id"],
            what="invoice.paid",
        )
    assert answers == [False, True, False, True, True, True]
    row = db.one("SELECT status, attempt_count FROM invoices WHERE id = %s", (invoice["id"],))
    assert row == {"status": "paid", "attempt_count": 0}
    assert (
        db.count(
            "outbox",
            "type = 'invoice.paid' AND payload->'data'->>'invoice_id' = %s",
            (invoice["id"],),
        )
        == 1
    )


@pytest.mark.parametrize("tamper", ["signature", "stale", "missing"])
def test_webhook_with_bad_signature_or_old_timestamp_is_refused(
    api, billing, customer, webhook_secret, db, tamper
):
    invoice = make_invoice(billing, customer)
    event = intent_event(
        "payment_intent.succeeded", invoice_id=invoice["id"], amount=4500, status="succeeded"
    )
    if tamper == "signature":
        body, headers = signed(event, "whsec_someone_else")
    elif tamper == "stale":
        import time

        body, headers = signed(event, webhook_secret, timestamp=int(time.time()) - 301)
    else:
        body, headers = signed(event, webhook_secret)
        del headers["Stripe-Signature"]
    response = api.post(WEBHOOK, content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_signature"
    assert db.one("SELECT status FROM invoices WHERE id = %s", (invoice["id"],)) == {
        "status": "open"
    }
    assert db.count("webhook_events", "id = %s", (event["id"],)) == 0


def test_partial_then_full_refund_and_no_more(api, billing, customer, plan, db, sims):
    invoice_id = subscribe(api, customer, plan)["first_invoice_id"]
    paid = billing.post(f"/api/v1/invoices/{invoice_id}/pay")
    assert paid.json().get("status") == "succeeded", paid.text
    part = billing.post(
        f"/api/v1/invoices/{invoice_id}/refunds",
        json={"amount_cents": 1000, "reason": "requested_by_customer"},
    )
    assert part.status_code == 201, part.text
    assert part.json()["invoice"]["status"] == "partially_refunded"
    too_much = billing.post(
        f"/api/v1/invoices/{invoice_id}/refunds", json={"amount_cents": plan["price_cents"]}
    )
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "refund_too_large"
    rest = billing.post(f"/api/v1/invoices/{invoice_id}/refunds", json={})
    assert rest.status_code == 201, rest.text
    assert rest.json()["amount_cents"] == plan["price_cents"] - 1000
    assert rest.json()["invoice"]["status"] == "refunded"
    refunds = [
        r
        for r in sims["stripe"].state().get("refunds", [])
        if r["payment_intent"] == rest.json()["invoice"]["payment_intent_id"]
    ]
    assert sorted(r["amount"] for r in refunds) == sorted([1000, plan["price_cents"] - 1000])
    audit = db.query(
        "SELECT details FROM audit_log WHERE action = 'refund' AND details->>'invoice_id' = %s",
        (invoice_id,),
    )
    assert len(audit) == 2


def test_declined_card_starts_dunning_which_recovers_on_a_new_card(
    api, billing, customer, plan, db, sims
):
    invoice_id = subscribe(api, customer, plan, card="pm_card_chargeCustomerFail")[
        "first_invoice_id"
    ]
    declined = billing.post(f"/api/v1/invoices/{invoice_id}/pay")
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "failed"
    assert declined.json()["invoice"]["status"] == "payment_failed"
    assert declined.json()["invoice"]["next_attempt_at"] is not None
    notices = db.query(
        "SELECT channel, status FROM notifications WHERE customer_id = %s "
        "AND kind = 'payment_failed'",
        (customer["id"],),
    )
    assert {(n["channel"], n["status"]) for n in notices} == {("email", "sent"), ("sms", "sent")}
    # the customer gives a working card; the worker's next dunning pass charges it
    swap = billing.put(
        f"/api/v1/customers/{customer['id']}/payment-method",
        json={"payment_method": "pm_card_visa"},
    )
    assert swap.status_code == 204, swap.text
    db.wait_for_row(
        "SELECT 1 FROM invoices WHERE id = %s AND status = 'paid'",
        (invoice_id,),
        timeout=15,
        what="the dunning retry to settle the invoice",
    )
    assert len([pi for pi in intents_for(sims, invoice_id) if pi["status"] == "succeeded"]) == 1


def test_a_card_that_keeps_failing_ends_uncollectible(api, billing, customer, plan, db):
    invoice_id = subscribe(api, customer, plan, card="pm_card_chargeCustomerFail")[
        "first_invoice_id"
    ]
    assert billing.post(f"/api/v1/invoices/{invoice_id}/pay").json()["status"] == "failed"
    row = db.wait_for_row(
        "SELECT attempt_count FROM invoices WHERE id = %s AND status = 'uncollectible'",
        (invoice_id,),
        timeout=20,
        what="dunning to give up after its schedule",
    )
    assert row["attempt_count"] == 4  # the first attempt and three retries
    assert db.count("payments", "invoice_id = %s AND status = 'failed'", (invoice_id,)) == 4


def test_customers_see_only_their_own_invoices(api, billing, customer, db):
    mine = make_invoice(billing, customer)
    other_customer = api.as_role("admin").post("/api/v1/customers", json=customer_payload()).json()
    theirs = make_invoice(billing, other_customer)
    password = "customer-pass-123"
    created = api.as_role("admin").post(
        f"/api/v1/customers/{customer['id']}/users",
        json={"email": customer["email"], "password": password},
    )
    assert created.status_code == 201, created.text
    token = api.post(
        "/api/v1/auth/token", json={"email": customer["email"], "password": password}
    ).json()["access_token"]
    me = api.with_headers({"Authorization": f"Bearer {token}"})
    assert me.get(f"/api/v1/invoices/{mine['id']}").status_code == 200
    assert me.get(f"/api/v1/invoices/{theirs['id']}").status_code == 404
    assert me.post(f"/api/v1/invoices/{theirs['id']}/pay").status_code == 404
    assert me.get(f"/api/v1/customers/{other_customer['id']}").status_code == 404
    listed = me.get("/api/v1/invoices", params={"customer_id": other_customer["id"]}).json()
    assert {i["id"] for i in listed} == {mine["id"]}


def test_a_driver_cannot_reach_billing(api, customer):
    driver = api.as_role("driver")
    assert driver.get("/api/v1/invoices").status_code == 403
    assert driver.post("/api/v1/invoices", json={}).status_code in (403, 422)
