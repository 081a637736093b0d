"""Samsara simulator: vehicles and their stats, with vehicles that drive along routes.

A vehicle seeded with a ``route`` (``[[lat, lng], ...]``) and ``speed_mph`` leaves its
first waypoint when seeded (or at ``departed_at``) and its position is interpolated
along the route from the simulator's clock. Tests own that clock through seed data:
``{"clock": {"now": "2024-05-01T08:00:00Z"}}`` freezes it, ``{"clock": {"advance_s": 60}}``
moves it on. The snapshot, feed and history forms of ``/fleet/vehicles/stats`` report
``gps``, ``engineStates`` and ``obdOdometerMeters``; a moving vehicle reports a GPS
point every ``gps_interval_s`` (5 s) of simulated time.
"""

from __future__ import annotations

import base64
import bisect
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Refused, Simulator, json_response
from interlock.simulators.clock import SimClock
from interlock.simulators.geometry import Point, bearing_deg, haversine_m

__all__ = ["SamsaraSimulator"]

MPS_PER_MPH = 0.44704
MAX_LIMIT = 512
#: GPS points in one page of the feed or history
MAX_POINTS = 512
MAX_TYPES = 3
#: stat type (query) -> key in a snapshot (singular, as Samsara names them)
SNAPSHOT_KEYS = {
    "gps": "gps",
    "engineStates": "engineState",
    "obdOdometerMeters": "obdOdometerMeters",
}
#: seed keys that drive the simulation rather than describe the vehicle
MOTION_KEYS = {"route", "location", "speed_mph", "loop", "departed_at", "odometer_meters"}


def _bad_request(message: str) -> Refused:
    """A request Samsara refuses with 400, in its error shape."""
    return Refused(400, message=message)


def _rfc3339(t: float) -> str:
    text = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
    return text.replace(".000+00:00", "Z").replace("+00:00", "Z")


def _instant(value: Any, what: str) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise _bad_request(f"Invalid value for {what}: {value!r} is not an RFC 3339 time") from None


def _cursor(*state: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _uncursor(text: str, kind: str) -> list[Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not (
            isinstance(state, list)
            and len(state) == 2
            and state[0] == kind
            and isinstance(state[1], int | float)
        ):
            raise ValueError(text)
    except ValueError:
        raise _bad_request(f"Invalid value for parameter 'after': {text}") from None
    return state


def _point(value: Any) -> Point:
    if isinstance(value, dict):
        return float(value["lat"]), float(value["lng"])
    lat, lng = value
    return float(lat), float(lng)


def _location(gps: dict[str, Any]) -> dict[str, Any]:
    """A stats ``gps`` point in the Vehicle Locations API's shape."""
    return {
        "time": gps["time"],
        "latitude": gps["latitude"],
        "longitude": gps["longitude"],
        "heading": gps["headingDegrees"],
        "speed": gps["speedMilesPerHour"],
        "isEcuSpeed": gps["isEcuSpeed"],
    }


def _as_locations(body: dict[str, Any]) -> dict[str, Any]:
    data = [
        {"id": e["id"], "name": e["name"], "locations": [_location(g) for g in e.get("gps", [])]}
        for e in body["data"]
    ]
    return {**body, "data": data}


@dataclass
class Vehicle:
    """One vehicle: what the API shows of it, and how it moves."""

    info: dict[str, Any]
    route: list[Point]
    speed_mps: float
    departed: float
    loop: bool = False
    odometer_m: float = 0.0
    cumulative: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cumulative = [0.0]
        for a, b in pairwise(self.route):
            self.cumulative.append(self.cumulative[-1] + haversine_m(a, b))

    @property
    def length(self) -> float:
        return self.cumulative[-1]

    @property
    def arrival(self) -> float:
        """When the vehicle stops for good (never, on a loop)."""
        if self.speed_mps <= 0 or self.length == 0:
            return self.departed
        return math.inf if self.loop else self.departed + self.length / self.speed_mps

    def moving(self, t: float) -> bool:
        return self.departed <= t < self.arrival

    def travelled(self, t: float) -> float:
        """Metres driven since departure (odometer distance, loops included)."""
        return max(0.0, min(t, self.arrival) - self.departed) * self.speed_mps

    def gps(self, t: float) -> dict[str, Any]:
        along = (
            self.travelled(t) % self.length
            if self.loop and self.length
            else min(self.travelled(t), self.length)
        )
        k = max(0, min(bisect.bisect_right(self.cumulative, along) - 1, len(self.route) - 2))
        if len(self.route) == 1:
            (lat, lng), heading = self.route[0], 0.0
        else:
            a, b = self.route[k], self.route[k + 1]
            span = self.cumulative[k + 1] - self.cumulative[k]
            f = (along - self.cumulative[k]) / span if span else 1.0
            lat, lng = a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
            heading = bearing_deg(a, b) if span else 0.0
        speed = self.speed_mps / MPS_PER_MPH if self.moving(t) else 0.0
        return {
            "time": _rfc3339(t),
            "latitude": round(lat, 7),
            "longitude": round(lng, 7),
            "headingDegrees": round(heading),
            "speedMilesPerHour": round(speed, 1),
            "isEcuSpeed": False,
        }

    def stat(self, kind: str, t: float) -> dict[str, Any]:
        if kind == "gps":
            return self.gps(t)
        if kind == "engineStates":
            on = self.moving(t)
            since = self.departed if on else (self.arrival if t >= self.arrival else t)
            return {"time": _rfc3339(since), "value": "On" if on else "Off"}
        return {"time": _rfc3339(t), "value": round(self.odometer_m + self.travelled(t))}

    def reports(self, lo: float, hi: float, interval: float) -> list[float]:
        """Times in (lo, hi] at which the vehicle reported: departure, every interval while
        moving, and arrival."""
        end = min(hi, self.arrival)
        start = max(lo, self.departed)
        times = {t for t in (self.departed, self.arrival) if lo < t <= hi and math.isfinite(t)}
        k = math.floor(start / interval) + 1
        while k * interval <= end:
            times.add(k * interval)
            k += 1
        return sorted(times)

    def events(self, kind: str, times: list[float], lo: float, hi: float) -> list[dict[str, Any]]:
        if kind != "engineStates":
            return [self.stat(kind, t) for t in times]
        changes = [(self.departed, "On"), (self.arrival, "Off")] if self.speed_mps > 0 else []
        return [{"time": _rfc3339(t), "value": v} for t, v in changes if lo < t <= hi]


class SamsaraSimulator(Simulator):
    """``/fleet/vehicles`` and ``/fleet/vehicles/stats[/feed|/history]`` with bearer tokens."""

    name = "samsara"
    seed_keys = frozenset({"api_tokens", "vehicles", "clock", "gps_interval_s"})
    serves = "vehicles (list, get), vehicle stats and vehicle locations with feed and history"

    def reset_state(self) -> None:
        self.api_tokens: set[str] | None = None  # None: any non-empty token is valid
        self.vehicles: dict[str, Vehicle] = {}
        self.clock = SimClock()
        self.gps_interval_s = 5.0

    def now(self) -> float:
        """The simulated time: the real clock, or a frozen instant, plus any advance."""
        return self.clock.now()

    def state(self) -> dict[str, Any]:
        t = self.now()
        return {
            "now": _rfc3339(t),
            "vehicles": [{**v.info, "gps": v.gps(t)} for v in self.vehicles.values()],
        }

    def seed_data(self, data: dict[str, Any]) -> None:
        try:
            self._load(data)
        except (Refused, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"bad samsara seed data: {exc}") from None

    def _load(self, data: dict[str, Any]) -> None:
        if "api_tokens" in data:
            self.api_tokens = set(data["api_tokens"])
        self.clock.seed(data.get("clock") or {})
        self.gps_interval_s = float(data.get("gps_interval_s", self.gps_interval_s))
        if self.gps_interval_s <= 0:
            raise ValueError("gps_interval_s must be positive")
        for spec in data.get("vehicles", []):
            vehicle_id = str(spec.get("id") or 281474976710656 + len(self.vehicles))
            if not (spec.get("route") or spec.get("location")):
                raise ValueError(f"vehicle {vehicle_id} needs a route or a location")
            route = [_point(p) for p in spec.get("route") or [spec["location"]]]
            departed = (
                _instant(spec["departed_at"], "departed_at")
                if spec.get("departed_at")
                else self.now()
            )
            stamp = _rfc3339(self.now())
            info = {
                "id": vehicle_id,
                "name": spec.get("name", f"Vehicle {vehicle_id}"),
                "externalIds": {},
                "tags": [],
                "createdAtTime": stamp,
                "updatedAtTime": stamp,
                **{k: v for k, v in spec.items() if k not in MOTION_KEYS and k != "id"},
            }
            self.vehicles[vehicle_id] = Vehicle(
                info,
                route,
                float(spec.get("speed_mph", 0)) * MPS_PER_MPH,
                departed,
                bool(spec.get("loop", False)),
                float(spec.get("odometer_meters", 0)),
            )

    def error_response(self, status: int, message: str) -> web.Response:
        return json_response(
            {"message": message, "requestId": f"{self.rng.getrandbits(64):016x}"}, status=status
        )

    def authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        valid = token in self.api_tokens if self.api_tokens is not None else bool(token)
        return None if valid else self.error_response(401, "Unauthorized")

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/fleet/vehicles", self._handle(self._list)),
            web.get("/fleet/vehicles/stats", self._handle(self._snapshot)),
            web.get("/fleet/vehicles/stats/feed", self._handle(self._feed)),
            web.get("/fleet/vehicles/stats/history", self._handle(self._history)),
            # the older Vehicle Locations API (vehicle_locations in the SDK): GPS alone
            web.get("/fleet/vehicles/locations", self._handle(self._locations)),
            web.get("/fleet/vehicles/locations/feed", self._handle(self._locations_feed)),
            web.get("/fleet/vehicles/locations/history", self._handle(self._locations_history)),
            web.get("/fleet/vehicles/{id}", self._handle(self._get)),
        ]

    def _handle(self, method: Any) -> Any:
        async def handle(request: web.Request) -> web.Response:
            body: dict[str, Any] = method(request)
            if body.get("data") is None:
                return self.error_response(404, "Object not found")
            return json_response(body)

        return handle

    # -- query parameters ---------------------------------------------------------------
    @staticmethod
    def _listed(request: web.Request, name: str) -> list[str]:
        """A list parameter, sent comma-separated or repeated (httpx repeats lists)."""
        return [
            item for value in request.query.getall(name, []) for item in value.split(",") if item
        ]

    def _selected(self, request: web.Request) -> list[Vehicle]:
        ids, tags = set(self._listed(request, "vehicleIds")), set(self._listed(request, "tagIds"))
        return [
            v
            for _, v in sorted(self.vehicles.items())
            if (not ids or v.info["id"] in ids)
            and (not tags or tags & {str(t.get("id")) for t in v.info["tags"]})
        ]

    def _types(self, request: web.Request) -> list[str]:
        types = self._listed(request, "types")
        if not types:
            raise _bad_request("Missing required parameter: types")
        if len(types) > MAX_TYPES:
            raise _bad_request(f"At most {MAX_TYPES} stat types may be requested at once")
        unknown = [t for t in types if t not in SNAPSHOT_KEYS]
        if unknown:
            raise _bad_request(
                f"Invalid stat type(s): {', '.join(unknown)} (the simulator "
                f"serves {', '.join(SNAPSHOT_KEYS)})"
            )
        return types

    @staticmethod
    def _page(
        items: list[Any], request: web.Request, limit: int
    ) -> tuple[list[Any], dict[str, Any]]:
        start = (
            int(_uncursor(request.query["after"], "page")[1]) if request.query.get("after") else 0
        )
        page, more = items[start : start + limit], start + limit < len(items)
        return page, {
            "endCursor": _cursor("page", start + limit) if more else "",
            "hasNextPage": more,
        }

    # -- handlers -----------------------------------------------------------------------
    def _list(self, request: web.Request) -> dict[str, Any]:
        try:
            limit = int(request.query.get("limit", MAX_LIMIT))
        except ValueError:
            raise _bad_request("Invalid value for parameter 'limit'") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise _bad_request(f"limit must be between 1 and {MAX_LIMIT}")
        page, pagination = self._page(self._selected(request), request, limit)
        return {"data": [v.info for v in page], "pagination": pagination}

    def _get(self, request: web.Request) -> dict[str, Any]:
        key = request.match_info["id"]
        name, _, value = key.partition(":")
        for vehicle in self.vehicles.values():
            if vehicle.info["id"] == key or (
                value and vehicle.info["externalIds"].get(name) == value
            ):
                return {"data": vehicle.info}
        return {"data": None}

    def _snapshot(self, request: web.Request, gps_only: bool = False) -> dict[str, Any]:
        types = ["gps"] if gps_only else self._types(request)
        t = _instant(request.query["time"], "time") if request.query.get("time") else self.now()
        page, pagination = self._page(self._selected(request), request, MAX_LIMIT)
        data = [
            {
                "id": v.info["id"],
                "name": v.info["name"],
                "externalIds": v.info["externalIds"],
                **{SNAPSHOT_KEYS[kind]: v.stat(kind, t) for kind in types},
            }
            for v in page
        ]
        return {"data": data, "pagination": pagination}

    def _feed(self, request: web.Request, gps_only: bool = False) -> dict[str, Any]:
        types = ["gps"] if gps_only else self._types(request)
        now, vehicles = self.now(), self._selected(request)
        if not request.query.get("after"):  # the first call: the latest of everything
            data = [
                {
                    "id": v.info["id"],
                    "name": v.info["name"],
                    **{kind: [v.stat(kind, now)] for kind in types},
                }
                for v in vehicles
            ]
            return {
                "data": data,
                "pagination": {"endCursor": _cursor("feed", now), "hasNextPage": False},
            }
        since = float(_uncursor(request.query["after"], "feed")[1])
        until = min(now, since + MAX_POINTS * self.gps_interval_s)
        data = [entry for v in vehicles if (entry := self._events(v, types, since, until))]
        return {
            "data": data,
            "pagination": {"endCursor": _cursor("feed", until), "hasNextPage": until < now},
        }

    def _history(self, request: web.Request, gps_only: bool = False) -> dict[str, Any]:
        types = ["gps"] if gps_only else self._types(request)
        for required in ("startTime", "endTime"):
            if not request.query.get(required):
                raise _bad_request(f"Missing required parameter: {required}")
        start = _instant(request.query["startTime"], "startTime")
        end = min(_instant(request.query["endTime"], "endTime"), self.now())
        if start > end:
            raise _bad_request("startTime must be before endTime")
        vehicles = self._selected(request)
        first = (
            int(_uncursor(request.query["after"], "history")[1])
            if request.query.get("after")
            else 0
        )
        data, points, k = [], 0, first
        while k < len(vehicles) and (points < MAX_POINTS or k == first):
            entry = self._events(vehicles[k], types, start - 1e-6, end)
            points += len(entry.get("gps", []))
            if entry:
                data.append(entry)
            k += 1
        more = k < len(vehicles)
        return {
            "data": data,
            "pagination": {"endCursor": _cursor("history", k) if more else "", "hasNextPage": more},
        }

    def _locations(self, request: web.Request) -> dict[str, Any]:
        body = self._snapshot(request, gps_only=True)
        data = [
            {"id": e["id"], "name": e["name"], "location": _location(e["gps"])}
            for e in body["data"]
        ]
        return {**body, "data": data}

    def _locations_feed(self, request: web.Request) -> dict[str, Any]:
        return _as_locations(self._feed(request, gps_only=True))

    def _locations_history(self, request: web.Request) -> dict[str, Any]:
        return _as_locations(self._history(request, gps_only=True))

    def _events(self, vehicle: Vehicle, types: list[str], lo: float, hi: float) -> dict[str, Any]:
        times = vehicle.reports(lo, hi, self.gps_interval_s)
        stats = {kind: events for kind in types if (events := vehicle.events(kind, times, lo, hi))}
        return {"id": vehicle.info["id"], "name": vehicle.info["name"], **stats} if stats else {}
