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

    async def redis() -> None:
        await svc.redis.ping()

    tasks = {
        "database": asyncio.ensure_future(database()),
        "redis": asyncio.ensure_future(redis()),
    }
    # asyncio.wait, not wait_for: a frozen server can make even the cancellation of a
    # query hang (the driver tries to tell the server), and readiness must answer anyway
    await asyncio.wait(tasks.values(), timeout=1.0)
    results = {}
    for name, task in tasks.items():
        if not task.done():
            task.cancel()
            results[name] = "down: no answer within 1 s"
        elif task.exception() is not None:
            results[name] = f"down: {type(task.exception()).__name__}"
        else:
            results[name] = "ok"
    ok = all(value == "ok" for value in results.values())
    return JSONResponse(
        {"status": "ok" if ok else "degraded", "checks": results}, status_code=200 if ok else 503
    )
