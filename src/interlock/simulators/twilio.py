"""Twilio simulator: Programmable Messaging (Messages.json) with basic auth and Twilio's errors.

A created message moves on by itself, one step every ``status_delay`` seconds, as a
real one does: ``queued`` → ``sending`` → ``sent`` → ``delivered`` (a message sent
through a ``MessagingServiceSid`` starts ``accepted`` and is ``queued`` one step later).
Seeded destinations end otherwise: ``undeliverable`` numbers go ``sent`` → ``undelivered``
(30003), ``failing`` ones ``sending`` → ``failed`` (30008). Twilio's magic test numbers
are refused at once, as with test credentials (see ``MAGIC_NUMBERS``).

When the create call named a ``StatusCallback``, every change to ``sent``, ``delivered``,
``undelivered`` or ``failed`` is POSTed there (not ``accepted``, ``queued`` or
``sending``), form-encoded and signed with the auth token of the create call, so that
``twilio.request_validator.RequestValidator(token).validate(url, params, signature)``
accepts it. The callbacks of one message arrive in order; each is tried once, and a
receiver that fails, times out or cannot be reached is recorded in ``state()["callbacks"]``
without holding the message back.

Seed keys: ``accounts`` ({sid: token}), ``api_keys`` ({SK sid: {"secret", "account"}}:
Twilio's API keys, accepted with HTTP Basic like an account's token), ``status_delay``
(s, default 0.05), ``callback_timeout`` (s, default 10), ``undeliverable`` and
``failing`` (lists of numbers), ``clock`` (see ``interlock.simulators.clock``: frozen with
``{"now": ...}``, messages move on only as the test advances it by ``status_delay`` a step,
``{"advance_s": s}``; their dates are read from it too).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import secrets
import time
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from hashlib import sha1
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Simulator, json_response
from interlock.simulators.clock import SimClock
from interlock.simulators.forms import decode_form
from interlock.simulators.outbound import Outbound
from interlock.simulators.twilio_messages import (
    FINAL_STATUSES,
    MAGIC_NUMBERS,
    MAX_BODY_CHARACTERS,
    MAX_PAGE_SIZE,
    UNSERVED_CREATE_PARAMS,
    segments,
    sent_on,
)

__all__ = ["TwilioSimulator", "signature"]

API = "/2010-04-01/Accounts/{sid}"
API_VERSION = "2010-04-01"
USER_AGENT = "TwilioProxy/1.1"
DEFAULT_STATUS_DELAY = 0.05
DEFAULT_CALLBACK_TIMEOUT = 10.0
#: what one SMS segment to a US number costs, as Twilio reports it (negative: a charge)
PRICE_PER_SEGMENT = 0.0079
#: the statuses whose arrival is POSTed to a message's StatusCallback
CALLBACK_STATUSES = frozenset({"sent", "delivered", "undelivered", "failed"})
UNDELIVERED = (30003, "Unreachable destination handset")
FAILED = (30008, "Unknown error")
SEED_KEYS = frozenset(
    {
        "accounts",
        "api_keys",
        "status_delay",
        "callback_timeout",
        "undeliverable",
        "failing",
        "clock",
    }
)


def signature(token: str, url: str, params: dict[str, str]) -> str:
    """``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL and each sorted name + value."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode("utf-8"), payload.encode("utf-8"), sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _date(clock: SimClock) -> str:
    """The clock's time as Twilio writes dates (RFC 2822, GMT)."""
    return format_datetime(datetime.fromtimestamp(clock.now(), UTC), usegmt=True)


def _seconds(data: dict[str, Any], name: str, *, positive: bool = False) -> float:
    value = data[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value < 0
        or (positive and value == 0)
    ):
        kind = "positive" if positive else "non-negative"
        raise ConfigError(f"twilio seed {name} must be a {kind} number of seconds, got {value!r}")
    return float(value)


def _numbers(data: dict[str, Any], name: str) -> set[str]:
    value = data[name]
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise ConfigError(f"twilio seed {name} must be a list of phone numbers, got {value!r}")
    return set(value)


class TwilioSimulator(Simulator):
    name = "twilio"
    seed_keys = SEED_KEYS
    serves = "Messages: create, fetch, list, update (redaction), delete"

    def __init__(self, *, seed: int = 0) -> None:
        self._outbound = Outbound()
        #: bumped by every reset; a task started before it leaves the new state alone
        self._generation = 0
        super().__init__(seed=seed)

    def reset_state(self) -> None:
        self._outbound.cancel_all()
        self._generation += 1
        self.messages: dict[str, dict[str, Any]] = {}
        #: account sid -> auth token; None accepts any AC… sid with a non-empty token
        self.accounts: dict[str, str] | None = None
        #: API key sid -> (secret, account sid); None accepts any SK… key with a secret
        #: while no account is seeded
        self.api_keys: dict[str, tuple[str, str]] | None = None
        #: one record per status callback attempt, oldest first
        self.callbacks: list[dict[str, Any]] = []
        self.status_delay = DEFAULT_STATUS_DELAY
        self.clock = SimClock()
        self.callback_timeout = DEFAULT_CALLBACK_TIMEOUT
        self.undeliverable: set[str] = set()
        self.failing: set[str] = set()
        #: message sid -> auth token of its create call, to sign its callbacks (never in state)
        self._tokens: dict[str, str] = {}
        #: message sid -> its latest callback delivery, which the next one waits for
        self._last_delivery: dict[str, asyncio.Task[None]] = {}

    def state(self) -> dict[str, Any]:
        return {"messages": list(self.messages.values()), "callbacks": list(self.callbacks)}

    def seed_data(self, data: dict[str, Any]) -> None:
        if "accounts" in data:
            if not isinstance(data["accounts"], dict):
                raise ConfigError("twilio seed accounts must map account sids to auth tokens")
            self.accounts = dict(data["accounts"])
        if "api_keys" in data:
            keys = data["api_keys"]
            if not isinstance(keys, dict) or not all(
                isinstance(v, dict) and {"secret", "account"} <= set(v) for v in keys.values()
            ):
                raise ConfigError(
                    'twilio seed api_keys must map SK sids to {"secret": ..., "account": AC...}'
                )
            self.api_keys = {sid: (v["secret"], v["account"]) for sid, v in keys.items()}
        if "status_delay" in data:
            self.status_delay = _seconds(data, "status_delay")
        if "callback_timeout" in data:
            self.callback_timeout = _seconds(data, "callback_timeout", positive=True)
        if "undeliverable" in data:
            self.undeliverable |= _numbers(data, "undeliverable")
        if "failing" in data:
            self.failing |= _numbers(data, "failing")
        if "clock" in data:
            try:
                self.clock.seed(data["clock"] or {})
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"twilio seed clock: {exc}") from None

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.on_cleanup.append(self._close)
        return app

    def error_response(self, status: int, message: str, code: int | None = None) -> web.Response:
        code = code or {401: 20003, 404: 20404}.get(status, 20500)
        return json_response(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status=status,
        )

    @staticmethod
    def _credentials(request: web.Request) -> tuple[str, str]:
        header = request.headers.get("Authorization", "")
        try:
            sid, _, token = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        return sid, token

    def authenticate(self, request: web.Request) -> web.Response | None:
        """HTTP Basic with the account SID and auth token, or with an API key SID (SK...)
        and its secret for the account in the path, as Twilio documents both."""
        sid, token = self._credentials(request)
        path_sid = request.match_info.get("sid", sid)
        if sid.startswith("SK"):
            if self.api_keys is None:
                valid, owner = self.accounts is None and bool(token), path_sid
            else:
                secret, owner = self.api_keys.get(sid, ("", ""))
                valid = bool(secret) and secret == token
        elif self.accounts is None:
            valid, owner = sid.startswith("AC") and bool(token), sid
        else:
            valid, owner = self.accounts.get(sid) == token, sid
        if valid and owner == path_sid:
            return None
        return self.error_response(401, "Authenticate", code=20003)

    def _signing_token(self, request: web.Request) -> str:
        """What signs a message's callbacks: its account's auth token (an API key's secret
        only when no account is seeded, for want of the token)."""
        sid, token = self._credentials(request)
        account = request.match_info["sid"]
        if sid.startswith("SK") and self.accounts is not None:
            return self.accounts.get(account, token)
        return token

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(API + "/Messages.json", self._create),
            web.get(API + "/Messages.json", self._list),
            web.get(API + "/Messages/{msid}.json", self._get),
            web.post(API + "/Messages/{msid}.json", self._update),
            web.delete(API + "/Messages/{msid}.json", self._delete),
        ]

    def _message(self, request: web.Request) -> dict[str, Any]:
        message = self.messages.get(request.match_info["msid"])
        if message is None or message["account_sid"] != request.match_info["sid"]:
            raise web.HTTPNotFound(reason=f"The requested resource {request.path} was not found")
        return message

    async def _update(self, request: web.Request) -> web.Response:
        """Redaction (``Body=""``), the one update of a sent message Twilio allows."""
        message = self._message(request)
        form = decode_form(await request.text())
        if set(form) - {"Body"} or form.get("Body") != "":
            return self.error_response(
                501,
                "not simulated: message update other than redaction (Body='')",
            )
        if message["status"] not in FINAL_STATUSES:
            return self.error_response(
                400, "Cannot redact message body before delivery is complete.", code=20009
            )
        message["body"] = ""
        message["date_updated"] = _date(self.clock)
        return json_response(message)

    async def _delete(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if message["status"] not in FINAL_STATUSES:
            # Twilio keeps a message that is still on its way
            return self.error_response(
                400,
                "Cannot delete message because delivery has not been completed.",
                code=20009,
            )
        del self.messages[message["sid"]]
        return web.Response(status=204)

    async def _create(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        form = decode_form(await request.text())
        unserved = sorted(set(form) & UNSERVED_CREATE_PARAMS)
        if unserved:
            return self.error_response(
                501,
                f"not simulated: parameter {unserved[0]} of Messages create (the simulator "
                "serves To, From, MessagingServiceSid, Body and StatusCallback)",
            )
        to, body = form.get("To"), form.get("Body")
        sender = form.get("From") or form.get("MessagingServiceSid")
        if not to:
            return self.error_response(400, "A 'To' phone number is required.", code=21604)
        if not sender:
            return self.error_response(400, "A 'From' phone number is required.", code=21603)
        if not body:
            return self.error_response(400, "Message body is required.", code=21602)
        if len(str(body or "")) > MAX_BODY_CHARACTERS:
            return self.error_response(
                400,
                "The concatenated message body exceeds the 1600 character limit.",
                code=21617,
            )
        if not str(to).startswith("+") or not str(to)[1:].isdigit():
            return self.error_response(
                400, f"The 'To' number {to} is not a valid phone number.", code=21211
            )
        if to in MAGIC_NUMBERS:
            code, text = MAGIC_NUMBERS[to]
            return self.error_response(400, text.format(to=to, sender=sender), code=code)
        now = _date(self.clock)
        msid = "SM" + secrets.token_hex(16)
        service = form.get("MessagingServiceSid")
        message = {
            "sid": msid,
            "account_sid": sid,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": service,
            "body": body,
            "status": "accepted" if service else "queued",
            "num_segments": str(segments(body or "")),
            "num_media": "0",
            "direction": "outbound-api",
            "api_version": API_VERSION,
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
        self._tokens[msid] = self._signing_token(request)
        self._outbound.spawn(self._progress(message, self._generation))
        return json_response(message, status=201)

    async def _get(self, request: web.Request) -> web.Response:
        return json_response(self._message(request))

    async def _list(self, request: web.Request) -> web.Response:
        """Newest first, filtered by To, From and DateSent (=, <, >), PageSize a page."""
        sid, query = request.match_info["sid"], request.query
        items = [m for m in self.messages.values() if m["account_sid"] == sid]
        items.reverse()
        for param, field in (("To", "to"), ("From", "from")):
            if wanted := query.get(param):
                items = [m for m in items if m[field] == wanted]
        for param in ("DateSent", "DateSent<", "DateSent>"):
            if param in query:
                items = sent_on(items, param, query[param])
        try:
            size = int(query.get("PageSize", "50"))
            page = int(query.get("Page", "0"))
        except ValueError:
            return self.error_response(400, "Invalid PageSize or Page", code=20001)
        if not 1 <= size <= MAX_PAGE_SIZE or page < 0:
            return self.error_response(
                400, f"PageSize must be between 1 and {MAX_PAGE_SIZE}", code=20001
            )
        start = page * size
        shown = items[start : start + size]
        uri = f"/2010-04-01/Accounts/{sid}/Messages.json"
        kept = [(k, v) for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")]

        def page_uri(number: int) -> str:
            return f"{uri}?{urlencode([*kept, ('PageSize', size), ('Page', number)])}"

        more = start + size < len(items)
        return json_response(
            {
                "messages": shown,
                "end": start + max(0, len(shown) - 1),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if more else None,
                "page": page,
                "page_size": size,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
                "start": start,
                "uri": page_uri(page),
            }
        )

    # -- progression and status callbacks ---------------------------------------------
    async def _close(self, app: web.Application) -> None:
        self._generation += 1
        await self._outbound.close()

    async def _progress(self, message: dict[str, Any], generation: int) -> None:
        """Walk ``message`` through its statuses, one step per ``status_delay`` of its clock."""
        to = message["to"]
        steps: list[tuple[str, tuple[int, str] | None]] = []
        if message["status"] == "accepted":
            steps.append(("queued", None))
        steps.append(("sending", None))
        if to in self.failing:
            steps.append(("failed", FAILED))
        else:
            steps.append(("sent", None))
            steps.append(
                ("undelivered", UNDELIVERED) if to in self.undeliverable else ("delivered", None)
            )
        due = self.clock.now()
        for status, error in steps:
            # each step is due a delay after the last was due, so an advance past
            # several steps takes them all
            due += self.status_delay
            await self.clock.sleep_until(due)
            if generation != self._generation:
                return
            self._advance(message, status, error, generation)

    def _advance(
        self,
        message: dict[str, Any],
        status: str,
        error: tuple[int, str] | None,
        generation: int,
    ) -> None:
        now = _date(self.clock)
        message["status"] = status
        message["date_updated"] = now
        if status == "sent":
            message["date_sent"] = now
            price = -PRICE_PER_SEGMENT * int(message["num_segments"])
            message["price"] = f"{price:.5f}"
        if error is not None:
            message["error_code"], message["error_message"] = error
        if status in CALLBACK_STATUSES and message["status_callback"]:
            self._queue_callback(message, generation)

    def _queue_callback(self, message: dict[str, Any], generation: int) -> None:
        msid = message["sid"]
        params = {
            "MessageSid": msid,
            "SmsSid": msid,
            "AccountSid": message["account_sid"],
            "To": message["to"],
            "MessageStatus": message["status"],
            "SmsStatus": message["status"],
            "ApiVersion": API_VERSION,
        }
        if message["from"]:
            params["From"] = message["from"]
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if message["error_code"] is not None:
            params["ErrorCode"] = str(message["error_code"])
        previous = self._last_delivery.get(msid)
        task = self._outbound.spawn(
            self._deliver(previous, message["status_callback"], params, msid, generation)
        )
        self._last_delivery[msid] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._last_delivery.get(msid) is done:
                del self._last_delivery[msid]

        task.add_done_callback(forget)

    async def _deliver(
        self,
        previous: asyncio.Task[None] | None,
        url: str,
        params: dict[str, str],
        msid: str,
        generation: int,
    ) -> None:
        """One signed POST of ``params`` to ``url``, after the message's earlier callbacks."""
        if previous is not None:
            await asyncio.wait([previous])
        if generation != self._generation:
            return
        record: dict[str, Any] = {
            "message_sid": msid,
            "url": url,
            "status": params["MessageStatus"],
            "response_status": None,
            "error": None,
            "time": time.time(),
        }
        self.callbacks.append(record)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
            "X-Twilio-Signature": signature(self._tokens.get(msid, ""), url, params),
            "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
        }
        try:
            async with self._outbound.session.post(
                url,
                data=urlencode(params),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.callback_timeout),
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            record["error"] = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return
        record["response_status"] = response.status  # last: a reader who sees it sees the rest
