"""Customer onboarding: Stripe customer, the rows and their event in one transaction, messages."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import Customer, Notification, ServiceAddress
from wms.domain.schemas import AddressOut, CustomerCreate, CustomerOut, NotificationOut
from wms.errors import Conflict, NotFound, WMSError
from wms.events import new_event
from wms.integrations.messaging import Email, Sms
from wms.integrations.payments import Payments
from wms.security import Principal

__all__ = ["Onboarding", "customer_out", "get_customer"]


@dataclass(frozen=True, kw_only=True)
class Onboarding:
    sessions: async_sessionmaker[AsyncSession]
    payments: Payments
    email: Email
    sms: Sms

    async def onboard(self, data: CustomerCreate, *, idempotency_key: str | None) -> CustomerOut:
        async with self.sessions() as session:
            taken = await session.scalar(select(Customer.id).where(Customer.email == data.email))
        if taken is not None:
            raise Conflict(f"a customer with e-mail {data.email} exists", code="customer_exists")

        customer_id = uuid.uuid4()
        # Stripe first: if it fails, nothing was written. The key makes a retried request
        # reuse the Stripe customer instead of creating a second one.
        stripe_id = await self.payments.create_customer(
            email=data.email,
            name=data.name,
            phone=data.phone,
            metadata={"wms_customer_id": str(customer_id)},
            idempotency_key=f"wms-onboard-{idempotency_key or customer_id}",
        )
        customer = Customer(
            id=customer_id,
            name=data.name,
            email=data.email,
            phone=data.phone,
            status="active",
            stripe_customer_id=stripe_id,
            created_at=datetime.now(UTC),
        )
        address = ServiceAddress(customer_id=customer_id, **data.service_address.model_dump())
        try:
            async with self.sessions() as session, session.begin():
                session.add(customer)
                await session.flush()
                session.add(address)
                session.add(
                    new_event(
                        "customers",
                        "customer.onboarded",
                        {
                            "customer_id": str(customer_id),
                            "email": data.email,
                            "stripe_customer_id": stripe_id,
                        },
                    )
                )
        except IntegrityError:
            raise Conflict(
                f"a customer with e-mail {data.email} exists", code="customer_exists"
            ) from None

        notifications = await self._welcome(customer)
        out = customer_out(customer, [address])
        out.notifications = notifications
        return out

    async def _welcome(self, customer: Customer) -> list[NotificationOut]:
        """Welcome e-mail and SMS. A failed message does not undo the onboarding: it is
        recorded as failed, to be retried."""
        results = await asyncio.gather(
            self.email.send(
                to=customer.email,
                subject="Welcome to WMS",
                text=f"Hello {customer.name}, your waste collection service is active.",
            ),
            self.sms.send(to=customer.phone, text="WMS: your collection service is active."),
            return_exceptions=True,
        )
        rows = []
        for channel, result in zip(("email", "sms"), results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, WMSError):
                raise result
            failed = isinstance(result, WMSError)
            rows.append(
                Notification(
                    customer_id=customer.id,
                    channel=channel,
                    kind="welcome",
                    status="failed" if failed else "sent",
                    provider_id=None if failed else str(result),
                    error=str(result) if failed else None,
                )
            )
        async with self.sessions() as session, session.begin():
            session.add_all(rows)
            for row in rows:
                session.add(
                    new_event(
                        "notifications",
                        f"notification.{row.status}",
                        {
                            "customer_id": str(customer.id),
                            "channel": row.channel,
                            "kind": row.kind,
                        },
                    )
                )
        return [
            NotificationOut(channel=r.channel, kind=r.kind, status=r.status)
            for r in rows
        ]


def customer_out(customer: Customer, addresses: list[ServiceAddress]) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        status=customer.status,
        stripe_customer_id=customer.stripe_customer_id,
        created_at=customer.created_at,
        service_addresses=[
            AddressOut(
                id=a.id,
                line1=a.line1,
                city=a.city,
                postal_code=a.postal_code,
                latitude=a.latitude,
                longitude=a.longitude,
            )
            for a in addresses
        ],
    )


async def get_customer(
    sessions: async_sessionmaker[AsyncSession], customer_id: uuid.UUID, principal: Principal
) -> CustomerOut:
    # a customer asking for someone else's record learns nothing, not even that it exists
    if principal.role == "customer" and principal.customer_id != customer_id:
        raise NotFound("customer not found")
    async with sessions() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer not found")
        return customer_out(customer, list(customer.addresses))
