"""E-mail through SendGrid and SMS through Twilio, with their official SDKs."""

from __future__ import annotations

from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client as TwilioClient

from wms.integrations import external_service
from wms.integrations.resilience import Permanent, Transient
from wms.settings import Settings


def _by_status(status: int, message: str) -> Exception:
    return Transient(message) if status == 429 or status >= 500 else Permanent(message)


class Email:
    def __init__(self, settings: Settings) -> None:
        self.service = external_service("sendgrid", settings)
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
            try:
                response = self.client.client.mail.send.post(
                    request_body=body, timeout=self.timeout
                )
            except SendGridHTTPError as exc:
                raise _by_status(int(exc.status_code), f"send failed: {exc.reason}") from None
            except OSError as exc:
                raise Transient(f"send failed: {exc}") from None
            return str(response.headers.get("X-Message-Id", ""))

        # a mail send has no idempotency key: retrying could send it twice
        return await self.service.call(send, idempotent=False)


class Sms:
    def __init__(self, settings: Settings) -> None:
        self.service = external_service("twilio", settings)
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
            try:
                message = self.client.messages.create(to=to, from_=self.sender, body=text)
            except TwilioRestException as exc:
                raise _by_status(int(exc.status), f"send failed: {exc.msg}") from None
            except (TwilioException, OSError) as exc:
                raise Transient(f"send failed: {exc}") from None
            return str(message.sid)

        # Twilio has no idempotency keys for messages: never retried
        return await self.service.call(send, idempotent=False)
