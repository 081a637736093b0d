"""Route planning (Mapbox, else Google, else the local solver, marked degraded) and live
tracking: a Samsara truck moves and the ETAs of its remaining stops follow it over
WebSocket."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from itertools import pairwise, permutations

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

from interlock.simulators.google import haversine_m, road_leg
from wms.domain.operations.routing import estimate_leg, solve_locally

pytestmark = pytest.mark.business

#: the middle of the simulated Google's bounding box, where every address lands
DEPOT = (40.725, -73.95)
#: WMS's default minutes at each stop (settings.stop_service_seconds)
SERVICE_S = 120


def stops_of(route: dict) -> list[tuple[float, float]]:
    return [(s["latitude"], s["longitude"]) for s in route["stops"]]


def tour_m(points: list[tuple[float, float]]) -> float:
    return sum(haversine_m(a, b) for a, b in pairwise([DEPOT, *points, DEPOT]))


@pytest.fixture
def day_of_pickups(api):
    """A depot with a truck and a driver, and four customers' pickups there on one day."""
    depot = new_depot(api, location=DEPOT)
    day = a_day()
    dispatcher = api.as_role("dispatcher")
    pickups = [book(dispatcher, new_customer(api), day, depot) for _ in range(4)]
    return depot, new_vehicle(api, depot), new_driver(api), day, pickups


def test_route_is_planned_by_mapbox_as_the_shortest_round_trip(
    api, db, redis, sims, slo, day_of_pickups
):
    depot, vehicle, driver, day, pickups = day_of_pickups
    with redis.subscribe("wms.events.routes") as events, slo("route_planning"):
        route = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day)  # the whole day
        event = events.wait_for(
            lambda e: e["type"] == "route.planned" and e["data"]["route_id"] == route["id"],
            what="route.planned",
        )

    assert route["provider"] == "mapbox"
    assert route["degraded"] is False
    assert {s["pickup_id"] for s in route["stops"]} == {p["id"] for p in pickups}
    assert [s["sequence"] for s in route["stops"]] == [1, 2, 3, 4]
    # Mapbox solved the order exactly: no other order of the four stops is shorter
    points = stops_of(route)
    assert tour_m(points) == pytest.approx(min(tour_m(list(p)) for p in permutations(points)))
    assert route["distance_m"] == pytest.approx(tour_m(points) * 1.3, rel=1e-3)
    etas = [datetime.fromisoformat(s["planned_eta"]) for s in route["stops"]]
    assert etas == sorted(etas)
    assert etas[0] > datetime.fromisoformat(route["starts_at"])
    trips = [
        c
        for c in sims["mapbox"].journal()
        if c["path"].startswith(
            f"/optimized-trips/v1/mapbox/driving/{DEPOT[1]:.6f},{DEPOT[0]:.6f};"
        )
        and c["status"] == 200
    ]
    call = trips[-1]
    assert call["query"]["roundtrip"] == "true"
    assert call["query"]["source"] == "first"
    assert event["data"]["provider"] == "mapbox"
    assert event["data"]["pickup_ids"] == [s["pickup_id"] for s in route["stops"]]
    rows = db.query(
        "SELECT status, sequence, planned_eta FROM pickups WHERE route_id = %s ORDER BY sequence",
        (route["id"],),
    )
    assert [(r["status"], r["sequence"]) for r in rows] == [("assigned", i) for i in (1, 2, 3, 4)]


def test_route_falls_back_to_google_when_mapbox_fails(api, sims, slo, day_of_pickups):
    depot, vehicle, driver, day, _ = day_of_pickups
    seen = len(sims["google"].journal(path="/maps/api/directions/json"))
    with sims["mapbox"].failing(status=503), slo("route_planning"):
        route = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day)

    assert route["provider"] == "google"
    assert route["degraded"] is False
    points = stops_of(route)
    assert tour_m(points) == pytest.approx(min(tour_m(list(p)) for p in permutations(points)))
    directions = sims["google"].journal(path="/maps/api/directions/json")[seen:]
    assert any(c["query"].get("waypoints", "").startswith("optimize:true|") for c in directions)
    assert any(
        c["status"] == 503 and c["path"].startswith("/optimized-trips/")
        for c in sims["mapbox"].journal()
    )


def test_route_is_solved_locally_and_marked_degraded_when_both_fail(
    api, db, sims, slo, day_of_pickups
):
    depot, vehicle, driver, day, pickups = day_of_pickups
    with (
        sims["mapbox"].failing(status=503),
        sims["google"].failing(status=503),
        slo("route_planning"),
    ):
        route = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day)

    assert route["provider"] == "local"
    assert route["degraded"] is True
    # the order of WMS's own solver, from the positions Google gave the addresses earlier
    booked = {p["id"]: (p["address"]["latitude"], p["address"]["longitude"]) for p in pickups}
    ids = list(booked)
    expected = solve_locally(DEPOT, [booked[i] for i in ids])
    assert [s["pickup_id"] for s in route["stops"]] == [ids[i] for i in expected.order]
    assert route["distance_m"] == round(expected.distance_m)
    assert db.one("SELECT degraded, provider FROM routes WHERE id = %s", (route["id"],)) == {
        "degraded": True,
        "provider": "local",
    }


def test_a_driver_hears_only_of_their_own_routes_live(api, ws, day_of_pickups):
    depot, vehicle, driver, day, pickups = day_of_pickups
    other = new_driver(api)
    feeds = {}
    for person in (driver, other):
        feeds[person.id] = ws.connect("/ws", token=bearer(person.client))
        feeds[person.id].send_json({"action": "subscribe", "channels": ["routes"]})
        feeds[person.id].wait_for(lambda f: f["type"] == "subscribed")
    mine = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day, pickups=pickups[:2])
    theirs = plan(
        api,
        depot=depot,
        vehicle=new_vehicle(api, depot),
        driver=other,
        day=day,
        pickups=pickups[2:],
    )
    # events reach each socket in the order they were committed: the first route event
    # the other driver hears is their own, so they did not hear of the first route
    for person, route in ((driver, mine), (other, theirs)):
        frame = feeds[person.id].wait_for(
            lambda f: f.get("type") == "event", what=f"{person.id}'s first route event"
        )
        assert frame["event"]["type"] == "route.planned"
        assert frame["event"]["data"]["route_id"] == route["id"]


def test_a_driver_sees_only_their_own_routes(api, day_of_pickups):
    depot, vehicle, driver, day, pickups = day_of_pickups
    route = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=day)
    other = new_driver(api)
    assert driver.client.get(f"/api/v1/routes/{route['id']}").status_code == 200
    assert other.client.get(f"/api/v1/routes/{route['id']}").status_code == 404
    assert other.client.get(f"/api/v1/pickups/{pickups[0]['id']}").status_code == 404
    assert [r["id"] for r in driver.client.get("/api/v1/routes").json()] == [route["id"]]
    assert other.client.get("/api/v1/routes").json() == []
    assert {p["id"] for p in driver.client.get("/api/v1/pickups").json()} == {
        p["id"] for p in pickups
    }


@pytest.fixture
def truck_clock(sims):
    """The Samsara simulator's clock, frozen now; running again (truck parked) afterwards."""
    now = datetime.now(UTC).replace(microsecond=0)
    sims["samsara"].freeze_clock(now.isoformat())
    parked: list[dict] = []
    yield now, parked
    sims["samsara"].seed({"vehicles": parked, "clock": {"now": None}})


def expected_etas(frame: dict) -> list[datetime]:
    """The ETAs WMS must derive from the frame's position, by the model of its source."""
    data = frame["event"]["data"]
    here = (data["position"]["latitude"], data["position"]["longitude"])
    clock = datetime.fromisoformat(data["position"]["recorded_at"])
    points = [here, *(s["point"] for s in data["stops"])]
    etas = []
    for a, b in pairwise(points):
        seconds = (
            estimate_leg(a, b).seconds
            if data["source"] == "local"
            else road_leg(a, b, "driving")[1]
        )
        clock += timedelta(seconds=seconds)
        etas.append(clock)
        clock += timedelta(seconds=SERVICE_S)
    return etas


def test_truck_moves_and_the_etas_follow_over_websocket(api, db, ws, sims, slo, truck_clock):
    t0, parked = truck_clock
    depot = new_depot(api, location=DEPOT)
    samsara_id = f"2814749767{secrets.randbelow(10**6):06d}"
    vehicle = new_vehicle(api, depot, samsara_id=samsara_id)
    driver, today = new_driver(api), t0.date()
    customers = [new_customer(api) for _ in range(2)]
    pickups = [book(c.client, c, today) for c in customers]
    route = plan(api, depot=depot, vehicle=vehicle, driver=driver, day=today, pickups=pickups)
    points = {s["pickup_id"]: (s["latitude"], s["longitude"]) for s in route["stops"]}
    dashboard = ws.connect("/ws", token=bearer(api.as_role("dispatcher")))
    dashboard.send_json({"action": "subscribe", "channels": ["routes", "vehicles"]})
    dashboard.wait_for(lambda f: f["type"] == "subscribed")

    def eta_frame(at: datetime):
        frame = dashboard.wait_for(
            lambda f: (
                f.get("type") == "event"
                and f["event"]["type"] == "route.eta_updated"
                and f["event"]["data"]["route_id"] == route["id"]
                and datetime.fromisoformat(f["event"]["data"]["position"]["recorded_at"]) == at
            ),
            what=f"ETAs from the fix of {at:%H:%M:%S}",
        )
        for stop in frame["event"]["data"]["stops"]:
            stop["point"] = points[stop["pickup_id"]]
        return frame

    # a 10 mph truck leaves the depot along its route at t0
    sims["samsara"].seed(
        {
            "vehicles": [
                {
                    "id": samsara_id,
                    "name": vehicle["name"],
                    "route": [DEPOT, *(points[s["pickup_id"]] for s in route["stops"])],
                    "speed_mph": 10,
                }
            ]
        }
    )
    parked.append({"id": samsara_id, "name": vehicle["name"], "location": DEPOT})
    first = eta_frame(t0)
    with slo("gps_tracking"):  # from the truck moving to its ETAs on the dashboard
        sims["samsara"].advance_clock(300)
        moved = eta_frame(t0 + timedelta(seconds=300))

    truck = next(v for v in sims["samsara"].state()["vehicles"] if v["id"] == samsara_id)
    position = moved["event"]["data"]["position"]
    assert (position["latitude"], position["longitude"]) == (
        pytest.approx(truck["gps"]["latitude"]),
        pytest.approx(truck["gps"]["longitude"]),
    )
    assert haversine_m(DEPOT, (position["latitude"], position["longitude"])) == pytest.approx(
        300 * 10 * 0.44704, rel=0.01
    )
    for frame in (first, moved):
        stops = frame["event"]["data"]["stops"]
        assert [s["pickup_id"] for s in stops] == [s["pickup_id"] for s in route["stops"]]
        got = [datetime.fromisoformat(s["eta"]) for s in stops]
        for eta, want in zip(got, expected_etas(frame), strict=True):
            assert abs((eta - want).total_seconds()) < 1.5
    assert moved["event"]["data"]["stops"][-1]["eta"] != first["event"]["data"]["stops"][-1]["eta"]
    # the fix, stored and shown; the ETAs, stored on the pickups
    assert db.count("vehicle_positions", "vehicle_id = %s", (vehicle["id"],)) == 2
    shown = api.as_role("dispatcher").get(f"/api/v1/vehicles/{vehicle['id']}").json()
    assert datetime.fromisoformat(shown["position"]["recorded_at"]) == t0 + timedelta(seconds=300)
    last = moved["event"]["data"]["stops"][-1]
    row = db.one("SELECT eta FROM pickups WHERE id = %s", (last["pickup_id"],))
    assert row is not None
    assert row["eta"] == datetime.fromisoformat(last["eta"])
    dashboard.wait_for(
        lambda f: (
            f.get("type") == "event"
            and f["event"]["type"] == "vehicle.position"
            and f["event"]["data"]["vehicle_id"] == vehicle["id"]
        ),
        what="vehicle.position over WebSocket",
    )
