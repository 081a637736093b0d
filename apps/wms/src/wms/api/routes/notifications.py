"""Customers' notifications and the providers' reports on their delivery."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Header, Request, Response

from wms.api.deps import Services, require, services
from wms.domain.customers.notifications import (
    DELIVERY_RANK,
    customer_notifications,
    record_delivery,
)
from wms.domain.schemas import ErrorResponse, NotificationView
from wms.errors import InvalidInput
from wms.integrations.messaging import STATUS_CALLBACK_PATH
from wms.security import Principal

router = APIRouter(prefix="/api/v1", tags=["notifications"])
ERR = {"model": ErrorResponse}


class CallbackRejected(InvalidInput):
    status = 400
    code = "invalid_webhook"


@router.get(
    "/customers/{customer_id}/notifications",
    response_model=list[NotificationView],
    responses={401: ERR, 403: ERR, 404: ERR, 422: ERR},
)
async def list_notifications(
    customer_id: uuid.UUID,
    svc: Services = Depends(services),
    principal: Principal = Depends(require("admin", "dispatcher", "billing", "customer")),
) -> list[NotificationView]:
    """The customer's e-mails and SMS, newest first, with how far each SMS's delivery got."""
    return await customer_notifications(svc.sessions, customer_id, principal)


@router.post(
    STATUS_CALLBACK_PATH.removeprefix("/api/v1"),
    status_code=204,
    response_class=Response,
    responses={400: ERR, 413: ERR},
)
async def twilio_status(
    request: Request,
    svc: Services = Depends(services),
    x_twilio_signature: str | None = Header(default=None, max_length=200),
) -> Response:
    """Twilio's report on an SMS (form-encoded, signed with X-Twilio-Signature)."""
    params = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
    public = svc.settings.public_url.rstrip("/")
    url = public + STATUS_CALLBACK_PATH if public else str(request.url)
    if not x_twilio_signature or not await svc.notifier.sms.verify_callback(
        url, params, x_twilio_signature
    ):
        raise CallbackRejected("X-Twilio-Signature does not match this request")
    sid, status = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid or status not in DELIVERY_RANK:
        raise CallbackRejected("a status callback needs a MessageSid and a known MessageStatus")
    if await record_delivery(
        svc.sessions, provider_id=sid, status=status, error_code=params.get("ErrorCode") or None
    ):
        svc.wake_relay()
    return Response(status_code=204)
