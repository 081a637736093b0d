"""Customer onboarding: Stripe customer, the rows and their event in one transaction, messages."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import Customer, ServiceAddress
from wms.domain.customers.notifications import Message, Notifier
from wms.domain.schemas import AddressOut, CustomerCreate, CustomerOut, NotificationOut
from wms.errors import Conflict, NotFound
from wms.events import emit
from wms.integrations.payments import Payments
from wms.security import Principal

__all__ = ["Onboarding", "customer_out", "get_customer"]


@dataclass(frozen=True, kw_only=True)
class Onboarding:
    sessions: async_sessionmaker[AsyncSession]
    payments: Payments
    notifier: Notifier

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
                await emit(
                    session,
                    "customers",
                    "customer.onboarded",
                    {
                        "customer_id": str(customer_id),
                        "email": data.email,
                        "stripe_customer_id": stripe_id,
                    },
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
        return await self.notifier.notify(
            customer,
            Message(
                kind="welcome",
                subject="Welcome to WMS",
                email_text=f"Hello {customer.name}, your waste collection service is active.",
                sms_text="WMS: your collection service is active.",
            ),
        )


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
