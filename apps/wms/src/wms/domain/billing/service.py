"""Billing: plans, subscriptions, invoices, payments (exactly once), refunds, webhooks, dunning.

A payment is charged at most once per invoice, whatever is retried: a client's
Idempotency-Key maps to one Payment row, the Payment row to one Stripe idempotency key,
and before any new attempt Stripe is asked whether the invoice was already paid.
Webhooks may arrive late, twice or out of order: each event id is processed once, and
an invoice's state only moves forward (a late failure never unsettles a payment).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wms.coordination.compensation import DUPLICATE_CHARGE
from wms.coordination.errors import report_error
from wms.db.models import (
    Customer,
    Invoice,
    Payment,
    ServicePlan,
    Subscription,
    WebhookEvent,
)
from wms.domain.billing.refunds import refund
from wms.domain.billing.schemas import (
    InvoiceCreate,
    InvoiceOut,
    PaymentOut,
    PlanCreate,
    PlanOut,
    RefundCreate,
    RefundOut,
    SubscriptionCreate,
    SubscriptionOut,
)
from wms.domain.billing.settlement import mismatch, pays_in_full
from wms.domain.billing.views import invoice_out
from wms.domain.customers.notifications import Message, Notifier
from wms.errors import Conflict, NotFound
from wms.events import emit
from wms.integrations.payments import Payments
from wms.security import Principal

__all__ = ["Billing", "invoice_out"]

T = TypeVar("T")

PERIOD_DAYS = {"weekly": 7, "biweekly": 14, "monthly": 30}
SETTLED = ("paid", "partially_refunded", "refunded")


def _payment_out(payment: Payment, invoice: Invoice) -> PaymentOut:
    return PaymentOut(
        id=payment.id,
        invoice_id=payment.invoice_id,
        attempt=payment.attempt,
        status=payment.status,
        payment_intent_id=payment.payment_intent_id,
        amount_cents=payment.amount_cents,
        error=payment.error,
        invoice=invoice_out(invoice),
    )


@dataclass(frozen=True, kw_only=True)
class Billing:
    sessions: async_sessionmaker[AsyncSession]
    payments: Payments
    notifier: Notifier
    dunning_schedule_hours: tuple[float, ...] = (24.0, 72.0, 168.0)

    # -- plans and subscriptions ---------------------------------------------------------
    async def create_plan(self, data: PlanCreate) -> PlanOut:
        plan = ServicePlan(**data.model_dump(), active=True)
        try:
            async with self.sessions() as session, session.begin():
                session.add(plan)
        except IntegrityError:
            raise Conflict(f"a plan named {data.name!r} exists", code="plan_exists") from None
        return PlanOut.model_validate(plan, from_attributes=True)

    async def list_plans(self) -> list[PlanOut]:
        async with self.sessions() as session:
            plans = (
                await session.scalars(
                    select(ServicePlan).where(ServicePlan.active).order_by(ServicePlan.price_cents)
                )
            ).all()
        return [PlanOut.model_validate(p, from_attributes=True) for p in plans]

    async def subscribe(
        self, customer_id: uuid.UUID, data: SubscriptionCreate, *, today: date | None = None
    ) -> SubscriptionOut:
        today = today or datetime.now(UTC).date()
        async with self.sessions() as session:
            customer = await session.get(Customer, customer_id)
            plan = await session.get(ServicePlan, data.plan_id)
        if customer is None:
            raise NotFound("customer not found")
        if plan is None or not plan.active:
            raise NotFound("plan not found")
        if customer.stripe_customer_id is None:
            raise Conflict("customer has no payment account yet", code="not_onboarded")
        method = await self.payments.attach_payment_method(
            customer=customer.stripe_customer_id, payment_method=data.payment_method
        )
        subscription = Subscription(
            customer_id=customer_id, plan_id=plan.id, status="active", started_on=today
        )
        invoice = Invoice(
            customer_id=customer_id,
            period_start=today,
            period_end=today + timedelta(days=PERIOD_DAYS[plan.frequency] - 1),
            amount_cents=plan.price_cents,
            currency=plan.currency,
            status="open",
            attempt_count=0,
            refunded_cents=0,
        )
        try:
            async with self.sessions() as session, session.begin():
                await session.execute(
                    Customer.__table__.update()  # type: ignore[attr-defined]
                    .where(Customer.id == customer_id)
                    .values(default_payment_method=method)
                )
                session.add(subscription)
                await session.flush()
                invoice.subscription_id = subscription.id
                session.add(invoice)
                await emit(
                    session,
                    "billing",
                    "subscription.created",
                    {
                        "customer_id": str(customer_id),
                        "subscription_id": str(subscription.id),
                        "plan": plan.name,
                    },
                )
        except IntegrityError:
            raise Conflict("subscription conflicts with an existing one") from None
        return SubscriptionOut(
            id=subscription.id,
            customer_id=customer_id,
            plan_id=plan.id,
            status="active",
            started_on=today,
            first_invoice_id=invoice.id,
        )

    async def set_payment_method(self, customer_id: uuid.UUID, payment_method: str) -> None:
        async with self.sessions() as session:
            customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotFound("customer not found")
        if customer.stripe_customer_id is None:
            raise Conflict("customer has no payment account yet", code="not_onboarded")
        method = await self.payments.attach_payment_method(
            customer=customer.stripe_customer_id, payment_method=payment_method
        )
        async with self.sessions() as session, session.begin():
            await session.execute(
                Customer.__table__.update()  # type: ignore[attr-defined]
                .where(Customer.id == customer_id)
                .values(default_payment_method=method)
            )

    # -- invoices --------------------------------------------------------------------------
    async def create_invoice(self, data: InvoiceCreate) -> InvoiceOut:
        invoice = Invoice(
            customer_id=data.customer_id,
            period_start=data.period_start,
            period_end=data.period_start + timedelta(days=data.period_days - 1),
            amount_cents=data.amount_cents,
            currency="usd",
            status="open",
            attempt_count=0,
            refunded_cents=0,
        )
        async with self.sessions() as session, session.begin():
            if await session.get(Customer, data.customer_id) is None:
                raise NotFound("customer not found")
            session.add(invoice)
            await session.flush()
            await emit(
                session,
                "billing",
                "invoice.created",
                {
                    "customer_id": str(data.customer_id),
                    "invoice_id": str(invoice.id),
                    "amount_cents": data.amount_cents,
                },
            )
        return invoice_out(invoice)

    async def get_invoice(self, invoice_id: uuid.UUID, principal: Principal) -> InvoiceOut:
        async with self.sessions() as session:
            invoice = await session.get(Invoice, invoice_id)
        if invoice is None or (
            principal.role == "customer" and invoice.customer_id != principal.customer_id
        ):
            raise NotFound("invoice not found")
        return invoice_out(invoice)

    async def list_invoices(
        self, principal: Principal, customer_id: uuid.UUID | None, status: str | None
    ) -> list[InvoiceOut]:
        if principal.role == "customer":
            customer_id = principal.customer_id
        query = select(Invoice).order_by(Invoice.created_at.desc(), Invoice.id).limit(500)
        if customer_id is not None:
            query = query.where(Invoice.customer_id == customer_id)
        if status is not None:
            query = query.where(Invoice.status == status)
        async with self.sessions() as session:
            return [invoice_out(i) for i in (await session.scalars(query)).all()]

    # -- payments ----------------------------------------------------------------------------
    async def pay(
        self, invoice_id: uuid.UUID, *, idempotency_key: str | None, principal: Principal
    ) -> PaymentOut:
        """Charge an invoice once. Replaying the same Idempotency-Key returns the same payment."""
        if principal.role == "customer":
            await self.get_invoice(invoice_id, principal)  # 404 for someone else's invoice
        # the caller's key may be up to 200 characters; its digest fits the column
        client_key = idempotency_key or str(uuid.uuid4())
        key = f"{invoice_id}:{hashlib.sha256(client_key.encode()).hexdigest()[:40]}"
        async with self.sessions() as session, session.begin():
            existing = await session.scalar(select(Payment).where(Payment.idempotency_key == key))
            invoice = await session.get(Invoice, invoice_id, with_for_update=True)
            if invoice is None:
                raise NotFound("invoice not found")
            if existing is not None and existing.status != "error":
                return _payment_out(existing, invoice)
            if invoice.status in SETTLED:
                raise Conflict("invoice is already paid", code="invoice_paid")
            if invoice.status == "uncollectible":
                raise Conflict("invoice is uncollectible", code="invoice_uncollectible")
            payment = existing or Payment(
                invoice_id=invoice_id,
                attempt=invoice.attempt_count + 1,
                idempotency_key=key,
                status="pending",
                amount_cents=invoice.amount_cents,
            )
            session.add(payment)
            customer = await session.get(Customer, invoice.customer_id)
        assert customer is not None
        return await self._attempt(payment, invoice, customer)

    async def _charge_once(
        self, payment: Payment, invoice: Invoice, customer: Customer
    ) -> tuple[str | None, bool, str | None]:
        """(payment intent, succeeded, error) of charging this invoice, at most once."""
        assert customer.stripe_customer_id is not None
        assert customer.default_payment_method is not None
        # a previous attempt may have succeeded without us hearing back: never charge twice
        already = await self.payments.succeeded_intent(
            customer=customer.stripe_customer_id, invoice_id=str(invoice.id)
        )
        if already is not None:
            return already, True, None
        charge = await self.payments.charge(
            customer=customer.stripe_customer_id,
            payment_method=customer.default_payment_method,
            amount_cents=invoice.amount_cents,
            currency=invoice.currency,
            metadata={"invoice_id": str(invoice.id), "payment_id": str(payment.id)},
            idempotency_key=f"wms-payment-{payment.id}",
        )
        return charge.payment_intent_id, charge.succeeded, charge.error

    async def _attempt(self, payment: Payment, invoice: Invoice, customer: Customer) -> PaymentOut:
        if not customer.stripe_customer_id or not customer.default_payment_method:
            raise Conflict("customer has no payment method", code="no_payment_method")
        try:
            outcome_id, succeeded, error = await self._charge_once(payment, invoice, customer)
        except Exception as exc:
            # Stripe unreachable: the payment stays retryable under the same key (unless
            # Stripe's webhook told the outcome meanwhile)
            async with self.sessions() as session, session.begin():
                await session.execute(
                    Payment.__table__.update()  # type: ignore[attr-defined]
                    .where(Payment.id == payment.id, Payment.status == "pending")
                    .values(status="error", error=str(exc))
                )
            raise
        async with self.sessions() as session, session.begin():
            # invoice, then payment: the order every path takes (Stripe's webhooks too)
            invoice = await session.get(Invoice, invoice.id, with_for_update=True) or invoice
            payment = await session.get(Payment, payment.id, with_for_update=True) or payment
            payment.payment_intent_id = outcome_id
            payment.status = "succeeded" if succeeded else "failed"
            payment.error = error
            failed_now = not succeeded and invoice.status not in SETTLED
            if succeeded:
                await self._settle(session, invoice, outcome_id)
            elif failed_now:
                await self._fail(session, invoice, error)
        if failed_now:
            await self._dun(customer, invoice, error)
        return _payment_out(payment, invoice)

    async def _dun(self, customer: Customer, invoice: Invoice, error: str | None) -> None:
        amount = f"${invoice.amount_cents / 100:.2f}"
        final = invoice.status == "uncollectible"
        when = (
            "No further attempts will be made; please contact us."
            if final
            else f"We will try again on {invoice.next_attempt_at:%Y-%m-%d %H:%M} UTC."
        )
        await self.notifier.notify(
            customer,
            Message(
                kind="payment_failed",
                subject=f"Your payment of {amount} did not go through",
                email_text=f"Hello {customer.name}, we could not charge {amount} for your waste "
                f"collection service ({error or 'declined'}). {when}",
                sms_text=f"WMS: payment of {amount} failed. {when}",
            ),
        )

    async def _settle(self, session: AsyncSession, invoice: Invoice, intent: str | None) -> None:
        if invoice.status in SETTLED:
            if intent is not None and invoice.payment_intent_id not in (None, intent):
                # paid twice: the error orchestrator refunds the second charge
                report_error(
                    DUPLICATE_CHARGE,
                    "billing",
                    f"invoice {invoice.id} settled by {invoice.payment_intent_id} was "
                    f"charged again by {intent}",
                    invoice_id=str(invoice.id),
                    payment_intent=intent,
                    compensation={
                        "kind": f"refund_{DUPLICATE_CHARGE}",
                        "invoice_id": str(invoice.id),
                        "payment_intent": intent,
                        "amount_cents": invoice.amount_cents,
                    },
                )
            return
        invoice.status = "paid"
        invoice.paid_at = datetime.now(UTC)
        invoice.payment_intent_id = intent
        invoice.next_attempt_at = None
        await emit(
            session,
            "billing",
            "invoice.paid",
            {
                "customer_id": str(invoice.customer_id),
                "invoice_id": str(invoice.id),
                "amount_cents": invoice.amount_cents,
            },
        )

    async def _fail(self, session: AsyncSession, invoice: Invoice, error: str | None) -> None:
        invoice.attempt_count += 1
        schedule = self.dunning_schedule_hours
        if invoice.attempt_count > len(schedule):
            invoice.status = "uncollectible"
            invoice.next_attempt_at = None
        else:
            invoice.status = "payment_failed"
            invoice.next_attempt_at = datetime.now(UTC) + timedelta(
                hours=schedule[invoice.attempt_count - 1]
            )
        await emit(
            session,
            "billing",
            "invoice.payment_failed",
            {
                "customer_id": str(invoice.customer_id),
                "invoice_id": str(invoice.id),
                "attempt": invoice.attempt_count,
                "error": error,
                "final": invoice.status == "uncollectible",
            },
        )

    async def retry_due(self, *, now: datetime | None = None, limit: int = 50) -> int:
        """Dunning: retry every failed invoice whose next attempt is due; return how many."""
        now = now or datetime.now(UTC)
        async with self.sessions() as session:
            due = (
                await session.scalars(
                    select(Invoice.id)
                    .where(Invoice.status == "payment_failed", Invoice.next_attempt_at <= now)
                    .limit(limit)
                )
            ).all()
        retried = 0
        for invoice_id in due:
            async with self.sessions() as session, session.begin():
                invoice = await session.get(
                    Invoice, invoice_id, with_for_update=True, populate_existing=True
                )
                if invoice is None or invoice.status != "payment_failed":
                    continue
                payment = Payment(
                    invoice_id=invoice.id,
                    attempt=invoice.attempt_count + 1,
                    idempotency_key=f"{invoice.id}:dunning-{invoice.attempt_count + 1}",
                    status="pending",
                    amount_cents=invoice.amount_cents,
                )
                session.add(payment)
                invoice.next_attempt_at = None  # claimed: another worker will not take it
                customer = await session.get(Customer, invoice.customer_id)
            assert customer is not None
            try:
                await self._attempt(payment, invoice, customer)
            except Exception:
                async with self.sessions() as session, session.begin():
                    await session.execute(
                        Invoice.__table__.update()  # type: ignore[attr-defined]
                        .where(Invoice.id == invoice.id)
                        .values(next_attempt_at=now + timedelta(minutes=5))
                    )
            retried += 1
        return retried

    # -- refunds -----------------------------------------------------------------------------
    async def refund(
        self,
        invoice_id: uuid.UUID,
        data: RefundCreate,
        *,
        principal: Principal,
        idempotency_key: str | None,
    ) -> RefundOut:
        """Refund (part of) a paid invoice once per Idempotency-Key; see ``refunds``."""
        return await refund(
            self.sessions,
            self.payments,
            invoice_id,
            data,
            principal=principal,
            idempotency_key=idempotency_key,
        )

    # -- webhooks ----------------------------------------------------------------------------
    async def handle_stripe_event(self, event: dict[str, Any]) -> bool:
        """Apply a verified event once; False when this event id was processed before."""
        obj = event.get("data", {}).get("object", {})
        metadata = obj.get("metadata") or {}
        dun: tuple[Customer, Invoice, str | None] | None = None
        async with self.sessions() as session, session.begin():
            inserted = await session.scalar(
                insert(WebhookEvent)
                .values(id=str(event["id"]), provider="stripe", type=str(event.get("type", "")))
                .on_conflict_do_nothing()
                .returning(WebhookEvent.id)
            )
            if inserted is None:
                return False
            invoice = await _locked(session, Invoice, metadata.get("invoice_id"))
            if invoice is None:
                return True
            payment = await _locked(session, Payment, metadata.get("payment_id"))
            intent = str(obj.get("id"))
            kind = event.get("type")
            if kind == "payment_intent.succeeded" and not pays_in_full(obj, invoice):
                # a charge for another amount settles nothing: it is someone's mistake or
                # an attack, and an operator must see it
                await emit(session, "security", "security.payment_mismatch", mismatch(obj, invoice))
            elif kind == "payment_intent.succeeded":
                if payment is not None:
                    payment.status, payment.payment_intent_id, payment.error = (
                        "succeeded",
                        intent,
                        None,
                    )
                await self._settle(session, invoice, intent)
            elif kind == "payment_intent.payment_failed" and invoice.status not in SETTLED:
                error = (obj.get("last_payment_error") or {}).get("message")
                # a request still waiting for Stripe's answer (pending) or one that heard it
                # records the failure itself: the event counts only when that answer was
                # lost (error), or for a charge WMS did not start here
                ours = payment is None and invoice.status == "open"
                lost = payment is not None and payment.status == "error"
                if ours or lost:
                    if payment is not None:
                        payment.status, payment.payment_intent_id, payment.error = (
                            "failed",
                            intent,
                            error,
                        )
                    await self._fail(session, invoice, error)
                    customer = await session.get(Customer, invoice.customer_id)
                    if customer is not None:
                        dun = (customer, invoice, error)
        if dun is not None:
            await self._dun(*dun)
        return True


async def _locked(session: AsyncSession, model: type[T], key: Any) -> T | None:
    """The row of ``model`` with primary key ``key`` (a UUID as text), locked; None when
    ``key`` is missing, malformed or unknown."""
    try:
        ident = uuid.UUID(str(key)) if key else None
    except ValueError:
        return None
    return await session.get(model, ident, with_for_update=True) if ident else None
