"""Geometry the routing simulators share: distances, bearings, roads, polylines, stop order.

Google's directions, Mapbox's directions and trip optimisation and Samsara's moving
vehicles all use these, so that one place decides how far apart two points are and how
long a road between them takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from itertools import permutations

__all__ = [
    "SPEED_KMH",
    "Point",
    "bearing_deg",
    "best_order",
    "encode_polyline",
    "haversine_m",
    "road_leg",
]

Point = tuple[float, float]  # (lat, lng)
EARTH_RADIUS_M = 6_371_008.8
#: roads are longer than the straight line between their ends (a typical detour index)
ROAD_FACTOR = 1.3
#: average speed of each travel mode in km/h (Google and Mapbox names)
SPEED_KMH = {
    "driving": 40.0,
    "driving-traffic": 32.0,
    "walking": 5.0,
    "bicycling": 15.0,
    "cycling": 15.0,
    "transit": 25.0,
}
#: orders of up to this many movable stops are searched exhaustively; beyond, a heuristic
EXHAUSTIVE_STOPS = 7


def haversine_m(a: Point, b: Point) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def bearing_deg(a: Point, b: Point) -> float:
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    y = math.sin(lng2 - lng1) * math.cos(lat2)
    x = math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(lng2 - lng1)
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def road_leg(a: Point, b: Point, mode: str) -> tuple[float, float]:
    """(metres, seconds) by road from ``a`` to ``b`` for a travel mode."""
    metres = haversine_m(a, b) * ROAD_FACTOR
    return metres, metres / (SPEED_KMH[mode] / 3.6)


def encode_polyline(points: Iterable[Point], precision: int = 5) -> str:
    """Google's encoded polyline algorithm (Mapbox's ``polyline`` and ``polyline6``)."""
    factor = 10**precision
    out: list[str] = []
    prev_lat = prev_lng = 0
    for lat, lng in points:
        ilat, ilng = round(lat * factor), round(lng * factor)
        for delta in (ilat - prev_lat, ilng - prev_lng):
            value = ~(delta << 1) if delta < 0 else delta << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        prev_lat, prev_lng = ilat, ilng
    return "".join(out)


def best_order(
    n: int,
    cost: Callable[[int, int], float],
    *,
    last_fixed: bool,
    roundtrip: bool = False,
    before: Sequence[tuple[int, int]] = (),
) -> list[int]:
    """A cheap visiting order of stops 0..n-1 that starts at 0 (and ends at n-1 if fixed).

    ``before`` holds (i, j) pairs: stop i must be visited before stop j. Small problems are
    solved exactly; larger ones by nearest neighbour and 2-opt, which is deterministic.
    Raises ValueError when the ``before`` pairs cannot all hold.
    """
    tail = [n - 1] if last_fixed and n > 1 else []
    free = [i for i in range(1, n) if i not in tail]

    def total(order: Sequence[int]) -> float:
        legs = sum(cost(order[k], order[k + 1]) for k in range(len(order) - 1))
        return legs + (cost(order[-1], order[0]) if roundtrip else 0.0)

    def valid(order: Sequence[int]) -> bool:
        position = {stop: k for k, stop in enumerate(order)}
        return all(position[i] < position[j] for i, j in before)

    if len(free) <= EXHAUSTIVE_STOPS:
        orders = ([0, *p, *tail] for p in permutations(free))
        found = [o for o in orders if valid(o)]
        if not found:
            raise ValueError("the pick-up/drop-off constraints contradict each other")
        return min(found, key=total)
    order, remaining = [0], list(free)
    while remaining:
        ready = [s for s in remaining if all(i in order for i, j in before if j == s)]
        if not ready:
            raise ValueError("the pick-up/drop-off constraints contradict each other")
        nearest = min(ready, key=lambda s: cost(order[-1], s))
        order.append(nearest)
        remaining.remove(nearest)
    order += tail
    improved = True
    while improved:  # 2-opt over the movable middle of the order
        improved = False
        for i in range(1, len(order) - len(tail) - 1):
            for j in range(i + 1, len(order) - len(tail)):
                candidate = order[:i] + order[i : j + 1][::-1] + order[j + 1 :]
                if valid(candidate) and total(candidate) < total(order) - 1e-9:
                    order, improved = candidate, True
    return order
