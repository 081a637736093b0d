"""The official samsara-api SDK against the Samsara simulator, on a clock the tests move."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from samsara import Samsara
from samsara.core.api_error import ApiError
from samsara.errors import TooManyRequestsError, UnauthorizedError

from interlock.simulators.client import SimulatorClient
from interlock.simulators.google import haversine_m
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "samsara"
TOKEN = "samsara_api_interlock_simulated"
START, CORNER, END = (30.20, -97.70), (30.21, -97.70), (30.21, -97.69)
TEN_METRES_A_SECOND = 10 / 0.44704  # in miles per hour
TRUCK = "281474976710001"
SEED = {
    "api_tokens": [TOKEN],
    "clock": {"now": "2024-05-01T08:00:00Z"},
    "vehicles": [
        {
            "id": TRUCK,
            "name": "Truck 7",
            "route": [START, CORNER, END],
            "speed_mph": TEN_METRES_A_SECOND,
            "odometer_meters": 1000,
            "externalIds": {"wmsId": "T7"},
        },
        {"id": "281474976710002", "name": "Parked", "location": END},
    ],
}


@pytest.fixture
def samsara(server: ThreadedSimulator, control: SimulatorClient) -> Iterator[Samsara]:
    with httpx.Client(timeout=10) as http:
        yield Samsara(token=TOKEN, base_url=server.url, httpx_client=http)


def truck_stats(samsara: Samsara, **options: str):  # type: ignore[no-untyped-def]
    response = samsara.vehicle_stats.get_vehicle_stats(
        types=["gps", "engineStates", "obdOdometerMeters"], **options
    )
    return next(v for v in response.data if v.id == TRUCK)


def at(stats) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    return stats.gps.latitude, stats.gps.longitude


def test_vehicle_moves_along_its_route_as_the_clock_advances(samsara, control):
    stats = truck_stats(samsara)
    assert at(stats) == START
    assert stats.engine_state.value == "On"
    assert stats.gps.speed_miles_per_hour == pytest.approx(22.4)

    control.seed({"clock": {"advance_s": 60}})
    stats = truck_stats(samsara)
    assert haversine_m(START, at(stats)) == pytest.approx(600, abs=1)
    assert stats.gps.heading_degrees == 0
    assert stats.gps.time == "2024-05-01T08:01:00Z"

    control.seed({"clock": {"advance_s": 100}})  # 1600 m: round the corner, heading east
    stats = truck_stats(samsara)
    assert haversine_m(CORNER, at(stats)) == pytest.approx(1600 - haversine_m(START, CORNER), abs=1)
    assert stats.gps.heading_degrees == 90

    control.seed({"clock": {"advance_s": 3600}})
    stats = truck_stats(samsara)
    route_length = haversine_m(START, CORNER) + haversine_m(CORNER, END)
    assert at(stats) == END
    assert stats.gps.speed_miles_per_hour == 0
    assert stats.engine_state.value == "Off"
    assert stats.obd_odometer_meters.value == round(1000 + route_length)


def test_snapshot_answers_for_an_earlier_time(samsara, control):
    control.seed({"clock": {"advance_s": 600}})
    stats = truck_stats(samsara, time="2024-05-01T08:00:30Z")
    assert haversine_m(START, at(stats)) == pytest.approx(300, abs=1)


def test_vehicle_list_follows_the_cursor_through_every_page(samsara, control):
    control.seed({"vehicles": [{"id": f"2814749767101{i:02}", "location": END} for i in range(7)]})
    pager = samsara.vehicles.list(limit=4)
    names = [v.id for v in pager]
    assert len(names) == 9
    assert names == sorted(names)
    calls = control.journal(path="/fleet/vehicles")
    assert [c["query"].get("after") is None for c in calls] == [True, False, False]
    last = list(pager.iter_pages())[-1]
    assert last.response.pagination.end_cursor == ""
    assert samsara.vehicles.get("wmsId:T7").data.name == "Truck 7"


def test_feed_returns_every_point_since_the_cursor(samsara, control):
    first = samsara.vehicle_stats.get_vehicle_stats_feed(types="gps")
    assert {v.id: len(v.gps) for v in first.data} == {TRUCK: 1, "281474976710002": 1}

    control.seed({"clock": {"advance_s": 30}})
    feed = samsara.vehicle_stats.get_vehicle_stats_feed(
        types="gps", after=first.pagination.end_cursor
    )
    [truck] = feed.data  # the parked vehicle has nothing new to say
    assert [p.time for p in truck.gps] == [f"2024-05-01T08:00:{s:02}Z" for s in range(5, 31, 5)]
    assert feed.pagination.has_next_page is False
    caught_up = samsara.vehicle_stats.get_vehicle_stats_feed(
        types="gps", after=feed.pagination.end_cursor
    )
    assert caught_up.data == []


def test_history_lists_points_between_two_times(samsara, control):
    control.seed({"clock": {"advance_s": 120}})
    history = samsara.vehicle_stats.get_vehicle_stats_history(
        start_time="2024-05-01T08:00:00Z",
        end_time="2024-05-01T08:01:00Z",
        types=["gps", "engineStates"],
        vehicle_ids=TRUCK,
    )
    [truck] = history.data
    latitudes = [p.latitude for p in truck.gps]
    assert len(latitudes) == 13
    assert latitudes == sorted(latitudes)
    assert [(e.time, e.value) for e in truck.engine_states] == [("2024-05-01T08:00:00Z", "On")]


def test_unknown_token_raises_unauthorized(server, control):
    with httpx.Client() as http:
        stranger = Samsara(token="someone-else", base_url=server.url, httpx_client=http)
        with pytest.raises(UnauthorizedError) as info:
            list(stranger.vehicles.list())
    assert info.value.status_code == 401
    assert set(info.value.body) == {"message", "requestId"}


def test_too_many_stat_types_is_a_bad_request(samsara):
    with pytest.raises(ApiError) as info:
        samsara.vehicle_stats.get_vehicle_stats(
            types=["gps", "engineStates", "obdOdometerMeters", "fuelPercents"]
        )
    assert info.value.status_code == 400


def test_rate_limit_is_retried_after_retry_after(samsara, control):
    started = time.monotonic()
    with control.fault("rate_limit", retry_after=1, times=1):
        assert len(list(samsara.vehicles.list())) == 2
    assert time.monotonic() - started >= 1.0
    assert [c["status"] for c in control.journal()] == [429, 200]
    with control.fault("rate_limit", retry_after=30), pytest.raises(TooManyRequestsError):
        samsara.vehicles.list(request_options={"max_retries": 0})


def test_vehicle_locations_are_served_by_their_own_endpoints(samsara, control):
    # Samsara API reference, "Vehicle Locations": GET /fleet/vehicles/locations[/feed|/history]
    # answer {data: [{id, name, location(s)}], pagination}, never one vehicle's record
    control.seed({"clock": {"advance_s": 60}})
    [truck] = samsara.vehicle_locations.get_vehicle_locations(vehicle_ids=TRUCK).data
    spot = (truck.location.latitude, truck.location.longitude)
    assert haversine_m(START, spot) == pytest.approx(600, abs=1)
    assert truck.location.time == "2024-05-01T08:01:00Z"
    feed = samsara.vehicle_locations.get_vehicle_locations_feed()
    assert {v.id: len(v.locations) for v in feed.data} == {TRUCK: 1, "281474976710002": 1}
    history = samsara.vehicle_locations.get_vehicle_locations_history(
        start_time="2024-05-01T08:00:00Z", end_time="2024-05-01T08:01:00Z", vehicle_ids=TRUCK
    )
    [moved] = history.data
    assert len(moved.locations) == 13


def test_an_endpoint_the_simulator_does_not_serve_is_refused_by_name(samsara):
    with pytest.raises(ApiError) as info:
        samsara.drivers.list()
    assert info.value.status_code == 501
    assert "not simulated: GET /fleet/drivers" in str(info.value.body)
