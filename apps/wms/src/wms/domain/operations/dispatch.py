"""Depots, the fleet, and daily route planning.

Planning a route asks the routing providers for the visiting order outside any
transaction, then writes the route and assigns its pickups in one transaction that
re-checks, under row locks, that no other plan took them meanwhile: either the whole
route exists with every stop, or nothing was written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import Customer, ServiceAddress, User
from wms.db.operations_models import Depot, Pickup, Route, Vehicle
from wms.domain.customers.notifications import Notifier
from wms.domain.operations.pickup_views import check_day, event_data, message, notify_each
from wms.domain.operations.places import address_text, locate, point_of
from wms.domain.operations.routing import Point, RoutePlanner, Trip
from wms.domain.operations.schemas import (
    DepotCreate,
    DepotOut,
    DriverOut,
    PositionOut,
    RouteCreate,
    RouteOut,
    StopOut,
    VehicleCreate,
    VehicleOut,
)
from wms.errors import Conflict, NotFound
from wms.events import emit
from wms.integrations.maps import GoogleMaps
from wms.security import Principal

__all__ = ["Dispatch", "planned_etas", "route_out"]

#: most stops on one route (Google's waypoint limit; Mapbox takes up to 11)
MAX_STOPS = 25


def planned_etas(starts_at: datetime, trip: Trip, service_s: float) -> list[datetime]:
    """Arrival at each stop, in visiting order: drive each leg, then work the stop."""
    etas, clock = [], starts_at
    for leg in trip.legs[:-1]:
        clock += timedelta(seconds=leg.seconds)
        etas.append(clock)
        clock += timedelta(seconds=service_s)
    return etas


def vehicle_out(vehicle: Vehicle) -> VehicleOut:
    position = None
    if vehicle.position_at is not None and vehicle.latitude is not None:
        position = PositionOut(
            latitude=vehicle.latitude,
            longitude=vehicle.longitude or 0.0,
            speed_mph=vehicle.speed_mph,
            heading_deg=vehicle.heading_deg,
            recorded_at=vehicle.position_at,
        )
    return VehicleOut(
        id=vehicle.id,
        name=vehicle.name,
        depot_id=vehicle.depot_id,
        samsara_vehicle_id=vehicle.samsara_vehicle_id,
        position=position,
    )


async def route_out(session: AsyncSession, route: Route) -> RouteOut:
    stops = (
        await session.execute(
            select(Pickup, ServiceAddress)
            .join(ServiceAddress, ServiceAddress.id == Pickup.address_id)
            .where(Pickup.route_id == route.id)
            .order_by(Pickup.sequence)
        )
    ).all()
    return RouteOut(
        id=route.id,
        depot_id=route.depot_id,
        vehicle_id=route.vehicle_id,
        driver_id=route.driver_id,
        service_date=route.service_date,
        status=route.status,
        provider=route.provider,
        degraded=route.degraded,
        distance_m=route.distance_m,
        duration_s=route.duration_s,
        starts_at=route.starts_at,
        eta_from=route.eta_from,
        stops=[
            StopOut(
                sequence=p.sequence or 0,
                pickup_id=p.id,
                customer_id=p.customer_id,
                status=p.status,
                latitude=a.latitude,
                longitude=a.longitude,
                planned_eta=p.planned_eta,
                eta=p.eta,
            )
            for p, a in stops
        ],
    )


@dataclass(frozen=True, kw_only=True)
class Dispatch:
    sessions: async_sessionmaker[AsyncSession]
    notifier: Notifier
    maps: GoogleMaps
    planner: RoutePlanner
    #: when routes leave their depot (hour of the day, UTC), and how long a stop takes
    route_start_hour: float = 7.0
    service_seconds: float = 120.0

    # -- depots, vehicles, drivers ---------------------------------------------------------
    async def create_depot(self, data: DepotCreate) -> DepotOut:
        place = data.address
        if data.location is not None:
            point: Point | None = (data.location.latitude, data.location.longitude)
        else:
            point = await self.maps.geocode(
                address_text(place.line1, place.postal_code, place.city)
            )
        if point is None:
            raise Conflict(
                "no place is known at that address",
                code="address_not_found",
                details=[{"field": "body.address", "message": "not found by geocoding"}],
            )
        depot = Depot(
            name=data.name,
            line1=place.line1,
            city=place.city,
            postal_code=place.postal_code,
            latitude=point[0],
            longitude=point[1],
        )
        try:
            async with self.sessions() as session, session.begin():
                session.add(depot)
        except IntegrityError:
            raise Conflict(f"a depot named {data.name!r} exists", code="depot_exists") from None
        return DepotOut.model_validate(depot, from_attributes=True)

    async def list_depots(self) -> list[DepotOut]:
        async with self.sessions() as session:
            depots = await session.scalars(select(Depot).order_by(Depot.name))
            return [DepotOut.model_validate(d, from_attributes=True) for d in depots]

    async def create_vehicle(self, data: VehicleCreate) -> VehicleOut:
        vehicle = Vehicle(
            name=data.name, depot_id=data.depot_id, samsara_vehicle_id=data.samsara_vehicle_id
        )
        try:
            async with self.sessions() as session, session.begin():
                if await session.get(Depot, data.depot_id) is None:
                    raise NotFound("depot not found")
                session.add(vehicle)
        except IntegrityError:
            raise Conflict(
                "a vehicle with that name or Samsara id exists", code="vehicle_exists"
            ) from None
        return vehicle_out(vehicle)

    async def list_vehicles(self, depot_id: uuid.UUID | None) -> list[VehicleOut]:
        stmt = select(Vehicle).order_by(Vehicle.name)
        if depot_id is not None:
            stmt = stmt.where(Vehicle.depot_id == depot_id)
        async with self.sessions() as session:
            return [vehicle_out(v) for v in await session.scalars(stmt)]

    async def get_vehicle(self, vehicle_id: uuid.UUID) -> VehicleOut:
        async with self.sessions() as session:
            vehicle = await session.get(Vehicle, vehicle_id)
        if vehicle is None:
            raise NotFound("vehicle not found")
        return vehicle_out(vehicle)

    async def list_drivers(self) -> list[DriverOut]:
        async with self.sessions() as session:
            users = await session.scalars(
                select(User).where(User.role == "driver").order_by(User.email)
            )
            return [DriverOut(id=u.id, email=u.email) for u in users]

    # -- routes ----------------------------------------------------------------------------
    async def get_route(self, route_id: uuid.UUID, principal: Principal) -> RouteOut:
        async with self.sessions() as session:
            route = await session.get(Route, route_id)
            if route is None or (
                principal.role == "driver" and route.driver_id != principal.user_id
            ):
                raise NotFound("route not found")
            return await route_out(session, route)

    async def list_routes(
        self, principal: Principal, *, service_date: date | None, depot_id: uuid.UUID | None
    ) -> list[RouteOut]:
        stmt = select(Route).order_by(Route.service_date, Route.created_at)
        if principal.role == "driver":
            stmt = stmt.where(Route.driver_id == principal.user_id)
        if service_date is not None:
            stmt = stmt.where(Route.service_date == service_date)
        if depot_id is not None:
            stmt = stmt.where(Route.depot_id == depot_id)
        async with self.sessions() as session:
            routes = (await session.scalars(stmt.limit(200))).all()
            return [await route_out(session, r) for r in routes]

    async def plan(self, data: RouteCreate) -> RouteOut:
        async with self.sessions() as session:
            depot, stops = await self._planning_inputs(session, data)
        check_day(data.service_date, "body.service_date")
        await locate(self.sessions, self.maps, [a for _, a in stops], required=True)
        points = [point_of(a) for _, a in stops]
        assert all(points), "located above"
        trip = await self.planner.plan(
            (depot.latitude, depot.longitude), [p for p in points if p is not None]
        )
        starts_at = datetime.combine(data.service_date, time(0), UTC) + timedelta(
            hours=self.route_start_hour
        )
        etas = planned_etas(starts_at, trip, self.service_seconds)
        route = Route(
            depot_id=depot.id,
            vehicle_id=data.vehicle_id,
            driver_id=data.driver_id,
            service_date=data.service_date,
            status="planned",
            provider=trip.provider,
            degraded=trip.degraded,
            distance_m=round(trip.distance_m),
            duration_s=round(trip.duration_s + self.service_seconds * len(stops)),
            starts_at=starts_at,
        )
        wanted = [stops[i][0].id for i in trip.order]
        try:
            async with self.sessions() as session, session.begin():
                locked = {
                    p.id: p
                    for p in await session.scalars(
                        select(Pickup)
                        .where(Pickup.id.in_(wanted))
                        .order_by(Pickup.id)
                        .with_for_update()
                    )
                }
                taken = [
                    str(i)
                    for i in wanted
                    if i not in locked or not _plannable(locked[i], data.service_date)
                ]
                if taken:
                    raise Conflict(
                        "pickups were taken meanwhile", code="pickup_unavailable", details=taken
                    )
                session.add(route)
                await session.flush()
                for sequence, (pickup_id, eta) in enumerate(zip(wanted, etas, strict=True), 1):
                    pickup = locked[pickup_id]
                    pickup.route_id, pickup.sequence, pickup.status = route.id, sequence, "assigned"
                    pickup.depot_id = depot.id
                    pickup.planned_eta = pickup.eta = eta
                await session.flush()
                await emit(
                    session,
                    "routes",
                    "route.planned",
                    {
                        "route_id": str(route.id),
                        "depot_id": str(depot.id),
                        "vehicle_id": str(route.vehicle_id),
                        "driver_id": str(route.driver_id),
                        "service_date": route.service_date.isoformat(),
                        "provider": route.provider,
                        "degraded": route.degraded,
                        "pickup_ids": [str(i) for i in wanted],
                    },
                )
                for pickup_id in wanted:
                    pickup = locked[pickup_id]
                    await emit(
                        session,
                        "pickups",
                        "pickup.assigned",
                        event_data(
                            pickup,
                            sequence=pickup.sequence,
                            planned_eta=pickup.planned_eta.isoformat()
                            if pickup.planned_eta
                            else None,
                        ),
                    )
                customers = {
                    c.id: c
                    for c in await session.scalars(
                        select(Customer).where(
                            Customer.id.in_({p.customer_id for p in locked.values()})
                        )
                    )
                }
                out = await route_out(session, route)
        except IntegrityError:
            raise Conflict(
                "the vehicle or the driver already has a route that day", code="route_exists"
            ) from None
        await notify_each(
            self.notifier,
            (
                (
                    customers[locked[i].customer_id],
                    message(
                        "pickup_assigned",
                        "Collection on its way",
                        f"Your collection on {data.service_date:%d %B} is planned for "
                        f"about {eta:%H:%M} UTC.",
                    ),
                )
                for i, eta in zip(wanted, etas, strict=True)
            ),
        )
        return out

    async def _planning_inputs(
        self, session: AsyncSession, data: RouteCreate
    ) -> tuple[Depot, list[tuple[Pickup, ServiceAddress]]]:
        """The depot and the stops to plan, after checking everything the body names."""
        depot = await session.get(Depot, data.depot_id)
        if depot is None:
            raise NotFound("depot not found")
        if await session.get(Vehicle, data.vehicle_id) is None:
            raise NotFound("vehicle not found")
        driver = await session.get(User, data.driver_id)
        if driver is None or driver.role != "driver":
            raise NotFound("driver not found")
        stmt = select(Pickup, ServiceAddress).join(
            ServiceAddress, ServiceAddress.id == Pickup.address_id
        )
        if data.pickup_ids is not None:
            stmt = stmt.where(Pickup.id.in_(data.pickup_ids))
        else:
            stmt = stmt.where(
                Pickup.depot_id == depot.id,
                Pickup.scheduled_date == data.service_date,
                Pickup.status == "scheduled",
                Pickup.route_id.is_(None),
            )
        stops = [(p, a) for p, a in (await session.execute(stmt.order_by(Pickup.created_at)))]
        if data.pickup_ids is not None:
            missing = set(data.pickup_ids) - {p.id for p, _ in stops}
            if missing:
                raise NotFound("pickup not found", details=sorted(str(i) for i in missing))
        if not stops:
            raise Conflict("no scheduled pickups to plan", code="nothing_to_plan")
        if len(stops) > MAX_STOPS:
            raise Conflict(f"more than {MAX_STOPS} stops for one route", code="too_many_stops")
        taken = [str(p.id) for p, _ in stops if not _plannable(p, data.service_date)]
        if taken:
            raise Conflict(
                "pickups not scheduled for that day, or on a route already",
                code="pickup_unavailable",
                details=taken,
            )
        busy = await session.scalar(
            select(Route.id).where(
                Route.service_date == data.service_date,
                or_(Route.vehicle_id == data.vehicle_id, Route.driver_id == data.driver_id),
            )
        )
        if busy is not None:
            raise Conflict(
                "the vehicle or the driver already has a route that day", code="route_exists"
            )
        return depot, stops


def _plannable(pickup: Pickup, day: date) -> bool:
    return pickup.status == "scheduled" and pickup.route_id is None and pickup.scheduled_date == day
