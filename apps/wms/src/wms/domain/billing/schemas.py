"""Request and response models of billing."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from wms.domain.schemas import TEXT, Day, Integer, Strict, Uuid, integral

Frequency = Literal["weekly", "biweekly", "monthly"]
InvoiceStatus = Literal[
    "open", "paid", "payment_failed", "uncollectible", "partially_refunded", "refunded"
]


class PlanCreate(Strict):
    name: str = Field(min_length=1, max_length=100, pattern=TEXT)
    bin_size_litres: Integer = Field(gt=0, le=10_000)
    frequency: Frequency
    price_cents: Integer = Field(ge=50, le=10_000_000, description="minor units; at least 50")
    currency: Literal["usd"] = "usd"


class PlanOut(BaseModel):
    id: uuid.UUID
    name: str
    bin_size_litres: int
    frequency: Frequency
    price_cents: int
    currency: str


PaymentMethodId = Field(
    min_length=3,
    max_length=100,
    pattern=r"^pm_[A-Za-z0-9_]+$",
    description="a Stripe PaymentMethod id, e.g. pm_card_visa",
)


class PaymentMethodUpdate(Strict):
    payment_method: str = PaymentMethodId


class SubscriptionCreate(Strict):
    plan_id: Uuid
    payment_method: str = PaymentMethodId


class SubscriptionOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    plan_id: uuid.UUID
    status: Literal["active", "past_due", "canceled"]
    started_on: date
    first_invoice_id: uuid.UUID


class InvoiceCreate(Strict):
    customer_id: Uuid
    period_start: Day
    period_days: Integer = Field(ge=1, le=366, description="length of the billed period")
    amount_cents: Integer = Field(ge=50, le=10_000_000)


class InvoiceOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    period_start: date
    period_end: date
    amount_cents: int
    refunded_cents: int
    currency: str
    status: InvoiceStatus
    attempt_count: int
    next_attempt_at: datetime | None
    payment_intent_id: str | None
    paid_at: datetime | None


class PaymentOut(BaseModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    attempt: int
    status: Literal["pending", "succeeded", "failed", "error"]
    payment_intent_id: str | None
    amount_cents: int
    error: str | None
    invoice: InvoiceOut


class RefundCreate(Strict):
    amount_cents: Annotated[int, Field(ge=1, le=10_000_000), BeforeValidator(integral)] | None = (
        Field(default=None, description="default: everything not yet refunded")
    )
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] = "requested_by_customer"


class RefundOut(BaseModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    stripe_refund_id: str
    amount_cents: int
    reason: str
    invoice: InvoiceOut


class WebhookAck(BaseModel):
    received: bool
    duplicate: bool
