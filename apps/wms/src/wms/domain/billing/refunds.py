"""Refunds of paid invoices: through Stripe, booked once however often the request comes."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import AuditEntry, Invoice, Refund
from wms.domain.billing.schemas import RefundCreate, RefundOut
from wms.domain.billing.views import invoice_out
from wms.errors import Conflict, NotFound
from wms.events import emit
from wms.integrations.payments import Payments
from wms.security import Principal

__all__ = ["refund"]


async def refund(
    sessions: async_sessionmaker[AsyncSession],
    payments: Payments,
    invoice_id: uuid.UUID,
    data: RefundCreate,
    *,
    principal: Principal,
    idempotency_key: str | None,
) -> RefundOut:
    async with sessions() as session:
        invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound("invoice not found")
    if invoice.status not in ("paid", "partially_refunded") or not invoice.payment_intent_id:
        raise Conflict(f"invoice is {invoice.status}, not paid", code="not_refundable")
    remaining = invoice.amount_cents - invoice.refunded_cents
    amount = data.amount_cents if data.amount_cents is not None else remaining
    if amount > remaining:  # the request is well formed; what is left to refund refuses it
        raise Conflict(
            f"refund of {amount} exceeds the {remaining} not yet refunded",
            code="refund_too_large",
        )
    stripe_refund = await payments.refund(
        payment_intent=invoice.payment_intent_id,
        amount_cents=amount,
        reason=data.reason,
        idempotency_key=f"wms-refund-{invoice_id}-{idempotency_key or uuid.uuid4()}",
    )
    async with sessions() as session, session.begin():
        existing = await session.scalar(
            select(Refund).where(Refund.stripe_refund_id == stripe_refund)
        )
        invoice = await session.get(Invoice, invoice_id, with_for_update=True)
        assert invoice is not None
        if existing is not None:  # a replayed request: already booked
            return RefundOut(**_refund_fields(existing), invoice=invoice_out(invoice))
        refund = Refund(
            invoice_id=invoice_id,
            stripe_refund_id=stripe_refund,
            amount_cents=amount,
            reason=data.reason,
        )
        session.add(refund)
        invoice.refunded_cents += amount
        invoice.status = (
            "refunded" if invoice.refunded_cents >= invoice.amount_cents else "partially_refunded"
        )
        session.add(
            AuditEntry(
                actor=principal.email,
                action="refund",
                details={
                    "invoice_id": str(invoice_id),
                    "amount_cents": amount,
                    "reason": data.reason,
                },
            )
        )
        await emit(
            session,
            "billing",
            "invoice.refunded",
            {
                "customer_id": str(invoice.customer_id),
                "invoice_id": str(invoice_id),
                "amount_cents": amount,
            },
        )
        await session.flush()
    return RefundOut(**_refund_fields(refund), invoice=invoice_out(invoice))


def _refund_fields(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "invoice_id": refund.invoice_id,
        "stripe_refund_id": refund.stripe_refund_id,
        "amount_cents": refund.amount_cents,
        "reason": refund.reason,
    }
