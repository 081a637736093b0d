"""Samsara, through the official ``samsara-api`` SDK: where the trucks are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from samsara import Samsara
from samsara.core.api_error import ApiError

from wms.errors import UpstreamUnavailable
from wms.integrations import ExternalService, external_service
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


class Fleet:
    def __init__(self, settings: Settings) -> None:
        self.service: ExternalService = external_service("samsara", settings)
        token = settings.samsara_api_token.get_secret_value()
        self.client = (
            Samsara(
                token=token,
                base_url=settings.samsara_api_base.rstrip("/"),
                timeout=settings.external_timeout_seconds,
            )
            if token
            else None
        )

    @property
    def configured(self) -> bool:
        return self.client is not None

    async def positions(self, vehicle_ids: Sequence[str]) -> list[GpsFix]:
        """The latest GPS fix of each of these vehicles that has one (snapshot, all pages)."""
        client = self.client
        if client is None:
            raise UpstreamUnavailable("samsara", "no API token configured", code="not_configured")
        if not vehicle_ids:
            return []

        def fetch() -> list[GpsFix]:
            fixes: list[GpsFix] = []
            # a bounded number of ids per request keeps the query string short
            for start in range(0, len(vehicle_ids), IDS_PER_REQUEST):
                fixes += self._snapshot(client, vehicle_ids[start : start + IDS_PER_REQUEST])
            return fixes

        return await self.service.call(fetch)

    @staticmethod
    def _snapshot(client: Samsara, vehicle_ids: Sequence[str]) -> list[GpsFix]:
        """The GPS snapshot of these vehicles, every page of it (on a worker thread)."""
        fixes: list[GpsFix] = []
        after: str | None = None
        while True:
            try:
                page = client.vehicle_stats.get_vehicle_stats(
                    types=["gps"],
                    vehicle_ids=list(vehicle_ids),
                    after=after,
                    # ExternalService retries; the SDK's own retries would multiply them
                    request_options={"max_retries": 0},
                )
            except ApiError as exc:
                status = exc.status_code or 0
                message = f"samsara answered {status}: {exc.body!r:.200}"
                if status == 429 or status >= 500:
                    raise Transient(message) from None
                raise Permanent(message) from None
            except httpx.HTTPError as exc:
                raise Transient(f"samsara unreachable: {type(exc).__name__}") from None
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
