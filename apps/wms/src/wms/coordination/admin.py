"""Admin endpoints of Streams A and B: recoveries, timings, recommendations (and applying
one that needs a migration, once acknowledged)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request

from wms.api.deps import Services, require, services
from wms.coordination.advice import apply_recommendation, recommendations
from wms.coordination.configuration import MIGRATION_ID
from wms.coordination.orchestrator import recoveries
from wms.coordination.performance import PerformanceMonitor
from wms.coordination.process import Coordination
from wms.coordination.statements import query_timings
from wms.security import Principal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/coordination", tags=["coordination"])

_ERRORS: dict[int | str, dict[str, Any]] = {401: {}, 403: {}}


def _monitor(request: Request) -> PerformanceMonitor:
    found: PerformanceMonitor = request.app.state.performance
    return found


@router.get("/recoveries", responses=_ERRORS)
async def list_recoveries(
    svc: Services = Depends(services),
    _: Principal = Depends(require("admin")),
    request_id: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """What the error orchestrator did, newest first: for each error event its class
    (transient, dependency, permanent), strategy and action."""
    return await recoveries(svc.redis, request_id=request_id, limit=limit)


@router.get("/timings", responses=_ERRORS)
async def timings(
    svc: Services = Depends(services),
    monitor: PerformanceMonitor = Depends(_monitor),
    _: Principal = Depends(require("admin")),
    limit: int = Query(default=50, ge=1, le=5000),
) -> dict[str, Any]:
    """This API process's per-endpoint timings and the ``limit`` costliest statements'
    timings (ms): the server's, of every process, when it keeps them (``"queries_source":
    "pg_stat_statements"``), else this process's own (``"sqlalchemy"``)."""
    return await query_timings(svc.engine, monitor, limit=limit)


@router.get("/recommendations", responses=_ERRORS)
async def list_recommendations(
    svc: Services = Depends(services),
    monitor: PerformanceMonitor = Depends(_monitor),
    _: Principal = Depends(require("admin")),
) -> list[dict[str, Any]]:
    """Missing indexes, N+1 patterns and cacheable reads seen by this API process, each
    with its evidence; one needing a migration has its ``id`` and ``migration``, applied
    only once the configuration acknowledges it (``.../{id}/apply``)."""
    return await recommendations(svc.engine, monitor)


@router.post("/recommendations/{recommendation_id}/apply", responses={**_ERRORS, 404: {}, 409: {}})
async def apply(
    request: Request,
    recommendation_id: str = Path(pattern=MIGRATION_ID),
    svc: Services = Depends(services),
    monitor: PerformanceMonitor = Depends(_monitor),
    who: Principal = Depends(require("admin")),
) -> dict[str, Any]:
    """Apply a recommendation that needs a migration (its ``id``), once the active
    configuration acknowledges it (``acknowledged_migrations``, ``PUT /api/v1/config``):
    409 ``migration_not_acknowledged`` before, 404 when no recommendation of that id needs
    a migration now."""
    co: Coordination = request.app.state.coordination
    return await apply_recommendation(
        recommendation_id,
        engine=svc.engine,
        sessions=svc.sessions,
        monitor=monitor,
        store=co.store,
        by=str(who.user_id),
    )
