"""Twilio and SendGrid SDKs against their simulators: the providers' limits and the whole
Messages resource.

Where each expected answer comes from:

- Twilio 21617 over 1600 characters: twilio.com/docs/api/errors/21617 and "Maximum Message
  Length with Twilio Programmable Messaging" (support.twilio.com);
- Twilio paging (PageSize, next_page_uri), the To/From/DateSent filters and deletion of a
  finished message: the Message resource reference (twilio.com/docs/messaging/api/message-resource),
  "Read multiple Message resources" and "Delete a Message resource";
- SendGrid's limits and error bodies: "Mail Send errors"
  (twilio.com/docs/sendgrid/api-reference/mail-send/errors): 1000 personalizations, 1000
  recipients, "Does not contain a valid address.", 30 MB a message.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from python_http_client.exceptions import BadRequestsError, HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Attachment, Mail
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from interlock.helpers.deadline import poll
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SID = "AC" + "2" * 32
TO = "+15551234567"


def twilio(server: ThreadedSimulator) -> Client:
    client = Client(SID, "token")
    client.api.base_url = server.url
    return client


def sendgrid_errors(info: pytest.ExceptionInfo[BadRequestsError]) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = json.loads(info.value.body)["errors"]
    return errors


def mail(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "personalizations": [{"to": [{"email": "ann@example.com"}]}],
        "from": {"email": "ops@example.com"},
        "subject": "Pickup",
        "content": [{"type": "text/plain", "value": "Bins out by 7"}],
    }
    return {**body, **overrides}


def test_twilio_refuses_a_body_over_1600_characters_with_21617():
    with ThreadedSimulator("twilio") as server:
        client = twilio(server)
        assert client.messages.create(to=TO, from_="+15005550006", body="x" * 1600).sid
        with pytest.raises(TwilioRestException) as info:
            client.messages.create(to=TO, from_="+15005550006", body="x" * 1601)
        assert (info.value.status, info.value.code) == (400, 21617)
        assert "1600 character limit" in info.value.msg


def test_twilio_lists_page_by_page_newest_first_and_filters_by_sender():
    with ThreadedSimulator("twilio") as server:
        client = twilio(server)
        sent = [
            client.messages.create(to=TO, from_="+15005550006", body=f"m{i}").sid for i in range(7)
        ]
        other = client.messages.create(to=TO, from_="+15005550009", body="other").sid
        first = client.messages.page(page_size=3)
        assert [m.sid for m in first] == [other, sent[6], sent[5]]  # newest first
        assert first.next_page_url is not None
        everything = [m.sid for m in client.messages.stream(page_size=3)]
        assert everything == [other, *reversed(sent)]
        assert [m.sid for m in client.messages.list(from_="+15005550009")] == [other]
        assert len(client.messages.list(from_="+15005550006", page_size=2)) == 7


def test_twilio_deletes_a_delivered_message_but_not_one_on_its_way():
    with ThreadedSimulator("twilio") as server:
        client = twilio(server)
        server.sim.seed_data({"status_delay": 0.05})
        message = client.messages.create(to=TO, from_="+15005550006", body="hi")
        poll(
            lambda: client.messages(message.sid).fetch().status == "delivered",
            timeout=10,
            what="the message to be delivered",
        )
        assert client.messages(message.sid).delete() is True
        with pytest.raises(TwilioRestException) as info:
            client.messages(message.sid).fetch()
        assert (info.value.status, info.value.code) == (404, 20404)
        server.sim.seed_data({"status_delay": 3600})
        slow = client.messages.create(to=TO, from_="+15005550006", body="slow")
        with pytest.raises(TwilioRestException) as info:
            client.messages(slow.sid).delete()
        assert info.value.code == 20009


def test_twilio_redacts_a_delivered_message_and_refuses_other_resources_by_name():
    with ThreadedSimulator("twilio") as server:
        client = twilio(server)
        message = client.messages.create(to=TO, from_="+15005550006", body="secret")
        poll(
            lambda: client.messages(message.sid).fetch().status == "delivered",
            timeout=10,
            what="the message to be delivered",
        )
        assert client.messages(message.sid).update(body="").body == ""
        with pytest.raises(TwilioRestException) as info:
            client.calls.create(to=TO, from_="+15005550006", url="http://example.com/twiml")
        assert info.value.status == 501
        assert "not simulated: POST /2010-04-01/Accounts/" in info.value.msg


def test_sendgrid_refuses_more_than_1000_personalizations():
    with ThreadedSimulator("sendgrid") as server:
        sg = SendGridAPIClient("SG.key", host=server.url)
        many = [{"to": [{"email": f"r{i}@example.com"}]} for i in range(1001)]
        with pytest.raises(BadRequestsError) as info:
            sg.client.mail.send.post(request_body=mail(personalizations=many))
        messages = [e["message"] for e in sendgrid_errors(info)]
        assert any("limited to 1000 personalizations" in m for m in messages)
        assert any("limit of 1000 total recipients" in m for m in messages)
        assert server.sim.state()["outbox"] == []


def test_sendgrid_refuses_a_recipient_that_is_not_an_address():
    with ThreadedSimulator("sendgrid") as server:
        sg = SendGridAPIClient("SG.key", host=server.url)
        wrong = [{"to": [{"email": "not-an-address"}]}]
        with pytest.raises(BadRequestsError) as info:
            sg.client.mail.send.post(request_body=mail(personalizations=wrong))
        (error,) = sendgrid_errors(info)
        assert error["field"] == "personalizations.0.to.0.email"
        assert error["message"] == "Does not contain a valid address."


def test_sendgrid_takes_a_10_mb_attachment_and_refuses_over_30_mb():
    with ThreadedSimulator("sendgrid") as server:
        sg = SendGridAPIClient("SG.key", host=server.url)
        message = Mail(
            from_email="ops@example.com",
            to_emails="ann@example.com",
            subject="Route map",
            plain_text_content="attached",
        )
        message.attachment = Attachment(
            file_content=base64.b64encode(b"\0" * 10_000_000).decode(),
            file_name="map.pdf",
            file_type="application/pdf",
        )
        assert sg.send(message).status_code == 202
        too_big = httpx.post(
            f"{server.url}/v3/mail/send",
            content=b" " * (31 * 1024 * 1024),
            headers={"Authorization": "Bearer SG.key", "Content-Type": "application/json"},
        )
        assert too_big.status_code == 413
        assert too_big.json()["errors"][0]["message"]
        assert server.sim.journal[-1]["status"] == 413


def test_a_body_that_is_not_utf8_gets_each_providers_error_format():
    with ThreadedSimulator("twilio") as server:
        token = base64.b64encode(f"{SID}:token".encode()).decode()
        answer = httpx.post(
            f"{server.url}/2010-04-01/Accounts/{SID}/Messages.json",
            content=b"To=%2B15551234567&Body=\xff\xfe",
            headers={
                "Authorization": f"Basic {token}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        assert answer.status_code == 400
        assert set(answer.json()) >= {"code", "message", "more_info", "status"}
    with ThreadedSimulator("sendgrid") as server:
        answer = httpx.post(
            f"{server.url}/v3/mail/send",
            content=b'{"subject": "\xff"}',
            headers={"Authorization": "Bearer SG.key", "Content-Type": "application/json"},
        )
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["message"]


def test_sendgrid_refuses_what_it_does_not_simulate_by_name_in_its_error_format():
    with ThreadedSimulator("sendgrid") as server:
        sg = SendGridAPIClient("SG.key", host=server.url)
        with pytest.raises(HTTPError) as info:
            sg.client.templates.get()
        assert info.value.status_code == 501
        [error] = json.loads(info.value.body)["errors"]
        assert error["message"].startswith("not simulated: GET /v3/templates")


def test_twilio_refuses_a_create_parameter_it_would_otherwise_ignore():
    # a scheduled message (Message resource: ScheduleType, SendAt) would otherwise go at once
    with ThreadedSimulator("twilio") as server:
        client = twilio(server)
        with pytest.raises(TwilioRestException) as info:
            client.messages.create(
                to=TO,
                messaging_service_sid="MG" + "0" * 32,
                body="later",
                schedule_type="fixed",
                send_at="2030-01-01T00:00:00Z",
            )
        assert info.value.status == 501
        assert "not simulated: parameter ScheduleType" in info.value.msg
        # the names come from Twilio's OpenAPI description, MediaUrl (an MMS) among them
        with pytest.raises(TwilioRestException) as info:
            client.messages.create(
                to=TO, from_="+15005550006", media_url=["https://example.com/map.png"]
            )
        assert "not simulated: parameter MediaUrl" in info.value.msg
        assert server.sim.state()["messages"] == []


def test_twilio_takes_an_api_key_and_secret_for_the_account_they_belong_to():
    # Twilio's "API keys" docs: Client(api_key_sid, api_key_secret, account_sid)
    key = "SK" + "3" * 32
    with ThreadedSimulator("twilio") as server:
        server.sim.seed_data(
            {
                "accounts": {SID: "token"},
                "api_keys": {key: {"secret": "s3cret", "account": SID}},
            }
        )
        client = Client(key, "s3cret", SID)
        client.api.base_url = server.url
        assert client.messages.create(to=TO, from_="+15005550006", body="hi").sid
        other = Client(key, "s3cret", "AC" + "4" * 32)
        other.api.base_url = server.url
        with pytest.raises(TwilioRestException) as info:
            other.messages.create(to=TO, from_="+15005550006", body="hi")
        assert (info.value.status, info.value.code) == (401, 20003)
        wrong = Client(key, "guess", SID)
        wrong.api.base_url = server.url
        with pytest.raises(TwilioException, match="20003"):
            wrong.messages.list()
