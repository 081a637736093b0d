"""Samsara, through the official ``samsara-api`` SDK: where the trucks are.

The API token rotates (``wms.integrations.keys``): a client per usable token, all on one
connection pool; a token Samsara does not know (401) gives way to the one it replaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from samsara import Samsara
from samsara.core.api_error import ApiError

from wms.errors import UpstreamUnavailable
from wms.integrations import ExternalService, external_service
from wms.integrations.keys import KeyedClients, KeyRing
from wms.integrations.resilience import Permanent, Transient
from wms.settings import Settings

__all__ = ["Fleet", "GpsFix"]

#: vehicle ids asked about in one request
IDS_PER_REQUEST = 100


@dataclass(frozen=True, kw_only=True)
class GpsFix:
    """One vehicle's last reported GPS position."""

    samsara_id: str
    latitude: float
    longitude: float
    speed_mph: float | None
    heading_deg: float | None
    recorded_at: datetime


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _refused(exc: Exception) -> bool:
    """Samsara does not know the token (401): nothing was done, another token may do."""
    return isinstance(exc, ApiError) and exc.status_code == 401


class Fleet:
    def __init__(self, settings: Settings, keys: Mapping[str, KeyRing] | None = None) -> None:
        self.service: ExternalService = external_service("samsara", settings)
        base, timeout = settings.samsara_api_base.rstrip("/"), self.service.policy.timeout
        # the token goes in each client's headers; one connection pool serves them all (as
        # the single client before rotation did, it lives as long as the process)
        self._http = httpx.Client(timeout=timeout, follow_redirects=True)
        self.clients = KeyedClients(
            "samsara",
            lambda token: Samsara(
                token=token, base_url=base, timeout=timeout, httpx_client=self._http
            ),
            refused=_refused,
            rings=keys,
            default=settings.samsara_api_token.get_secret_value(),
        )

    @property
    def configured(self) -> bool:
        return self.clients.configured

    async def positions(self, vehicle_ids: Sequence[str]) -> list[GpsFix]:
        """The latest GPS fix of each of these vehicles that has one (snapshot, all pages)."""
        if not self.clients.configured:
            raise UpstreamUnavailable("samsara", "no API token configured", code="not_configured")
        if not vehicle_ids:
            return []
        keys = await self.clients.keys()

        def snapshot(client: Samsara) -> list[GpsFix]:
            fixes: list[GpsFix] = []
            # a bounded number of ids per request keeps the query string short
            for start in range(0, len(vehicle_ids), IDS_PER_REQUEST):
                fixes += self._snapshot(client, vehicle_ids[start : start + IDS_PER_REQUEST])
            return fixes

        def fetch() -> list[GpsFix]:
            try:
                return self.clients.run(keys, snapshot)
            except ApiError as exc:
                status = exc.status_code or 0
                message = f"samsara answered {status}: {exc.body!r:.200}"
                if status == 429 or status >= 500:
                    raise Transient(message) from None
                raise Permanent(message) from None
            except httpx.HTTPError as exc:
                raise Transient(f"samsara unreachable: {type(exc).__name__}") from None

        return await self.service.call(fetch)

    @staticmethod
    def _snapshot(client: Samsara, vehicle_ids: Sequence[str]) -> list[GpsFix]:
        """The GPS snapshot of these vehicles, every page of it (on a worker thread); raises
        the SDK's own errors."""
        fixes: list[GpsFix] = []
        after: str | None = None
        while True:
            # errors are left to the caller: a 401 may mean "try the older token"
            page = client.vehicle_stats.get_vehicle_stats(
                types=["gps"],
                vehicle_ids=list(vehicle_ids),
                after=after,
                # ExternalService retries; the SDK's own retries would multiply them
                request_options={"max_retries": 0},
            )
            for vehicle in page.data:
                gps = vehicle.gps
                if gps is not None:
                    fixes.append(
                        GpsFix(
                            samsara_id=str(vehicle.id),
                            latitude=float(gps.latitude),
                            longitude=float(gps.longitude),
                            speed_mph=gps.speed_miles_per_hour,
                            heading_deg=gps.heading_degrees,
                            recorded_at=_instant(gps.time),
                        )
                    )
            if not page.pagination.has_next_page or not page.pagination.end_cursor:
                return fixes
            after = page.pagination.end_cursor
