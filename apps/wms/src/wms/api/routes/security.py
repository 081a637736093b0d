"""Security monitoring: IP verdicts from the threat-intelligence feeds, abuse reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import IPvAnyAddress, WithJsonSchema

from wms.api.deps import Services, require, services
from wms.domain.schemas import ErrorResponse
from wms.domain.security.monitor import IPReportCreate, IPReportOut, IPVerdict
from wms.security import Principal

router = APIRouter(prefix="/api/v1/security", tags=["security"])
ERR = {"model": ErrorResponse}
ERRORS: dict[int | str, dict[str, Any]] = {401: ERR, 403: ERR, 422: ERR}

#: an IPv4 or IPv6 address, stated as the two formats so clients can check it before sending
IP = Annotated[
    IPvAnyAddress,
    WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
    Path(description="An IPv4 or IPv6 address", examples=["45.83.64.1"]),
]


@router.get("/ips/{ip}", response_model=IPVerdict, responses=ERRORS)
async def ip_verdict(
    ip: IP, svc: Services = Depends(services), _: Principal = Depends(require("admin"))
) -> IPVerdict:
    """What the five threat feeds say about an address, and what to do about it.

    Answers come from a cache while fresh; a feed that is down or out of quota makes the
    verdict ``degraded`` (see ``answered`` and each feed's ``status``), never an error.
    Private and reserved addresses get a verdict without asking any feed.
    """
    return await svc.security.verdict(ip)


@router.post(
    "/ips/{ip}/report",
    response_model=IPReportOut,
    status_code=201,
    # 409: the address was already reported in the last 15 minutes (AbuseIPDB's rule)
    responses={**ERRORS, 409: ERR, 502: ERR, 503: ERR},
)
async def report_ip(
    ip: IP,
    body: IPReportCreate,
    svc: Services = Depends(services),
    principal: Principal = Depends(require("admin")),
) -> IPReportOut:
    """Report an abusive address to AbuseIPDB; the report is audit-logged.

    Sent once and never retried: AbuseIPDB has no idempotency keys, and a retry whose first
    attempt arrived after all would report the address twice.
    """
    return await svc.security.report(ip, body, actor=principal.email)
