"""Request and response models of waste-collection operations: depots, fleet, routes, pickups."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from wms.domain.schemas import AddressOut, Day, Integer, Moment, NotificationOut, Strict, Uuid

PickupStatus = Literal["scheduled", "assigned", "completed", "missed"]
RouteStatus = Literal["planned", "in_progress", "completed"]
Provider = Literal["mapbox", "google", "local"]
MissedReason = Literal["bin_not_out", "no_access", "contaminated", "vehicle_issue", "other"]

Latitude = Field(ge=-90, le=90)
Longitude = Field(ge=-180, le=180)
#: PostgreSQL text cannot hold NUL, so the schema excludes it (refused with 422, not a 500)
TEXT = r"^[^\x00]*$"


class Location(Strict):
    latitude: float = Latitude
    longitude: float = Longitude


class DepotAddress(Strict):
    line1: str = Field(min_length=1, max_length=200, pattern=TEXT)
    city: str = Field(min_length=1, max_length=100, pattern=TEXT)
    postal_code: str = Field(min_length=2, max_length=20, pattern=r"^[A-Za-z0-9 -]+$")


class DepotCreate(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=TEXT)
    address: DepotAddress
    #: where the depot is; looked up from the address (Google geocoding) when left out
    location: Location | None = None


class DepotOut(BaseModel):
    id: uuid.UUID
    name: str
    line1: str
    city: str
    postal_code: str
    latitude: float
    longitude: float


class VehicleCreate(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=TEXT)
    depot_id: Uuid
    samsara_vehicle_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"
    )


class PositionOut(BaseModel):
    latitude: float
    longitude: float
    speed_mph: float | None
    heading_deg: float | None
    recorded_at: datetime


class VehicleOut(BaseModel):
    id: uuid.UUID
    name: str
    depot_id: uuid.UUID
    samsara_vehicle_id: str | None
    position: PositionOut | None


class DriverOut(BaseModel):
    id: uuid.UUID
    email: str


class PickupCreate(Strict):
    """An on-demand pickup; a customer books for themselves only."""

    customer_id: Uuid
    #: the customer's service address; their first one when left out
    address_id: Uuid | None = None
    scheduled_date: Day
    depot_id: Uuid | None = None
    notes: str | None = Field(default=None, max_length=500, pattern=TEXT)


class ScheduleRequest(Strict):
    """Create the pickups that active subscriptions call for within a window of days."""

    start: Day
    days: Integer = Field(ge=1, le=92)
    customer_id: Uuid | None = None
    depot_id: Uuid | None = None


class CompletionIn(Strict):
    """The driver's proof of collection."""

    latitude: float = Latitude
    longitude: float = Longitude
    photo_ref: str = Field(
        min_length=1, max_length=500, pattern=TEXT, description="where the photo is stored"
    )
    completed_at: Moment | None = Field(default=None, description="default: now")


class MissedIn(Strict):
    reason: MissedReason
    note: str | None = Field(default=None, max_length=500, pattern=TEXT)


class RescheduleIn(Strict):
    scheduled_date: Day


class ProofOut(BaseModel):
    completed_at: datetime
    completed_by: uuid.UUID | None
    latitude: float | None
    longitude: float | None
    photo_ref: str | None


class MissedOut(BaseModel):
    reason: str
    note: str | None
    at: datetime | None


class PickupOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    address: AddressOut
    depot_id: uuid.UUID | None
    route_id: uuid.UUID | None
    sequence: int | None
    origin: Literal["on_demand", "plan"]
    status: PickupStatus
    scheduled_date: date
    notes: str | None
    planned_eta: datetime | None
    eta: datetime | None
    proof: ProofOut | None
    missed: MissedOut | None
    reschedule_count: int
    created_at: datetime
    notifications: list[NotificationOut] = []


class RouteCreate(Strict):
    """Plan one vehicle's day from a depot. Without ``pickup_ids``: every scheduled pickup of
    that depot and day that is not on a route yet."""

    depot_id: Uuid
    service_date: Day
    vehicle_id: Uuid
    driver_id: Uuid
    pickup_ids: list[Uuid] | None = Field(default=None, min_length=1, max_length=25)


class StopOut(BaseModel):
    sequence: int
    pickup_id: uuid.UUID
    customer_id: uuid.UUID
    status: PickupStatus
    latitude: float | None
    longitude: float | None
    planned_eta: datetime | None
    eta: datetime | None


class RouteOut(BaseModel):
    id: uuid.UUID
    depot_id: uuid.UUID
    vehicle_id: uuid.UUID
    driver_id: uuid.UUID
    service_date: date
    status: RouteStatus
    provider: Provider
    #: planned without road data (the local solver): the order and times are estimates
    degraded: bool
    distance_m: int
    duration_s: int
    starts_at: datetime
    eta_from: datetime | None
    stops: list[StopOut]
