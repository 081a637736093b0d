"""Google Maps simulator: geocoding, directions (optimised waypoints) and distance matrix.

Places come from seed data or, for any other address, from a hash of the address, so
the same address always lands on the same point inside a configurable bounding box.
Like Google, errors are HTTP 200 with ``status`` other than ``OK``.

The geometry the routing simulators share is in ``geometry`` (re-exported here for the
suites that import it from this module).
"""

from __future__ import annotations

import base64
import hashlib
import re
from itertools import pairwise
from typing import Any

from aiohttp import web

from interlock.errors import ConfigError
from interlock.simulators.base import Handler, Refused, Simulator, json_response
from interlock.simulators.geometry import (
    Point,
    bearing_deg,
    best_order,
    encode_polyline,
    haversine_m,
    road_leg,
)
from interlock.simulators.google_addresses import address_components

__all__ = [
    "GoogleMapsSimulator",
    "Point",
    "bearing_deg",
    "best_order",
    "encode_polyline",
    "haversine_m",
    "road_leg",
]

#: how much slower driving is in traffic, for ``duration_in_traffic``
TRAFFIC_FACTOR = 1.25


# -- the simulator ------------------------------------------------------------------------
#: default bounding box of hash-placed addresses (south, west, north, east)
DEFAULT_BOUNDS = (40.60, -74.05, 40.85, -73.85)
NO_KEY = (
    "You must use an API key to authenticate each request to Google Maps Platform APIs. "
    "For additional information, please refer to http://g.co/dev/maps-no-account"
)
BAD_KEY = "The provided API key is invalid. "
#: what each endpoint returns alongside a non-OK status
EMPTY: dict[str, dict[str, list[Any]]] = {
    "geocode": {"results": []},
    "directions": {"geocoded_waypoints": [], "routes": []},
    "distancematrix": {"destination_addresses": [], "origin_addresses": [], "rows": []},
}
MODES = ("driving", "walking", "bicycling", "transit")
MAX_WAYPOINTS = 25
MAX_DIMENSION = 25
MAX_ELEMENTS = 100
_LATLNG = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


#: the parameters each API documents that the simulator would not act on; a request with
#: one is refused as not simulated rather than answered as if it were absent
#: (Geocoding, Directions and Distance Matrix API references, "Optional parameters")
NOT_SIMULATED_PARAMS = {
    "geocode": frozenset(
        {"bounds", "language", "region", "result_type", "location_type", "extra_computations"}
    ),
    "directions": frozenset(
        {
            "alternatives",
            "avoid",
            "language",
            "region",
            "arrival_time",
            "transit_mode",
            "transit_routing_preference",
            "traffic_model",
        }
    ),
    "distancematrix": frozenset(
        {
            "avoid",
            "language",
            "region",
            "arrival_time",
            "transit_mode",
            "transit_routing_preference",
            "traffic_model",
        }
    ),
}


def _normal(address: str) -> str:
    return " ".join(address.lower().replace(",", " ").split())


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _distance_text(metres: float, imperial: bool) -> str:
    if imperial:
        miles = metres / 1609.344
        return f"{round(metres * 3.28084)} ft" if miles < 0.1 else f"{miles:.1f} mi"
    return f"{round(metres)} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def _duration_text(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    units = [("day", minutes // 1440), ("hour", minutes // 60 % 24), ("min", minutes % 60)]
    shown = [(name, value) for name, value in units if value][:2]
    return " ".join(f"{value} {name}{'s' if value > 1 else ''}" for name, value in shown)


def _measure(metres: float, seconds: float, imperial: bool) -> dict[str, Any]:
    return {
        "distance": {"text": _distance_text(metres, imperial), "value": round(metres)},
        "duration": {"text": _duration_text(seconds), "value": round(seconds)},
    }


def _where(place: dict[str, Any]) -> Point:
    location = place["geometry"]["location"]
    return location["lat"], location["lng"]


class GoogleMapsSimulator(Simulator):
    """Geocoding, Directions and Distance Matrix under ``/maps/api/*/json``, keyed by ``key=``."""

    name = "google"
    seed_keys = frozenset({"api_keys", "places", "bounds"})
    serves = "Geocoding (address, components, latlng, place_id), Directions and Distance Matrix"

    def reset_state(self) -> None:
        self.api_keys: set[str] | None = None  # None: any key starting "AIza" is valid
        self.bounds = DEFAULT_BOUNDS
        #: normalised address -> seeded result, or None for an address Google cannot find
        self.seeded: dict[str, dict[str, Any] | None] = {}
        #: place_id -> every result handed out so far, seeded or derived
        self.places: dict[str, dict[str, Any]] = {}

    def state(self) -> dict[str, Any]:
        return {"bounds": list(self.bounds), "places": list(self.places.values())}

    def seed_data(self, data: dict[str, Any]) -> None:
        if "api_keys" in data:
            self.api_keys = set(data["api_keys"])
        if "bounds" in data:
            b = data["bounds"]
            try:
                self.bounds = (
                    float(b["south"]),
                    float(b["west"]),
                    float(b["north"]),
                    float(b["east"]),
                )
            except (KeyError, TypeError, ValueError):
                raise ConfigError("bounds needs numeric south, west, north and east") from None
            if not (self.bounds[0] < self.bounds[2] and self.bounds[1] < self.bounds[3]):
                raise ConfigError("bounds must have south < north and west < east")
        for address, place in (data.get("places") or {}).items():
            if place is None:
                self.seeded[_normal(address)] = None
                continue
            try:
                lat, lng = float(place["lat"]), float(place["lng"])
            except (KeyError, TypeError, ValueError):
                raise ConfigError(f"place {address!r} needs numeric lat and lng") from None
            result = self._result(
                _normal(address),
                lat,
                lng,
                place.get("formatted_address", address),
                place_id=place.get("place_id"),
            )
            result["types"] = place.get("types", result["types"])
            if "address_components" in place:  # as seeded; else read from the address
                result["address_components"] = place["address_components"]
            self.seeded[_normal(address)] = result
            self.places[result["place_id"]] = result

    def authenticate(self, request: web.Request) -> web.Response | None:
        key = request.query.get("key", "")
        valid = key in self.api_keys if self.api_keys is not None else key.startswith("AIza")
        if key and valid:
            return None
        return self._status(request, "REQUEST_DENIED", BAD_KEY if key else NO_KEY)

    def error_response(self, status: int, message: str) -> web.Response:
        if status == 429:  # Google reports quota exhaustion in the body of a 200
            return json_response(
                {
                    "error_message": "You have exceeded your rate-limit for this API.",
                    "status": "OVER_QUERY_LIMIT",
                }
            )
        kind = {
            400: "INVALID_REQUEST",
            401: "REQUEST_DENIED",
            403: "REQUEST_DENIED",
            404: "NOT_FOUND",
        }.get(status, "UNKNOWN_ERROR")
        return json_response({"error_message": message, "status": kind}, status=status)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/maps/api/geocode/json", self._served(self._geocode)),
            web.get("/maps/api/directions/json", self._served(self._directions)),
            web.get("/maps/api/distancematrix/json", self._served(self._matrix)),
        ]

    @staticmethod
    def _served(handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            endpoint = request.path.removeprefix("/maps/api/").partition("/")[0]
            unserved = sorted(set(request.query) & NOT_SIMULATED_PARAMS[endpoint])
            if unserved:
                raise Refused(
                    501, message=f"not simulated: parameter {unserved[0]} of the {endpoint} API"
                )
            return await handler(request)

        return checked

    def _status(
        self, request: web.Request, status: str, message: str | None = None
    ) -> web.Response:
        endpoint = request.path.removeprefix("/maps/api/").partition("/")[0]
        body: dict[str, Any] = dict(EMPTY.get(endpoint, {}))
        if message:
            body["error_message"] = message
        return json_response({**body, "status": status})

    # -- places -------------------------------------------------------------------------
    def _result(
        self, key: str, lat: float, lng: float, formatted: str, place_id: str | None = None
    ) -> dict[str, Any]:
        pid = place_id or "ChIJ" + base64.urlsafe_b64encode(_digest("place:" + key))[:23].decode()
        return {
            "address_components": address_components(formatted),
            "formatted_address": formatted,
            "geometry": {
                "location": {"lat": lat, "lng": lng},
                "location_type": "ROOFTOP",
                "viewport": {
                    "northeast": {"lat": lat + 0.00135, "lng": lng + 0.00135},
                    "southwest": {"lat": lat - 0.00135, "lng": lng - 0.00135},
                },
            },
            "place_id": pid,
            "types": ["street_address"],
        }

    def _geocode_address(self, address: str) -> dict[str, Any] | None:
        key = _normal(address)
        if key in self.seeded:
            return self.seeded[key]
        digest = _digest(key)
        south, west, north, east = self.bounds
        lat = south + (north - south) * int.from_bytes(digest[:8]) / 2**64
        lng = west + (east - west) * int.from_bytes(digest[8:16]) / 2**64
        result = self._result(key, round(lat, 7), round(lng, 7), address.strip())
        self.places[result["place_id"]] = result
        return result

    def _nearest(self, point: Point) -> dict[str, Any]:
        near = [p for p in self.places.values() if haversine_m(point, _where(p)) <= 50]
        if near:
            return min(near, key=lambda p: haversine_m(point, _where(p)))
        lat, lng = point
        result = self._result(f"{lat:.6f},{lng:.6f}", lat, lng, "Unnamed Road")
        result["types"] = ["route"]
        result["geometry"]["location_type"] = "GEOMETRIC_CENTER"
        return result

    def _locate(self, text: str) -> tuple[Point, dict[str, Any]] | None:
        """A directions/matrix location: ``lat,lng``, ``place_id:ID`` or an address."""
        text = text.removeprefix("via:")
        if match := _LATLNG.match(text):
            point = (float(match.group(1)), float(match.group(2)))
            return point, self._nearest(point)
        if text.startswith("place_id:"):
            place = self.places.get(text.removeprefix("place_id:"))
        else:
            place = self._geocode_address(text) if text.strip() else None
        return None if place is None else (_where(place), place)

    # -- handlers -----------------------------------------------------------------------
    async def _geocode(self, request: web.Request) -> web.Response:
        q = request.query
        if "latlng" in q:
            match = _LATLNG.match(q["latlng"])
            if not match or abs(float(match.group(1))) > 90 or abs(float(match.group(2))) > 180:
                return self._status(
                    request, "INVALID_REQUEST", "Invalid request. Invalid 'latlng' parameter."
                )
            result = self._nearest((float(match.group(1)), float(match.group(2))))
            return json_response({"results": [result], "status": "OK"})
        if "place_id" in q:
            place = self.places.get(q["place_id"])
            if place is None:
                return self._status(request, "NOT_FOUND")
            return json_response({"results": [place], "status": "OK"})
        address = " ".join(filter(None, [q.get("address", ""), q.get("components", "")]))
        if not address.strip():
            return self._status(
                request,
                "INVALID_REQUEST",
                "Invalid request. Missing the "
                "'address', 'components', 'latlng' or 'place_id' parameter.",
            )
        place = self._geocode_address(address)
        if place is None:
            return self._status(request, "ZERO_RESULTS")
        return json_response({"results": [place], "status": "OK"})

    def _mode(self, request: web.Request) -> str | None:
        mode = request.query.get("mode", "driving")
        return mode if mode in MODES else None

    async def _directions(self, request: web.Request) -> web.Response:
        q = request.query
        for required in ("origin", "destination"):
            if not q.get(required):
                return self._status(
                    request,
                    "INVALID_REQUEST",
                    f"Invalid request. Missing the '{required}' parameter.",
                )
        mode = self._mode(request)
        if mode is None:
            return self._status(
                request, "INVALID_REQUEST", "Invalid request. Invalid 'mode' parameter."
            )
        stops = [s for s in q.get("waypoints", "").split("|") if s]
        optimize = bool(stops) and stops[0] == "optimize:true"
        stops = stops[1:] if optimize else stops
        if len(stops) > MAX_WAYPOINTS:
            return self._status(request, "MAX_WAYPOINTS_EXCEEDED")
        located = [self._locate(text) for text in [q["origin"], *stops, q["destination"]]]
        geocoded = [
            {"geocoder_status": "ZERO_RESULTS"}
            if found is None
            else {
                "geocoder_status": "OK",
                "place_id": found[1]["place_id"],
                "types": found[1]["types"],
            }
            for found in located
        ]
        if any(found is None for found in located):
            return json_response(
                {"geocoded_waypoints": geocoded, "routes": [], "status": "NOT_FOUND"}
            )
        points = [found[0] for found in located if found is not None]
        places = [found[1] for found in located if found is not None]
        order = list(range(len(points)))
        if optimize and len(stops) > 1:
            order = best_order(
                len(points), lambda i, j: haversine_m(points[i], points[j]), last_fixed=True
            )
        imperial = q.get("units") == "imperial"
        legs = [
            self._leg(places[a], places[b], mode, imperial, "departure_time" in q)
            for a, b in pairwise(order)
        ]
        lats, lngs = [p[0] for p in points], [p[1] for p in points]
        route = {
            "bounds": {
                "northeast": {"lat": max(lats), "lng": max(lngs)},
                "southwest": {"lat": min(lats), "lng": min(lngs)},
            },
            "copyrights": "Map data ©Interlock simulator",
            "legs": legs,
            "overview_polyline": {"points": encode_polyline(points[i] for i in order)},
            "summary": "Simulated route",
            "warnings": [],
            "waypoint_order": [i - 1 for i in order[1:-1]],
        }
        return json_response({"geocoded_waypoints": geocoded, "routes": [route], "status": "OK"})

    def _leg(
        self, start: dict[str, Any], end: dict[str, Any], mode: str, imperial: bool, traffic: bool
    ) -> dict[str, Any]:
        a, b = _where(start), _where(end)
        metres, seconds = road_leg(a, b, mode)
        measure = _measure(metres, seconds, imperial)
        step = {
            **measure,
            "start_location": start["geometry"]["location"],
            "end_location": end["geometry"]["location"],
            "html_instructions": f"Head to <b>{end['formatted_address']}</b>",
            "polyline": {"points": encode_polyline([a, b])},
            "travel_mode": mode.upper(),
        }
        leg = {
            **measure,
            "start_address": start["formatted_address"],
            "end_address": end["formatted_address"],
            "start_location": start["geometry"]["location"],
            "end_location": end["geometry"]["location"],
            "steps": [step],
            "traffic_speed_entry": [],
            "via_waypoint": [],
        }
        if traffic and mode == "driving":
            leg["duration_in_traffic"] = _measure(metres, seconds * TRAFFIC_FACTOR, imperial)[
                "duration"
            ]
        return leg

    async def _matrix(self, request: web.Request) -> web.Response:
        q = request.query
        origins = [s for s in q.get("origins", "").split("|") if s]
        destinations = [s for s in q.get("destinations", "").split("|") if s]
        if not origins or not destinations:
            return self._status(
                request,
                "INVALID_REQUEST",
                "Invalid request. Missing the "
                f"'{'origins' if not origins else 'destinations'}' parameter.",
            )
        mode = self._mode(request)
        if mode is None:
            return self._status(
                request, "INVALID_REQUEST", "Invalid request. Invalid 'mode' parameter."
            )
        if max(len(origins), len(destinations)) > MAX_DIMENSION:
            return self._status(request, "MAX_DIMENSIONS_EXCEEDED")
        if len(origins) * len(destinations) > MAX_ELEMENTS:
            return self._status(request, "MAX_ELEMENTS_EXCEEDED")
        froms = [self._locate(text) for text in origins]
        tos = [self._locate(text) for text in destinations]
        imperial, traffic = q.get("units") == "imperial", "departure_time" in q
        rows = []
        for src in froms:
            elements = []
            for dst in tos:
                if src is None or dst is None:
                    elements.append({"status": "NOT_FOUND"})
                    continue
                metres, seconds = road_leg(src[0], dst[0], mode)
                element = {**_measure(metres, seconds, imperial), "status": "OK"}
                if traffic and mode == "driving":
                    element["duration_in_traffic"] = _measure(
                        metres, seconds * TRAFFIC_FACTOR, imperial
                    )["duration"]
                elements.append(element)
            rows.append({"elements": elements})
        return json_response(
            {
                "destination_addresses": [
                    "" if d is None else d[1]["formatted_address"] for d in tos
                ],
                "origin_addresses": ["" if o is None else o[1]["formatted_address"] for o in froms],
                "rows": rows,
                "status": "OK",
            }
        )
