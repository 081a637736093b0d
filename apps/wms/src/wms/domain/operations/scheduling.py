"""Pickups from customers' plans: the service days each active subscription calls for.

Scheduling a window twice creates nothing twice (one pickup per subscription and day),
so a dispatcher, or a nightly job, may run it as often as they like.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import Customer, ServiceAddress, ServicePlan, Subscription
from wms.db.operations_models import Depot, Pickup
from wms.domain.billing.service import PERIOD_DAYS
from wms.domain.customers.notifications import Notifier
from wms.domain.operations.pickup_views import (
    HORIZON_DAYS,
    event_data,
    message,
    notify_each,
    pickup_out,
    today,
)
from wms.domain.operations.places import locate
from wms.domain.operations.schemas import PickupOut
from wms.errors import NotFound
from wms.events import emit
from wms.integrations.maps import GoogleMaps
from wms.security import Principal

__all__ = ["Scheduling", "service_days"]


def service_days(started_on: date, period_days: int, first: date, last: date) -> Iterator[date]:
    """The days from ``first`` to ``last`` on which a plan started on ``started_on`` collects."""
    day = started_on
    if first > started_on:
        periods = -(-(first - started_on).days // period_days)  # rounded up
        day = started_on + timedelta(days=periods * period_days)
    while day <= last:
        yield day
        day += timedelta(days=period_days)


def window(start: date, days: int) -> tuple[date, date] | None:
    """The bookable part of ``days`` days from ``start``: past days and days beyond the
    horizon are left out (None when nothing is left)."""
    horizon = today() + timedelta(days=HORIZON_DAYS)
    if start > horizon:
        return None
    first, last = max(start, today()), min(start + timedelta(days=days - 1), horizon)
    return (first, last) if first <= last else None


@dataclass(frozen=True, kw_only=True)
class Scheduling:
    sessions: async_sessionmaker[AsyncSession]
    notifier: Notifier
    maps: GoogleMaps

    async def schedule(
        self,
        *,
        start: date,
        days: int,
        customer_id: uuid.UUID | None,
        depot_id: uuid.UUID | None,
        principal: Principal,
    ) -> list[PickupOut]:
        """Create the missing pickups of active subscriptions in the window; return them."""
        async with self.sessions() as session:
            if customer_id is not None and await session.get(Customer, customer_id) is None:
                raise NotFound("customer not found")
            if depot_id is not None and await session.get(Depot, depot_id) is None:
                raise NotFound("depot not found")
            span = window(start, days)
            if span is None:
                return []
            plans = await self._plans(session, customer_id)
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = [
            {
                "id": uuid.uuid4(),
                "customer_id": subscription.customer_id,
                "address_id": address.id,
                "depot_id": depot_id,
                "subscription_id": subscription.id,
                "origin": "plan",
                "status": "scheduled",
                "scheduled_date": day,
                "requested_by": principal.user_id,
                "reschedule_count": 0,
                "created_at": now,
                "version": 1,
                "airtable_synced_version": 0,
            }
            for subscription, plan, address in plans
            for day in service_days(subscription.started_on, PERIOD_DAYS[plan.frequency], *span)
        ]
        if not rows:
            return []
        async with self.sessions() as session, session.begin():
            # a day the customer already has (from the plan, or booked on demand) is skipped
            created = (
                await session.scalars(
                    insert(Pickup).values(rows).on_conflict_do_nothing().returning(Pickup.id)
                )
            ).all()
            pickups = (
                await session.scalars(
                    select(Pickup)
                    .where(Pickup.id.in_(created))
                    .order_by(Pickup.customer_id, Pickup.scheduled_date)
                )
            ).all()
            for pickup in pickups:
                await emit(session, "pickups", "pickup.scheduled", event_data(pickup))
            customers = {
                c.id: c
                for c in await session.scalars(
                    select(Customer).where(Customer.id.in_({p.customer_id for p in pickups}))
                )
            }
        addresses = {address.customer_id: address for _, _, address in plans}
        booked = [a for c, a in addresses.items() if c in {p.customer_id for p in pickups}]
        await locate(self.sessions, self.maps, booked, required=False)
        days_of: dict[uuid.UUID, list[date]] = defaultdict(list)
        for pickup in pickups:
            days_of[pickup.customer_id].append(pickup.scheduled_date)
        await notify_each(
            self.notifier,
            (
                (
                    customers[cid],
                    message(
                        "pickups_scheduled",
                        "Collections scheduled",
                        "Your bins will be collected on "
                        + ", ".join(f"{d:%a %d %b}" for d in sorted(ds))
                        + ".",
                    ),
                )
                for cid, ds in days_of.items()
            ),
        )
        return [pickup_out(p, addresses[p.customer_id]) for p in pickups]

    @staticmethod
    async def _plans(
        session: AsyncSession, customer_id: uuid.UUID | None
    ) -> list[tuple[Subscription, ServicePlan, ServiceAddress]]:
        """Active subscriptions with their plan and the customer's first service address."""
        stmt = (
            select(Subscription, ServicePlan)
            .join(ServicePlan, ServicePlan.id == Subscription.plan_id)
            .where(Subscription.status == "active")
        )
        if customer_id is not None:
            stmt = stmt.where(Subscription.customer_id == customer_id)
        subscriptions = (await session.execute(stmt)).all()
        first: dict[uuid.UUID, ServiceAddress] = {}
        for address in await session.scalars(
            select(ServiceAddress)
            .where(ServiceAddress.customer_id.in_({s.customer_id for s, _ in subscriptions}))
            .order_by(ServiceAddress.id.desc())
        ):
            first[address.customer_id] = address  # the lowest id wins, as for on-demand
        return [(s, p, first[s.customer_id]) for s, p in subscriptions if s.customer_id in first]
