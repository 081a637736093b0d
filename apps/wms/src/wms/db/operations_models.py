"""Tables of waste collection: depots, vehicles and their GPS fixes, routes and pickups.

Routes and pickups carry a ``version`` that every change through the ORM increments, and
``airtable_synced_version``, the version last mirrored to Airtable: a row is due for the
mirror while the two differ. Live ETAs are written without touching the version, so a
moving truck does not flood Airtable.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from wms.db.models import Base

__all__ = ["OPEN_PICKUP", "Depot", "Pickup", "Route", "Vehicle", "VehiclePosition"]

#: statuses of a pickup that still awaits the truck
OPEN_PICKUP = ("scheduled", "assigned")


def _uuid() -> uuid.UUID:
    return uuid.uuid4()


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


class Depot(Base):
    __tablename__ = "depots"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    line1: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postal_code: Mapped[str] = mapped_column(String(20))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = _created()


class Vehicle(Base):
    """A truck; ``latitude``/``longitude``/``position_at`` are its last stored GPS fix."""

    __tablename__ = "vehicles"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    depot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("depots.id"), index=True)
    samsara_vehicle_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    speed_mph: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()


class VehiclePosition(Base):
    __tablename__ = "vehicle_positions"
    __table_args__ = (UniqueConstraint("vehicle_id", "recorded_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    vehicle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    speed_mph: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = _created()


class Route(Base):
    """One vehicle's day: its stops are the pickups pointing at it, in ``sequence`` order."""

    __tablename__ = "routes"
    __table_args__ = (
        UniqueConstraint("vehicle_id", "service_date"),
        UniqueConstraint("driver_id", "service_date"),
        Index(
            "ix_routes_unmirrored",
            "updated_at",
            postgresql_where=text("airtable_synced_version < version"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    depot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("depots.id"), index=True)
    vehicle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vehicles.id"))
    driver_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    service_date: Mapped[date] = mapped_column(Date)
    #: planned -> in_progress (first stop closed) -> completed (no stop left)
    status: Mapped[str] = mapped_column(String(16), default="planned")
    #: who ordered the stops: mapbox | google | local (the fallback solver)
    provider: Mapped[str] = mapped_column(String(16))
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    distance_m: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: the GPS fix the current ETAs were computed from (None: only planned ETAs so far)
    eta_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer)
    airtable_synced_version: Mapped[int] = mapped_column(Integer, default=0)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}


class Pickup(Base):
    __tablename__ = "pickups"
    __table_args__ = (
        # scheduling from a plan twice creates nothing twice
        UniqueConstraint("subscription_id", "scheduled_date"),
        # one open pickup per address and day
        Index(
            "ux_pickups_open_per_address_day",
            "address_id",
            "scheduled_date",
            unique=True,
            postgresql_where=text("status IN ('scheduled', 'assigned')"),
        ),
        Index("ix_pickups_day", "scheduled_date", "status"),
        Index(
            "ix_pickups_unmirrored",
            "updated_at",
            postgresql_where=text("airtable_synced_version < version"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=_uuid)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    address_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service_addresses.id", ondelete="CASCADE")
    )
    depot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("depots.id"))
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id"))
    route_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("routes.id", ondelete="SET NULL"), index=True
    )
    sequence: Mapped[int | None] = mapped_column(Integer)
    #: on_demand | plan
    origin: Mapped[str] = mapped_column(String(16))
    #: scheduled -> assigned (on a route) -> completed | missed; missed -> scheduled again
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    scheduled_date: Mapped[date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    planned_eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    eta: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    proof_latitude: Mapped[float | None] = mapped_column(Float)
    proof_longitude: Mapped[float | None] = mapped_column(Float)
    proof_photo_ref: Mapped[str | None] = mapped_column(String(500))
    missed_reason: Mapped[str | None] = mapped_column(String(32))
    missed_note: Mapped[str | None] = mapped_column(Text)
    missed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reschedule_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer)
    airtable_synced_version: Mapped[int] = mapped_column(Integer, default=0)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}
