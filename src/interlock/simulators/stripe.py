"""Stripe simulator: customers, cards, PaymentIntents, refunds and events on Stripe's v1 wire.

Every API call goes through one wrapper (``_endpoint``) that applies the optional rate
limit, decodes the form or query parameters, runs POSTs under Stripe's idempotency rules
and turns a raised ``Failure`` into Stripe's error body. The handlers themselves are
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

The simulator is split along its seams: ``stripe_errors`` (the error body, parameter
checks, test cards), ``stripe_idempotency`` (idempotency keys), ``stripe_objects`` (the
object store, lists, events), ``stripe_payments`` (payment methods, PaymentIntents,
refunds) and ``stripe_webhooks`` (delivery). This module holds the simulator itself:
seed, state, authentication, routes, the wrapper, customers and webhook endpoints.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import CONTROL_PREFIX, json_response
from interlock.simulators.forms import decode_form
from interlock.simulators.stripe_errors import (
    RATE_LIMITED,
    Failure,
    Params,
    error_response,
    metadata,
    required,
)
from interlock.simulators.stripe_idempotency import IdempotencyStore
from interlock.simulators.stripe_objects import KINDS, REQUEST_ID
from interlock.simulators.stripe_payments import StripePayments
from interlock.simulators.stripe_spec import stripe_spec
from interlock.simulators.stripe_webhooks import object_id

__all__ = ["StripeSimulator"]

SEED_KEYS = frozenset(
    {
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
)
Handler = Callable[[web.Request, Params], dict[str, Any]]
#: the customer fields stored as sent (``address``, ... are plain data at Stripe too)
CUSTOMER_FIELDS = (
    "email",
    "name",
    "phone",
    "description",
    "address",
    "shipping",
    "invoice_prefix",
    "tax_exempt",
)
#: per operation, the parameters the simulator acts on; any other one the spec allows is
#: refused as not simulated rather than accepted and silently ignored
_PAGES = frozenset({"limit", "starting_after", "ending_before", "expand"})
SERVED_PARAMS: dict[str, frozenset[str]] = {
    "GetCustomers": _PAGES | {"email"},
    "PostCustomers": frozenset(
        {*CUSTOMER_FIELDS, "metadata", "balance", "preferred_locales", "invoice_settings", "expand"}
    ),
    "PostCustomersCustomer": frozenset(
        {*CUSTOMER_FIELDS, "metadata", "balance", "preferred_locales", "invoice_settings", "expand"}
    ),
    "GetPaymentMethods": _PAGES | {"customer", "type"},
    "PostPaymentMethods": frozenset({"type", "card", "metadata", "expand"}),
    "PostPaymentMethodsPaymentMethodAttach": frozenset({"customer", "expand"}),
    "GetPaymentIntents": _PAGES | {"customer"},
    "PostPaymentIntents": frozenset(
        {
            "amount",
            "currency",
            "customer",
            "payment_method",
            "confirm",
            "off_session",
            "capture_method",
            "description",
            "metadata",
            "expand",
        }
    ),
    "PostPaymentIntentsIntent": frozenset(
        {
            "amount",
            "currency",
            "customer",
            "payment_method",
            "description",
            "receipt_email",
            "metadata",
            "expand",
        }
    ),
    "PostPaymentIntentsIntentConfirm": frozenset({"payment_method", "expand"}),
    "PostPaymentIntentsIntentCapture": frozenset({"amount_to_capture", "expand"}),
    "PostPaymentIntentsIntentCancel": frozenset({"cancellation_reason", "expand"}),
    "GetCharges": _PAGES | {"customer", "payment_intent"},
    "GetRefunds": _PAGES | {"payment_intent", "charge"},
    "PostRefunds": frozenset(
        {"payment_intent", "charge", "amount", "reason", "metadata", "expand"}
    ),
    "GetEvents": _PAGES | {"type"},
    "GetWebhookEndpoints": _PAGES,
    "PostWebhookEndpoints": frozenset(
        {"url", "enabled_events", "description", "metadata", "expand"}
    ),
}
#: the ``expand[]`` plan of the request being served (see ``StripeObjects.expansions``)
EXPANSIONS = web.RequestKey("stripe_expansions", list)


def _non_negative(data: dict[str, Any], name: str) -> float:
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"stripe seed {name} must be a non-negative number")
    return float(value)


class StripeSimulator(StripePayments):
    """Speaks Stripe's v1 wire format: form bodies in, objects with ``"object"`` out."""

    name = "stripe"
    seed_keys = SEED_KEYS

    def __init__(self, *, seed: int = 0) -> None:
        #: the clock for rate limits and idempotency expiry; a test may freeze it
        self.clock: Callable[[], float] = time.monotonic
        self.idempotency = IdempotencyStore(clock=lambda: self.clock())
        self.spec = stripe_spec()
        super().__init__(seed=seed)

    def reset_state(self) -> None:
        super().reset_state()
        self.idempotency.clear()
        self.api_keys: set[str] | None = None  # None: any sk_test_ key is valid
        self.processing_delay = 0.0
        self.rate_limit = 0
        self._recent: deque[float] = deque()

    def state(self) -> dict[str, Any]:
        return {
            **{f"{kind}s": list(store.values()) for kind, store in self.objects.items()},
            "webhook_deliveries": list(self.webhooks.attempts),
            "idempotency_keys": self.idempotency.keys(),
            "idempotency_in_flight": self.idempotency.keys_in_flight(),
        }

    def seed_data(self, data: dict[str, Any]) -> None:
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])
        for kind in KINDS[:-1]:
            for item in data.get(f"{kind}s", []):
                if not isinstance(item, dict) or "id" not in item:
                    raise ConfigError(f"each seeded stripe {kind} needs an id")
                self.objects[kind][item["id"]] = {"object": kind, **item}
        if "idempotency_ttl" in data:
            self.idempotency.ttl = _non_negative(data, "idempotency_ttl")
        if "processing_delay" in data:
            self.processing_delay = _non_negative(data, "processing_delay")
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
        return error_response(status, message, **fields)

    def _key(self, request: web.Request) -> str:
        """The secret key, sent as Bearer or (``curl -u sk_test_...:``) as HTTP Basic's user."""
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return ""
            return decoded.partition(":")[0]
        return value.strip() if scheme.lower() == "bearer" else ""

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
            web.post("/v1/payment_methods/{id}/detach", api(self._detach_payment_method)),
            web.post("/v1/payment_intents", api(self._create_payment_intent)),
            web.post("/v1/payment_intents/{id}", api(self._update_payment_intent)),
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
        # last: whatever no route above serves is Stripe's unknown URL or not simulated
        routes.append(web.route("*", "/v1/{tail:.*}", self._unserved))
        return routes

    async def _unserved(self, request: web.Request) -> web.Response:
        return self._refuse_unserved(request)

    @staticmethod
    def _refuse_unserved_params(operation_id: str, params: Params) -> None:
        served = SERVED_PARAMS.get(operation_id, frozenset({"expand"}))
        unserved = sorted(set(params) - served)
        if unserved:
            raise Failure(
                501,
                f"not simulated: parameter {unserved[0]} of {operation_id} (Stripe accepts "
                f"it; the simulator serves {', '.join(sorted(served)) or 'no parameters'})",
                param=unserved[0],
                code="not_simulated",
            )

    def _refuse_unserved(self, request: web.Request) -> web.Response:
        """Stripe's 404 for a URL Stripe does not have; 501 "not simulated" for one it has."""
        operation = self.spec.operation(request.method, request.path)
        if operation is None:
            return self.error_response(
                404,
                f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
        return self.error_response(
            501,
            f"not simulated: {operation.method} {operation.path} (Stripe serves it; the "
            "Interlock simulator does not)",
            code="not_simulated",
        )

    # -- the wrapper every API call goes through ---------------------------------------
    def _endpoint(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            if self._over_rate_limit():
                return self.error_response(429, RATE_LIMITED, code="rate_limit")
            post = request.method == "POST"
            params = decode_form(await request.text() if post else request.query_string)
            operation = self.spec.operation(request.method, request.path)
            if operation is None or not operation.simulated:  # /v1/customers/search, ...
                return self._refuse_unserved(request)
            try:
                # before idempotency: Stripe saves no result for a request it refused
                operation.validate(params)
                self._refuse_unserved_params(operation.operation_id, params)
                request[EXPANSIONS] = self.expansions(self._kind(request), params.get("expand"))
            except Failure as failure:
                return self.error_response(failure.status, failure.message, **failure.fields)
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
            result = handler(request, copy.deepcopy(params))
            response = json_response(self.expand(result, request[EXPANSIONS]))
        except Failure as failure:
            response = self.error_response(failure.status, failure.message, **failure.fields)
        except Exception as exc:  # a bug in a handler is Stripe's 500, stored like one
            response = self.error_response(500, f"An unknown error occurred ({exc!r}).")
        response.headers["Request-Id"] = request[REQUEST_ID]
        return response

    async def _idempotent(
        self, handler: Handler, request: web.Request, params: Params, key: str
    ) -> web.Response:
        slot = (self._key(request), key)
        return await self.idempotency.run(
            slot, request, params, lambda: self._execute(handler, request, params)
        )

    # -- one object of any kind ---------------------------------------------------------
    def _retrieve(self, request: web.Request, params: Params) -> dict[str, Any]:
        kind, wanted = self._kind(request), request.match_info["id"]
        if kind == "payment_method":
            wanted = self._payment_method(wanted, param="id")
        if kind == "customer" and wanted in self.deleted_customers:
            return dict(self.deleted_customers[wanted])
        return self._get(kind, wanted)

    # -- customers and webhook endpoints ------------------------------------------------
    def _create_customer(self, request: web.Request, params: Params) -> dict[str, Any]:
        customer = self._new(
            "customer",
            email=None,
            name=None,
            phone=None,
            description=None,
            address=None,
            shipping=None,
            preferred_locales=[],
            invoice_prefix=None,
            tax_exempt="none",
            metadata=metadata(params),
            balance=0,
            delinquent=False,
            invoice_settings={"default_payment_method": None},
        )
        self._set_customer_fields(customer, params)
        self._emit(request, "customer.created", customer)
        return customer

    def _update_customer(self, request: web.Request, params: Params) -> dict[str, Any]:
        customer = self._get("customer", request.match_info["id"])
        before = copy.deepcopy(customer)
        customer["metadata"] = metadata(params, customer["metadata"])
        self._set_customer_fields(customer, params)
        previous = {k: v for k, v in before.items() if customer[k] != v}
        self._emit(request, "customer.updated", customer, previous)
        return customer

    def _set_customer_fields(self, customer: dict[str, Any], params: Params) -> None:
        """The plain fields of a customer, as sent; an empty value unsets one."""
        for field in CUSTOMER_FIELDS:
            if field in params:
                customer[field] = params[field] if params[field] != "" else None
        if "preferred_locales" in params:
            customer["preferred_locales"] = params["preferred_locales"] or []
        if params.get("balance") not in (None, ""):
            customer["balance"] = int(params["balance"])
        settings = params.get("invoice_settings")
        if isinstance(settings, dict) and "default_payment_method" in settings:
            wanted = settings["default_payment_method"] or None
            if wanted is not None:
                wanted = self._get("payment_method", wanted, "default_payment_method")["id"]
            customer["invoice_settings"]["default_payment_method"] = wanted

    def _create_webhook_endpoint(self, request: web.Request, params: Params) -> dict[str, Any]:
        events = required(params, "enabled_events")
        endpoint = self.webhooks.add_endpoint(
            required(params, "url"), events if isinstance(events, list) else [events]
        )
        endpoint.update(description=params.get("description"), metadata=metadata(params))
        return endpoint
