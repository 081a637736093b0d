"""Twilio simulator: Programmable Messaging (Messages.json) with basic auth and Twilio's errors."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from interlock.simulators.base import Simulator, json_response
from interlock.simulators.forms import decode_form

__all__ = ["TwilioSimulator"]

API = "/2010-04-01/Accounts/{sid}"


class TwilioSimulator(Simulator):
    name = "twilio"

    def reset_state(self) -> None:
        self.messages: dict[str, dict[str, Any]] = {}
        #: account sid -> auth token; None accepts any AC… sid with a non-empty token
        self.accounts: dict[str, str] | None = None

    def state(self) -> dict[str, Any]:
        return {"messages": list(self.messages.values())}

    def seed_data(self, data: dict[str, Any]) -> None:
        if "accounts" in data:
            self.accounts = dict(data["accounts"])

    def error_response(self, status: int, message: str, code: int = 20500) -> web.Response:
        return json_response(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status=status,
        )

    def authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        try:
            sid, _, token = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            sid, token = "", ""
        path_sid = request.match_info.get("sid", sid)
        if self.accounts is None:
            valid = sid.startswith("AC") and bool(token)
        else:
            valid = self.accounts.get(sid) == token
        if valid and sid == path_sid:
            return None
        return self.error_response(401, "Authenticate", code=20003)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(API + "/Messages.json", self._create),
            web.get(API + "/Messages.json", self._list),
            web.get(API + "/Messages/{msid}.json", self._get),
        ]

    async def _create(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        form = decode_form(await request.text())
        to, body = form.get("To"), form.get("Body")
        sender = form.get("From") or form.get("MessagingServiceSid")
        if not to:
            return self.error_response(400, "A 'To' phone number is required.", code=21604)
        if not sender:
            return self.error_response(400, "A 'From' phone number is required.", code=21603)
        if not body and not form.get("MediaUrl"):
            return self.error_response(400, "Message body is required.", code=21602)
        if not str(to).startswith("+") or not str(to)[1:].isdigit():
            return self.error_response(
                400, f"The 'To' number {to} is not a valid phone number.", code=21211
            )
        now = format_datetime(datetime.now(UTC), usegmt=True)
        msid = "SM" + secrets.token_hex(16)
        message = {
            "sid": msid,
            "account_sid": sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body,
            "status": "queued",
            "num_segments": str(max(1, len(body or "") // 160 + 1)),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{msid}.json",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{sid}/Messages/{msid}/Media.json"},
            "status_callback": form.get("StatusCallback"),
        }
        self.messages[msid] = message
        return json_response(message, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        message = self.messages.get(request.match_info["msid"])
        if message is None:
            return self.error_response(
                404, f"The requested resource {request.path} was not found", code=20404
            )
        return json_response(message)

    async def _list(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        items = [m for m in self.messages.values() if m["account_sid"] == sid]
        if to := request.query.get("To"):
            items = [m for m in items if m["to"] == to]
        uri = f"/2010-04-01/Accounts/{sid}/Messages.json"
        return json_response(
            {
                "messages": items,
                "end": max(0, len(items) - 1),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )
