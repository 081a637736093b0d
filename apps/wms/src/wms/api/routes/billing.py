"""Billing: plans, subscriptions, invoices, payments, refunds, and Stripe's webhooks."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request

from wms.api.deps import Services, require, services
from wms.domain.billing.schemas import (
    InvoiceCreate,
    InvoiceOut,
    InvoiceStatus,
    PaymentMethodUpdate,
    PaymentOut,
    PlanCreate,
    PlanOut,
    RefundCreate,
    RefundOut,
    SubscriptionCreate,
    SubscriptionOut,
    WebhookAck,
)
from wms.domain.schemas import ErrorResponse
from wms.security import ROLES, Principal

router = APIRouter(prefix="/api/v1", tags=["billing"])
ERR = {"model": ErrorResponse}
ERRORS: dict[int | str, dict[str, Any]] = {401: ERR, 403: ERR, 404: ERR, 409: ERR, 422: ERR}
UPSTREAM: dict[int | str, dict[str, Any]] = {**ERRORS, 502: ERR, 503: ERR}
STAFF = ("admin", "billing")


@router.post("/plans", response_model=PlanOut, status_code=201, responses=ERRORS)
async def create_plan(
    body: PlanCreate, svc: Services = Depends(services), _: Principal = Depends(require("admin"))
) -> PlanOut:
    return await svc.billing.create_plan(body)


@router.get("/plans", response_model=list[PlanOut], responses=ERRORS)
async def list_plans(
    svc: Services = Depends(services), _: Principal = Depends(require(*ROLES))
) -> list[PlanOut]:
    return await svc.billing.list_plans()


@router.post(
    "/customers/{customer_id}/subscription",
    response_model=SubscriptionOut,
    status_code=201,
    responses=UPSTREAM,
)
async def subscribe(
    customer_id: uuid.UUID,
    body: SubscriptionCreate,
    svc: Services = Depends(services),
    _: Principal = Depends(require(*STAFF, "dispatcher")),
) -> SubscriptionOut:
    """Subscribe a customer to a plan, with the card to charge; opens the first invoice."""
    return await svc.billing.subscribe(customer_id, body)


@router.put("/customers/{customer_id}/payment-method", status_code=204, responses=UPSTREAM)
async def set_payment_method(
    customer_id: uuid.UUID,
    body: PaymentMethodUpdate,
    svc: Services = Depends(services),
    _: Principal = Depends(require(*STAFF)),
) -> None:
    """Replace the card charged for this customer's invoices (and their dunning retries)."""
    await svc.billing.set_payment_method(customer_id, body.payment_method)


@router.post("/invoices", response_model=InvoiceOut, status_code=201, responses=ERRORS)
async def create_invoice(
    body: InvoiceCreate, svc: Services = Depends(services), _: Principal = Depends(require(*STAFF))
) -> InvoiceOut:
    return await svc.billing.create_invoice(body)


@router.get("/invoices", response_model=list[InvoiceOut], responses=ERRORS)
async def list_invoices(
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "customer")),
    customer_id: uuid.UUID | None = Query(default=None),
    status: InvoiceStatus | None = Query(default=None),
) -> list[InvoiceOut]:
    return await svc.billing.list_invoices(principal, customer_id, status)


@router.get("/invoices/{invoice_id}", response_model=InvoiceOut, responses=ERRORS)
async def read_invoice(
    invoice_id: uuid.UUID,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "customer")),
) -> InvoiceOut:
    return await svc.billing.get_invoice(invoice_id, principal)


@router.post("/invoices/{invoice_id}/pay", response_model=PaymentOut, responses=UPSTREAM)
async def pay_invoice(
    invoice_id: uuid.UUID,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF, "customer")),
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> PaymentOut:
    """Charge the invoice to the customer's card. Retrying with the same Idempotency-Key
    returns the first attempt's outcome and never charges again. A decline is a payment
    with status "failed" (and starts dunning), not an error."""
    return await svc.billing.pay(invoice_id, idempotency_key=idempotency_key, principal=principal)


@router.post(
    "/invoices/{invoice_id}/refunds", response_model=RefundOut, status_code=201, responses=UPSTREAM
)
async def refund_invoice(
    invoice_id: uuid.UUID,
    body: RefundCreate,
    svc: Services = Depends(services),
    principal: Principal = Depends(require(*STAFF)),
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> RefundOut:
    return await svc.billing.refund(
        invoice_id, body, principal=principal, idempotency_key=idempotency_key
    )


@router.post("/webhooks/stripe", response_model=WebhookAck, responses={400: ERR, 413: ERR})
async def stripe_webhook(
    request: Request,
    svc: Services = Depends(services),
    stripe_signature: str | None = Header(default=None, max_length=2000),
) -> WebhookAck:
    """Stripe's events, verified by Stripe-Signature (300 s tolerance), applied once each."""
    event = svc.billing.payments.verify_webhook(await request.body(), stripe_signature)
    applied = await svc.billing.handle_stripe_event(event)
    if applied:
        svc.wake_relay()
    return WebhookAck(received=True, duplicate=not applied)
