"""Liveness and readiness (PostgreSQL and Redis reachable)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text

from wms.api.deps import Services, services

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", responses={503: {"description": "a dependency is down"}})
async def ready(svc: Services = Depends(services)) -> JSONResponse:
    async def database() -> None:
        async with svc.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    checks = {"database": database(), "redis": svc.redis.ping()}
    results = {}
    for name, check in checks.items():
        try:
            await asyncio.wait_for(check, timeout=1.0)
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"down: {type(exc).__name__}"
    ok = all(value == "ok" for value in results.values())
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "checks": results}, status_code=200 if ok else 503
    )
