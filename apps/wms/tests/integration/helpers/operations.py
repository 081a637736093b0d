"""Builders of the collection suites: customers who log in, drivers, depots, trucks, pickups."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.integration.helpers.factories import customer_payload

from interlock.helpers.api import ApiClient

PASSWORD = "role-password-123"


@dataclass
class Person:
    """Someone who logs in: their record (customer or user) and a client acting as them."""

    record: dict[str, Any]
    client: ApiClient

    @property
    def id(self) -> str:
        return str(self.record["id"])


def a_day(offset: int | None = None) -> date:
    """A service day; by default a random one, so that tests do not share days."""
    days = secrets.randbelow(300) + 30 if offset is None else offset
    return datetime.now(UTC).date() + timedelta(days=days)


def _login(api: ApiClient, email: str) -> ApiClient:
    response = api.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return api.with_headers({"Authorization": f"Bearer {response.json()['access_token']}"})


def new_customer(api: ApiClient, **overrides: Any) -> Person:
    """An onboarded customer with a login of their own."""
    admin = api.as_role("admin")
    created = admin.post("/api/v1/customers", json=customer_payload(**overrides))
    assert created.status_code == 201, created.text
    customer = created.json()
    user = admin.post(
        f"/api/v1/customers/{customer['id']}/users",
        json={"email": f"login-{customer['email']}", "password": PASSWORD},
    )
    assert user.status_code == 201, user.text
    return Person(customer, _login(api, f"login-{customer['email']}"))


def new_driver(api: ApiClient) -> Person:
    email = f"driver-{secrets.token_hex(4)}@example.com"
    user = api.as_role("admin").post(
        "/api/v1/users", json={"email": email, "password": PASSWORD, "role": "driver"}
    )
    assert user.status_code == 201, user.text
    return Person(user.json(), _login(api, email))


def new_depot(api: ApiClient, location: tuple[float, float] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"Depot {secrets.token_hex(4)}",
        "address": {
            "line1": "1 Transfer Station Rd",
            "city": "Springfield",
            "postal_code": "62701",
        },
    }
    if location is not None:
        body["location"] = {"latitude": location[0], "longitude": location[1]}
    response = api.as_role("dispatcher").post("/api/v1/depots", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def new_vehicle(
    api: ApiClient, depot: dict[str, Any], samsara_id: str | None = None
) -> dict[str, Any]:
    body = {"name": f"Truck {secrets.token_hex(4)}", "depot_id": depot["id"]}
    if samsara_id is not None:
        body["samsara_vehicle_id"] = samsara_id
    response = api.as_role("dispatcher").post("/api/v1/vehicles", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def book(
    client: ApiClient, customer: Person, day: date, depot: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An on-demand pickup, booked by ``client`` (the customer or staff)."""
    body: dict[str, Any] = {"customer_id": customer.id, "scheduled_date": day.isoformat()}
    if depot is not None:
        body["depot_id"] = depot["id"]
    response = client.post("/api/v1/pickups", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def plan(
    api: ApiClient,
    *,
    depot: dict[str, Any],
    vehicle: dict[str, Any],
    driver: Person,
    day: date,
    pickups: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "depot_id": depot["id"],
        "service_date": day.isoformat(),
        "vehicle_id": vehicle["id"],
        "driver_id": driver.id,
    }
    if pickups is not None:
        body["pickup_ids"] = [p["id"] for p in pickups]
    response = api.as_role("dispatcher").post("/api/v1/routes", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(client: ApiClient) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")
