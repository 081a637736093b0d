"""Route planning: the order in which a truck visits a day's stops, and the time between them.

Providers are asked in turn (Mapbox Optimization first, then Google Directions with
``optimize:true``); an answer that fails or makes no sense moves on to the next one.
When no provider can answer, a local nearest-neighbour + 2-opt solver orders the stops
on straight-line distances and the trip is marked degraded: usable, but not road-aware.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

from wms.errors import UpstreamError

__all__ = [
    "LOCAL",
    "Leg",
    "Optimizer",
    "Point",
    "RoutePlanner",
    "Trip",
    "estimate_leg",
    "haversine_m",
    "nearest_neighbour",
    "solve_locally",
    "tour_length_m",
    "two_opt",
]

log = logging.getLogger("wms.routing")

Point = tuple[float, float]
"""(latitude, longitude) in degrees."""

#: the provider name of the local solver
LOCAL = "local"
EARTH_RADIUS_M = 6_371_008.8
#: roads are longer than the straight line between their ends (a typical detour index)
ROAD_FACTOR = 1.3
#: average speed of a collection truck in town, for estimated legs
TRUCK_SPEED_MPS = 30 / 3.6


@dataclass(frozen=True)
class Leg:
    metres: float
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Trip:
    """A round trip from the depot: ``order`` holds stop indices in visiting order and
    ``legs`` the depot-to-first, ..., last-to-depot legs."""

    order: tuple[int, ...]
    legs: tuple[Leg, ...]
    provider: str

    @property
    def degraded(self) -> bool:
        return self.provider == LOCAL

    @property
    def distance_m(self) -> float:
        return sum(leg.metres for leg in self.legs)

    @property
    def duration_s(self) -> float:
        return sum(leg.seconds for leg in self.legs)


class Optimizer(Protocol):
    """A routing provider (see wms.integrations.maps)."""

    name: str
    #: most stops (besides the depot) one optimisation request may carry
    max_trip_stops: int
    #: most points one directions request may carry
    max_route_points: int

    async def optimize(self, depot: Point, stops: Sequence[Point]) -> Trip: ...

    async def directions(self, points: Sequence[Point]) -> list[Leg]: ...


# -- the local solver ----------------------------------------------------------------------
def haversine_m(a: Point, b: Point) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def estimate_leg(a: Point, b: Point) -> Leg:
    """A leg by road, guessed from the straight line when no provider can tell."""
    metres = haversine_m(a, b) * ROAD_FACTOR
    return Leg(metres, metres / TRUCK_SPEED_MPS)


def tour_length_m(depot: Point, stops: Sequence[Point], order: Sequence[int]) -> float:
    """Straight-line length of the round trip depot -> stops in ``order`` -> depot."""
    path = [depot, *(stops[i] for i in order), depot]
    return sum(haversine_m(a, b) for a, b in pairwise(path))


def nearest_neighbour(depot: Point, stops: Sequence[Point]) -> list[int]:
    """Visit the closest unvisited stop next; ties go to the lower index."""
    order: list[int] = []
    remaining = list(range(len(stops)))
    here = depot
    while remaining:
        nearest = min(remaining, key=lambda i: (haversine_m(here, stops[i]), i))
        order.append(nearest)
        remaining.remove(nearest)
        here = stops[nearest]
    return order


def two_opt(depot: Point, stops: Sequence[Point], order: Sequence[int]) -> list[int]:
    """Reverse stretches of the round trip while that shortens it (a local optimum)."""
    tour = [-1, *order]  # -1 is the depot, fixed at the start (and the end)

    def at(k: int) -> Point:
        node = tour[k % len(tour)]
        return depot if node < 0 else stops[node]

    improved = True
    while improved:
        improved = False
        for i in range(1, len(tour) - 1):
            for j in range(i + 1, len(tour)):
                before = haversine_m(at(i - 1), at(i)) + haversine_m(at(j), at(j + 1))
                after = haversine_m(at(i - 1), at(j)) + haversine_m(at(i), at(j + 1))
                if after < before - 1e-6:
                    tour[i : j + 1] = tour[i : j + 1][::-1]
                    improved = True
    return tour[1:]


def solve_locally(depot: Point, stops: Sequence[Point]) -> Trip:
    order = two_opt(depot, stops, nearest_neighbour(depot, stops))
    path = [depot, *(stops[i] for i in order), depot]
    legs = tuple(estimate_leg(a, b) for a, b in pairwise(path))
    return Trip(order=tuple(order), legs=legs, provider=LOCAL)


# -- the provider chain ----------------------------------------------------------------------
def _sound(trip: Trip, stops: int) -> bool:
    return sorted(trip.order) == list(range(stops)) and len(trip.legs) == stops + 1


class RoutePlanner:
    """Orders stops and times legs with the first provider that answers sensibly."""

    def __init__(self, providers: Sequence[Optimizer]) -> None:
        self.providers = tuple(providers)

    async def plan(self, depot: Point, stops: Sequence[Point]) -> Trip:
        for provider in self.providers:
            if len(stops) > provider.max_trip_stops:
                continue
            try:
                trip = await provider.optimize(depot, stops)
            except UpstreamError as exc:
                log.warning("route optimisation by %s failed: %s", provider.name, exc.message)
                continue
            if _sound(trip, len(stops)):
                return trip
            log.warning("route optimisation by %s made no sense; ignored", provider.name)
        return solve_locally(depot, stops)

    async def travel(self, points: Sequence[Point]) -> tuple[list[Leg], str]:
        """The legs between consecutive points, and who timed them."""
        for provider in self.providers:
            if len(points) > provider.max_route_points:
                continue
            try:
                legs = await provider.directions(points)
            except UpstreamError as exc:
                log.warning("directions from %s failed: %s", provider.name, exc.message)
                continue
            if len(legs) == len(points) - 1:
                return legs, provider.name
        return [estimate_leg(a, b) for a, b in pairwise(points)], LOCAL
