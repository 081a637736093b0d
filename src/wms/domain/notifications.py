"""Customer notifications: an e-mail and an SMS per occasion, each recorded with its outcome."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import Customer, Notification
from wms.domain.schemas import NotificationOut
from wms.errors import WMSError
from wms.events import emit
from wms.integrations.messaging import Email, Sms

__all__ = ["Message", "Notifier"]


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
