"""Every request body is held to its own schema's types: no lax coercion of JSON values.

A JSON ``true`` or ``"120"`` is not an integer (``120.0`` is, as JSON Schema counts),
``7`` is not a string, and a number is not a date, a date-time or a UUID: each is
refused with 422 naming the field. What JSON can spell only as a string
(``format: date``, ``date-time``, ``uuid``) still parses.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from tests.integration.helpers.operations import (
    a_day,
    book,
    new_customer,
    new_depot,
    new_driver,
    new_vehicle,
    plan,
)

pytestmark = pytest.mark.business

NOWHERE = str(uuid.uuid4())  # refused by validation before anything is looked up
TODAY = a_day(0).isoformat()

#: (role, path, a valid body, the integer field to spoil)
INTEGER_FIELDS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "admin",
        "/api/v1/plans",
        {"name": "Strict plan", "bin_size_litres": 120, "frequency": "weekly", "price_cents": 999},
        "bin_size_litres",
    ),
    (
        "admin",
        "/api/v1/plans",
        {"name": "Strict plan", "bin_size_litres": 120, "frequency": "weekly", "price_cents": 999},
        "price_cents",
    ),
    (
        "billing",
        "/api/v1/invoices",
        {"customer_id": NOWHERE, "period_start": TODAY, "period_days": 30, "amount_cents": 4500},
        "period_days",
    ),
    (
        "billing",
        "/api/v1/invoices",
        {"customer_id": NOWHERE, "period_start": TODAY, "period_days": 30, "amount_cents": 4500},
        "amount_cents",
    ),
    ("billing", f"/api/v1/invoices/{NOWHERE}/refunds", {"amount_cents": 100}, "amount_cents"),
    ("dispatcher", "/api/v1/pickups/schedule", {"start": TODAY, "days": 7}, "days"),
]


def refused_fields(response) -> set[str]:
    assert response.status_code == 422, response.text
    return {error["field"].rsplit(".", 1)[-1] for error in response.json()["error"]["details"]}


@pytest.mark.parametrize("spoiled", [True, "120"], ids=["true", "numeric-string"])
@pytest.mark.parametrize(
    ("role", "path", "body", "field"),
    INTEGER_FIELDS,
    ids=[f"{path.rsplit('/', 1)[-1]}.{field}" for _, path, _, field in INTEGER_FIELDS],
)
def test_an_integer_field_refuses_a_boolean_and_a_numeric_string(
    api, role, path, body, field, spoiled
):
    response = api.as_role(role).post(path, json={**body, field: spoiled})
    assert field in refused_fields(response)


def test_a_number_with_no_fraction_is_an_integer_as_json_schema_says(api):
    body = {"name": "Whole plan", "bin_size_litres": 120.0, "frequency": "weekly"}
    accepted = api.as_role("admin").post("/api/v1/plans", json={**body, "price_cents": 999.0})
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["bin_size_litres"], accepted.json()["price_cents"]) == (120, 999)
    refused = api.as_role("admin").post("/api/v1/plans", json={**body, "price_cents": 999.5})
    assert refused_fields(refused) == {"price_cents"}


@pytest.mark.parametrize("spoiled", [True, "18"], ids=["true", "numeric-string"])
def test_a_list_of_integers_refuses_a_boolean_and_a_numeric_string(api, spoiled):
    response = api.as_role("admin").post(
        "/api/v1/security/ips/203.0.113.9/report", json={"categories": [spoiled]}
    )
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("role", "path", "body", "field"),
    [
        ("admin", "/api/v1/plans", {"bin_size_litres": 120, "frequency": "weekly"}, "name"),
        ("dispatcher", "/api/v1/pickups/schedule", {"days": 7}, "start"),
        ("dispatcher", "/api/v1/pickups", {"scheduled_date": TODAY}, "customer_id"),
        ("dispatcher", f"/api/v1/pickups/{NOWHERE}/reschedule", {}, "scheduled_date"),
    ],
    ids=["string", "date", "uuid", "reschedule-date"],
)
def test_a_number_is_not_a_string_a_date_or_a_uuid(api, role, path, body, field):
    response = api.as_role(role).post(path, json={**body, field: 20261101})
    assert field in refused_fields(response)


def test_a_date_time_needs_its_rfc_3339_text(api):
    body = {"latitude": 39.78, "longitude": -89.65, "photo_ref": "s3://wms-proof/x.jpg"}
    for moment in (1_764_000_000, "1764000000", "2026-11-01"):
        response = api.as_role("driver").post(
            f"/api/v1/pickups/{NOWHERE}/complete", json={**body, "completed_at": moment}
        )
        assert "completed_at" in refused_fields(response), moment


def test_uuids_dates_and_date_times_still_parse_from_their_json_strings(api):
    customer = new_customer(api)
    day = a_day()
    invoice = api.as_role("billing").post(
        "/api/v1/invoices",
        json={
            "customer_id": customer.id,
            "period_start": day.isoformat(),
            "period_days": 30,
            "amount_cents": 4500,
        },
    )
    assert invoice.status_code == 201, invoice.text
    assert invoice.json()["period_start"] == day.isoformat()

    depot = new_depot(api)
    driver = new_driver(api)
    pickup = book(customer.client, customer, day)
    route = plan(
        api, depot=depot, vehicle=new_vehicle(api, depot), driver=driver, day=day, pickups=[pickup]
    )
    (stop,) = route["stops"]
    moment = datetime.now(UTC).astimezone(timezone(timedelta(hours=2))) - timedelta(minutes=1)
    done = driver.client.post(
        f"/api/v1/pickups/{pickup['id']}/complete",
        json={
            "latitude": stop["latitude"],
            "longitude": stop["longitude"],
            "photo_ref": "s3://wms-proof/strict.jpg",
            "completed_at": moment.isoformat(),
        },
    )
    assert done.status_code == 200, done.text
    assert datetime.fromisoformat(done.json()["proof"]["completed_at"]) == moment
