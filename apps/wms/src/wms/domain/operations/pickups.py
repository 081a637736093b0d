"""Pickups: requested on demand or scheduled from a plan, put on a route, completed with proof
or reported missed and rescheduled. Each step is one transaction with its event on the
"pickups" channel, and the customer hears of it by e-mail and SMS once it is committed.

Who sees what: staff (admin, dispatcher) every pickup, a driver those on their own routes,
a customer their own. Anything else is answered as if it did not exist (404).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import Customer, ServiceAddress
from wms.db.operations_models import OPEN_PICKUP, Depot, Pickup, Route
from wms.domain.customers.notifications import Notifier
from wms.domain.operations.pickup_views import (
    check_day,
    event_data,
    message,
    pickup_out,
    today,
    visible_pickups,
)
from wms.domain.operations.places import locate
from wms.domain.operations.routing import haversine_m
from wms.domain.operations.schemas import (
    CompletionIn,
    MissedIn,
    PickupOut,
    PickupStatus,
    RescheduleIn,
)
from wms.errors import Conflict, NotFound
from wms.events import emit
from wms.integrations.maps import GoogleMaps
from wms.security import Principal

__all__ = ["Pickups", "advance_route"]

#: a completion may be stamped a little ahead of our clock (the driver's phone drifts)
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, kw_only=True)
class Pickups:
    sessions: async_sessionmaker[AsyncSession]
    notifier: Notifier
    maps: GoogleMaps
    #: how far from the address a completion's GPS proof may be
    proof_max_distance_m: float = 500.0

    # -- reads ---------------------------------------------------------------------------
    async def get(self, pickup_id: uuid.UUID, principal: Principal) -> PickupOut:
        async with self.sessions() as session:
            pickup, address = await self._load(session, pickup_id, principal)
            return pickup_out(pickup, address)

    async def list(
        self,
        principal: Principal,
        *,
        customer_id: uuid.UUID | None = None,
        route_id: uuid.UUID | None = None,
        status: PickupStatus | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        limit: int = 100,
    ) -> list[PickupOut]:
        stmt = visible_pickups(
            select(Pickup, ServiceAddress).join(
                ServiceAddress, ServiceAddress.id == Pickup.address_id
            ),
            principal,
        )
        if customer_id is not None:
            stmt = stmt.where(Pickup.customer_id == customer_id)
        if route_id is not None:
            stmt = stmt.where(Pickup.route_id == route_id)
        if status is not None:
            stmt = stmt.where(Pickup.status == status)
        if date_from is not None:
            stmt = stmt.where(Pickup.scheduled_date >= date_from)
        if date_to is not None:
            stmt = stmt.where(Pickup.scheduled_date <= date_to)
        stmt = stmt.order_by(Pickup.scheduled_date, Pickup.sequence, Pickup.created_at)
        async with self.sessions() as session:
            rows = (await session.execute(stmt.limit(limit))).all()
        return [pickup_out(p, a) for p, a in rows]

    async def _load(
        self,
        session: AsyncSession,
        pickup_id: uuid.UUID,
        principal: Principal,
        *,
        lock: bool = False,
    ) -> tuple[Pickup, ServiceAddress]:
        stmt = visible_pickups(select(Pickup).where(Pickup.id == pickup_id), principal)
        pickup = await session.scalar(stmt.with_for_update() if lock else stmt)
        if pickup is None:
            raise NotFound("pickup not found")
        address = await session.get(ServiceAddress, pickup.address_id)
        assert address is not None  # a foreign key with ON DELETE CASCADE
        return pickup, address

    # -- on demand -------------------------------------------------------------------------
    async def request(
        self,
        *,
        customer_id: uuid.UUID,
        address_id: uuid.UUID | None,
        scheduled_date: date,
        depot_id: uuid.UUID | None,
        notes: str | None,
        principal: Principal,
    ) -> PickupOut:
        if principal.role == "customer" and principal.customer_id != customer_id:
            raise NotFound("customer not found")
        async with self.sessions() as session:
            customer = await session.get(Customer, customer_id)
            if customer is None:
                raise NotFound("customer not found")
            stmt = select(ServiceAddress).where(ServiceAddress.customer_id == customer_id)
            if address_id is not None:
                stmt = stmt.where(ServiceAddress.id == address_id)
            address = await session.scalar(stmt.order_by(ServiceAddress.id).limit(1))
            if address is None:
                raise NotFound("service address not found")
            if depot_id is not None and await session.get(Depot, depot_id) is None:
                raise NotFound("depot not found")
        check_day(scheduled_date, "body.scheduled_date")
        await locate(self.sessions, self.maps, [address], required=False)
        pickup = Pickup(
            customer_id=customer_id,
            address_id=address.id,
            depot_id=depot_id,
            origin="on_demand",
            status="scheduled",
            scheduled_date=scheduled_date,
            notes=notes,
            requested_by=principal.user_id,
            reschedule_count=0,
        )
        try:
            async with self.sessions() as session, session.begin():
                session.add(pickup)
                await session.flush()
                await emit(session, "pickups", "pickup.requested", event_data(pickup))
        except IntegrityError:
            raise Conflict(
                f"this address already has a pickup on {scheduled_date}", code="pickup_exists"
            ) from None
        sent = await self.notifier.notify(
            customer,
            message(
                "pickup_requested",
                "Collection booked",
                f"We will collect your bins on {scheduled_date:%A %d %B %Y}.",
            ),
        )
        return pickup_out(pickup, address, sent)

    # -- the driver's and the customer's reports ------------------------------------------
    async def complete(
        self, pickup_id: uuid.UUID, proof: CompletionIn, principal: Principal
    ) -> PickupOut:
        now = datetime.now(UTC)
        at = proof.completed_at or now
        async with self.sessions() as session, session.begin():
            pickup, address = await self._load(session, pickup_id, principal, lock=True)
            if pickup.status != "assigned":
                raise Conflict(f"the pickup is {pickup.status}", code="pickup_not_open")
            if at > now + CLOCK_SKEW:
                raise Conflict(
                    "completed_at is in the future",
                    code="completed_in_future",
                    details=[{"field": "body.completed_at", "message": "in the future"}],
                )
            if address.latitude is not None and address.longitude is not None:
                away = haversine_m(
                    (proof.latitude, proof.longitude), (address.latitude, address.longitude)
                )
                if away > self.proof_max_distance_m:
                    raise Conflict(
                        f"the proof was taken {away:.0f} m from the address "
                        f"(at most {self.proof_max_distance_m:.0f} m)",
                        code="proof_too_far",
                        details=[{"field": "body.latitude", "message": "too far from the stop"}],
                    )
            pickup.status = "completed"
            pickup.completed_at = at
            pickup.completed_by = principal.user_id
            pickup.proof_latitude, pickup.proof_longitude = proof.latitude, proof.longitude
            pickup.proof_photo_ref = proof.photo_ref
            pickup.eta = None
            await session.flush()
            await emit(
                session,
                "pickups",
                "pickup.completed",
                event_data(
                    pickup,
                    completed_at=at.isoformat(),
                    photo_ref=proof.photo_ref,
                    latitude=proof.latitude,
                    longitude=proof.longitude,
                ),
            )
            await advance_route(session, pickup.route_id)
            customer = await session.get(Customer, pickup.customer_id)
        assert customer is not None
        sent = await self.notifier.notify(
            customer,
            message(
                "pickup_completed",
                "Bins collected",
                f"Your bins were collected at {at:%H:%M} UTC on {at:%d %B %Y}.",
            ),
        )
        return pickup_out(pickup, address, sent)

    async def report_missed(
        self, pickup_id: uuid.UUID, report: MissedIn, principal: Principal
    ) -> PickupOut:
        async with self.sessions() as session, session.begin():
            pickup, address = await self._load(session, pickup_id, principal, lock=True)
            if pickup.status not in OPEN_PICKUP:
                raise Conflict(f"the pickup is {pickup.status}", code="pickup_not_open")
            if principal.role == "customer" and pickup.scheduled_date > today():
                # a crew may know ahead (a broken truck); a customer knows once the day came
                raise Conflict(
                    f"the pickup is due on {pickup.scheduled_date}", code="pickup_not_due"
                )
            pickup.status = "missed"
            pickup.missed_reason, pickup.missed_note = report.reason, report.note
            pickup.missed_at = datetime.now(UTC)
            pickup.eta = None
            await session.flush()
            await emit(
                session,
                "pickups",
                "pickup.missed",
                event_data(pickup, reason=report.reason, reported_by=principal.role),
            )
            await advance_route(session, pickup.route_id)
            customer = await session.get(Customer, pickup.customer_id)
        assert customer is not None
        sent = await self.notifier.notify(
            customer,
            message(
                "pickup_missed",
                "Collection missed",
                f"Your collection of {pickup.scheduled_date:%d %B} was missed "
                f"({report.reason.replace('_', ' ')}). We will arrange a new day.",
            ),
        )
        return pickup_out(pickup, address, sent)

    async def reschedule(
        self, pickup_id: uuid.UUID, change: RescheduleIn, principal: Principal
    ) -> PickupOut:
        try:
            async with self.sessions() as session, session.begin():
                pickup, address = await self._load(session, pickup_id, principal, lock=True)
                if pickup.status not in ("scheduled", "missed"):
                    raise Conflict(
                        f"a pickup that is {pickup.status} cannot be moved",
                        code="pickup_not_reschedulable",
                    )
                check_day(change.scheduled_date, "body.scheduled_date")
                before = pickup.scheduled_date
                pickup.status = "scheduled"
                pickup.scheduled_date = change.scheduled_date
                pickup.route_id = pickup.sequence = None
                pickup.planned_eta = pickup.eta = None
                pickup.missed_reason = pickup.missed_note = None
                pickup.missed_at = None
                pickup.reschedule_count += 1
                await session.flush()
                await emit(
                    session,
                    "pickups",
                    "pickup.rescheduled",
                    event_data(pickup, previous_date=before.isoformat()),
                )
                customer = await session.get(Customer, pickup.customer_id)
        except IntegrityError:
            raise Conflict(
                f"this address already has a pickup on {change.scheduled_date}",
                code="pickup_exists",
            ) from None
        assert customer is not None
        sent = await self.notifier.notify(
            customer,
            message(
                "pickup_rescheduled",
                "Collection moved",
                f"Your collection is now on {change.scheduled_date:%A %d %B %Y}.",
            ),
        )
        return pickup_out(pickup, address, sent)


async def advance_route(session: AsyncSession, route_id: uuid.UUID | None) -> None:
    """A route is in progress once a stop is closed, and completed when none is left."""
    if route_id is None:
        return
    route = await session.get(Route, route_id, with_for_update=True)
    if route is None:
        return
    left = await session.scalar(
        select(func.count())
        .select_from(Pickup)
        .where(Pickup.route_id == route_id, Pickup.status == "assigned")
    )
    status = "completed" if not left else "in_progress"
    if route.status == status:
        return
    route.status = status
    await session.flush()
    await emit(
        session,
        "routes",
        f"route.{'completed' if status == 'completed' else 'started'}",
        {"route_id": str(route.id), "driver_id": str(route.driver_id), "stops_left": left},
    )
