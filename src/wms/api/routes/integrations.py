"""The state of every external service: breaker, error rate, latency, cost."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from wms.api.deps import Services, require, services
from wms.domain.schemas import ErrorResponse
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
    error_rate: float
    p50_ms: float | None
    p95_ms: float | None
    cost_today_usd: float | None
    budget_usd: float | None


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
                **stats,
            )
        )
    return result
