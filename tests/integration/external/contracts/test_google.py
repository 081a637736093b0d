"""The official googlemaps client against the Google Maps simulator."""

from __future__ import annotations

from collections.abc import Iterator

import googlemaps
import pytest

from interlock.simulators.client import SimulatorClient
from interlock.simulators.google import haversine_m
from interlock.simulators.threaded import ThreadedSimulator

pytestmark = pytest.mark.external

SERVICE = "google"
KEY = "AIzaSyInterlock-simulated-key-0000000"
BOUNDS = {"south": 30.20, "west": -97.80, "north": 30.40, "east": -97.60}
SEED = {
    "bounds": BOUNDS,
    "places": {
        "Depot, 1 Yard Rd": {"lat": 30.25, "lng": -97.75, "formatted_address": "1 Yard Rd"},
        "Atlantis": None,
    },
}


@pytest.fixture
def gmaps(server: ThreadedSimulator, control: SimulatorClient) -> Iterator[googlemaps.Client]:
    client = googlemaps.Client(key=KEY, base_url=server.url)
    yield client
    client.session.close()


def location(result: dict) -> tuple[float, float]:
    point = result["geometry"]["location"]
    return point["lat"], point["lng"]


def test_same_address_always_geocodes_to_the_same_point_inside_the_bounds(gmaps):
    first = gmaps.geocode("12 Main St, Springfield")
    again = gmaps.geocode("  12 main st  springfield ")
    other = gmaps.geocode("14 Main St, Springfield")
    assert location(first[0]) == location(again[0])
    assert location(first[0]) != location(other[0])
    for result in (first[0], other[0]):
        lat, lng = location(result)
        assert BOUNDS["south"] <= lat <= BOUNDS["north"]
        assert BOUNDS["west"] <= lng <= BOUNDS["east"]
    assert first[0]["place_id"].startswith("ChIJ")


def test_seeded_place_geocodes_and_reverse_geocodes(gmaps):
    [depot] = gmaps.geocode("depot, 1 yard rd")
    assert location(depot) == (30.25, -97.75)
    [found] = gmaps.reverse_geocode((30.25001, -97.75001))
    assert found["formatted_address"] == "1 Yard Rd"
    assert gmaps.geocode(place_id=depot["place_id"])[0]["formatted_address"] == "1 Yard Rd"


def test_unknown_place_gives_zero_results_not_an_error(gmaps, control):
    assert gmaps.geocode("Atlantis") == []
    [call] = control.journal(path="/maps/api/geocode/json")
    assert call["query"]["address"] == "Atlantis"


def test_optimized_directions_reorder_waypoints(gmaps):
    origin, destination = (30.20, -97.70), (30.40, -97.70)
    stops = [(30.35, -97.70), (30.25, -97.70), (30.30, -97.70)]
    [route] = gmaps.directions(origin, destination, waypoints=stops, optimize_waypoints=True)
    assert route["waypoint_order"] == [1, 2, 0]
    assert len(route["legs"]) == 4
    assert [leg["end_location"]["lat"] for leg in route["legs"]] == [30.25, 30.30, 30.35, 30.40]
    straight = haversine_m(origin, destination)
    assert straight < sum(leg["distance"]["value"] for leg in route["legs"]) < 1.5 * straight

    [plain] = gmaps.directions(origin, destination, waypoints=stops)
    assert plain["waypoint_order"] == [0, 1, 2]


def test_distance_matrix_has_a_row_per_origin_and_element_per_destination(gmaps):
    matrix = gmaps.distance_matrix(
        ["Depot, 1 Yard Rd", (30.30, -97.70)], ["Depot, 1 Yard Rd", "Atlantis"], mode="driving"
    )
    assert matrix["origin_addresses"][0] == "1 Yard Rd"
    assert matrix["destination_addresses"][1] == ""
    [to_self, to_nowhere], [to_depot, _] = (row["elements"] for row in matrix["rows"])
    assert to_self["distance"]["value"] == 0
    assert to_nowhere["status"] == "NOT_FOUND"
    assert to_depot["status"] == "OK"
    assert to_depot["duration"]["value"] > 0


def test_unknown_key_is_denied_in_the_body(server, control):
    control.seed({"api_keys": [KEY]})
    stranger = googlemaps.Client(key="AIzaSyNot-the-right-key", base_url=server.url)
    try:
        with pytest.raises(googlemaps.exceptions.ApiError) as info:
            stranger.geocode("12 Main St")
    finally:
        stranger.session.close()
    assert info.value.status == "REQUEST_DENIED"
    assert "API key is invalid" in info.value.message
    assert control.journal()[-1]["status"] == 200  # Google's errors ride on HTTP 200


def test_missing_parameters_are_an_invalid_request(gmaps):
    with pytest.raises(googlemaps.exceptions.ApiError) as info:
        gmaps.geocode()
    assert info.value.status == "INVALID_REQUEST"


def test_over_query_limit_is_retried_by_the_client(gmaps, control):
    with control.fault("rate_limit", retry_after=0, times=1):
        [result] = gmaps.geocode("12 Main St")
    assert result["formatted_address"] == "12 Main St"
    first, retry = control.journal(path="/maps/api/geocode/json")
    assert first["fault"] == "rate_limit"
    assert first["status"] == 200
    assert retry["fault"] is None


def test_over_query_limit_raises_when_the_client_does_not_retry(server, control):
    impatient = googlemaps.Client(key=KEY, base_url=server.url, retry_over_query_limit=False)
    try:
        with control.fault("rate_limit"), pytest.raises(googlemaps.exceptions.ApiError) as info:
            impatient.geocode("12 Main St")
    finally:
        impatient.session.close()
    assert info.value.status == "OVER_QUERY_LIMIT"


def test_geocoding_results_name_their_address_components(gmaps):
    # Geocoding API reference, "Geocoding responses": address_components with long_name,
    # short_name and types (street_number, route, locality, administrative_area_level_1,
    # postal_code, country)
    [result] = gmaps.geocode("12 Main St, Austin, TX 78701, USA")
    parts = {c["types"][0]: c for c in result["address_components"]}
    assert parts["street_number"]["long_name"] == "12"
    assert parts["route"]["long_name"] == "Main St"
    assert parts["locality"]["long_name"] == "Austin"
    assert parts["administrative_area_level_1"]["short_name"] == "TX"
    assert parts["postal_code"]["long_name"] == "78701"
    assert (parts["country"]["long_name"], parts["country"]["short_name"]) == (
        "United States",
        "US",
    )
    [depot] = gmaps.geocode("depot, 1 yard rd")
    assert depot["address_components"]


def test_a_documented_parameter_the_simulator_would_ignore_is_refused(gmaps):
    # Geocoding API reference, optional parameters: language changes every name answered
    with pytest.raises(googlemaps.exceptions.HTTPError) as info:
        gmaps.geocode("12 Main St, Springfield", language="fr")
    assert info.value.status_code == 501
    with pytest.raises(googlemaps.exceptions.HTTPError):
        gmaps.directions("1 Yard Rd", "12 Main St", avoid="tolls")
