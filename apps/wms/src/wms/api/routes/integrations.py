"""The state of every external service: breaker, error rate, latency, cost."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from wms.api.deps import Services, require, services
from wms.domain.schemas import ErrorResponse, Strict
from wms.errors import NotFound
from wms.integrations.keys import KeyRing
from wms.security import Principal

router = APIRouter(prefix="/api/v1", tags=["integrations"])
ERR = {"model": ErrorResponse}


class IntegrationOut(BaseModel):
    name: str
    priority: int
    healthy: bool
    breaker: str
    calls: int
    failures: int
    shed: int
    rejected_by_breaker: int
    #: calls under way now in this process (waiting for a slot or running)
    in_flight: int
    #: how busy this process is: the larger of the share of its capacity for external
    #: calls in use and the share of its database connections in use; services are shed
    #: from their priority / 10 up (10: never)
    load: float
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    cost_today_usd: float | None
    budget_usd: float | None
    #: seconds since the key in use was added; None where keys are not rotated here
    key_age_seconds: float | None


@router.get("/integrations", response_model=list[IntegrationOut], responses={401: ERR, 403: ERR})
async def list_integrations(
    svc: Services = Depends(services), _: Principal = Depends(require("admin"))
) -> list[IntegrationOut]:
    """Per service: breaker state, recent error rate and latency (this process), today's cost."""
    result = []
    for name, service in sorted(svc.integrations.items()):
        stats: dict[str, Any] = service.stats.summary()
        breaker = service.breaker_state
        result.append(
            IntegrationOut(
                name=name,
                priority=service.policy.priority,
                healthy=breaker == "closed",
                breaker=breaker,
                cost_today_usd=service.cost_today(),
                budget_usd=service.budget_usd,
                in_flight=service.in_flight,
                load=round(service.load(), 3),
                key_age_seconds=(
                    await svc.key_rings[name].newest_age_seconds()
                    if name in svc.key_rings
                    else None
                ),
                **stats,
            )
        )
    return result


class KeyOut(BaseModel):
    id: uuid.UUID
    service: str
    fingerprint: str
    created_at: datetime
    revoked_at: datetime | None
    in_use: bool


class KeyCreate(Strict):
    secret: str = Field(
        min_length=8,
        max_length=500,
        pattern=r"^[\x21-\x7e]+$",
        description="the new API key (printable ASCII, no spaces)",
    )


def _ring(svc: Services, service: str) -> KeyRing:
    ring = svc.key_rings.get(service)
    if ring is None:
        raise NotFound(f"no rotatable keys for {service!r}; have {', '.join(svc.key_rings)}")
    return ring


@router.get(
    "/integrations/{service}/keys",
    response_model=list[KeyOut],
    responses={401: ERR, 403: ERR, 404: ERR},
)
async def list_keys(
    service: str, svc: Services = Depends(services), _: Principal = Depends(require("admin"))
) -> list[KeyOut]:
    """The service's keys (fingerprints only), newest first, and which are in use."""
    return [KeyOut(**vars(k)) for k in await _ring(svc, service).list()]


@router.post(
    "/integrations/{service}/keys",
    response_model=KeyOut,
    status_code=201,
    responses={401: ERR, 403: ERR, 404: ERR, 422: ERR},
)
async def add_key(
    service: str,
    body: KeyCreate,
    svc: Services = Depends(services),
    admin: Principal = Depends(require("admin")),
) -> KeyOut:
    """Rotate: the new key is used from now on; the one it replaces stays valid for the
    overlap period, and is used whenever the provider refuses the new one."""
    info = await _ring(svc, service).add(body.secret, actor=admin.email)
    return KeyOut(**vars(info))


@router.delete(
    "/integrations/{service}/keys/{key_id}",
    status_code=204,
    responses={401: ERR, 403: ERR, 404: ERR},
)
async def revoke_key(
    service: str,
    key_id: uuid.UUID,
    svc: Services = Depends(services),
    admin: Principal = Depends(require("admin")),
) -> None:
    await _ring(svc, service).revoke(key_id, actor=admin.email)
