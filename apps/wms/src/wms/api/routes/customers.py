"""Customers and onboarding."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header

from wms.api.deps import Services, require, services
from wms.domain.customers.onboarding import get_customer
from wms.domain.schemas import CustomerCreate, CustomerOut, ErrorResponse
from wms.security import Principal

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


@router.post(
    "",
    response_model=CustomerOut,
    status_code=201,
    responses={
        **ERRORS,
        409: {"model": ErrorResponse},
        502: {"model": ErrorResponse},
        503: {"model": ErrorResponse},
    },
)
async def onboard_customer(
    body: CustomerCreate,
    svc: Services = Depends(services),
    _: Principal = Depends(require("admin", "dispatcher", "billing")),
    idempotency_key: str | None = Header(default=None, max_length=200),
) -> CustomerOut:
    """Onboard a customer: Stripe customer, account and address, welcome e-mail and SMS."""
    customer = await svc.onboarding.onboard(body, idempotency_key=idempotency_key)
    svc.wake_relay()
    return customer


@router.get(
    "/{customer_id}",
    response_model=CustomerOut,
    responses={**ERRORS, 404: {"model": ErrorResponse}},
)
async def read_customer(
    customer_id: uuid.UUID,
    svc: Services = Depends(services),
    # drivers see the stops of their routes, never the customer's record
    principal: Principal = Depends(require("admin", "dispatcher", "billing", "customer")),
) -> CustomerOut:
    return await get_customer(svc.sessions, customer_id, principal)
