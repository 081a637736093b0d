"""Waste-collection operations, assembled: pickups, scheduling from plans, dispatch (depots,
fleet, route planning), and the worker's jobs (GPS tracking, ETAs, the Airtable mirror).

The API builds ``Operations`` once per process; the worker runs ``background_jobs``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.domain.customers.notifications import Notifier
from wms.domain.operations.dispatch import Dispatch
from wms.domain.operations.pickups import Pickups
from wms.domain.operations.routing import RoutePlanner
from wms.domain.operations.scheduling import Scheduling
from wms.domain.operations.tracking import Tracking
from wms.integrations import ExternalService
from wms.integrations.fleet import Fleet
from wms.integrations.keys import KeyRing
from wms.integrations.maps import GoogleMaps, Mapbox
from wms.integrations.sync import AirtableMirror
from wms.loops import every
from wms.settings import Settings

__all__ = ["Operations", "background_jobs", "every"]

log = logging.getLogger("wms.operations")


def _planner(
    settings: Settings, keys: Mapping[str, KeyRing] | None = None
) -> tuple[RoutePlanner, GoogleMaps, Mapbox]:
    google, mapbox = GoogleMaps(settings, keys=keys), Mapbox(settings, keys=keys)
    # Mapbox Optimization first, Google Directions second, the local solver last
    return RoutePlanner([mapbox, google]), google, mapbox


@dataclass(frozen=True, kw_only=True)
class Operations:
    pickups: Pickups
    scheduling: Scheduling
    dispatch: Dispatch
    #: the external services these call, for GET /api/v1/integrations
    external: tuple[ExternalService, ...]

    @classmethod
    def build(
        cls,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        notifier: Notifier,
        keys: Mapping[str, KeyRing] | None = None,
    ) -> Operations:
        """``keys``: the rotatable API keys of the services (``key_rings``), if any."""
        planner, google, mapbox = _planner(settings, keys)
        return cls(
            pickups=Pickups(
                sessions=sessions,
                notifier=notifier,
                maps=google,
                proof_max_distance_m=settings.proof_max_distance_m,
            ),
            scheduling=Scheduling(sessions=sessions, notifier=notifier, maps=google),
            dispatch=Dispatch(
                sessions=sessions,
                notifier=notifier,
                maps=google,
                planner=planner,
                route_start_hour=settings.route_start_hour,
                service_seconds=settings.stop_service_seconds,
            ),
            external=(mapbox.service, google.service),
        )


def background_jobs(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    stop: asyncio.Event,
    keys: Mapping[str, KeyRing] | None = None,
) -> list[Coroutine[Any, Any, None]]:
    """The worker's loops: poll GPS, refresh ETAs after new fixes, mirror to Airtable."""
    planner, _, _ = _planner(settings, keys)
    tracking = Tracking(
        sessions=sessions,
        fleet=Fleet(settings, keys=keys),
        planner=planner,
        service_seconds=settings.stop_service_seconds,
        still_seconds=settings.gps_still_seconds,
    )
    mirror = AirtableMirror(settings, sessions, keys=keys)
    fixes = asyncio.Event()
    return [
        every(
            "GPS polling",
            settings.gps_poll_interval_seconds,
            tracking.poll_positions,
            stop,
            then=fixes,
        ),
        every(
            "ETA refresh", settings.eta_interval_seconds, tracking.refresh_etas, stop, wake=fixes
        ),
        every("Airtable sync", settings.airtable_sync_interval_seconds, mirror.sync_once, stop),
    ]
