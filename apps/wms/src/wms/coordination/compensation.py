"""Compensation: undoing at a provider what WMS cannot keep (the orchestrator's ``compensate``).

An error event that carries ``details["compensation"]`` names the undo of an action a
provider completed and WMS's own records refuse. One kind exists:

- ``refund_duplicate_charge`` ``{"invoice_id", "payment_intent", "amount_cents"}``: a
  PaymentIntent succeeded at Stripe for an invoice already settled by another one (a
  charge started outside WMS, or two attempts that raced): the customer paid twice, and
  the second charge is refunded in full.

The undo proves it is due before it acts, because events are delivered at least once and
may be late: the invoice must still be settled, by another PaymentIntent. The refund
carries an idempotency key derived from the PaymentIntent, so Stripe makes it once however
often the event is handled. A payment row of that PaymentIntent, if WMS started it, is
marked failed with the refund's id; a ``payment.compensated`` event is announced on the
``billing`` channel. Raises whatever the provider or the database raised: the event is
then left unacknowledged and handled again later.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.db.models import Invoice, Payment
from wms.events import emit
from wms.integrations.payments import Payments

__all__ = ["DUPLICATE_CHARGE", "Compensate", "compensator"]

#: the kind of error event (and of compensation) of a second charge of a settled invoice
DUPLICATE_CHARGE = "duplicate_charge"
_SETTLED = ("paid", "partially_refunded", "refunded")

#: runs one compensation (``details["compensation"]``); returns what it did, recorded as is
Compensate = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def compensator(sessions: async_sessionmaker[AsyncSession], payments: Payments) -> Compensate:
    """The orchestrator's ``compensate``: see the module's docstring. The result is
    ``{"action": "refunded", "refund_id", "payment_intent", "amount_cents"}``,
    ``{"action": "compensation_not_needed", "reason"}``, or ``{"action":
    "compensation_unknown", "reason"}`` for a compensation this version cannot run."""

    async def compensate(compensation: dict[str, Any]) -> dict[str, Any]:
        if compensation.get("kind") != f"refund_{DUPLICATE_CHARGE}":
            return {
                "action": "compensation_unknown",
                "reason": f"no compensation of kind {compensation.get('kind')!r}",
            }
        intent = str(compensation["payment_intent"])
        invoice_id = uuid.UUID(str(compensation["invoice_id"]))
        async with sessions() as session:
            invoice = await session.get(Invoice, invoice_id)
        if invoice is None or invoice.status not in _SETTLED:
            return {"action": "compensation_not_needed", "reason": "the invoice is not settled"}
        if invoice.payment_intent_id == intent:
            return {
                "action": "compensation_not_needed",
                "reason": "the invoice is settled by this very PaymentIntent",
            }
        amount = int(compensation["amount_cents"])
        refund_id = await payments.refund(
            payment_intent=intent,
            amount_cents=amount,
            reason="duplicate",
            idempotency_key=f"wms-compensate-{intent}",
        )
        async with sessions() as session, session.begin():
            await session.execute(
                update(Payment)
                .where(Payment.payment_intent_id == intent, Payment.status == "succeeded")
                .values(
                    status="failed",
                    error=f"charged twice: refunded ({refund_id})",
                )
            )
            await emit(
                session,
                "billing",
                "payment.compensated",
                {
                    "invoice_id": str(invoice_id),
                    "customer_id": str(invoice.customer_id),
                    "payment_intent": intent,
                    "settled_by": invoice.payment_intent_id,
                    "refund_id": refund_id,
                    "amount_cents": amount,
                },
            )
        return {
            "action": "refunded",
            "refund_id": refund_id,
            "payment_intent": intent,
            "amount_cents": amount,
        }

    return compensate
