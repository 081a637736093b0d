"""SendGrid simulator: v3 mail send (202, empty body) with a readable outbox.

Validation follows SendGrid's "Mail Send errors" reference
(twilio.com/docs/sendgrid/api-reference/mail-send/errors): every refusal is 400 with
``{"errors": [{"message", "field", "help"}]}``; at most 1000 personalizations and 1000
recipients (to + cc + bcc) a request, each an e-mail address, none twice within a
personalization; a whole request up to 30 MB ("The total size of your email, including
attachments, must be less than 30MB").
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any, ClassVar

from aiohttp import web

from interlock.simulators.base import Simulator, json_response

__all__ = ["SendGridSimulator"]

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
#: what SendGrid takes as an address: something@domain.tld, no spaces
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ERROR_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"


class SendGridSimulator(Simulator):
    name = "sendgrid"
    seed_keys = frozenset({"api_keys"})
    serves = "POST /v3/mail/send"
    max_body_bytes: ClassVar[int] = 30 * 1024 * 1024

    def reset_state(self) -> None:
        self.outbox: list[dict[str, Any]] = []
        self.api_keys: set[str] | None = None  # None: any key starting "SG." is valid

    def state(self) -> dict[str, Any]:
        return {"outbox": self.outbox}

    def seed_data(self, data: dict[str, Any]) -> None:
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])

    def error_response(self, status: int, message: str) -> web.Response:
        return json_response(
            {"errors": [{"message": message, "field": None, "help": None}]}, status=status
        )

    def authenticate(self, request: web.Request) -> web.Response | None:
        key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        valid = key in self.api_keys if self.api_keys is not None else key.startswith("SG.")
        if valid:
            return None
        return json_response(
            {
                "errors": [
                    {
                        "field": None,
                        "message": "The provided authorization grant is invalid, "
                        "expired, or revoked",
                        "help": None,
                    }
                ]
            },
            status=401,
        )

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v3/mail/send", self._send)]

    async def _send(self, request: web.Request) -> web.Response:
        try:
            mail = json.loads(await request.text())
        except json.JSONDecodeError:
            return self.error_response(400, "Invalid JSON")
        errors = []
        personalizations = mail.get("personalizations") if isinstance(mail, dict) else None
        if isinstance(personalizations, list):
            errors.extend(_recipient_errors(personalizations))
        if not personalizations or not all(
            isinstance(p, dict) and p.get("to") for p in personalizations
        ):
            errors.append(
                (
                    "personalizations",
                    "The personalizations field is required and must "
                    "have at least one personalization with a to address.",
                )
            )
        sender = (mail.get("from") or {}).get("email") if isinstance(mail, dict) else None
        if not isinstance(sender, str) or not _ADDRESS.match(sender):
            errors.append(("from.email", "The from email does not contain a valid address."))
        if not mail.get("subject") and not mail.get("template_id"):
            errors.append(
                (
                    "subject",
                    "The subject is required. You can get around this "
                    "requirement if you use a template with a subject defined.",
                )
            )
        if not mail.get("content") and not mail.get("template_id"):
            errors.append(
                (
                    "content",
                    "Unless a valid template_id is provided, the content parameter is required.",
                )
            )
        if errors:
            return json_response(
                {"errors": [{"field": f, "message": m, "help": ERROR_HELP} for f, m in errors]},
                status=400,
            )
        message_id = secrets.token_urlsafe(16)
        self.outbox.append({"message_id": message_id, **mail})
        return web.Response(status=202, headers={"X-Message-Id": message_id})


def _recipient_errors(personalizations: list[Any]) -> list[tuple[str, str]]:
    """SendGrid's errors about how many recipients there are and what they look like."""
    errors: list[tuple[str, str]] = []
    if len(personalizations) > MAX_PERSONALIZATIONS:
        errors.append(
            (
                "personalizations",
                f"The personalization block is limited to {MAX_PERSONALIZATIONS} "
                f"personalizations per API request. You have provided {len(personalizations)} "
                "personalizations. Please consider splitting this into multiple requests and "
                "resending your request.",
            )
        )
    total = 0
    for index, personalization in enumerate(personalizations):
        if not isinstance(personalization, dict):
            continue
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            people = personalization.get(kind) or []
            for position, person in enumerate(people if isinstance(people, list) else []):
                total += 1
                address = person.get("email") if isinstance(person, dict) else None
                field = f"personalizations.{index}.{kind}.{position}.email"
                if not isinstance(address, str) or not _ADDRESS.match(address):
                    errors.append((field, "Does not contain a valid address."))
                elif address.lower() in seen:
                    errors.append(
                        (
                            f"personalizations.{index}",
                            "Each email address in the personalization block should be unique "
                            "between to, cc, and bcc. We found the first duplicate instance of "
                            f"[{address}] in the personalizations.{index}.{kind} field.",
                        )
                    )
                else:
                    seen.add(address.lower())
    if total > MAX_RECIPIENTS:
        errors.append(
            (
                "personalizations",
                f"There is a limit of {MAX_RECIPIENTS} total recipients (to + cc + bcc) per "
                "request.",
            )
        )
    return errors
