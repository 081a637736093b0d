"""Maps: Mapbox Optimization and Directions over plain HTTP, Google Maps through ``googlemaps``.

Both implement ``wms.domain.operations.routing.Optimizer``; Google also geocodes addresses. The
mapbox SDK has no Optimization API and builds only https URLs, so Mapbox is called with
``requests``. Neither client retries on its own: ``ExternalService`` does, and route
planning falls back to the next provider, so a retry inside the SDK would only add delay.

Both keys rotate (``wms.integrations.keys``): the newest key is used first, and a key the
provider does not know (Mapbox 401, Google REQUEST_DENIED) gives way to the one it replaces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import googlemaps  # type: ignore[import-untyped]
import requests

from wms.domain.operations.routing import Leg, Point, Trip
from wms.errors import UpstreamUnavailable
from wms.integrations import ExternalService, external_service
from wms.integrations.keys import KeyedClients, KeyRing, fingerprint
from wms.integrations.resilience import Permanent, Transient
from wms.settings import Settings

__all__ = ["GoogleMaps", "Mapbox"]

log = logging.getLogger("wms.integrations.maps")
T = TypeVar("T")


def _by_status(service: str, status: int, message: str) -> Exception:
    text = f"{service} answered {status}: {message}"
    return Transient(text) if status == 429 or status >= 500 else Permanent(text)


def _parsed(service: str, parse: Callable[[], T]) -> T:
    """Read an answer; a body without the promised fields is the service's fault."""
    try:
        return parse()
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise Permanent(f"{service} sent an unexpected answer ({exc!r})") from None


def _message(response: requests.Response) -> str:
    """Mapbox's error message, or the start of whatever else came back (a proxy's page)."""
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


class _TokenRefused(Exception):
    """Mapbox answered 401: it does not know the token, and did nothing."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__("mapbox refused the access token")
        self.response = response


def _coordinates(points: Sequence[Point]) -> str:
    return ";".join(f"{lng:.6f},{lat:.6f}" for lat, lng in points)


class Mapbox:
    """Optimization v1 (at most 12 coordinates) and Directions v5 (at most 25)."""

    name = "mapbox"
    max_trip_stops = 11
    max_route_points = 25

    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        self.service: ExternalService = external_service("mapbox", settings)
        self.base = settings.mapbox_api_base.rstrip("/")
        # plain HTTP: a token's "client" is the token itself, sent as a query parameter
        self.clients = KeyedClients(
            "mapbox",
            lambda token: token,
            refused=lambda exc: isinstance(exc, _TokenRefused),
            rings=keys,
            default=settings.mapbox_access_token.get_secret_value(),
        )
        self.timeout = self.service.policy.timeout

    async def _get(self, path: str, params: dict[str, str], read: Callable[[Any], T]) -> T:
        """GET ``path`` and ``read`` its body, both on a worker thread."""
        if not self.clients.configured:
            raise UpstreamUnavailable(
                self.name, "no access token configured", code="not_configured"
            )
        tokens = await self.clients.keys()

        def request(token: str) -> requests.Response:
            response = requests.get(
                f"{self.base}{path}",
                params={**params, "access_token": token},
                timeout=self.timeout,
            )
            if response.status_code == 401:  # the token it replaces may still do
                raise _TokenRefused(response)
            return response

        def get() -> T:
            try:
                response = self.clients.run(tokens, request)
            except _TokenRefused as exc:  # by every usable token
                response = exc.response
            except requests.RequestException as exc:
                raise Transient(f"mapbox unreachable: {type(exc).__name__}") from None
            if response.status_code != 200:
                raise _by_status("mapbox", response.status_code, _message(response))
            body = _parsed("mapbox", response.json)
            if not isinstance(body, dict) or body.get("code") != "Ok":
                raise Permanent(f"mapbox answered {body!r:.200}")
            return _parsed("mapbox", lambda: read(body))

        return await self.service.call(get)

    async def optimize(self, depot: Point, stops: Sequence[Point]) -> Trip:
        def trip(body: Any) -> Trip:
            # waypoints follow the request; waypoint_index is each one's place in the trip
            places = [int(w["waypoint_index"]) for w in body["waypoints"]]
            if len(places) != len(stops) + 1 or places[0] != 0:
                raise ValueError("the depot must open the trip")
            order = sorted(range(len(stops)), key=lambda i: places[i + 1])
            return Trip(order=tuple(order), legs=tuple(_legs(body["trips"][0])), provider=self.name)

        return await self._get(
            f"/optimized-trips/v1/mapbox/driving/{_coordinates([depot, *stops])}",
            {"roundtrip": "true", "source": "first", "overview": "false"},
            trip,
        )

    async def directions(self, points: Sequence[Point]) -> list[Leg]:
        return await self._get(
            f"/directions/v5/mapbox/driving/{_coordinates(points)}",
            {"overview": "false"},
            lambda body: _legs(body["routes"][0]),
        )


def _legs(route: Any) -> list[Leg]:
    """Legs of a Mapbox route or trip, or of a Google route."""
    legs = route["legs"]
    return [
        Leg(float(leg["distance"]), float(leg["duration"]))
        if isinstance(leg["distance"], int | float)
        else Leg(float(leg["distance"]["value"]), float(leg["duration"]["value"]))
        for leg in legs
    ]


def _refuse_server_errors(response: Any, *args: Any, **kwargs: Any) -> None:
    # googlemaps retries 5xx itself until retry_timeout (60 s); raising here ends its
    # attempt at once and leaves retrying (and falling back) to us
    if response.status_code >= 500:
        raise requests.HTTPError(f"{response.status_code} from Google", response=response)


class _MalformedKey(Permanent):
    """A key the googlemaps SDK will not send (it checks the shape): as good as refused."""


def _google_refused(exc: Exception) -> bool:
    """Google does not take the key: REQUEST_DENIED (an invalid key, HTTP 200 with that
    status, or a 401/403), or a key the SDK will not even send. Nothing was done."""
    if isinstance(exc, googlemaps.exceptions.ApiError):
        return bool(exc.status == "REQUEST_DENIED")
    if isinstance(exc, googlemaps.exceptions.HTTPError):
        return int(exc.status_code) in (401, 403)
    return isinstance(exc, _MalformedKey)


class GoogleMaps:
    """Geocoding and Directions (``optimize:true`` orders up to 25 waypoints)."""

    name = "google"
    max_trip_stops = 25
    max_route_points = 27

    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        self.service: ExternalService = external_service("google", settings)
        # one session (and connection pool) for every key: the key is a query parameter
        session = requests.Session()
        session.hooks["response"].append(_refuse_server_errors)
        base, timeout = settings.google_maps_api_base.rstrip("/"), self.service.policy.timeout
        malformed: set[str] = set()  # fingerprints of the keys already warned about

        def client(key: str) -> Any:
            try:
                return googlemaps.Client(
                    key=key,
                    base_url=base,
                    timeout=timeout,
                    retry_over_query_limit=False,
                    requests_session=session,
                )
            except ValueError as exc:  # the SDK checks the key's shape
                if fingerprint(key) not in malformed:
                    malformed.add(fingerprint(key))
                    log.warning("Google Maps key %s unusable: %s", fingerprint(key), exc)
                raise _MalformedKey(f"API key {fingerprint(key)} unusable: {exc}") from None

        self.clients = KeyedClients(
            "google",
            client,
            refused=_google_refused,
            rings=keys,
            default=settings.google_maps_api_key.get_secret_value(),
        )

    async def _call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)`` (request and reading of the answer) on a worker thread."""
        if not self.clients.configured:
            raise UpstreamUnavailable(self.name, "no API key configured", code="not_configured")
        keys = await self.clients.keys()

        def call() -> T:
            try:
                return self.clients.run(keys, lambda client: _parsed("google", lambda: fn(client)))
            except googlemaps.exceptions.HTTPError as exc:
                raise _by_status("google", int(exc.status_code), "HTTP error") from None
            except googlemaps.exceptions.ApiError as exc:
                message = f"google: {exc.status}: {exc.message or ''}"
                if exc.status in ("OVER_QUERY_LIMIT", "UNKNOWN_ERROR"):
                    raise Transient(message) from None
                raise Permanent(message) from None
            except (googlemaps.exceptions.Timeout, googlemaps.exceptions.TransportError) as exc:
                raise Transient(f"google unreachable: {exc}") from None

        return await self.service.call(call)

    async def geocode(self, address: str) -> Point | None:
        """Where an address is; None when Google knows no such place."""

        def locate(client: Any) -> Point | None:
            results = client.geocode(address)
            if not results:
                return None
            location = results[0]["geometry"]["location"]
            return float(location["lat"]), float(location["lng"])

        return await self._call(locate)

    async def optimize(self, depot: Point, stops: Sequence[Point]) -> Trip:
        def trip(client: Any) -> Trip:
            route = client.directions(
                depot, depot, mode="driving", waypoints=list(stops), optimize_waypoints=True
            )[0]
            order = [int(i) for i in route.get("waypoint_order") or range(len(stops))]
            return Trip(order=tuple(order), legs=tuple(_legs(route)), provider=self.name)

        return await self._call(trip)

    async def directions(self, points: Sequence[Point]) -> list[Leg]:
        def legs(client: Any) -> list[Leg]:
            middle = list(points[1:-1]) or None
            route = client.directions(points[0], points[-1], mode="driving", waypoints=middle)[0]
            return _legs(route)

        return await self._call(legs)
