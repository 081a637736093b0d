"""The official SendGrid and Twilio SDKs against their simulators."""

from __future__ import annotations

import pytest
from python_http_client.exceptions import BadRequestsError, UnauthorizedError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Mail
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SID = "AC" + "1" * 32


def test_sendgrid_mail_is_accepted_and_lands_in_the_outbox():
    with ThreadedSimulator("sendgrid") as server:
        sg = SendGridAPIClient("SG.key", host=server.url)
        response = sg.send(
            Mail(
                from_email="ops@example.com",
                to_emails="ann@example.com",
                subject="Pickup tomorrow",
                plain_text_content="Bins out by 7",
            )
        )
        assert response.status_code == 202
        (mail,) = server.sim.state()["outbox"]
        assert mail["personalizations"][0]["to"][0]["email"] == "ann@example.com"
        assert mail["subject"] == "Pickup tomorrow"


def test_sendgrid_refuses_a_wrong_key_and_an_incomplete_mail():
    with ThreadedSimulator("sendgrid") as server:
        with pytest.raises(UnauthorizedError):
            SendGridAPIClient("wrong", host=server.url).send(
                Mail(
                    from_email="a@example.com",
                    to_emails="b@example.com",
                    subject="s",
                    plain_text_content="t",
                )
            )
        with pytest.raises(BadRequestsError) as info:
            SendGridAPIClient("SG.key", host=server.url).client.mail.send.post(
                request_body={"personalizations": [], "subject": "s"}
            )
        assert b"personalizations" in info.value.body


def twilio(server: ThreadedSimulator, token: str = "token") -> Client:
    client = Client(SID, token)
    client.api.base_url = server.url
    return client


def test_twilio_message_is_created_and_read_back():
    with ThreadedSimulator("twilio") as server:
        client = twilio(server)
        message = client.messages.create(to="+15551234567", from_="+15005550006", body="Hi")
        assert message.sid.startswith("SM")
        assert message.status == "queued"
        assert client.messages(message.sid).fetch().body == "Hi"
        assert [m.sid for m in client.messages.list(to="+15551234567")] == [message.sid]


def test_twilio_refuses_bad_numbers_and_bad_credentials_with_its_codes():
    with ThreadedSimulator("twilio") as server:
        server.sim.seed_data({"accounts": {SID: "right"}})
        with pytest.raises(TwilioRestException) as info:
            twilio(server, token="wrong").messages.create(to="+15551234567", from_="+1", body="x")
        assert (info.value.status, info.value.code) == (401, 20003)
        with pytest.raises(TwilioRestException) as info:
            twilio(server, token="right").messages.create(to="555", from_="+1500", body="x")
        assert info.value.code == 21211
