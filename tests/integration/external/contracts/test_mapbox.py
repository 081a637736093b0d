"""The official mapbox SDK against the Mapbox simulator: Directions v5 and Optimization v1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mapbox import Directions
from mapbox.encoding import encode_waypoints
from mapbox.services.base import Service

from interlock.simulators.client import SimulatorClient
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "mapbox"
TOKEN = "pk.eyJ1IjoiaW50ZXJsb2NrIn0.simulated"
SEED = {"access_tokens": [TOKEN]}


class PlainHttp:
    """The SDK hard-codes https:// in ``baseuri``; a client of the simulator overrides it."""

    host: str
    api_name: str
    api_version: str

    @property
    def baseuri(self) -> str:
        return f"http://{self.host}/{self.api_name}/{self.api_version}"


class LocalDirections(PlainHttp, Directions):
    pass


class Optimization(PlainHttp, Service):
    """The SDK has no Optimization API: this adds one in the SDK's own idiom."""

    api_name = "optimized-trips"
    api_version = "v1"

    def trips(
        self, features: list[dict[str, Any]], profile: str = "mapbox/driving", **params: str
    ) -> Any:
        coordinates = encode_waypoints(features, min_limit=2, max_limit=12, precision=6)
        return self.session.get(f"{self.baseuri}/{profile}/{coordinates}", params=params)


def stop(lon: float, lat: float = 30.30) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


@pytest.fixture
def directions(server: ThreadedSimulator, control: SimulatorClient) -> Iterator[Directions]:
    service = LocalDirections(access_token=TOKEN, host=server.url.removeprefix("http://"))
    yield service
    service.session.close()


@pytest.fixture
def optimization(server: ThreadedSimulator, control: SimulatorClient) -> Iterator[Optimization]:
    service = Optimization(access_token=TOKEN, host=server.url.removeprefix("http://"))
    yield service
    service.session.close()


def test_directions_route_through_every_stop(directions):
    stops = [stop(-97.70), stop(-97.69), stop(-97.68)]
    response = directions.directions(
        stops, geometries="geojson", steps=True, annotations=["distance", "duration"]
    )
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "Ok"
    [route] = body["routes"]
    assert route["geometry"]["coordinates"] == [[-97.70, 30.30], [-97.69, 30.30], [-97.68, 30.30]]
    assert len(route["legs"]) == 2
    assert route["distance"] == pytest.approx(sum(leg["distance"] for leg in route["legs"]))
    assert [s["maneuver"]["type"] for s in route["legs"][0]["steps"]] == ["depart", "arrive"]
    assert route["legs"][0]["annotation"]["distance"] == [route["legs"][0]["distance"]]
    assert [w["location"] for w in body["waypoints"]] == route["geometry"]["coordinates"]
    assert int(response.headers["X-Rate-Limit-Limit"]) > 0


def test_default_polyline_geometry_decodes_in_the_sdk(directions):
    response = directions.directions([stop(-97.70), stop(-97.65, 30.35)])
    [feature] = response.geojson()["features"]
    assert feature["geometry"]["coordinates"] == [(-97.70, 30.30), (-97.65, 30.35)]
    assert feature["properties"]["duration"] > 0


def test_optimized_trip_visits_stops_in_travel_order(optimization):
    stops = [stop(-97.70), stop(-97.67), stop(-97.69), stop(-97.68), stop(-97.66)]
    response = optimization.trips(stops, roundtrip="false", source="first", destination="last")
    assert response.status_code == 200
    body = response.json()
    assert [w["waypoint_index"] for w in body["waypoints"]] == [0, 3, 1, 2, 4]
    assert {w["trips_index"] for w in body["waypoints"]} == {0}
    [trip] = body["trips"]
    assert len(trip["legs"]) == 4


def test_round_trip_returns_to_the_first_stop(optimization):
    response = optimization.trips([stop(-97.70), stop(-97.60), stop(-97.69)])
    body = response.json()
    assert body["waypoints"][0]["waypoint_index"] == 0
    assert len(body["trips"][0]["legs"]) == 3


def test_pick_up_comes_before_its_drop_off(optimization):
    stops = [stop(-97.70), stop(-97.69), stop(-97.68), stop(-97.67)]
    free = optimization.trips(stops, roundtrip="false", source="first", destination="last")
    assert [w["waypoint_index"] for w in free.json()["waypoints"]] == [0, 1, 2, 3]
    bound = optimization.trips(
        stops, roundtrip="false", source="first", destination="last", distributions="2,1"
    )
    assert [w["waypoint_index"] for w in bound.json()["waypoints"]] == [0, 2, 1, 3]


def test_unsupported_one_way_trip_is_refused(optimization):
    response = optimization.trips([stop(-97.70), stop(-97.69)], roundtrip="false")
    assert response.status_code == 422
    assert response.json()["code"] == "NotImplemented"


def test_bad_coordinates_are_invalid_input(directions):
    response = directions.directions([stop(-97.70), stop(-97.69, 95.0)])
    assert response.status_code == 422
    assert response.json() == {
        "code": "InvalidInput",
        "message": "Coordinate is invalid: -97.69,95.0",
    }


def test_unknown_token_is_not_authorized(server, control):  # control seeds the known token
    stranger = LocalDirections(
        access_token="pk.someone-else", host=server.url.removeprefix("http://")
    )
    try:
        response = stranger.directions([stop(-97.70), stop(-97.69)])
    finally:
        stranger.session.close()
    assert response.status_code == 401  # the SDK returns errors rather than raising them
    assert response.json() == {"message": "Not Authorized - Invalid Token"}


def test_rate_limit_reaches_the_caller_without_retries(directions, control):
    with control.fault("rate_limit", retry_after=2):
        limited = directions.directions([stop(-97.70), stop(-97.69)])
    assert limited.status_code == 429
    assert limited.json() == {"message": "Too Many Requests"}
    assert limited.headers["Retry-After"] == "2"
    assert len(control.journal()) == 1
    assert directions.directions([stop(-97.70), stop(-97.69)]).status_code == 200
