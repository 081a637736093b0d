"""Customer notifications: an e-mail and an SMS per occasion, each recorded with its outcome."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import Customer, DeliveryReceipt, Notification
from wms.domain.schemas import NotificationOut, NotificationView
from wms.errors import NotFound, WMSError
from wms.events import emit
from wms.integrations.messaging import Email, Sms
from wms.security import Principal

__all__ = ["DELIVERY_RANK", "Message", "Notifier", "customer_notifications", "record_delivery"]

#: how far along each provider status is; a status never replaces one further along
DELIVERY_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
}
#: statuses after which nothing more happens to a message: announced as events
FINAL = frozenset({"delivered", "undelivered", "failed", "read"})


@dataclass(frozen=True, kw_only=True)
class Message:
    kind: str
    subject: str
    email_text: str
    sms_text: str


@dataclass(frozen=True, kw_only=True)
class Notifier:
    sessions: async_sessionmaker[AsyncSession]
    email: Email
    sms: Sms

    async def notify(self, customer: Customer, message: Message) -> list[NotificationOut]:
        """Send both; a failed one is recorded as failed (to retry), never an error of the
        business operation that caused it."""
        results = await asyncio.gather(
            self.email.send(to=customer.email, subject=message.subject, text=message.email_text),
            self.sms.send(to=customer.phone, text=message.sms_text),
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
                    kind=message.kind,
                    status="failed" if failed else "sent",
                    provider_id=None if failed else str(result),
                    error=str(result) if failed else None,
                )
            )
        async with self.sessions() as session, session.begin():
            session.add_all(rows)
            for row in rows:
                await emit(
                    session,
                    "notifications",
                    f"notification.{row.status}",
                    {"customer_id": str(customer.id), "channel": row.channel, "kind": row.kind},
                )
        return [NotificationOut(channel=r.channel, kind=r.kind, status=r.status) for r in rows]


async def record_delivery(
    sessions: async_sessionmaker[AsyncSession],
    *,
    provider_id: str,
    status: str,
    error_code: str | None,
) -> bool:
    """Note a provider's report on one message; False when it tells nothing new (a
    repeat, or a report overtaken by a later one)."""
    rank = DELIVERY_RANK[status]
    upsert = insert(DeliveryReceipt).values(
        provider_id=provider_id, status=status, rank=rank, error_code=error_code
    )
    statement = upsert.on_conflict_do_update(
        index_elements=[DeliveryReceipt.provider_id],
        set_={
            "status": upsert.excluded.status,
            "rank": upsert.excluded.rank,
            "error_code": upsert.excluded.error_code,
            "updated_at": upsert.excluded.updated_at,
        },
        where=DeliveryReceipt.rank < upsert.excluded.rank,
    ).returning(DeliveryReceipt.provider_id)
    async with sessions() as session, session.begin():
        changed = (await session.execute(statement)).first() is not None
        if changed and status in FINAL:
            row = await session.scalar(
                select(Notification).where(Notification.provider_id == provider_id)
            )
            await emit(
                session,
                "notifications",
                f"notification.{status}",
                {
                    "customer_id": str(row.customer_id) if row else None,
                    "channel": row.channel if row else "sms",
                    "kind": row.kind if row else None,
                    "error_code": error_code,
                },
            )
    return changed


async def customer_notifications(
    sessions: async_sessionmaker[AsyncSession], customer_id: uuid.UUID, principal: Principal
) -> list[NotificationView]:
    """A customer's messages, newest first, each with how far its delivery got."""
    if principal.role == "customer" and principal.customer_id != customer_id:
        raise NotFound("customer not found")
    async with sessions() as session:
        if await session.get(Customer, customer_id) is None:
            raise NotFound("customer not found")
        rows = await session.execute(
            select(Notification, DeliveryReceipt)
            .outerjoin(DeliveryReceipt, DeliveryReceipt.provider_id == Notification.provider_id)
            .where(Notification.customer_id == customer_id)
            .order_by(Notification.created_at.desc(), Notification.id)
        )
        return [
            NotificationView(
                id=n.id,
                channel=n.channel,
                kind=n.kind,
                status=n.status,
                delivery=receipt.status if receipt else None,
                error_code=receipt.error_code if receipt else None,
                created_at=n.created_at,
            )
            for n, receipt in rows.tuples()
        ]
