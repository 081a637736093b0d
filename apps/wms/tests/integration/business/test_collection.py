"""Waste collection: a pickup from request to completion (or a miss and a new day), the
customer told at each step, and each caller seeing and doing only what is theirs."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from tests.integration.helpers.operations import (
    a_day,
    bearer,
    book,
    new_customer,
    new_depot,
    new_driver,
    new_vehicle,
    plan,
)

pytestmark = pytest.mark.business

STEPS = ["pickup_requested", "pickup_assigned", "pickup_completed"]


@pytest.fixture
def crew(api):
    """A depot with a truck, and the driver who will drive it."""
    depot = new_depot(api)
    return depot, new_vehicle(api, depot), new_driver(api)


def messages_to(sims, customer) -> tuple[list[str], list[str]]:
    """Subjects of the e-mails and bodies of the texts the customer was sent, in order."""
    mails = [
        m["subject"]
        for m in sims["sendgrid"].state()["outbox"]
        if m["personalizations"][0]["to"][0]["email"] == customer.record["email"]
    ]
    texts = [
        m["body"] for m in sims["twilio"].state()["messages"] if m["to"] == customer.record["phone"]
    ]
    return mails, texts


def test_pickup_from_request_to_completion_with_notices_events_and_live_frames(
    api, db, redis, ws, sims, slo, crew
):
    depot, vehicle, driver = crew
    customer = new_customer(api)
    day = a_day()
    live = ws.connect("/ws", token=bearer(customer.client))
    live.send_json({"action": "subscribe", "channels": ["pickups"]})
    live.wait_for(lambda f: f["type"] == "subscribed")

    with redis.subscribe("wms.events.pickups") as events, slo("collection"):
        requested = book(customer.client, customer, day)
        route = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day, pickups=[requested])
        (stop,) = route["stops"]
        done = driver.client.post(
            f"/api/v1/pickups/{requested['id']}/complete",
            json={
                "latitude": stop["latitude"],
                "longitude": stop["longitude"] + 0.001,  # ~80 m off: the kerb, not the door
                "photo_ref": "s3://wms-proof/bin-1.jpg",
            },
        )
        assert done.status_code == 200, done.text
        completed = events.wait_for(
            lambda e: e["type"] == "pickup.completed" and e["data"]["pickup_id"] == requested["id"],
            what="pickup.completed on Redis",
        )

    # the HTTP answers
    assert requested["status"] == "scheduled"
    assert requested["origin"] == "on_demand"
    assert {(n["channel"], n["status"]) for n in requested["notifications"]} == {
        ("email", "sent"),
        ("sms", "sent"),
    }
    assert route["provider"] in ("mapbox", "google", "local")
    assert stop["pickup_id"] == requested["id"]
    assert stop["planned_eta"] is not None
    pickup = done.json()
    assert pickup["status"] == "completed"
    assert pickup["proof"]["photo_ref"] == "s3://wms-proof/bin-1.jpg"
    assert pickup["proof"]["completed_by"] == driver.id
    assert [n["kind"] for n in pickup["notifications"]] == ["pickup_completed"] * 2

    # the database
    row = db.one(
        "SELECT status, route_id, sequence, completed_at, proof_latitude, proof_photo_ref "
        "FROM pickups WHERE id = %s",
        (requested["id"],),
    )
    assert row is not None
    assert row["status"] == "completed"
    assert str(row["route_id"]) == route["id"]
    assert row["sequence"] == 1
    assert row["completed_at"] is not None
    assert row["proof_latitude"] == pytest.approx(stop["latitude"])
    assert db.one("SELECT status FROM routes WHERE id = %s", (route["id"],)) == {
        "status": "completed"
    }
    address = db.one(
        "SELECT latitude, longitude FROM service_addresses WHERE id = %s",
        (requested["address"]["id"],),
    )
    assert address is not None
    assert address["latitude"] == pytest.approx(stop["latitude"])
    sent = db.query(
        "SELECT kind, channel FROM notifications WHERE customer_id = %s AND status = 'sent' "
        "AND kind LIKE 'pickup%%' ORDER BY created_at",
        (customer.id,),
    )
    assert sorted((r["kind"], r["channel"]) for r in sent) == sorted(
        (kind, channel) for kind in STEPS for channel in ("email", "sms")
    )

    # the simulators: the address geocoded by Google, three e-mails and three texts
    assert any(
        requested["address"]["line1"] in str(c["query"].get("address"))
        for c in sims["google"].journal(path="/maps/api/geocode/json")
    )
    mails, texts = messages_to(sims, customer)
    assert mails[-3:] == ["Collection booked", "Collection on its way", "Bins collected"]
    assert [t.split(":")[0] for t in texts[-3:]] == ["WMS"] * 3
    assert "collected" in texts[-1]

    # the events, on Redis and pushed live to the customer's own socket
    assert completed["data"]["customer_id"] == customer.id
    assert completed["data"]["photo_ref"] == "s3://wms-proof/bin-1.jpg"
    for kind in ("pickup.requested", "pickup.assigned", "pickup.completed"):
        frame = live.wait_for(
            lambda f, kind=kind: (
                f.get("type") == "event"
                and f["event"]["type"] == kind
                and f["event"]["data"]["pickup_id"] == requested["id"]
            ),
            what=f"{kind} over WebSocket",
        )
        assert frame["channel"] == "pickups"
    assert {
        f["event"]["data"]["customer_id"] for f in live.received if f.get("type") == "event"
    } == {customer.id}


def test_missed_pickup_is_reported_then_moved_to_another_day(api, db, redis, sims, crew):
    depot, vehicle, driver = crew
    customer = new_customer(api)
    day = a_day()
    pickup = book(api.as_role("dispatcher"), customer, day)
    route = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day, pickups=[pickup])
    with redis.subscribe("wms.events.pickups") as events:
        missed = driver.client.post(
            f"/api/v1/pickups/{pickup['id']}/missed",
            json={"reason": "bin_not_out", "note": "no bin at the kerb"},
        )
        assert missed.status_code == 200, missed.text
        moved = customer.client.post(
            f"/api/v1/pickups/{pickup['id']}/reschedule",
            json={"scheduled_date": (day + timedelta(days=7)).isoformat()},
        )
        assert moved.status_code == 200, moved.text
        events.wait_for(
            lambda e: e["type"] == "pickup.rescheduled" and e["data"]["pickup_id"] == pickup["id"],
            what="pickup.rescheduled",
        )
    assert [e["type"] for e in events.received if e["data"].get("pickup_id") == pickup["id"]] == [
        "pickup.missed",
        "pickup.rescheduled",
    ]
    assert missed.json()["status"] == "missed"
    assert missed.json()["missed"]["reason"] == "bin_not_out"
    assert [n["kind"] for n in missed.json()["notifications"]] == ["pickup_missed"] * 2
    again = moved.json()
    assert again["status"] == "scheduled"
    assert again["scheduled_date"] == (day + timedelta(days=7)).isoformat()
    assert again["route_id"] is None
    assert again["missed"] is None
    assert again["reschedule_count"] == 1
    assert db.one("SELECT status FROM routes WHERE id = %s", (route["id"],)) == {
        "status": "completed"
    }
    mails, _ = messages_to(sims, customer)
    assert mails[-2:] == ["Collection missed", "Collection moved"]
    # the driver no longer sees it: it left their route
    assert driver.client.get(f"/api/v1/pickups/{pickup['id']}").status_code == 404


def test_pickups_are_scheduled_from_the_plan_once(api, db, sims):
    customer = new_customer(api)
    plan_body = {
        "name": f"Weekly 240 L {secrets.token_hex(3)}",
        "bin_size_litres": 240,
        "frequency": "weekly",
        "price_cents": 2999,
    }
    created_plan = api.as_role("admin").post("/api/v1/plans", json=plan_body)
    assert created_plan.status_code == 201, created_plan.text
    subscribed = api.as_role("billing").post(
        f"/api/v1/customers/{customer.id}/subscription",
        json={"plan_id": created_plan.json()["id"], "payment_method": "pm_card_visa"},
    )
    assert subscribed.status_code == 201, subscribed.text
    started = subscribed.json()["started_on"]
    window = {"start": started, "days": 21, "customer_id": customer.id}

    first = api.as_role("dispatcher").post("/api/v1/pickups/schedule", json=window)
    again = api.as_role("dispatcher").post("/api/v1/pickups/schedule", json=window)

    assert first.status_code == again.status_code == 201, first.text
    days = [p["scheduled_date"] for p in first.json()]
    assert len(days) == 3
    assert days[0] == started
    assert {p["origin"] for p in first.json()} == {"plan"}
    assert again.json() == []
    assert db.count("pickups", "customer_id = %s AND origin = 'plan'", (customer.id,)) == 3
    mails, _ = messages_to(sims, customer)
    assert mails[-1] == "Collections scheduled"
    assert (
        db.count(
            "outbox",
            "type = 'pickup.scheduled' AND payload->'data'->>'customer_id' = %s",
            (customer.id,),
        )
        == 3
    )


def test_a_customer_sees_and_touches_only_their_own_pickups(api):
    alice, bob = new_customer(api), new_customer(api)
    day = a_day()
    theirs = book(alice.client, alice, day)
    mine = book(bob.client, bob, day)

    assert bob.client.get(f"/api/v1/pickups/{theirs['id']}").status_code == 404
    assert bob.client.get(f"/api/v1/pickups/{mine['id']}").status_code == 200
    listed = bob.client.get("/api/v1/pickups", params={"customer_id": alice.id})
    assert listed.status_code == 200
    assert listed.json() == []
    assert {p["id"] for p in bob.client.get("/api/v1/pickups").json()} == {mine["id"]}
    for path, body in [
        (
            f"/api/v1/pickups/{theirs['id']}/reschedule",
            {"scheduled_date": a_day().isoformat()},
        ),
        (f"/api/v1/pickups/{theirs['id']}/missed", {"reason": "other"}),
    ]:
        response = bob.client.post(path, json=body)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    booked_for_alice = bob.client.post(
        "/api/v1/pickups", json={"customer_id": alice.id, "scheduled_date": a_day().isoformat()}
    )
    assert booked_for_alice.status_code == 404
    assert api.as_role("dispatcher").get(f"/api/v1/pickups/{theirs['id']}").json()["status"] == (
        "scheduled"
    )


def test_roles_that_may_not_act_are_refused_with_403(api, crew):
    depot, vehicle, driver = crew
    customer = new_customer(api)
    day = a_day()
    pickup = book(customer.client, customer, day)
    plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day, pickups=[pickup])
    proof = {"latitude": 40.7, "longitude": -73.9, "photo_ref": "s3://x.jpg"}
    refused = [
        driver.client.post(
            "/api/v1/pickups", json={"customer_id": customer.id, "scheduled_date": day.isoformat()}
        ),
        customer.client.post(f"/api/v1/pickups/{pickup['id']}/complete", json=proof),
        api.as_role("dispatcher").post(f"/api/v1/pickups/{pickup['id']}/complete", json=proof),
        api.as_role("billing").get("/api/v1/pickups"),
        customer.client.post(
            "/api/v1/routes",
            json={
                "depot_id": depot["id"],
                "service_date": day.isoformat(),
                "vehicle_id": vehicle["id"],
                "driver_id": driver.id,
            },
        ),
        driver.client.post(
            f"/api/v1/pickups/{pickup['id']}/reschedule", json={"scheduled_date": day.isoformat()}
        ),
        customer.client.get("/api/v1/vehicles"),
    ]
    for response in refused:
        assert response.status_code == 403, (response.request.url, response.text)
        assert response.json()["error"]["code"] == "forbidden"
    # another driver may not close this stop: to them it does not exist
    stranger = new_driver(api)
    response = stranger.client.post(f"/api/v1/pickups/{pickup['id']}/complete", json=proof)
    assert response.status_code == 404
    assert api.as_role("dispatcher").get(f"/api/v1/pickups/{pickup['id']}").json()["status"] == (
        "assigned"
    )


def test_malformed_input_is_422_refused_state_is_409_with_field_paths_and_nothing_written(
    api, db, crew
):
    depot, vehicle, driver = crew
    customer = new_customer(api)
    day = a_day()
    malformed = customer.client.post(
        "/api/v1/pickups", json={"customer_id": "not-a-uuid", "scheduled_date": 0, "x": 1}
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "validation_error"
    assert {d["field"] for d in malformed.json()["error"]["details"]} >= {
        "body.customer_id",
        "body.scheduled_date",
        "body.x",
    }
    past = customer.client.post(
        "/api/v1/pickups",
        json={"customer_id": customer.id, "scheduled_date": a_day(-1).isoformat()},
    )
    assert past.status_code == 409
    assert past.json()["error"]["code"] == "date_out_of_range"
    assert [d["field"] for d in past.json()["error"]["details"]] == ["body.scheduled_date"]
    assert db.count("pickups", "customer_id = %s", (customer.id,)) == 0

    pickup = book(customer.client, customer, day)
    plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day, pickups=[pickup])
    far = driver.client.post(
        f"/api/v1/pickups/{pickup['id']}/complete",
        json={"latitude": 0.0, "longitude": 0.0, "photo_ref": "s3://elsewhere.jpg"},
    )
    assert far.status_code == 409
    assert far.json()["error"]["code"] == "proof_too_far"
    assert far.json()["error"]["details"][0]["field"] == "body.latitude"
    row = db.one("SELECT status, proof_photo_ref FROM pickups WHERE id = %s", (pickup["id"],))
    assert row == {"status": "assigned", "proof_photo_ref": None}
    assert (
        db.count(
            "outbox",
            "type = 'pickup.completed' AND payload->'data'->>'pickup_id' = %s",
            (pickup["id"],),
        )
        == 0
    )
    again = api.as_role("dispatcher").post(
        "/api/v1/routes",
        json={
            "depot_id": depot["id"],
            "service_date": day.isoformat(),
            "vehicle_id": vehicle["id"],
            "driver_id": driver.id,
            "pickup_ids": [pickup["id"]],
        },
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "pickup_unavailable"
    assert db.count("routes", "vehicle_id = %s", (vehicle["id"],)) == 1
