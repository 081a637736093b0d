"""WMS's route planning: the local solver, and the fall-back from provider to provider."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from itertools import pairwise, permutations

import pytest

from wms.domain.operations.routing import (
    LOCAL,
    Leg,
    Point,
    RoutePlanner,
    Trip,
    estimate_leg,
    haversine_m,
    nearest_neighbour,
    solve_locally,
    tour_length_m,
    two_opt,
)
from wms.errors import UpstreamError, UpstreamUnavailable

DEPOT: Point = (40.70, -73.95)


def east(km: float) -> Point:
    """A point ``km`` east of the depot (a degree of longitude here is about 84.3 km)."""
    return DEPOT[0], DEPOT[1] + km / 84.3


def shortest(stops: Sequence[Point]) -> float:
    return min(tour_length_m(DEPOT, stops, order) for order in permutations(range(len(stops))))


def test_haversine_measures_a_degree_of_latitude_as_111_km():
    assert haversine_m((40.0, -74.0), (41.0, -74.0)) == pytest.approx(111_195, rel=1e-3)


def test_estimated_leg_is_longer_than_the_straight_line_and_takes_its_time():
    leg = estimate_leg(east(0), east(1))
    assert leg.metres == pytest.approx(1.3 * haversine_m(east(0), east(1)))
    assert leg.seconds == pytest.approx(leg.metres / (30 / 3.6))


def test_nearest_neighbour_always_drives_to_the_closest_stop_next():
    stops = [east(5), east(1), east(3)]
    assert nearest_neighbour(DEPOT, stops) == [1, 2, 0]


def test_two_opt_uncrosses_a_tour_that_crosses_itself():
    square = [(40.70, -73.90), (40.75, -73.95), (40.75, -73.90)]  # with the depot: a square
    crossing = [0, 1, 2]  # corner, opposite corner, corner: the diagonals cross
    assert tour_length_m(DEPOT, square, crossing) > shortest(square) + 1
    untangled = two_opt(DEPOT, square, crossing)
    assert sorted(untangled) == [0, 1, 2]
    assert tour_length_m(DEPOT, square, untangled) == pytest.approx(shortest(square))


def test_two_opt_keeps_a_tour_that_is_already_shortest():
    stops = [east(1), east(2), east(3)]
    assert two_opt(DEPOT, stops, [0, 1, 2]) == [0, 1, 2]


@pytest.mark.parametrize("n", [1, 2, 5, 7])
def test_local_solver_visits_every_stop_once_and_finds_short_round_trips(n: int):
    # a ring of stops around the depot, listed in a scrambled order
    ring = [(DEPOT[0] + 0.02 * ((k * 3) % n - n / 2), DEPOT[1] + 0.03 * (k % 3)) for k in range(n)]
    trip = solve_locally(DEPOT, ring)
    assert sorted(trip.order) == list(range(n))
    assert len(trip.legs) == n + 1
    assert trip.provider == LOCAL
    assert trip.degraded
    assert tour_length_m(DEPOT, ring, trip.order) <= shortest(ring) * 1.05
    assert trip.distance_m == pytest.approx(1.3 * tour_length_m(DEPOT, ring, trip.order))


def test_local_solver_drives_out_and_back_along_a_line():
    stops = [east(3), east(1), east(2)]
    trip = solve_locally(DEPOT, stops)
    assert list(trip.order) in ([1, 2, 0], [0, 2, 1])  # either direction is as short


class Provider:
    """A routing provider that answers with a fixed trip, or fails."""

    def __init__(
        self,
        name: str,
        *,
        order: Sequence[int] | None = None,
        fail: UpstreamError | None = None,
        max_stops: int = 25,
    ) -> None:
        self.name = name
        self.order = order
        self.fail = fail
        self.max_trip_stops = max_stops
        self.max_route_points = max_stops + 1
        self.calls = 0

    async def optimize(self, depot: Point, stops: Sequence[Point]) -> Trip:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        order = self.order if self.order is not None else range(len(stops))
        legs = tuple(Leg(100.0, 10.0) for _ in range(len(stops) + 1))
        return Trip(order=tuple(order), legs=legs, provider=self.name)

    async def directions(self, points: Sequence[Point]) -> list[Leg]:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return [Leg(100.0, 10.0) for _ in range(len(points) - 1)]


STOPS = [east(1), east(2), east(3)]


def plan(*providers: Provider) -> Trip:
    return asyncio.run(RoutePlanner(providers).plan(DEPOT, STOPS))


def test_the_first_provider_that_answers_plans_the_route():
    first, second = Provider("mapbox", order=[2, 0, 1]), Provider("google")
    trip = plan(first, second)
    assert (trip.provider, trip.order, trip.degraded) == ("mapbox", (2, 0, 1), False)
    assert second.calls == 0


def test_a_failing_provider_hands_over_to_the_next():
    down = Provider("mapbox", fail=UpstreamUnavailable("mapbox", "503"))
    trip = plan(down, Provider("google", order=[1, 0, 2]))
    assert (trip.provider, trip.order) == ("google", (1, 0, 2))
    assert down.calls == 1


def test_when_every_provider_fails_the_local_solver_plans_a_degraded_route():
    trip = plan(
        Provider("mapbox", fail=UpstreamUnavailable("mapbox", "503")),
        Provider("google", fail=UpstreamError("google", "REQUEST_DENIED")),
    )
    assert trip.provider == LOCAL
    assert trip.degraded
    assert trip.order == solve_locally(DEPOT, STOPS).order


def test_a_nonsensical_answer_is_ignored_like_a_failure():
    trip = plan(Provider("mapbox", order=[0, 0, 1]), Provider("google", order=[2, 1, 0]))
    assert trip.provider == "google"


def test_a_provider_is_skipped_for_more_stops_than_it_takes():
    small = Provider("mapbox", max_stops=2)
    trip = plan(small, Provider("google"))
    assert trip.provider == "google"
    assert small.calls == 0


def test_travel_times_fall_back_to_estimates_when_no_provider_answers():
    planner = RoutePlanner([Provider("mapbox", fail=UpstreamUnavailable("mapbox", "down"))])
    legs, source = asyncio.run(planner.travel([DEPOT, *STOPS]))
    assert source == LOCAL
    assert legs == [estimate_leg(a, b) for a, b in pairwise([DEPOT, *STOPS])]
