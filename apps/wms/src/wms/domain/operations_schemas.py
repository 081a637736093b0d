"""Request and response models of waste-collection operations: depots, fleet, routes, pickups."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from wms.domain.schemas import AddressOut, NotificationOut, Strict

PickupStatus = Literal["scheduled", "assigned", "completed", "missed"]
RouteStatus = Literal["planned", "in_progress", "completed"]
Provider = Literal["mapbox", "google", "local"]
MissedReason = Literal["bin_not_out", "no_access", "contaminated", "vehicle_issue", "other"]

# Pydantic's lax mode reads more than the schema states (a number as a day, "7" or true as
# a number); these types take exactly what the OpenAPI schema describes, so the spec and
# the service agree on what is valid.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> object:
    if isinstance(value, date) or (isinstance(value, str) and _DAY.fullmatch(value)):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


def _number(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise ValueError("expected a number")


def _iso_moment(value: object) -> object:
    if isinstance(value, datetime | str):
        return value
    raise ValueError("expected a date-time as in RFC 3339")


Day = Annotated[date, BeforeValidator(_iso_day)]
Moment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]
Number = Annotated[float, BeforeValidator(_number)]
Count = Annotated[int, BeforeValidator(_number)]
Latitude = Field(ge=-90, le=90)
Longitude = Field(ge=-180, le=180)
#: PostgreSQL text cannot hold NUL, so the schema excludes it (refused with 422, not a 500)
TEXT = r"^[^\x00]*$"


class Location(Strict):
    latitude: Number = Latitude
    longitude: Number = Longitude


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
    depot_id: uuid.UUID
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

    customer_id: uuid.UUID
    #: the customer's service address; their first one when left out
    address_id: uuid.UUID | None = None
    scheduled_date: Day
    depot_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=500, pattern=TEXT)


class ScheduleRequest(Strict):
    """Create the pickups that active subscriptions call for within a window of days."""

    start: Day
    days: Count = Field(ge=1, le=92)
    customer_id: uuid.UUID | None = None
    depot_id: uuid.UUID | None = None


class CompletionIn(Strict):
    """The driver's proof of collection."""

    latitude: Number = Latitude
    longitude: Number = Longitude
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

    depot_id: uuid.UUID
    service_date: Day
    vehicle_id: uuid.UUID
    driver_id: uuid.UUID
    pickup_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=25)


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
