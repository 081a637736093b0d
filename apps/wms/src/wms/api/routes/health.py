"""Liveness and readiness (every declared dependency answering: PostgreSQL and Redis)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from wms.coordination.process import Coordination

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", responses={503: {"description": "a dependency is down"}})
async def ready(request: Request) -> JSONResponse:
    # the same probes as the worker's and /health's, so a loss seen here is counted there
    coordination: Coordination = request.app.state.coordination
    body, status = await coordination.deps.readiness()
    return JSONResponse(body, status_code=status)
