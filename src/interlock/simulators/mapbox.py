"""Mapbox simulator: Directions v5 and Optimization v1, keyed by the ``access_token`` parameter.

Routes run in straight lines between the stops, lengthened by a detour factor; trip
optimisation solves the visiting order for real (exactly for small trips), honouring
``roundtrip``, ``source``, ``destination`` and pick-up/drop-off ``distributions``.
"""

from __future__ import annotations

import time
from itertools import pairwise
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Refused, Simulator, json_response
from interlock.simulators.geometry import Point, bearing_deg, best_order, encode_polyline, road_leg

__all__ = ["MapboxSimulator"]

PROFILES = {
    "driving": "auto",
    "driving-traffic": "auto",
    "walking": "pedestrian",
    "cycling": "cyclability",
}  # profile -> weight_name
GEOMETRIES = ("polyline", "polyline6", "geojson")
OVERVIEWS = ("simplified", "full", "false")
ANNOTATIONS = ("duration", "distance", "speed", "congestion")
#: query parameters each API understands; any other one is InvalidInput
COMMON = {
    "access_token",
    "geometries",
    "overview",
    "steps",
    "annotations",
    "language",
    "radiuses",
    "bearings",
    "approaches",
}
DIRECTIONS_PARAMS = COMMON | {
    "alternatives",
    "continue_straight",
    "waypoints",
    "waypoint_names",
    "waypoint_targets",
    "voice_instructions",
    "banner_instructions",
    "roundabout_exits",
    "exclude",
    "depart_at",
    "arrive_by",
}
TRIPS_PARAMS = COMMON | {"roundtrip", "source", "destination", "distributions"}
MAX_DIRECTIONS = 25
MAX_TRIP = 12
#: the published default limit of both APIs, sent as X-Rate-Limit-* headers
RATE_LIMIT_PER_MINUTE = 300


class InvalidInput(Refused):
    """A request Mapbox refuses with 422 and a ``code`` (InvalidInput unless said)."""

    def __init__(self, message: str, code: str = "InvalidInput") -> None:
        super().__init__(422, {"code": code, "message": message}, message=message)
        self.code = code


def _flag(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    if value not in ("true", "false"):
        raise InvalidInput(f"Expected true or false, got {value!r}")
    return value == "true"


def _choice(params: Any, name: str, allowed: tuple[str, ...]) -> str:
    value: str = params.get(name, allowed[0])
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}")
    return value


def _coordinates(text: str, limit: int) -> list[Point]:
    """``lon,lat;lon,lat[.json]`` → [(lat, lng), ...], checked as Mapbox checks them."""
    points = []
    for pair in text.removesuffix(".json").split(";"):
        try:
            lon, lat = (float(part) for part in pair.split(","))
        except ValueError:
            raise InvalidInput(f"Coordinate is invalid: {pair}") from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InvalidInput(f"Coordinate is invalid: {pair}")
        points.append((lat, lon))
    if len(points) < 2:
        raise InvalidInput("At least two coordinates must be provided")
    if len(points) > limit:
        raise InvalidInput(f"Too many coordinates; maximum number of coordinates is {limit}.")
    return points


class MapboxSimulator(Simulator):
    """``/directions/v5/mapbox/{profile}/{coords}`` and ``/optimized-trips/v1/...``."""

    name = "mapbox"
    seed_keys = frozenset({"access_tokens"})
    serves = "Directions v5 and Optimization v1 (optimized-trips)"

    def reset_state(self) -> None:
        self.access_tokens: set[str] | None = None  # None: any pk./sk./tk. token is valid

    def seed_data(self, data: dict[str, Any]) -> None:
        if "access_tokens" not in data:
            raise ConfigError("the mapbox simulator takes only access_tokens as seed data")
        self.access_tokens = set(data["access_tokens"])

    def authenticate(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if not token:
            return json_response({"message": "Not Authorized - No Token"}, status=401)
        if self.access_tokens is not None:
            valid = token in self.access_tokens
        else:
            valid = token.startswith(("pk.", "sk.", "tk."))
        if valid:
            return None
        return json_response({"message": "Not Authorized - Invalid Token"}, status=401)

    def error_response(self, status: int, message: str) -> web.Response:
        if status == 422:
            return json_response({"code": "InvalidInput", "message": message}, status=422)
        shown = {404: "Not Found", 429: "Too Many Requests"}.get(status, message)
        return json_response({"message": shown}, status=status)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/directions/v5/{owner}/{profile}/{coordinates}", self._directions),
            web.get("/optimized-trips/v1/{owner}/{profile}/{coordinates}", self._trips),
        ]

    # -- handlers -----------------------------------------------------------------------
    async def _directions(self, request: web.Request) -> web.Response:
        return self._answer(request, MAX_DIRECTIONS, DIRECTIONS_PARAMS, self._route_body)

    async def _trips(self, request: web.Request) -> web.Response:
        return self._answer(request, MAX_TRIP, TRIPS_PARAMS, self._trip_body)

    def _answer(
        self, request: web.Request, limit: int, known: set[str], build: Any
    ) -> web.Response:
        profile = request.match_info["profile"]
        if request.match_info["owner"] != "mapbox" or profile not in PROFILES:
            return json_response(
                {"code": "ProfileNotFound", "message": "Profile not found"}, status=404
            )
        unknown = sorted(set(request.query) - known)
        if unknown:
            raise InvalidInput(f"Unsupported query parameter: {unknown[0]}")
        points = _coordinates(request.match_info["coordinates"], limit)
        body: dict[str, Any] = build(points, profile, request.query)
        reset = int(time.time()) + 60
        return json_response(
            {**body, "code": "Ok"},
            headers={
                "X-Rate-Limit-Interval": "60",
                "X-Rate-Limit-Limit": str(RATE_LIMIT_PER_MINUTE),
                "X-Rate-Limit-Reset": str(reset),
            },
        )

    def _route_body(self, points: list[Point], profile: str, params: Any) -> dict[str, Any]:
        route = self._route(points, list(range(len(points))), profile, params, roundtrip=False)
        return {
            "routes": [route],
            "waypoints": [self._waypoint(p) for p in points],
            "uuid": f"sim{self.rng.getrandbits(64):016x}",
        }

    def _trip_body(self, points: list[Point], profile: str, params: Any) -> dict[str, Any]:
        roundtrip = _flag(params.get("roundtrip"), True)
        source = _choice(params, "source", ("any", "first"))
        destination = _choice(params, "destination", ("any", "last"))
        if not roundtrip and (source, destination) != ("first", "last"):
            # Mapbox, like OSRM, solves one-way trips only between a fixed first and last stop
            raise InvalidInput("This request is not supported", code="NotImplemented")
        before = self._distributions(params.get("distributions", ""), len(points))
        try:
            order = best_order(
                len(points),
                lambda i, j: road_leg(points[i], points[j], profile)[1],
                last_fixed=destination == "last",
                roundtrip=roundtrip,
                before=before,
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        trip = self._route(points, order, profile, params, roundtrip=roundtrip)
        waypoints = [
            {**self._waypoint(p), "waypoint_index": order.index(i), "trips_index": 0}
            for i, p in enumerate(points)
        ]
        return {"trips": [trip], "waypoints": waypoints}

    @staticmethod
    def _distributions(text: str, n: int) -> list[tuple[int, int]]:
        pairs = []
        for item in filter(None, text.split(";")):
            try:
                pickup, dropoff = (int(part) for part in item.split(","))
            except ValueError:
                raise InvalidInput(f"Distribution is invalid: {item}") from None
            if not (0 <= pickup < n and 0 <= dropoff < n) or pickup == dropoff:
                raise InvalidInput(f"Distribution is invalid: {item}")
            pairs.append((pickup, dropoff))
        return pairs

    # -- shapes -------------------------------------------------------------------------
    @staticmethod
    def _waypoint(point: Point) -> dict[str, Any]:
        return {"distance": 0.0, "name": "", "location": [point[1], point[0]]}

    @staticmethod
    def _geometry(points: list[Point], kind: str) -> Any:
        if kind == "geojson":
            return {"type": "LineString", "coordinates": [[lng, lat] for lat, lng in points]}
        return encode_polyline(points, 6 if kind == "polyline6" else 5)

    def _route(
        self, points: list[Point], order: list[int], profile: str, params: Any, *, roundtrip: bool
    ) -> dict[str, Any]:
        geometries = _choice(params, "geometries", GEOMETRIES)
        overview = _choice(params, "overview", OVERVIEWS)
        steps = _flag(params.get("steps"), False)
        annotations = [a for a in params.get("annotations", "").split(",") if a]
        if any(a not in ANNOTATIONS for a in annotations):
            raise InvalidInput(f"annotations must be among {', '.join(ANNOTATIONS)}")
        stops = [points[i] for i in order] + ([points[order[0]]] if roundtrip else [])
        legs = []
        for a, b in pairwise(stops):
            metres, seconds = road_leg(a, b, profile)
            leg: dict[str, Any] = {
                "distance": round(metres, 1),
                "duration": round(seconds, 1),
                "weight": round(seconds, 1),
                "summary": "",
                "via_waypoints": [],
                "steps": self._steps(a, b, metres, seconds, profile, geometries) if steps else [],
            }
            if annotations:
                per_segment = {
                    "distance": [round(metres, 1)],
                    "duration": [round(seconds, 1)],
                    "speed": [round(metres / seconds, 1) if seconds else 0.0],
                    "congestion": ["unknown"],
                }
                leg["annotation"] = {name: per_segment[name] for name in annotations}
            legs.append(leg)
        route: dict[str, Any] = {
            "distance": round(sum(leg["distance"] for leg in legs), 1),
            "duration": round(sum(leg["duration"] for leg in legs), 1),
            "weight": round(sum(leg["weight"] for leg in legs), 1),
            "weight_name": PROFILES[profile],
            "legs": legs,
        }
        if overview != "false":
            route["geometry"] = self._geometry(stops, geometries)
        return route

    def _steps(
        self, a: Point, b: Point, metres: float, seconds: float, profile: str, geometries: str
    ) -> list[dict[str, Any]]:
        mode = "driving" if profile.startswith("driving") else profile
        heading = round(bearing_deg(a, b))

        def step(
            kind: str,
            where: Point,
            line: list[Point],
            length: float,
            time_s: float,
            instruction: str,
        ) -> dict[str, Any]:
            return {
                "distance": round(length, 1),
                "duration": round(time_s, 1),
                "weight": round(time_s, 1),
                "name": "",
                "mode": mode,
                "driving_side": "right",
                "intersections": [],
                "geometry": self._geometry(line, geometries),
                "maneuver": {
                    "type": kind,
                    "location": [where[1], where[0]],
                    "bearing_before": 0 if kind == "depart" else heading,
                    "bearing_after": heading if kind == "depart" else 0,
                    "instruction": instruction,
                },
            }

        return [
            step("depart", a, [a, b], metres, seconds, "Head toward the next stop"),
            step("arrive", b, [b, b], 0.0, 0.0, "You have arrived at your destination"),
        ]
