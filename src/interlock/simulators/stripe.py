"""Stripe simulator: customers, with Stripe's auth, error shape, pagination and idempotency."""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from interlock.simulators.base import Simulator, json_response
from interlock.simulators.forms import decode_form

__all__ = ["StripeSimulator"]

IDEMPOTENCY_MISMATCH = (
    "Keys for idempotent requests can only be used with the same parameters they were first "
    "used with. Try using a key other than '{key}' if you meant to execute a different request."
)


def _object_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


class StripeSimulator(Simulator):
    """Speaks Stripe's v1 wire format: form bodies in, objects with ``"object"`` out."""

    name = "stripe"

    def reset_state(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        #: (api key, idempotency key) -> (method, path, params, status, body)
        self.idempotency: dict[tuple[str, str], tuple[str, str, dict[str, Any], int, str]] = {}
        self.api_keys: set[str] | None = None  # None: any sk_test_ key is valid

    def state(self) -> dict[str, Any]:
        return {"customers": list(self.customers.values())}

    def seed_data(self, data: dict[str, Any]) -> None:
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])
        for customer in data.get("customers", []):
            self.customers[customer["id"]] = customer

    def error_response(self, status: int, message: str, **fields: Any) -> web.Response:
        kind = {402: "card_error", 500: "api_error", 502: "api_error", 503: "api_error"}.get(
            status, "invalid_request_error"
        )
        error = {"type": kind, "message": message, **fields}
        return json_response(
            {"error": error}, status=status, headers={"Request-Id": _object_id("req")}
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
        return [
            web.post("/v1/customers", self._idempotent(self._create_customer)),
            web.get("/v1/customers", self._list_customers),
            web.get("/v1/customers/{id}", self._get_customer),
            web.post("/v1/customers/{id}", self._idempotent(self._update_customer)),
            web.delete("/v1/customers/{id}", self._delete_customer),
        ]

    # -- idempotency: replay the stored outcome of the first request with a key --------
    def _idempotent(self, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            params = decode_form(await request.text())
            key = request.headers.get("Idempotency-Key")
            if not key:
                response: web.Response = await handler(request, params)
                return response
            slot = (self._key(request), key)
            stored = self.idempotency.get(slot)
            if stored is not None:
                method, path, original, status, body = stored
                if (method, path, original) != (request.method, request.path, params):
                    return json_response(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": IDEMPOTENCY_MISMATCH.format(key=key),
                            }
                        },
                        status=400,
                    )
                return web.Response(
                    text=body,
                    status=status,
                    content_type="application/json",
                    headers={"Idempotent-Replayed": "true", "Idempotency-Key": key},
                )
            response = await handler(request, params)
            # validation failures are not stored: the caller may fix them and retry
            if response.status != 400 and isinstance(response.text, str):
                self.idempotency[slot] = (
                    request.method,
                    request.path,
                    params,
                    response.status,
                    response.text,
                )
            response.headers["Idempotency-Key"] = key
            return response

        return wrapped

    # -- customers --------------------------------------------------------------------
    async def _create_customer(self, request: web.Request, params: dict[str, Any]) -> web.Response:
        customer = {
            "id": _object_id("cus"),
            "object": "customer",
            "created": int(time.time()),
            "email": params.get("email"),
            "name": params.get("name"),
            "phone": params.get("phone"),
            "description": params.get("description"),
            "metadata": params.get("metadata") or {},
            "livemode": False,
            "balance": 0,
            "delinquent": False,
            "invoice_settings": {"default_payment_method": None},
        }
        self.customers[str(customer["id"])] = customer
        return json_response(customer)

    async def _update_customer(self, request: web.Request, params: dict[str, Any]) -> web.Response:
        customer = self.customers.get(request.match_info["id"])
        if customer is None:
            return self._missing("customer", request.match_info["id"])
        metadata = params.pop("metadata", None)
        customer.update({k: v for k, v in params.items() if k in customer})
        if isinstance(metadata, dict):
            customer["metadata"].update(metadata)
        return json_response(customer)

    async def _get_customer(self, request: web.Request) -> web.Response:
        customer = self.customers.get(request.match_info["id"])
        if customer is None:
            return self._missing("customer", request.match_info["id"])
        return json_response(customer)

    async def _delete_customer(self, request: web.Request) -> web.Response:
        customer_id = request.match_info["id"]
        if self.customers.pop(customer_id, None) is None:
            return self._missing("customer", customer_id)
        return json_response({"id": customer_id, "object": "customer", "deleted": True})

    async def _list_customers(self, request: web.Request) -> web.Response:
        items = sorted(self.customers.values(), key=lambda c: (c["created"], c["id"]), reverse=True)
        if email := request.query.get("email"):
            items = [c for c in items if c["email"] == email]
        return self._page(request, "/v1/customers", items)

    def _page(self, request: web.Request, url: str, items: list[dict[str, Any]]) -> web.Response:
        try:
            limit = int(request.query.get("limit", "10"))
        except ValueError:
            return self.error_response(400, "Invalid integer: limit", param="limit")
        if not 1 <= limit <= 100:
            return self.error_response(400, "limit must be between 1 and 100", param="limit")
        if after := request.query.get("starting_after"):
            ids = [item["id"] for item in items]
            if after not in ids:
                return self._missing("object", after)
            items = items[ids.index(after) + 1 :]
        page = items[:limit]
        return json_response(
            {"object": "list", "url": url, "has_more": len(items) > limit, "data": page}
        )

    def _missing(self, kind: str, object_id: str) -> web.Response:
        return self.error_response(
            404, f"No such {kind}: '{object_id}'", code="resource_missing", param="id"
        )
