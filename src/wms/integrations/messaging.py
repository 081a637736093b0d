"""E-mail through SendGrid and SMS through Twilio, with their official SDKs."""

from __future__ import annotations

from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from wms.errors import UpstreamError
from wms.integrations import ExternalService
from wms.settings import Settings

__all__ = ["Email", "Sms"]


class Email:
    def __init__(self, settings: Settings) -> None:
        self.service = ExternalService(
            "sendgrid", capacity=8, timeout=settings.external_timeout_seconds
        )
        self.client = SendGridAPIClient(
            settings.sendgrid_api_key.get_secret_value(), host=settings.sendgrid_api_base
        )
        self.sender = settings.email_from
        self.timeout = settings.external_timeout_seconds

    async def send(self, *, to: str, subject: str, text: str) -> str:
        body = {
            "personalizations": [{"to": [{"email": to}]}],
            "from": {"email": self.sender},
            "subject": subject,
            "content": [{"type": "text/plain", "value": text}],
        }

        def send() -> str:
            response = self.client.client.mail.send.post(request_body=body, timeout=self.timeout)
            return str(response.headers.get("X-Message-Id", ""))

        try:
            return await self.service.call(send)
        except (SendGridHTTPError, OSError) as exc:
            raise UpstreamError("sendgrid", f"send failed: {exc}") from None


class Sms:
    def __init__(self, settings: Settings) -> None:
        self.service = ExternalService(
            "twilio", capacity=8, timeout=settings.external_timeout_seconds
        )
        self.client = TwilioClient(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            http_client=TwilioHttpClient(timeout=settings.external_timeout_seconds),
        )
        # the SDK has no base-URL argument; its Api domain is cached, so this sticks
        self.client.api.base_url = settings.twilio_api_base
        self.sender = settings.sms_from

    async def send(self, *, to: str, text: str) -> str:
        def send() -> str:
            message = self.client.messages.create(to=to, from_=self.sender, body=text)
            return str(message.sid)

        try:
            return await self.service.call(send)
        except (TwilioException, OSError) as exc:
            raise UpstreamError("twilio", f"send failed: {exc}") from None
