"""Live tracking: GPS fixes from Samsara, and the ETAs of each route's remaining stops.

Two steps, each run by the worker: ``poll_positions`` stores the fixes worth keeping (the
truck moved, or has stood still for a while) and announces them on "vehicles";
``refresh_etas`` recomputes, for every route whose truck has a newer fix than its ETAs
were computed from, the arrival at each remaining stop, and announces them on "routes".
Routing calls are slow and fallible, so they never hold up the GPS poll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Date, cast, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import ServiceAddress
from wms.db.operations_models import Pickup, Route, Vehicle, VehiclePosition
from wms.domain.operations.places import point_of
from wms.domain.operations.routing import RoutePlanner, haversine_m
from wms.events import emit
from wms.integrations.fleet import Fleet, GpsFix

__all__ = ["Tracking"]

log = logging.getLogger("wms.tracking")

#: a fix closer than this to the last one is the truck standing still (GPS jitter)
MOVED_M = 10.0


@dataclass(frozen=True, kw_only=True)
class Tracking:
    sessions: async_sessionmaker[AsyncSession]
    fleet: Fleet
    planner: RoutePlanner
    #: minutes a crew spends at each stop, counted into ETAs
    service_seconds: float = 120.0
    #: a standing truck's position is stored again (and its ETAs redone) this often
    still_seconds: float = 60.0

    def _worth_storing(self, vehicle: Vehicle, fix: GpsFix) -> bool:
        if vehicle.position_at is None or vehicle.latitude is None or vehicle.longitude is None:
            return True
        if fix.recorded_at <= vehicle.position_at:
            return False
        moved = haversine_m((vehicle.latitude, vehicle.longitude), (fix.latitude, fix.longitude))
        waited = (fix.recorded_at - vehicle.position_at).total_seconds()
        return moved >= MOVED_M or waited >= self.still_seconds

    async def poll_positions(self) -> int:
        """Ask Samsara where our vehicles are; store and announce the news. Returns how many."""
        async with self.sessions() as session:
            vehicles = {
                v.samsara_vehicle_id: v
                for v in await session.scalars(
                    select(Vehicle).where(Vehicle.samsara_vehicle_id.is_not(None))
                )
            }
        if not vehicles or not self.fleet.configured:
            return 0
        fixes = await self.fleet.positions(sorted(k for k in vehicles if k))
        news = [
            (vehicles[f.samsara_id], f)
            for f in fixes
            if f.samsara_id in vehicles and self._worth_storing(vehicles[f.samsara_id], f)
        ]
        if not news:
            return 0
        async with self.sessions() as session, session.begin():
            for vehicle, fix in news:
                position = {
                    "latitude": fix.latitude,
                    "longitude": fix.longitude,
                    "speed_mph": fix.speed_mph,
                    "heading_deg": fix.heading_deg,
                }
                await session.execute(
                    insert(VehiclePosition)
                    .values(vehicle_id=vehicle.id, recorded_at=fix.recorded_at, **position)
                    .on_conflict_do_nothing()
                )
                await session.execute(
                    update(Vehicle)
                    .where(
                        Vehicle.id == vehicle.id,
                        or_(Vehicle.position_at.is_(None), Vehicle.position_at < fix.recorded_at),
                    )
                    .values(position_at=fix.recorded_at, **position)
                )
                await emit(
                    session,
                    "vehicles",
                    "vehicle.position",
                    {
                        "vehicle_id": str(vehicle.id),
                        "samsara_vehicle_id": fix.samsara_id,
                        "recorded_at": fix.recorded_at.isoformat(),
                        **position,
                    },
                )
        return len(news)

    async def refresh_etas(self) -> int:
        """Recompute the ETAs of routes whose vehicle reported since; returns how many."""
        async with self.sessions() as session:
            due = (
                await session.execute(
                    select(Route, Vehicle)
                    .join(Vehicle, Vehicle.id == Route.vehicle_id)
                    .where(
                        Route.status.in_(("planned", "in_progress")),
                        Vehicle.position_at.is_not(None),
                        or_(Route.eta_from.is_(None), Route.eta_from < Vehicle.position_at),
                        # the fix of today says nothing about tomorrow's route
                        Route.service_date == cast(func.timezone("UTC", Vehicle.position_at), Date),
                    )
                )
            ).all()
        for route, vehicle in due:
            try:
                await self._refresh(route, vehicle)
            except Exception as exc:  # one route's trouble must not starve the others
                log.warning("ETAs of route %s not refreshed: %s", route.id, exc)
        return len(due)

    async def _refresh(self, route: Route, vehicle: Vehicle) -> None:
        assert vehicle.position_at is not None
        assert vehicle.latitude is not None
        assert vehicle.longitude is not None
        async with self.sessions() as session:
            stops = [
                (p, point)
                for p, a in await session.execute(
                    select(Pickup, ServiceAddress)
                    .join(ServiceAddress, ServiceAddress.id == Pickup.address_id)
                    .where(Pickup.route_id == route.id, Pickup.status == "assigned")
                    .order_by(Pickup.sequence)
                )
                if (point := point_of(a)) is not None
            ]
        here = (vehicle.latitude, vehicle.longitude)
        legs, source = (
            await self.planner.travel([here, *(point for _, point in stops)])
            if stops
            else ([], "none")
        )
        etas: list[datetime] = []
        clock = vehicle.position_at
        for leg in legs:
            clock += timedelta(seconds=leg.seconds)
            etas.append(clock)
            clock += timedelta(seconds=self.service_seconds)
        async with self.sessions() as session, session.begin():
            for (pickup, _), eta in zip(stops, etas, strict=True):
                # a bare UPDATE: a live ETA is not a change worth mirroring to Airtable
                await session.execute(
                    update(Pickup)
                    .where(Pickup.id == pickup.id, Pickup.status == "assigned")
                    .values(eta=eta)
                )
            await session.execute(
                update(Route).where(Route.id == route.id).values(eta_from=vehicle.position_at)
            )
            await emit(
                session,
                "routes",
                "route.eta_updated",
                {
                    "route_id": str(route.id),
                    "vehicle_id": str(vehicle.id),
                    "driver_id": str(route.driver_id),
                    "source": source,
                    "position": {
                        "latitude": vehicle.latitude,
                        "longitude": vehicle.longitude,
                        "recorded_at": vehicle.position_at.isoformat(),
                    },
                    "stops": [
                        {
                            "pickup_id": str(pickup.id),
                            "customer_id": str(pickup.customer_id),
                            "sequence": pickup.sequence,
                            "eta": eta.isoformat(),
                        }
                        for (pickup, _), eta in zip(stops, etas, strict=True)
                    ],
                },
            )
