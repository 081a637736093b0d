"""Waste-collection operations: depots and fleet, route planning, pickups.

Who may do what: admins and dispatchers run the operation; a driver sees their own
routes and closes their own stops; a customer books and follows their own pickups.
What a caller may not see is answered 404, what their role may not do 403. A request
the schema refuses is 422 (with field paths); a well-formed one that the state of things
refuses (a day in the past, a stop already closed, a proof taken far from the stop) is
409, with the same field paths where a field is to blame.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query

from wms.api.deps import Services, require, services
from wms.domain.operations.schemas import (
    CompletionIn,
    DepotCreate,
    DepotOut,
    DriverOut,
    MissedIn,
    PickupCreate,
    PickupOut,
    PickupStatus,
    RescheduleIn,
    RouteCreate,
    RouteOut,
    ScheduleRequest,
    VehicleCreate,
    VehicleOut,
)
from wms.domain.schemas import Day, ErrorResponse
from wms.security import Principal

__all__ = ["router"]

STAFF = ("admin", "dispatcher")


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of an operation: 401 and 403 for all, and these."""
    return {status: {"model": ErrorResponse} for status in (401, 403, *statuses)}


#: a query with parameters; one thing by its id; a change to one thing (by its id)
QUERY, ONE, CHANGE = errors(422), errors(404), errors(404, 409, 422)
#: operations that call the maps providers (502/503 when they fail and no fallback is left)
UPSTREAM = errors(404, 409, 422, 502, 503)

fleet = APIRouter(tags=["fleet"])
routes = APIRouter(tags=["routes"])
pickups = APIRouter(tags=["pickups"])


# -- depots, vehicles, drivers -----------------------------------------------------------
@fleet.post(
    "/depots", response_model=DepotOut, status_code=201, responses=errors(409, 422, 502, 503)
)
async def create_depot(
    body: DepotCreate, svc: Services = Depends(services), _: Principal = Depends(require(*STAFF))
) -> DepotOut:
    """A depot; its position is geocoded from the address unless given."""
    return await svc.operations.dispatch.create_depot(body)


@fleet.get("/depots", response_model=list[DepotOut], responses=errors())
async def list_depots(
    svc: Services = Depends(services), _: Principal = Depends(require(*STAFF, "driver"))
) -> list[DepotOut]:
    return await svc.operations.dispatch.list_depots()


@fleet.post("/vehicles", response_model=VehicleOut, status_code=201, responses=CHANGE)
async def create_vehicle(
    body: VehicleCreate, svc: Services = Depends(services), _: Principal = Depends(require(*STAFF))
) -> VehicleOut:
    """A truck of a depot; with its Samsara id, the worker tracks it by GPS."""
    return await svc.operations.dispatch.create_vehicle(body)


@fleet.get("/vehicles", response_model=list[VehicleOut], responses=QUERY)
async def list_vehicles(
    svc: Services = Depends(services),
    _: Principal = Depends(require(*STAFF)),
    depot_id: uuid.UUID | None = Query(default=None),
) -> list[VehicleOut]:
    return await svc.operations.dispatch.list_vehicles(depot_id)


@fleet.get("/vehicles/{vehicle_id:uuid}", response_model=VehicleOut, responses=ONE)
async def read_vehicle(
    vehicle_id: uuid.UUID,
    svc: Services = Depends(services),
    _: Principal = Depends(require(*STAFF)),
) -> VehicleOut:
    """A truck and its last GPS position."""
    return await svc.operations.dispatch.get_vehicle(vehicle_id)


@fleet.get("/drivers", response_model=list[DriverOut], responses=errors())
async def list_drivers(
    svc: Services = Depends(services), _: Principal = Depends(require(*STAFF))
) -> list[DriverOut]:
    """Users with the driver role (created through POST /api/v1/users)."""
    return await svc.operations.dispatch.list_drivers()


# -- routes --------------------------------------------------------------------------------
@routes.post("/routes", response_model=RouteOut, status_code=201, responses=UPSTREAM)
async def plan_route(
    body: RouteCreate, svc: Services = Depends(services), _: Principal = Depends(require(*STAFF))
) -> RouteOut:
    """Plan one vehicle's day: the stops are ordered by Mapbox Optimization, else Google
    Directions, else a local solver (then ``degraded`` is true); each customer is told."""
    route = await svc.operations.dispatch.plan(body)
    svc.wake_relay()
    return route


@routes.get("/routes", response_model=list[RouteOut], responses=QUERY)
async def list_routes(
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "driver")),
    service_date: Day | None = Query(default=None),
    depot_id: uuid.UUID | None = Query(default=None),
) -> list[RouteOut]:
    """Routes (a driver's own only), at most 200."""
    return await svc.operations.dispatch.list_routes(
        principal, service_date=service_date, depot_id=depot_id
    )


@routes.get("/routes/{route_id:uuid}", response_model=RouteOut, responses=ONE)
async def read_route(
    route_id: uuid.UUID,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "driver")),
) -> RouteOut:
    """A route with its stops in order and their planned and live ETAs."""
    return await svc.operations.dispatch.get_route(route_id, principal)


# -- pickups -------------------------------------------------------------------------------
@pickups.post("/pickups", response_model=PickupOut, status_code=201, responses=CHANGE)
async def request_pickup(
    body: PickupCreate,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "customer")),
) -> PickupOut:
    """Book an on-demand pickup (a customer, for their own address only)."""
    pickup = await svc.operations.pickups.request(
        customer_id=body.customer_id,
        address_id=body.address_id,
        scheduled_date=body.scheduled_date,
        depot_id=body.depot_id,
        notes=body.notes,
        principal=principal,
    )
    svc.wake_relay()
    return pickup


@pickups.post(
    "/pickups/schedule", response_model=list[PickupOut], status_code=201, responses=errors(404, 422)
)
async def schedule_pickups(
    body: ScheduleRequest,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF)),
) -> list[PickupOut]:
    """Create the pickups that active plans call for in a window of days (past days and
    days beyond a year are left out); answers with those created now."""
    created = await svc.operations.scheduling.schedule(
        start=body.start,
        days=body.days,
        customer_id=body.customer_id,
        depot_id=body.depot_id,
        principal=principal,
    )
    svc.wake_relay()
    return created


@pickups.get("/pickups", response_model=list[PickupOut], responses=QUERY)
async def list_pickups(
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "driver", "customer")),
    customer_id: uuid.UUID | None = Query(default=None),
    route_id: uuid.UUID | None = Query(default=None),
    status: PickupStatus | None = Query(default=None),
    date_from: Day | None = Query(default=None),
    date_to: Day | None = Query(default=None),
    limit: int = Query(default=100, ge=1, le=500),
) -> list[PickupOut]:
    """Pickups the caller may see, by day."""
    return await svc.operations.pickups.list(
        principal,
        customer_id=customer_id,
        route_id=route_id,
        status=status,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
    )


@pickups.get("/pickups/{pickup_id:uuid}", response_model=PickupOut, responses=ONE)
async def read_pickup(
    pickup_id: uuid.UUID,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "driver", "customer")),
) -> PickupOut:
    return await svc.operations.pickups.get(pickup_id, principal)


@pickups.post("/pickups/{pickup_id:uuid}/complete", response_model=PickupOut, responses=CHANGE)
async def complete_pickup(
    pickup_id: uuid.UUID,
    body: CompletionIn,
    svc: Services = Depends(services),
    principal: Principal = Depends(require("driver")),
) -> PickupOut:
    """The assigned driver's proof of collection: time, GPS position, photo."""
    pickup = await svc.operations.pickups.complete(pickup_id, body, principal)
    svc.wake_relay()
    return pickup


@pickups.post("/pickups/{pickup_id:uuid}/missed", response_model=PickupOut, responses=CHANGE)
async def report_missed(
    pickup_id: uuid.UUID,
    body: MissedIn,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "driver", "customer")),
) -> PickupOut:
    """Report a missed pickup: its driver or staff (ahead, too), its customer from its day on."""
    pickup = await svc.operations.pickups.report_missed(pickup_id, body, principal)
    svc.wake_relay()
    return pickup


@pickups.post("/pickups/{pickup_id:uuid}/reschedule", response_model=PickupOut, responses=CHANGE)
async def reschedule_pickup(
    pickup_id: uuid.UUID,
    body: RescheduleIn,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "customer")),
) -> PickupOut:
    """Move a scheduled or missed pickup to another day (off any route)."""
    pickup = await svc.operations.pickups.reschedule(pickup_id, body, principal)
    svc.wake_relay()
    return pickup


router = APIRouter(prefix="/api/v1")
router.include_router(fleet)
router.include_router(routes)
router.include_router(pickups)
