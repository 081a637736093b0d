"""SendGrid simulator: v3 mail send (202, empty body) with a readable outbox."""

from __future__ import annotations

import json
import secrets
from typing import Any

from aiohttp import web

from interlock.simulators.base import Simulator, json_response

__all__ = ["SendGridSimulator"]


class SendGridSimulator(Simulator):
    name = "sendgrid"

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
        if not personalizations or not all(p.get("to") for p in personalizations):
            errors.append(
                (
                    "personalizations",
                    "The personalizations field is required and must "
                    "have at least one personalization with a to address.",
                )
            )
        if not isinstance(mail, dict) or not (mail.get("from") or {}).get("email"):
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
                {"errors": [{"field": f, "message": m, "help": None} for f, m in errors]},
                status=400,
            )
        message_id = secrets.token_urlsafe(16)
        self.outbox.append({"message_id": message_id, **mail})
        return web.Response(status=202, headers={"X-Message-Id": message_id})
