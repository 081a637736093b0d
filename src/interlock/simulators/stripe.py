"""Stripe simulator: customers, cards, PaymentIntents, refunds and events on Stripe's v1 wire.

Every API call goes through one wrapper (``_endpoint``) that applies the optional rate
limit, decodes the form or query parameters, runs POSTs under Stripe's idempotency rules
and turns a raised ``_Failure`` into Stripe's error body. The handlers themselves are
plain functions that never await, so each call changes state atomically.

Seed data (``POST /__interlock/seed``), every key optional:

    api_keys              the only keys accepted (default: any ``sk_test_`` key)
    customers, payment_methods, payment_intents, charges, refunds   objects to hold
    idempotency_ttl       seconds an idempotency key is remembered (86400)
    processing_delay      seconds each POST spends inside the endpoint (0), so that
                          a concurrent request with the same key meets it in flight
    rate_limit            true for Stripe's test-mode 25 requests/s, or a number (off)
    attach_checks         refuse declining cards at attach, as Stripe does, except 0341
                          (on; off lets ``pm_card_chargeDeclined`` be saved, then declined)
    webhook_endpoints     [{"url", "secret"?, "events"?: ["*"]}]
    webhook_retry_schedule, webhook_duplicates, webhook_shuffle, webhook_timeout
                          see ``stripe_webhooks``

Control: ``POST /__interlock/events/{id}/redeliver[?endpoint=we_...]`` sends an event again.
State: one list per kind of object (``customers``, ``payment_intents``, ``events``, ...,
``webhook_endpoints``), plus ``webhook_deliveries`` (every attempt), ``idempotency_keys``
and ``idempotency_in_flight``.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import CONTROL_PREFIX, Simulator, json_response
from interlock.simulators.forms import decode_form
from interlock.simulators.stripe_webhooks import WebhookDispatcher, object_id

__all__ = ["StripeSimulator"]

API_VERSION = "2024-06-20"
IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first "
    "used with. Try using a key other than '{key}' if you meant to execute a different request."
)
IDEMPOTENCY_OTHER_ENDPOINT = (
    "Keys for idempotent requests can only be used for the same endpoint they were first used "
    "for ('{new}' vs '{old}'). Try using a key other than '{key}' if you meant to execute a "
    "different request."
)
IDEMPOTENCY_IN_USE = (
    "There is currently another in-progress request using this Idempotent Key (that probably "
    "means you submitted twice, and the other request is still going through): {key}. "
    "Please try again later."
)
RATE_LIMITED = (
    "Request rate limit exceeded. You can learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)
#: the objects the simulator holds; each is served at /v1/{kind}s and /v1/{kind}s/{id}
KINDS = ("customer", "payment_method", "payment_intent", "charge", "refund", "event")
PREFIXES = {
    "customer": "cus",
    "payment_method": "pm",
    "payment_intent": "pi",
    "charge": "ch",
    "refund": "re",
    "event": "evt",
}
#: list filters: query parameter -> field it must equal
FILTERS: dict[str, tuple[str, ...]] = {
    "customer": ("email",),
    "payment_method": ("customer", "type"),
    "payment_intent": ("customer",),
    "charge": ("customer", "payment_intent"),
    "refund": ("payment_intent", "charge"),
    "event": ("type",),
    "webhook_endpoint": (),
}
#: test card number -> (brand, decline code or None for a card that pays, whether it
#: passes the check Stripe makes when a card is attached: 0341 passes, then fails when
#: charged; the other declining cards are refused already at attach)
TEST_CARDS: dict[str, tuple[str, str | None, bool]] = {
    "4242424242424242": ("visa", None, True),
    "5555555555554444": ("mastercard", None, True),
    "4000000000000002": ("visa", "generic_decline", False),
    "4000000000009995": ("visa", "insufficient_funds", False),
    "4000000000000341": ("visa", "generic_decline", True),
}
#: the payment method ids Stripe accepts in test mode in place of a real one
TEST_PAYMENT_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_visa_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}
MINIMUM_AMOUNTS = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "chf": 50}
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
SEED_KEYS = {
    "api_keys",
    *(f"{kind}s" for kind in KINDS[:-1]),
    "idempotency_ttl",
    "processing_delay",
    "rate_limit",
    "attach_checks",
    "webhook_endpoints",
    "webhook_retry_schedule",
    "webhook_duplicates",
    "webhook_shuffle",
    "webhook_timeout",
}
Params = dict[str, Any]
#: the id of the request being served, which the events it causes carry
REQUEST_ID = web.RequestKey("stripe_request_id", str)
Handler = Callable[[web.Request, Params], dict[str, Any]]


class _Failure(Exception):
    """A Stripe error the wrapper answers with: status, message and the error's fields."""

    def __init__(self, status: int, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


@dataclass(frozen=True)
class _Outcome:
    """What the first request with an idempotency key got, to replay to the next."""

    method: str
    path: str
    params: Params
    status: int
    body: str
    request_id: str
    at: float


def _required(params: Params, name: str) -> Any:
    if params.get(name) in (None, ""):
        raise _Failure(
            400, f"Missing required param: {name}.", param=name, code="parameter_missing"
        )
    return params[name]


def _integer(params: Params, name: str, default: int | None = None) -> int:
    if name not in params and default is not None:
        return default
    value = _required(params, name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _Failure(
            400, f"Invalid integer: {value}", param=name, code="parameter_invalid_integer"
        ) from None


def _flag(params: Params, name: str) -> bool:
    return str(params.get(name, "false")).lower() == "true"


def _choice(params: Params, name: str, allowed: tuple[str, ...], default: str | None) -> Any:
    value = params.get(name, default)
    if value is not None and value not in allowed:
        raise _Failure(400, f"Invalid {name}: must be one of {', '.join(allowed)}", param=name)
    return value


def _money(amount: int, currency: str) -> str:
    """``$0.50 usd``, as Stripe writes amounts in its messages."""
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency, "")
    return f"{symbol}{amount / 100:.2f} {currency}"


class StripeSimulator(Simulator):
    """Speaks Stripe's v1 wire format: form bodies in, objects with ``"object"`` out."""

    name = "stripe"

    def __init__(self, *, seed: int = 0) -> None:
        self.webhooks = WebhookDispatcher(seed=seed)
        #: the clock for rate limits and idempotency expiry; a test may freeze it
        self.clock: Callable[[], float] = time.monotonic
        super().__init__(seed=seed)

    def reset_state(self) -> None:
        self.webhooks.clear()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.objects["webhook_endpoint"] = self.webhooks.endpoints
        self.customers = self.objects["customer"]
        self.card_numbers: dict[str, str] = {}  # payment method id -> test card number
        self.idempotency: dict[tuple[str, str], _Outcome] = {}
        self.in_flight: set[tuple[str, str]] = set()
        self.api_keys: set[str] | None = None  # None: any sk_test_ key is valid
        self.idempotency_ttl = 24 * 3600.0
        self.processing_delay = 0.0
        self.rate_limit = 0
        self.attach_checks = True
        self._recent: deque[float] = deque()

    def state(self) -> dict[str, Any]:
        return {
            **{f"{kind}s": list(store.values()) for kind, store in self.objects.items()},
            "webhook_deliveries": list(self.webhooks.attempts),
            "idempotency_keys": [key for _, key in self.idempotency],
            "idempotency_in_flight": [key for _, key in self.in_flight],
        }

    def seed_data(self, data: dict[str, Any]) -> None:
        unknown = set(data) - SEED_KEYS
        if unknown:
            raise ConfigError(
                f"unknown stripe seed key(s) {', '.join(sorted(unknown))}",
                hint=f"known: {', '.join(sorted(SEED_KEYS))}",
            )
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])
        for kind in KINDS[:-1]:
            for item in data.get(f"{kind}s", []):
                if not isinstance(item, dict) or "id" not in item:
                    raise ConfigError(f"each seeded stripe {kind} needs an id")
                self.objects[kind][item["id"]] = {"object": kind, **item}
        for name in ("idempotency_ttl", "processing_delay"):
            if name in data:
                value = data[name]
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ConfigError(f"stripe seed {name} must be a non-negative number")
                setattr(self, name, float(value))
        if "rate_limit" in data:
            limit = data["rate_limit"]
            if not isinstance(limit, bool | int) or limit < 0:
                raise ConfigError("stripe seed rate_limit must be true, false or requests/s")
            self.rate_limit = 25 if limit is True else int(limit)
        if "attach_checks" in data:
            self.attach_checks = bool(data["attach_checks"])
        self.webhooks.configure(data)

    def build_app(self) -> web.Application:
        app = super().build_app()
        app.on_cleanup.append(self._close_webhooks)
        return app

    async def _close_webhooks(self, app: web.Application) -> None:
        await self.webhooks.close()

    def error_response(self, status: int, message: str, **fields: Any) -> web.Response:
        kind = {402: "card_error", 500: "api_error", 502: "api_error", 503: "api_error"}.get(
            status, "invalid_request_error"
        )
        if fields.get("code"):
            fields.setdefault("doc_url", f"https://stripe.com/docs/error-codes/{fields['code']}")
        error = {"type": kind, "message": message, **fields}
        return json_response(
            {"error": error}, status=status, headers={"Request-Id": object_id("req")}
        )

    def _key(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        return header.removeprefix("Bearer ").strip()

    def authenticate(self, request: web.Request) -> web.Response | None:
        key = self._key(request)
        valid = key in self.api_keys if self.api_keys is not None else key.startswith("sk_test_")
        if valid:
            return None
        shown = f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"
        return self.error_response(401, f"Invalid API Key provided: {shown}")

    def routes(self) -> list[web.RouteDef]:
        api = self._endpoint
        routes = [
            web.post("/v1/customers", api(self._create_customer)),
            web.post("/v1/customers/{id}", api(self._update_customer)),
            web.delete("/v1/customers/{id}", api(self._delete)),
            web.post("/v1/payment_methods", api(self._create_payment_method)),
            web.post("/v1/payment_methods/{id}/attach", api(self._attach_payment_method)),
            web.post("/v1/payment_intents", api(self._create_payment_intent)),
            web.post("/v1/payment_intents/{id}/confirm", api(self._confirm_payment_intent)),
            web.post("/v1/payment_intents/{id}/capture", api(self._capture_payment_intent)),
            web.post("/v1/payment_intents/{id}/cancel", api(self._cancel_payment_intent)),
            web.post("/v1/refunds", api(self._create_refund)),
            web.post("/v1/webhook_endpoints", api(self._create_webhook_endpoint)),
            web.delete("/v1/webhook_endpoints/{id}", api(self._delete)),
            web.post(f"{CONTROL_PREFIX}/events/{{id}}/redeliver", self._redeliver),
        ]
        for kind in self.objects:
            routes.append(web.get(f"/v1/{kind}s", api(self._list)))
            routes.append(web.get(f"/v1/{kind}s/{{id}}", api(self._retrieve)))
        return routes

    # -- the wrapper every API call goes through ---------------------------------------
    def _endpoint(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            if self._over_rate_limit():
                return self.error_response(429, RATE_LIMITED, code="rate_limit")
            post = request.method == "POST"
            params = decode_form(await request.text() if post else request.query_string)
            key = request.headers.get("Idempotency-Key") if post else None
            if not key:
                return await self._execute(handler, request, params)
            return await self._idempotent(handler, request, params, key)

        return wrapped

    def _over_rate_limit(self) -> bool:
        if not self.rate_limit:
            return False
        now = self.clock()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.rate_limit:
            return True
        self._recent.append(now)
        return False

    async def _execute(
        self, handler: Handler, request: web.Request, params: Params
    ) -> web.Response:
        request[REQUEST_ID] = object_id("req")
        try:
            if request.method == "POST" and self.processing_delay:
                await asyncio.sleep(self.processing_delay)
            # a copy: the stored params must stay as they came, for comparing replays
            response = json_response(handler(request, copy.deepcopy(params)))
        except _Failure as failure:
            response = self.error_response(failure.status, failure.message, **failure.fields)
        except Exception as exc:  # a bug in a handler is Stripe's 500, stored like one
            response = self.error_response(500, f"An unknown error occurred ({exc!r}).")
        response.headers["Request-Id"] = request[REQUEST_ID]
        return response

    async def _idempotent(
        self, handler: Handler, request: web.Request, params: Params, key: str
    ) -> web.Response:
        slot = (self._key(request), key)
        if slot in self.in_flight:
            message = IDEMPOTENCY_IN_USE.format(key=key)
            return self.error_response(409, message, code="idempotency_key_in_use")
        stored = self.idempotency.get(slot)
        if stored is not None and self.clock() - stored.at >= self.idempotency_ttl:
            del self.idempotency[slot]  # pruned: the key runs as a new request
            stored = None
        if stored is not None:
            if stored.path != request.path:
                mismatch = IDEMPOTENCY_OTHER_ENDPOINT.format(
                    new=request.path, old=stored.path, key=key
                )
            elif (stored.method, stored.params) != (request.method, params):
                mismatch = IDEMPOTENCY_MISMATCH.format(key=key)
            else:
                headers = {
                    "Idempotent-Replayed": "true",
                    "Idempotency-Key": key,
                    "Request-Id": stored.request_id,
                }
                return web.Response(
                    text=stored.body,
                    status=stored.status,
                    content_type="application/json",
                    headers=headers,
                )
            return self.error_response(400, mismatch, type="idempotency_error")
        self.in_flight.add(slot)
        try:
            response = await self._execute(handler, request, params)
        finally:
            self.in_flight.discard(slot)
        # what failed validation is not stored: the caller may fix it and retry the key
        if response.status < 400 or response.status == 402 or response.status >= 500:
            self.idempotency[slot] = _Outcome(
                request.method,
                request.path,
                params,
                response.status,
                response.text or "",
                request[REQUEST_ID],
                self.clock(),
            )
        response.headers["Idempotency-Key"] = key
        return response

    # -- objects, lists and events -----------------------------------------------------
    def _get(self, kind: str, object_id: Any, param: str = "id") -> dict[str, Any]:
        found = self.objects[kind].get(object_id) if isinstance(object_id, str) else None
        if found is None:
            status = 404 if param == "id" else 400
            raise _Failure(
                status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
            )
        return found

    def _kind(self, request: web.Request) -> str:
        return request.path.split("/")[2][:-1]  # /v1/payment_intents/... -> payment_intent

    def _retrieve(self, request: web.Request, params: Params) -> dict[str, Any]:
        kind, wanted = self._kind(request), request.match_info["id"]
        if kind == "payment_method":
            wanted = self._payment_method(wanted, param="id")
        return self._get(kind, wanted)

    def _list(self, request: web.Request, params: Params) -> dict[str, Any]:
        kind = self._kind(request)
        items = list(reversed(self.objects[kind].values()))  # newest first
        for name in FILTERS[kind]:
            if (wanted := params.get(name)) is not None:
                items = [item for item in items if self._matches(item.get(name), wanted)]
        limit = _integer(params, "limit", default=10)
        if not 1 <= limit <= 100:
            raise _Failure(400, "limit must be between 1 and 100", param="limit")
        ids = [item["id"] for item in items]
        if after := params.get("starting_after"):
            items = items[self._position(ids, after, "starting_after") + 1 :]
            more = len(items) > limit
            page = items[:limit]
        elif before := params.get("ending_before"):
            items = items[: self._position(ids, before, "ending_before")]
            more = len(items) > limit
            page = items[-limit:]
        else:
            more, page = len(items) > limit, items[:limit]
        return {"object": "list", "url": f"/v1/{kind}s", "has_more": more, "data": page}

    @staticmethod
    def _matches(value: Any, wanted: Any) -> bool:
        if isinstance(wanted, str) and wanted.endswith(".*"):  # event types: charge.*
            return isinstance(value, str) and value.startswith(wanted[:-1])
        return bool(value == wanted)

    def _position(self, ids: list[str], wanted: Any, param: str) -> int:
        if wanted not in ids:
            raise _Failure(400, f"No such object: '{wanted}'", code="resource_missing", param=param)
        return ids.index(wanted)

    def _delete(self, request: web.Request, params: Params) -> dict[str, Any]:
        kind = self._kind(request)
        removed = self._get(kind, request.match_info["id"])
        del self.objects[kind][removed["id"]]
        if kind == "customer":
            self._emit(request, "customer.deleted", removed)
        return {"id": removed["id"], "object": kind, "deleted": True}

    def _new(self, kind: str, **fields: Any) -> dict[str, Any]:
        item = {"id": object_id(PREFIXES[kind]), "object": kind, **fields}
        item.setdefault("created", int(time.time()))
        item.setdefault("livemode", False)
        self.objects[kind][item["id"]] = item
        return item

    def _emit(
        self,
        request: web.Request,
        event_type: str,
        item: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> None:
        data: dict[str, Any] = {"object": copy.deepcopy(item)}
        if previous:
            data["previous_attributes"] = previous
        event = self._new(
            "event",
            type=event_type,
            api_version=request.headers.get("Stripe-Version", API_VERSION),
            data=data,
            pending_webhooks=0,
            request={
                "id": request.get(REQUEST_ID),
                "idempotency_key": request.headers.get("Idempotency-Key"),
            },
        )
        self.webhooks.publish(event)

    async def _redeliver(self, request: web.Request) -> web.Response:
        event = self.objects["event"].get(request.match_info["id"])
        if event is None:
            return json_response({"error": "no such event"}, status=404)
        wanted = request.query.get("endpoint")
        if wanted is not None and wanted not in self.webhooks.endpoints:
            return json_response({"error": "no such webhook endpoint"}, status=404)
        targets = [wanted] if wanted else self.webhooks.targets(event["type"])
        for endpoint_id in targets:
            self.webhooks.send(event, endpoint_id)
        return json_response({"event": event["id"], "endpoints": targets})

    # -- customers and webhook endpoints ------------------------------------------------
    def _create_customer(self, request: web.Request, params: Params) -> dict[str, Any]:
        customer = self._new(
            "customer",
            email=params.get("email"),
            name=params.get("name"),
            phone=params.get("phone"),
            description=params.get("description"),
            metadata=params.get("metadata") or {},
            balance=0,
            delinquent=False,
            invoice_settings={"default_payment_method": None},
        )
        self._emit(request, "customer.created", customer)
        return customer

    def _update_customer(self, request: web.Request, params: Params) -> dict[str, Any]:
        customer = self._get("customer", request.match_info["id"])
        before = copy.deepcopy(customer)
        metadata = params.pop("metadata", None)
        customer.update({k: v for k, v in params.items() if k in customer and k != "id"})
        if isinstance(metadata, dict):
            customer["metadata"].update(metadata)
        previous = {k: v for k, v in before.items() if customer[k] != v}
        self._emit(request, "customer.updated", customer, previous)
        return customer

    def _create_webhook_endpoint(self, request: web.Request, params: Params) -> dict[str, Any]:
        events = _required(params, "enabled_events")
        return self.webhooks.add_endpoint(
            _required(params, "url"), events if isinstance(events, list) else [events]
        )

    # -- payment methods ------------------------------------------------------------------
    def _create_payment_method(self, request: web.Request, params: Params) -> dict[str, Any]:
        _choice(params, "type", ("card",), None)
        _required(params, "type")
        card: Params = params["card"] if isinstance(params.get("card"), dict) else {}
        number = str(card.get("number") or "").replace(" ", "")
        if not number:
            raise _Failure(400, "Missing required param: card[number].", param="card[number]")
        if number not in TEST_CARDS:
            raise _Failure(402, "Your card number is incorrect.", code="incorrect_number")
        month, year = _integer(card, "exp_month"), _integer(card, "exp_year")
        if not 1 <= month <= 12:
            raise _Failure(
                402, "Your card's expiration month is invalid.", code="invalid_expiry_month"
            )
        if year < time.gmtime().tm_year:
            raise _Failure(
                402, "Your card's expiration year is invalid.", code="invalid_expiry_year"
            )
        return self._card(number, month, year, params.get("metadata") or {})

    def _card(self, number: str, month: int, year: int, metadata: Params) -> dict[str, Any]:
        brand = TEST_CARDS[number][0]
        card = {
            "brand": brand,
            "last4": number[-4:],
            "exp_month": month,
            "exp_year": year,
            "funding": "credit",
            "country": "US",
            "fingerprint": hashlib.sha256(number.encode()).hexdigest()[:16],
        }
        method = self._new(
            "payment_method",
            type="card",
            card=card,
            customer=None,
            billing_details={"address": None, "email": None, "name": None, "phone": None},
            metadata=metadata,
        )
        self.card_numbers[method["id"]] = number
        return method

    def _decline(self, method_id: str) -> str | None:
        """The decline code charging this payment method meets (None: it pays)."""
        number = self.card_numbers.get(method_id)
        return TEST_CARDS[number][1] if number else None

    def _payment_method(self, method_id: Any, param: str = "payment_method") -> str:
        """The id of a stored payment method; a test shortcut (``pm_card_visa``) makes one."""
        if method_id in TEST_PAYMENT_METHODS:
            number = TEST_PAYMENT_METHODS[method_id]
            return str(self._card(number, 12, time.gmtime().tm_year + 5, {})["id"])
        return str(self._get("payment_method", method_id, param)["id"])

    def _attach_payment_method(self, request: web.Request, params: Params) -> dict[str, Any]:
        method = self._get("payment_method", self._payment_method(request.match_info["id"], "id"))
        customer = self._get("customer", _required(params, "customer"), "customer")
        if method["customer"] not in (None, customer["id"]):
            raise _Failure(
                400, "The payment method you provided has already been attached to a customer."
            )
        decline = self._decline(method["id"])
        if decline and self.attach_checks and not TEST_CARDS[self.card_numbers[method["id"]]][2]:
            raise _Failure(
                402, DECLINE_MESSAGES[decline], code="card_declined", decline_code=decline
            )
        method["customer"] = customer["id"]
        self._emit(request, "payment_method.attached", method)
        return method

    # -- payment intents ------------------------------------------------------------------
    def _create_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        amount = _integer(params, "amount")
        currency = str(_required(params, "currency")).lower()
        minimum = MINIMUM_AMOUNTS.get(currency, 1)
        if amount < minimum:
            raise _Failure(
                400,
                f"Amount must be at least {_money(minimum, currency)}",
                param="amount",
                code="amount_too_small",
            )
        if params.get("customer") is not None:
            self._get("customer", params["customer"], "customer")
        capture = _choice(
            params, "capture_method", ("automatic", "automatic_async", "manual"), "automatic"
        )
        if _flag(params, "off_session") and not _flag(params, "confirm"):
            raise _Failure(
                400, "off_session can only be used when confirm=true.", param="off_session"
            )
        method = params.get("payment_method")
        method = self._payment_method(method) if method is not None else None
        intent = self._new(
            "payment_intent",
            amount=amount,
            amount_capturable=0,
            amount_received=0,
            currency=currency,
            status="requires_confirmation" if method else "requires_payment_method",
            customer=params.get("customer"),
            payment_method=method,
            latest_charge=None,
            capture_method=capture,
            confirmation_method="automatic",
            payment_method_types=["card"],
            last_payment_error=None,
            next_action=None,
            description=params.get("description"),
            metadata=params.get("metadata") or {},
            canceled_at=None,
            cancellation_reason=None,
        )
        intent["client_secret"] = f"{intent['id']}_secret_{object_id('s')[2:]}"
        self._emit(request, "payment_intent.created", intent)
        if _flag(params, "confirm"):
            self._confirm(request, intent, method)
        return intent

    def _confirm_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        intent = self._get("payment_intent", request.match_info["id"])
        method = params.get("payment_method")
        self._confirm(request, intent, self._payment_method(method) if method else None)
        return intent

    def _confirm(self, request: web.Request, intent: dict[str, Any], method: str | None) -> None:
        if intent["status"] not in CONFIRMABLE:
            raise _Failure(
                400,
                "You cannot confirm this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
                payment_intent=copy.deepcopy(intent),
            )
        method = method or intent["payment_method"]
        if method is None:
            raise _Failure(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
                param="payment_method",
            )
        decline = self._decline(method)
        charge = self._new(
            "charge",
            amount=intent["amount"],
            amount_captured=0,
            amount_refunded=0,
            captured=False,
            currency=intent["currency"],
            customer=intent["customer"],
            description=intent["description"],
            payment_intent=intent["id"],
            payment_method=method,
            status="failed" if decline else "succeeded",
            paid=not decline,
            refunded=False,
            failure_code="card_declined" if decline else None,
            failure_message=DECLINE_MESSAGES[decline] if decline else None,
            outcome={
                "type": "issuer_declined" if decline else "authorized",
                "network_status": "declined_by_network" if decline else "approved_by_network",
                "reason": decline,
            },
            metadata={},
        )
        intent["latest_charge"] = charge["id"]
        if decline:
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline,
                "message": DECLINE_MESSAGES[decline],
                "charge": charge["id"],
                "payment_method": copy.deepcopy(self.objects["payment_method"][method]),
            }
            intent.update(
                status="requires_payment_method", payment_method=None, last_payment_error=error
            )
            self._emit(request, "charge.failed", charge)
            self._emit(request, "payment_intent.payment_failed", intent)
            fields = {k: v for k, v in error.items() if k not in ("type", "message")}
            raise _Failure(402, error["message"], payment_intent=copy.deepcopy(intent), **fields)
        manual = intent["capture_method"] == "manual"
        if not manual:
            charge.update(captured=True, amount_captured=intent["amount"])
        intent.update(
            payment_method=method,
            last_payment_error=None,
            status="requires_capture" if manual else "succeeded",
            amount_capturable=intent["amount"] if manual else 0,
            amount_received=0 if manual else intent["amount"],
        )
        self._emit(request, "charge.succeeded", charge)
        if manual:
            self._emit(request, "payment_intent.amount_capturable_updated", intent)
        else:
            self._emit(request, "payment_intent.succeeded", intent)

    def _capture_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        intent = self._get("payment_intent", request.match_info["id"])
        if intent["status"] != "requires_capture":
            raise _Failure(
                400,
                "This PaymentIntent could not be captured because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be captured: requires_capture.",
                code="payment_intent_unexpected_state",
            )
        capturable = intent["amount_capturable"]
        amount = _integer(params, "amount_to_capture", default=capturable)
        if not 0 < amount <= capturable:
            raise _Failure(
                400,
                f"The amount to capture ({amount}) must be positive and at most the "
                f"capturable amount ({capturable}).",
                param="amount_to_capture",
                code="amount_too_large",
            )
        charge = self.objects["charge"][intent["latest_charge"]]
        charge.update(captured=True, amount_captured=amount)
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._emit(request, "charge.captured", charge)
        self._emit(request, "payment_intent.succeeded", intent)
        return intent

    def _cancel_payment_intent(self, request: web.Request, params: Params) -> dict[str, Any]:
        intent = self._get("payment_intent", request.match_info["id"])
        if intent["status"] not in CANCELABLE:
            raise _Failure(
                400,
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be canceled: {', '.join(CANCELABLE)}.",
                code="payment_intent_unexpected_state",
            )
        reasons = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
        reason = _choice(params, "cancellation_reason", reasons, None)
        intent.update(
            status="canceled",
            amount_capturable=0,
            canceled_at=int(time.time()),
            cancellation_reason=reason,
        )
        self._emit(request, "payment_intent.canceled", intent)
        return intent

    # -- refunds --------------------------------------------------------------------------
    def _create_refund(self, request: web.Request, params: Params) -> dict[str, Any]:
        if params.get("payment_intent"):
            intent = self._get("payment_intent", params["payment_intent"], "payment_intent")
            charge = self.objects["charge"].get(intent["latest_charge"] or "")
        elif params.get("charge"):
            charge = self._get("charge", params["charge"], "charge")
        else:
            raise _Failure(
                400,
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        if charge is None or charge["status"] != "succeeded" or not charge["captured"]:
            raise _Failure(
                400,
                "This PaymentIntent does not have a successful, captured charge to refund.",
                code="charge_not_refundable",
            )
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        if remaining <= 0:
            raise _Failure(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = _integer(params, "amount", default=remaining)
        currency = charge["currency"]
        if amount > remaining:
            raise _Failure(
                400,
                f"Refund amount ({_money(amount, currency)}) is greater than unrefunded amount "
                f"on charge ({_money(remaining, currency)})",
                param="amount",
                code="amount_too_large",
            )
        if amount <= 0:
            raise _Failure(400, "Refund amount must be positive.", param="amount")
        reasons = ("duplicate", "fraudulent", "requested_by_customer")
        refund = self._new(
            "refund",
            amount=amount,
            currency=currency,
            charge=charge["id"],
            payment_intent=charge["payment_intent"],
            status="succeeded",
            reason=_choice(params, "reason", reasons, None),
            metadata=params.get("metadata") or {},
            balance_transaction=None,
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        self._emit(request, "refund.created", refund)
        self._emit(request, "charge.refunded", charge)
        return refund
