"""SMS delivery reports: Twilio's signed status callbacks reach WMS and move each SMS forward."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from tests.integration.helpers.factories import customer_payload
from tests.integration.helpers.operations import new_customer

from interlock.helpers.deadline import poll
from interlock.simulators.twilio import DEFAULT_STATUS_DELAY as STEP

pytestmark = pytest.mark.business

CALLBACK = "/api/v1/webhooks/twilio/status"


def onboard(api, **overrides) -> dict:
    response = api.as_role("admin").post("/api/v1/customers", json=customer_payload(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


def notifications_of(api, customer: dict) -> list[dict]:
    listed = api.as_role("dispatcher").get(f"/api/v1/customers/{customer['id']}/notifications")
    assert listed.status_code == 200, listed.text
    return listed.json()


def sms_of(api, customer: dict) -> dict:
    (sms,) = [n for n in notifications_of(api, customer) if n["channel"] == "sms"]
    return sms


def wait_for_delivery(api, customer: dict, status: str) -> dict:
    return poll(
        lambda: (sms := sms_of(api, customer))["delivery"] == status and sms,
        timeout=10,
        what=f"the welcome SMS to be reported {status}",
    )


def signed(url: str, params: dict[str, str], token: str) -> str:
    """X-Twilio-Signature as Twilio computes it (written out here, not taken from WMS)."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def test_welcome_sms_is_reported_delivered_and_announced(api, redis, sims):
    with redis.subscribe("wms.events.notifications") as events:
        customer = onboard(api)
        sms = wait_for_delivery(api, customer, "delivered")
        event = events.wait_for(
            lambda e: (
                e["type"] == "notification.delivered" and e["data"]["customer_id"] == customer["id"]
            ),
            what="notification.delivered on Redis",
        )
    assert (sms["status"], sms["error_code"]) == ("sent", None)
    assert (event["data"]["channel"], event["data"]["kind"]) == ("sms", "welcome")
    (message,) = [m for m in sims["twilio"].state()["messages"] if m["to"] == customer["phone"]]
    reports = [c for c in sims["twilio"].state()["callbacks"] if c["message_sid"] == message["sid"]]
    # every report Twilio sent was accepted, in the order of the message's progress
    assert [c["status"] for c in reports][-2:] == ["sent", "delivered"]
    assert {c["response_status"] for c in reports} == {204}
    (email,) = [n for n in notifications_of(api, customer) if n["channel"] == "email"]
    assert email["delivery"] is None  # SendGrid's reports are not asked for


@pytest.fixture
def twilio_clock(sims):
    """Twilio's clock, stopped now: a message moves on only as the test advances it. It runs
    again afterwards, and what it held back moves on."""
    sims["twilio"].freeze_clock(time.time())
    yield sims["twilio"]
    sims["twilio"].freeze_clock(None)


def test_the_sms_report_moves_on_as_twilios_clock_does(api, twilio_clock):
    customer = onboard(api)

    def message() -> dict | None:
        sent = [m for m in twilio_clock.state()["messages"] if m["to"] == customer["phone"]]
        return sent[0] if sent else None

    assert poll(message, timeout=10, what="the welcome SMS at Twilio")["status"] == "queued"
    assert sms_of(api, customer)["delivery"] in (None, "queued")
    twilio_clock.advance_clock(2.5 * STEP)  # two steps: sending, then sent (reported)
    wait_for_delivery(api, customer, "sent")
    assert message()["status"] == "sent"  # delivered is a step the clock has not reached
    twilio_clock.advance_clock(STEP)
    sms = wait_for_delivery(api, customer, "delivered")
    assert (sms["status"], sms["error_code"]) == ("sent", None)


def test_unreachable_handset_is_reported_undelivered_with_twilios_code(api, sims):
    phone = customer_payload()["phone"]
    sims["twilio"].seed({"undeliverable": [phone]})
    customer = onboard(api, phone=phone)
    sms = wait_for_delivery(api, customer, "undelivered")
    assert sms["error_code"] == "30003"


def test_forged_or_stale_reports_change_nothing(api, sims, stack, interlock_config):
    customer = onboard(api)
    wait_for_delivery(api, customer, "delivered")
    (message,) = [m for m in sims["twilio"].state()["messages"] if m["to"] == customer["phone"]]
    token = interlock_config.app.env["WMS_TWILIO_AUTH_TOKEN"]
    url = stack.app_url + CALLBACK
    report = {
        "MessageSid": message["sid"],
        "SmsSid": message["sid"],
        "AccountSid": message["account_sid"],
        "MessageStatus": "undelivered",
        "ErrorCode": "30005",
        "To": customer["phone"],
    }
    forged = api.post(
        CALLBACK, data=report, headers={"X-Twilio-Signature": signed(url, report, "not-our-token")}
    )
    assert forged.status_code == 400
    assert forged.json()["error"]["code"] == "invalid_webhook"
    assert api.post(CALLBACK, data=report).status_code == 400  # no signature at all

    # a genuine report that arrives late, after the message was delivered, is ignored
    stale = {**report, "MessageStatus": "sent"}
    stale.pop("ErrorCode")
    late = api.post(CALLBACK, data=stale, headers={"X-Twilio-Signature": signed(url, stale, token)})
    assert late.status_code == 204
    sms = sms_of(api, customer)
    assert (sms["delivery"], sms["error_code"]) == ("delivered", None)


def test_customers_see_their_own_notifications_only(api):
    customer, other = new_customer(api), onboard(api)
    mine = customer.client.get(f"/api/v1/customers/{customer.id}/notifications")
    assert mine.status_code == 200
    assert {(n["channel"], n["kind"]) for n in mine.json()} == {
        ("email", "welcome"),
        ("sms", "welcome"),
    }
    assert customer.client.get(f"/api/v1/customers/{other['id']}/notifications").status_code == 404
    assert (
        api.as_role("driver").get(f"/api/v1/customers/{customer.id}/notifications").status_code
        == 403
    )
