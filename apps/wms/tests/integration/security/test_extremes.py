"""Every operation answers the extremes its schema allows without a 500: integers at
their bounds, strings at their maxLength in 4-byte characters, the first and last day a
date may name (with the time-zone offset that pushes it furthest), empty and full lists.

Each operation is called as the first role it does not refuse, with real objects in its
path, once with every value at its maximum and once at its minimum.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from tests.integration.helpers.operations import (
    Person,
    a_day,
    book,
    new_customer,
    new_depot,
    new_driver,
    new_vehicle,
    plan,
)
from tests.integration.security.extremes import Side, extreme

from interlock.helpers.api import ApiClient
from interlock.helpers.deadline import poll

pytestmark = pytest.mark.security

#: operations left out: they end the caller's sessions or delete the objects the
#: others need; their inputs are ids only
SKIPPED = {("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/password")}


@dataclass
class Places:
    ids: dict[str, str]
    callers: list[ApiClient]


@pytest.fixture(scope="module")
def places(session_api: ApiClient) -> Places:
    api = session_api
    customer: Person = new_customer(api)
    driver = new_driver(api)
    depot = new_depot(api)
    vehicle = new_vehicle(api, depot)
    day = a_day()
    pickup = book(api.as_role("dispatcher"), customer, day, depot)
    route = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day, pickups=[pickup])
    invoice = api.as_role("billing").post(
        "/api/v1/invoices",
        json={
            "customer_id": customer.id,
            "period_start": day.isoformat(),
            "period_days": 30,
            "amount_cents": 1000,
        },
    )
    assert invoice.status_code == 201, invoice.text
    # a user of its own for the user operations: they change its role, which ends its
    # sessions, and the driver must keep working
    user = new_driver(api)
    created = api.as_role("admin").post(
        "/api/v1/plans",
        json={
            "name": f"Plan {uuid.uuid4().hex[:8]}",
            "bin_size_litres": 120,
            "frequency": "weekly",
            "price_cents": 1500,
        },
    )
    assert created.status_code == 201, created.text
    return Places(
        ids={
            "customer_id": customer.id,
            "user_id": user.id,
            "plan_id": created.json()["id"],
            # one the Stripe simulator holds, as the Stripe test mode does
            "payment_method": "pm_card_visa",
            "driver_id": driver.id,
            "depot_id": depot["id"],
            "vehicle_id": vehicle["id"],
            "pickup_id": pickup["id"],
            "route_id": route["id"],
            "invoice_id": invoice.json()["id"],
            "address_id": customer.record["service_addresses"][0]["id"],
            "key_id": str(uuid.uuid4()),
            "service": "stripe",
            "ip": "203.0.113.7",
        },
        callers=[
            api.as_role("admin"),
            api.as_role("dispatcher"),
            api.as_role("billing"),
            driver.client,
            customer.client,
        ],
    )


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
        if method in ("get", "post", "put", "patch") and (method.upper(), path) not in SKIPPED
    ]


@pytest.fixture(scope="module")
def spec(session_api: ApiClient) -> dict[str, Any]:
    answer = session_api.get("/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def _request(
    operation: dict[str, Any], path: str, side: Side, places: Places, definitions: Any
) -> tuple[str, dict[str, Any], Any]:
    params: dict[str, Any] = {}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        value = places.ids.get(name) or extreme(parameter.get("schema", {}), side, definitions)
        if parameter["in"] == "path":
            path = path.replace("{" + name + "}", str(value))
        elif parameter["in"] == "query":
            params[name] = str(value).lower() if isinstance(value, bool) else value
    body = None
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = extreme(content["application/json"]["schema"], side, definitions)
        if isinstance(body, dict):
            # the objects the operation works on are real, or it stops at a 404
            body.update({k: places.ids[k] for k in body if k in places.ids})
    return path, params, body


@pytest.mark.parametrize("side", ["max", "min"])
def test_no_operation_answers_an_extreme_but_valid_input_with_a_500(spec, places, side):
    definitions = spec.get("components", {}).get("schemas", {})
    failures = []
    for method, template, operation in _operations(spec):
        path, params, body = _request(operation, template, side, places, definitions)
        for caller in places.callers:
            answer = _unshed(caller, method, path, params, body)
            if answer.status_code not in (401, 403):
                break
        if answer.status_code >= 500:
            failures.append(f"{method} {template} -> {answer.status_code}: {answer.text[:200]}")
    assert failures == [], "\n".join(failures)


def _unshed(caller: Any, method: str, path: str, params: Any, body: Any) -> Any:
    """The operation's answer once WMS is not shedding low-priority work.

    Extreme inputs can slow the database enough for WMS to shed (503 ``degraded_shed``,
    its designed answer, not a failure of the operation): then the same request is sent
    again once the shedding has ended, so the operation itself is judged.
    """

    def answered() -> Any:
        answer = caller.request(method, path, params=params, json=body)
        shed = answer.status_code == 503 and "degraded_shed" in answer.text
        return None if shed else answer

    return poll(answered, timeout=60, what=f"{method} {path} answered without shedding")
