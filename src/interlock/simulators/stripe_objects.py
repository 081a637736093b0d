"""The Stripe simulator's objects: the store, lists with Stripe's pagination, deletes, events.

``StripeObjects`` is the base of the simulator: it holds every object by kind and id,
makes new ones with Stripe's id prefixes, serves ``GET /v1/{kind}s`` (filters, ``limit``,
``starting_after``, ``ending_before``) and ``DELETE``, and records an event for each
change, which its ``WebhookDispatcher`` delivers.
"""

from __future__ import annotations

import copy
import time
from typing import Any

from aiohttp import web

from interlock.simulators.base import Simulator, json_response
from interlock.simulators.stripe_errors import Failure, Params, integer
from interlock.simulators.stripe_webhooks import WebhookDispatcher, object_id

__all__ = [
    "API_VERSION",
    "EXPANDABLE",
    "FILTERS",
    "KINDS",
    "PREFIXES",
    "REQUEST_ID",
    "StripeObjects",
]

API_VERSION = "2024-06-20"
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
#: the fields ``expand[]`` may name, per kind of object, with the kind each one holds
EXPANDABLE: dict[str, dict[str, str]] = {
    "customer": {"invoice_settings.default_payment_method": "payment_method"},
    "payment_method": {"customer": "customer"},
    "payment_intent": {
        "customer": "customer",
        "payment_method": "payment_method",
        "latest_charge": "charge",
    },
    "charge": {"customer": "customer", "payment_intent": "payment_intent"},
    "refund": {"charge": "charge", "payment_intent": "payment_intent"},
    "event": {},
    "webhook_endpoint": {},
}
#: the id of the request being served, which the events it causes carry
REQUEST_ID = web.RequestKey("stripe_request_id", str)


class StripeObjects(Simulator):
    """The object store and event log under the Stripe simulator's handlers."""

    def __init__(self, *, seed: int = 0) -> None:
        self.webhooks = WebhookDispatcher(seed=seed)
        super().__init__(seed=seed)

    def reset_state(self) -> None:
        self.webhooks.clear()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.objects["webhook_endpoint"] = self.webhooks.endpoints
        self.customers = self.objects["customer"]
        #: what retrieving a deleted customer answers, as Stripe keeps it
        self.deleted_customers: dict[str, dict[str, Any]] = {}

    def _get(self, kind: str, object_id: Any, param: str = "id") -> dict[str, Any]:
        found = self.objects[kind].get(object_id) if isinstance(object_id, str) else None
        if found is None:
            status = 404 if param == "id" else 400
            raise Failure(
                status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
            )
        return found

    def _kind(self, request: web.Request) -> str:
        return request.path.split("/")[2][:-1]  # /v1/payment_intents/... -> payment_intent

    def _list(self, request: web.Request, params: Params) -> dict[str, Any]:
        kind = self._kind(request)
        items = list(reversed(self.objects[kind].values()))  # newest first
        for name in FILTERS[kind]:
            if (wanted := params.get(name)) is not None:
                items = [item for item in items if self._matches(item.get(name), wanted)]
        limit = integer(params, "limit", default=10)
        if not 1 <= limit <= 100:
            raise Failure(400, "limit must be between 1 and 100", param="limit")
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
            raise Failure(400, f"No such object: '{wanted}'", code="resource_missing", param=param)
        return ids.index(wanted)

    def _delete(self, request: web.Request, params: Params) -> dict[str, Any]:
        kind = self._kind(request)
        removed = self._get(kind, request.match_info["id"])
        del self.objects[kind][removed["id"]]
        stub = {"id": removed["id"], "object": kind, "deleted": True}
        if kind == "customer":
            self.deleted_customers[removed["id"]] = stub
            self._emit(request, "customer.deleted", removed)
        return dict(stub)

    def expansions(self, kind: str, paths: Any) -> list[list[tuple[str, str]]]:
        """Each ``expand[]`` path as (field, kind it holds) steps; Stripe's 400 if one is not
        expandable. ``data.`` walks into a list's objects."""
        if paths in (None, ""):
            return []
        plans = []
        for path in paths if isinstance(paths, list) else [paths]:
            steps: list[tuple[str, str]] = []
            current, rest = kind, str(path)
            if rest.startswith("data."):
                rest = rest[len("data.") :]
            while rest:
                fields = EXPANDABLE.get(current, {})
                field = next((f for f in fields if rest == f or rest.startswith(f + ".")), None)
                if field is None:
                    raise Failure(
                        400, f"This property cannot be expanded ({path}).", param="expand"
                    )
                current = fields[field]
                steps.append((field, current))
                rest = rest[len(field) + 1 :]
            plans.append(steps)
        return plans

    def expand(self, item: dict[str, Any], plans: list[list[tuple[str, str]]]) -> dict[str, Any]:
        """A copy of ``item`` (or of each object of a list) with the planned ids replaced by
        the objects they name."""
        if not plans:
            return item
        result = copy.deepcopy(item)
        targets = result["data"] if result.get("object") == "list" else [result]
        for target in targets:
            for steps in plans:
                self._expand_steps(target, steps)
        return result

    def _expand_steps(self, node: dict[str, Any], steps: list[tuple[str, str]]) -> None:
        field, kind = steps[0]
        *parents, leaf = field.split(".")
        for part in parents:
            node = node.get(part) or {}
        value = node.get(leaf)
        if isinstance(value, str):
            found = self.objects[kind].get(value)
            if found is None and kind == "customer":
                found = self.deleted_customers.get(value)
            if found is not None:
                node[leaf] = value = copy.deepcopy(found)
        if isinstance(value, dict) and steps[1:]:
            self._expand_steps(value, steps[1:])

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
