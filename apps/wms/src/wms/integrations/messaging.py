"""E-mail through SendGrid and SMS through Twilio, with their official SDKs."""

from __future__ import annotations

from collections.abc import Mapping

from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client as TwilioClient

from wms.integrations import external_service
from wms.integrations.keys import KeyedClients, KeyRing
from wms.integrations.resilience import Permanent, Transient
from wms.settings import Settings

#: where WMS hears from Twilio how each SMS fared (routes/notifications.py)
STATUS_CALLBACK_PATH = "/api/v1/webhooks/twilio/status"


def _by_status(status: int, message: str) -> Exception:
    return Transient(message) if status == 429 or status >= 500 else Permanent(message)


def _status_of(exc: Exception) -> int | None:
    if isinstance(exc, SendGridHTTPError):
        return int(exc.status_code)
    if isinstance(exc, TwilioRestException):
        return int(exc.status)
    return None


class Email:
    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        self.service = external_service("sendgrid", settings)
        host = settings.sendgrid_api_base
        self.clients = KeyedClients(
            "sendgrid",
            lambda key: SendGridAPIClient(key, host=host),
            refused=lambda exc: _status_of(exc) == 401,
            rings=keys,
            default=settings.sendgrid_api_key.get_secret_value(),
        )
        self.sender = settings.email_from
        self.timeout = self.service.policy.timeout

    async def send(self, *, to: str, subject: str, text: str) -> str:
        body = {
            "personalizations": [{"to": [{"email": to}]}],
            "from": {"email": self.sender},
            "subject": subject,
            "content": [{"type": "text/plain", "value": text}],
        }

        keys = await self.clients.keys()

        def send() -> str:
            try:
                response = self.clients.run(
                    keys,
                    lambda sg: sg.client.mail.send.post(request_body=body, timeout=self.timeout),
                )
            except SendGridHTTPError as exc:
                raise _by_status(int(exc.status_code), f"send failed: {exc.reason}") from None
            except OSError as exc:
                raise Transient(f"send failed: {exc}") from None
            return str(response.headers.get("X-Message-Id", ""))

        # a mail send has no idempotency key: retrying could send it twice
        return await self.service.call(send, idempotent=False)


class Sms:
    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        self.service = external_service("twilio", settings)
        self.clients = KeyedClients(
            "twilio",
            lambda token: self._client(settings, token),
            refused=lambda exc: _status_of(exc) == 401,
            rings=keys,
            default=settings.twilio_auth_token.get_secret_value(),
        )
        self.sender = settings.sms_from
        #: where Twilio reports each message's delivery; none asked without a public URL
        self.status_callback = (
            settings.public_url.rstrip("/") + STATUS_CALLBACK_PATH if settings.public_url else None
        )

    @staticmethod
    def _client(settings: Settings, token: str) -> TwilioClient:
        client = TwilioClient(
            settings.twilio_account_sid,
            token,
            http_client=TwilioHttpClient(timeout=settings.timeout_for("twilio")),
        )
        # the SDK has no base-URL argument; its Api domain is cached, so this sticks
        client.api.base_url = settings.twilio_api_base
        return client

    async def send(self, *, to: str, text: str) -> str:
        keys = await self.clients.keys()
        extra = {"status_callback": self.status_callback} if self.status_callback else {}

        def send() -> str:
            try:
                message = self.clients.run(
                    keys,
                    lambda client: client.messages.create(
                        to=to, from_=self.sender, body=text, **extra
                    ),
                )
            except TwilioRestException as exc:
                raise _by_status(int(exc.status), f"send failed: {exc.msg}") from None
            except (TwilioException, OSError) as exc:
                raise Transient(f"send failed: {exc}") from None
            return str(message.sid)

        # Twilio has no idempotency keys for messages: never retried
        return await self.service.call(send, idempotent=False)

    async def verify_callback(self, url: str, params: dict[str, str], signature: str) -> bool:
        """Whether Twilio signed this callback to ``url`` with one of our auth tokens (any
        usable one: during a rotation Twilio may sign with either)."""
        for token in await self.clients.keys():
            if RequestValidator(token).validate(url, params, signature):
                return True
        return False
