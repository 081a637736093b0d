"""How pickups are seen: who may see which, their API shape, their events and messages, and
which service days are valid."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, false, select

from wms.db.models import Customer, ServiceAddress
from wms.db.operations_models import Pickup, Route
from wms.domain.customers.notifications import Message, Notifier
from wms.domain.operations.schemas import MissedOut, PickupOut, ProofOut
from wms.domain.schemas import AddressOut, NotificationOut
from wms.errors import Conflict
from wms.security import Principal

__all__ = [
    "HORIZON_DAYS",
    "STAFF",
    "check_day",
    "event_data",
    "message",
    "notify_each",
    "pickup_out",
    "today",
    "visible_pickups",
]

S = TypeVar("S", bound=Select[*tuple[Any, ...]])

STAFF = frozenset({"admin", "dispatcher"})
#: how far ahead a pickup may be booked
HORIZON_DAYS = 366
#: customers notified at once after a bulk step (each is an e-mail and an SMS)
NOTIFY_CONCURRENCY = 4


def today() -> date:
    return datetime.now(UTC).date()


def check_day(day: date, field: str) -> None:
    """A service day must be today or later, and within the booking horizon (a well-formed
    day the calendar refuses: 409, naming the field)."""
    first, last = today(), today() + timedelta(days=HORIZON_DAYS)
    if not first <= day <= last:
        raise Conflict(
            f"{field.rpartition('.')[2]} must be between {first} and {last}",
            code="date_out_of_range",
            details=[{"field": field, "message": f"not between {first} and {last}"}],
        )


def visible_pickups(stmt: S, principal: Principal) -> S:
    """``stmt`` (selecting pickups) narrowed to what the caller may see."""
    if principal.role in STAFF:
        return stmt
    if principal.role == "customer":
        return stmt.where(Pickup.customer_id == principal.customer_id)
    if principal.role == "driver":
        own = select(Route.id).where(Route.driver_id == principal.user_id)
        return stmt.where(Pickup.route_id.in_(own))
    return stmt.where(false())


def pickup_out(
    pickup: Pickup, address: ServiceAddress, notifications: Sequence[NotificationOut] = ()
) -> PickupOut:
    proof = (
        ProofOut(
            completed_at=pickup.completed_at,
            completed_by=pickup.completed_by,
            latitude=pickup.proof_latitude,
            longitude=pickup.proof_longitude,
            photo_ref=pickup.proof_photo_ref,
        )
        if pickup.completed_at is not None
        else None
    )
    missed = (
        MissedOut(reason=pickup.missed_reason, note=pickup.missed_note, at=pickup.missed_at)
        if pickup.missed_reason is not None
        else None
    )
    return PickupOut(
        id=pickup.id,
        customer_id=pickup.customer_id,
        address=AddressOut.model_validate(address, from_attributes=True),
        depot_id=pickup.depot_id,
        route_id=pickup.route_id,
        sequence=pickup.sequence,
        origin=pickup.origin,
        status=pickup.status,
        scheduled_date=pickup.scheduled_date,
        notes=pickup.notes,
        planned_eta=pickup.planned_eta,
        eta=pickup.eta,
        proof=proof,
        missed=missed,
        reschedule_count=pickup.reschedule_count,
        created_at=pickup.created_at,
        notifications=list(notifications),
    )


def event_data(pickup: Pickup, **extra: Any) -> dict[str, Any]:
    return {
        "pickup_id": str(pickup.id),
        "customer_id": str(pickup.customer_id),
        "status": pickup.status,
        "scheduled_date": pickup.scheduled_date.isoformat(),
        "route_id": str(pickup.route_id) if pickup.route_id else None,
        **extra,
    }


async def notify_each(
    notifier: Notifier, messages: Iterable[tuple[Customer, Message]]
) -> list[list[NotificationOut]]:
    """Notify several customers, a few at a time: a bulk step must not flood the providers."""
    gate = asyncio.Semaphore(NOTIFY_CONCURRENCY)

    async def one(customer: Customer, message: Message) -> list[NotificationOut]:
        async with gate:
            return await notifier.notify(customer, message)

    return list(await asyncio.gather(*(one(c, m) for c, m in messages)))


def message(kind: str, subject: str, text: str) -> Message:
    """The same words by e-mail and by SMS."""
    return Message(kind=kind, subject=subject, email_text=text, sms_text=f"WMS: {text}")
